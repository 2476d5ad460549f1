"""The student's crisis screen and "I want to talk to someone now" are kept on the server (issue 17).

A reload, a dropped connection or a re-join on another device showed the next questionnaire instead of the
hotlines: the participant row now records when the student saw the crisis screen and chose to go on, and when
the student asked to talk to someone (so that a double tap raises one concern).

Revision ID: 7cac309b8308
Revises: c7a8ce4caeee
Create Date: 2026-12-07 14:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7cac309b8308'
down_revision = 'c7a8ce4caeee'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaign_participants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('crisis_seen_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('talk_requested_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('campaign_participants', schema=None) as batch_op:
        batch_op.drop_column('talk_requested_at')
        batch_op.drop_column('crisis_seen_at')
