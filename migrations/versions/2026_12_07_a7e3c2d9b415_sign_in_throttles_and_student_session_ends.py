"""Sign-in throttles per account and client; a teacher can end a student's screening session.

Five anonymous wrong passwords used to lock any staff account (app/accounts/lockout.py now slows each
client down instead, and keeps the lock for failures after the password). The counts live in a table so that
every worker sees them. Student tokens now carry their participant's session generation: a teacher raises it
to end a session (a student who joined as a classmate), and every token issued before stops working.
Existing participants start at generation 0, which is what tokens issued before this revision are read as.

Revision ID: a7e3c2d9b415
Revises: 5e7a1c2b9d40
Create Date: 2026-12-07 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7e3c2d9b415'
down_revision = '5e7a1c2b9d40'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sign_in_throttles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_key', sa.String(length=64), nullable=False),
    sa.Column('client_key', sa.String(length=40), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_throttles')),
    sa.UniqueConstraint('account_key', 'client_key', name=op.f('uq_sign_in_throttles_account_key_client_key'))
    )
    with op.batch_alter_table('sign_in_throttles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_throttles_last_attempt_at'), ['last_attempt_at'], unique=False)

    with op.batch_alter_table('campaign_participants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('session_ended_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('campaign_participants', schema=None) as batch_op:
        batch_op.drop_column('session_ended_at')
        batch_op.drop_column('session_generation')

    with op.batch_alter_table('sign_in_throttles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_throttles_last_attempt_at'))
    op.drop_table('sign_in_throttles')
