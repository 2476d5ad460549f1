"""When the alert escalation sweep last ran, per source (scheduled or page): /healthz and /metrics tell an
operator when it stopped, since an alert that is never escalated fails silently.

Revision ID: b7e2c4a91f03
Revises: a7e3c2d9b415
Create Date: 2026-12-07 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e2c4a91f03'
down_revision = 'a7e3c2d9b415'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sweep_runs',
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('source', name=op.f('pk_sweep_runs')),
    )


def downgrade():
    op.drop_table('sweep_runs')
