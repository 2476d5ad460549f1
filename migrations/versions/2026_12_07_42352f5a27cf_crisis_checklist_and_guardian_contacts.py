"""Crisis checklist steps and guardian contacts on an alert (issue 17, items 6-7).

A critical alert carries the ASQ pathway's checklist (the student is not left alone; the guardian is informed; a
brief safety assessment; a referral or the documented reason not to refer): each step done is one row with who and
when. Each call to or from the guardian is recorded with its outcome and an encrypted note.

Revision ID: 42352f5a27cf
Revises: c4f1d8e2a6b3
Create Date: 2026-12-07 14:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '42352f5a27cf'
down_revision = 'c4f1d8e2a6b3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('alert_crisis_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.String(length=32), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_by_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_alert_crisis_steps_alert_id_alerts')),
    sa.ForeignKeyConstraint(['done_by_id'], ['users.id'], name=op.f('fk_alert_crisis_steps_done_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_crisis_steps')),
    sa.UniqueConstraint('alert_id', 'step', name=op.f('uq_alert_crisis_steps_alert_id_step'))
    )
    with op.batch_alter_table('alert_crisis_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_crisis_steps_alert_id'), ['alert_id'], unique=False)

    op.create_table('guardian_contacts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('person', sa.String(length=80), nullable=False),
    sa.Column('contacted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=24), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_guardian_contacts_alert_id_alerts')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_guardian_contacts_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_guardian_contacts_student_id_students')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guardian_contacts'))
    )
    with op.batch_alter_table('guardian_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_guardian_contacts_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_guardian_contacts_student_id'), ['student_id'], unique=False)


def downgrade():
    with op.batch_alter_table('guardian_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_guardian_contacts_student_id'))
        batch_op.drop_index(batch_op.f('ix_guardian_contacts_alert_id'))
    op.drop_table('guardian_contacts')
    with op.batch_alter_table('alert_crisis_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_crisis_steps_alert_id'))
    op.drop_table('alert_crisis_steps')
