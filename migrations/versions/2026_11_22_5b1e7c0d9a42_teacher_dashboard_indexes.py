"""Indexes for the teacher dashboard: a campaign's newest response, and open follow-ups by due date.

Revision ID: 5b1e7c0d9a42
Revises: c87e08ea227e
Create Date: 2026-11-22 19:05:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b1e7c0d9a42'
down_revision = 'c87e08ea227e'
branch_labels = None
depends_on = None


def upgrade():
    # max(id) of one campaign: PostgreSQL otherwise scans pk_responses backwards past every other school's rows.
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.create_index('ix_responses_campaign_id_id', ['campaign_id', 'id'], unique=False)
    # Partial: only follow-ups not done yet (a small share of the table) are read by due date.
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.create_index('ix_follow_ups_open_due_on', ['due_on'], unique=False,
                              sqlite_where=sa.text('done_at IS NULL'), postgresql_where=sa.text('done_at IS NULL'))


def downgrade():
    with op.batch_alter_table('follow_ups', schema=None) as batch_op:
        batch_op.drop_index('ix_follow_ups_open_due_on')
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_index('ix_responses_campaign_id_id')
