"""Drop the single-column indexes on responses.campaign_id and responses.student_id.

Each is the leading column of composite indexes that serve the same queries ((campaign_id, student_id,
scale_code) and (campaign_id, id); (student_id, scale_code, submitted_at)), and every index is written once
per submission.

Revision ID: 9c3d51e7a0b4
Revises: 5b1e7c0d9a42
Create Date: 2026-11-22 22:20:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '9c3d51e7a0b4'
down_revision = '5b1e7c0d9a42'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_index('ix_responses_campaign_id')
        batch_op.drop_index('ix_responses_student_id')


def downgrade():
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.create_index('ix_responses_student_id', ['student_id'], unique=False)
        batch_op.create_index('ix_responses_campaign_id', ['campaign_id'], unique=False)
