"""The second stage, the warning register (预警库) and plans (一生一策): issue 19.

Interviews set a warning level (red / orange / yellow / none) on a school's register line; every change is kept
with who and why; reviews move the next review date; a plan is versioned and has tasks per owner. A school may
change its deadlines (register_settings). app/register/models.py describes each table.

Revision ID: f34c7d814b40
Revises: 7cac309b8308
Create Date: 2026-12-07 14:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f34c7d814b40'
down_revision = '7cac309b8308'
branch_labels = None
depends_on = None

LEVELS = ('red', 'orange', 'yellow', 'none')


def _level(name, nullable=False):
    return sa.Column(name, sa.Enum(*LEVELS, name='warninglevel', native_enum=False, length=8), nullable=nullable)


def upgrade():
    op.create_table('register_settings',
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('interview_days', sa.Integer(), nullable=False),
    sa.Column('red_review_days', sa.Integer(), nullable=False),
    sa.Column('orange_review_days', sa.Integer(), nullable=False),
    sa.Column('yellow_review_days', sa.Integer(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_register_settings_school_id_schools')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_register_settings_updated_by_id_users')),
    sa.PrimaryKeyConstraint('school_id', name=op.f('pk_register_settings'))
    )
    op.create_table('interviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=True),
    sa.Column('interviewer_id', sa.Integer(), nullable=False),
    sa.Column('interviewed_on', sa.Date(), nullable=False),
    sa.Column('risk_factors', sa.JSON(), nullable=False),
    sa.Column('protective_factors', sa.JSON(), nullable=False),
    sa.Column('suicidal_thoughts', sa.String(length=24), nullable=False),
    sa.Column('suicide_plan', sa.String(length=24), nullable=False),
    sa.Column('past_behaviour', sa.JSON(), nullable=False),
    sa.Column('symptoms', sa.JSON(), nullable=False),
    sa.Column('guardian_interviewed', sa.Boolean(), nullable=False),
    sa.Column('safety_plan_made', sa.Boolean(), nullable=False),
    sa.Column('disposition', sa.String(length=24), nullable=False),
    sa.Column('judgement', sa.Text(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    _level('questionnaire_level', nullable=True),
    _level('level'),
    sa.Column('level_reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['interviewer_id'], ['users.id'], name=op.f('fk_interviews_interviewer_id_users')),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_interviews_response_id_responses')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_interviews_school_id_schools')),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_interviews_student_id_students')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_interviews'))
    )
    for column in ('student_id', 'school_id', 'created_at'):
        op.create_index(op.f(f'ix_interviews_{column}'), 'interviews', [column], unique=False)
    op.create_table('warning_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    _level('level'),
    sa.Column('level_since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_review_on', sa.Date(), nullable=True),
    sa.Column('guardian_informed_on', sa.Date(), nullable=True),
    sa.Column('guardian_informed_by_id', sa.Integer(), nullable=True),
    sa.Column('no_referral_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['guardian_informed_by_id'], ['users.id'], name=op.f('fk_warning_entries_guardian_informed_by_id_users')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_warning_entries_school_id_schools')),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_warning_entries_student_id_students')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_warning_entries')),
    sa.UniqueConstraint('student_id', 'school_id', name=op.f('uq_warning_entries_student_id_school_id'))
    )
    for column in ('student_id', 'school_id', 'level', 'next_review_on'):
        op.create_index(op.f(f'ix_warning_entries_{column}'), 'warning_entries', [column], unique=False)
    op.create_table('warning_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('reviewed_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['warning_entries.id'], name=op.f('fk_warning_reviews_entry_id_warning_entries')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_warning_reviews_reviewed_by_id_users')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_warning_reviews_school_id_schools')),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_warning_reviews_student_id_students')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_warning_reviews'))
    )
    for column in ('entry_id', 'student_id', 'school_id', 'created_at'):
        op.create_index(op.f(f'ix_warning_reviews_{column}'), 'warning_reviews', [column], unique=False)
    op.create_table('warning_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    _level('from_level'),
    _level('to_level'),
    sa.Column('kind', sa.Enum('set', 'raised', 'lowered', 'lifted', 'confirmed', name='changekind', native_enum=False,
                              length=12), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('interview_id', sa.Integer(), nullable=True),
    sa.Column('review_id', sa.Integer(), nullable=True),
    sa.Column('changed_by_id', sa.Integer(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['changed_by_id'], ['users.id'], name=op.f('fk_warning_changes_changed_by_id_users')),
    sa.ForeignKeyConstraint(['entry_id'], ['warning_entries.id'], name=op.f('fk_warning_changes_entry_id_warning_entries')),
    sa.ForeignKeyConstraint(['interview_id'], ['interviews.id'], name=op.f('fk_warning_changes_interview_id_interviews')),
    sa.ForeignKeyConstraint(['review_id'], ['warning_reviews.id'], name=op.f('fk_warning_changes_review_id_warning_reviews')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_warning_changes_school_id_schools')),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_warning_changes_student_id_students')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_warning_changes'))
    )
    for column in ('entry_id', 'student_id', 'school_id', 'changed_at'):
        op.create_index(op.f(f'ix_warning_changes_{column}'), 'warning_changes', [column], unique=False)
    op.create_table('support_plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('supersedes_id', sa.Integer(), nullable=True),
    sa.Column('goals', sa.Text(), nullable=False),
    sa.Column('review_dates', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_support_plans_created_by_id_users')),
    sa.ForeignKeyConstraint(['entry_id'], ['warning_entries.id'], name=op.f('fk_support_plans_entry_id_warning_entries')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_support_plans_school_id_schools')),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_support_plans_student_id_students')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['support_plans.id'], name=op.f('fk_support_plans_supersedes_id_support_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_plans'))
    )
    for column in ('student_id', 'school_id', 'entry_id', 'created_at'):
        op.create_index(op.f(f'ix_support_plans_{column}'), 'support_plans', [column], unique=False)
    op.create_table('plan_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('owner', sa.Enum('psychology_teacher', 'homeroom', 'guardian', 'hospital', name='taskowner',
                               native_enum=False, length=24), nullable=False),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['done_by_id'], ['users.id'], name=op.f('fk_plan_tasks_done_by_id_users')),
    sa.ForeignKeyConstraint(['plan_id'], ['support_plans.id'], name=op.f('fk_plan_tasks_plan_id_support_plans')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_plan_tasks_school_id_schools')),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_plan_tasks_student_id_students')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_tasks'))
    )
    for column in ('plan_id', 'student_id', 'school_id'):
        op.create_index(op.f(f'ix_plan_tasks_{column}'), 'plan_tasks', [column], unique=False)


def downgrade():
    op.drop_table('plan_tasks')
    op.drop_table('support_plans')
    op.drop_table('warning_changes')
    op.drop_table('warning_reviews')
    op.drop_table('warning_entries')
    op.drop_table('interviews')
    op.drop_table('register_settings')
