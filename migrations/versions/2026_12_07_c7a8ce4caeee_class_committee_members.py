"""Class committee members (班级心理委员) and their weekly reports.

A school names students of a class as its psychological committee members for a term; they sign in with the
screening credentials and report a concern about a classmate (which opens an alert) or nothing to report this week.

Revision ID: c7a8ce4caeee
Revises: cb0b0681c9a4
Create Date: 2026-12-07 14:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c7a8ce4caeee'
down_revision = 'cb0b0681c9a4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('committee_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('class_group_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('academic_year', sa.String(length=9), nullable=False),
    sa.Column('term', sa.Integer(), nullable=False),
    sa.Column('appointed_by_id', sa.Integer(), nullable=False),
    sa.Column('appointed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['appointed_by_id'], ['users.id'], name=op.f('fk_committee_members_appointed_by_id_users')),
    sa.ForeignKeyConstraint(['class_group_id'], ['class_groups.id'],
                            name=op.f('fk_committee_members_class_group_id_class_groups')),
    sa.ForeignKeyConstraint(['ended_by_id'], ['users.id'], name=op.f('fk_committee_members_ended_by_id_users')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_committee_members_school_id_schools')),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_committee_members_student_id_students')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_committee_members'))
    )
    with op.batch_alter_table('committee_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_committee_members_class_group_id'), ['class_group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_committee_members_school_id'), ['school_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_committee_members_student_id'), ['student_id'], unique=False)

    op.create_table('committee_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('class_group_id', sa.Integer(), nullable=False),
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('subject_student_id', sa.Integer(), nullable=True),
    sa.Column('urgency', sa.String(length=16), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_committee_reports_alert_id_alerts')),
    sa.ForeignKeyConstraint(['class_group_id'], ['class_groups.id'],
                            name=op.f('fk_committee_reports_class_group_id_class_groups')),
    sa.ForeignKeyConstraint(['member_id'], ['committee_members.id'],
                            name=op.f('fk_committee_reports_member_id_committee_members')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_committee_reports_school_id_schools')),
    sa.ForeignKeyConstraint(['subject_student_id'], ['students.id'],
                            name=op.f('fk_committee_reports_subject_student_id_students')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_committee_reports'))
    )
    with op.batch_alter_table('committee_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_committee_reports_class_group_id'), ['class_group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_committee_reports_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_committee_reports_school_id'), ['school_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_committee_reports_week_start'), ['week_start'], unique=False)


def downgrade():
    with op.batch_alter_table('committee_reports', schema=None) as batch_op:
        for name in ('week_start', 'school_id', 'member_id', 'class_group_id'):
            batch_op.drop_index(batch_op.f(f'ix_committee_reports_{name}'))
    op.drop_table('committee_reports')
    with op.batch_alter_table('committee_members', schema=None) as batch_op:
        for name in ('student_id', 'school_id', 'class_group_id'):
            batch_op.drop_index(batch_op.f(f'ix_committee_members_{name}'))
    op.drop_table('committee_members')
