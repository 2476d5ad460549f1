"""Second factor (TOTP) for staff accounts and the date of the last password change.

Revision ID: c87e08ea227e
Revises: 03a9fdfa48f8
Create Date: 2026-11-22 15:47:57.219808

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c87e08ea227e'
down_revision = '03a9fdfa48f8'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('totp_secret', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('totp_required', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))



def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_required')
        batch_op.drop_column('totp_secret')
        batch_op.drop_column('password_changed_at')

