"""Join throttles: wrong answers at the student's join slow down the client that gives them, not a student; a
row /healthz writes to tell a database that takes no writes.

Twenty wrong birth dates for one student number from anywhere used to keep the real student out for a quarter
of an hour, and the per-address join limit kept a whole school behind one NAT address out (issues 15 and 20).
The counts live in a table so that every worker and process sees the same ones (app/screening/join_guard.py).
/healthz reported a read-only database or a full disk as "ok" (issue 20): it now writes health_probes now and then.

Revision ID: c4f1d8e2a6b3
Revises: b5e2a7c41d09
Create Date: 2026-12-07 14:15:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4f1d8e2a6b3'
down_revision = 'b5e2a7c41d09'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('join_throttles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope_key', sa.String(length=64), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_join_throttles')),
    sa.UniqueConstraint('scope_key', name=op.f('uq_join_throttles_scope_key'))
    )
    with op.batch_alter_table('join_throttles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_join_throttles_last_attempt_at'), ['last_attempt_at'], unique=False)

    op.create_table('health_probes',
    sa.Column('name', sa.String(length=16), nullable=False),
    sa.Column('probed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_health_probes'))
    )


def downgrade():
    op.drop_table('health_probes')
    with op.batch_alter_table('join_throttles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_join_throttles_last_attempt_at'))
    op.drop_table('join_throttles')
