"""Admission requests: a school's roster row for a student who is not its own waits for the district admin.

A school's import could move another school's student, file and all, into the school (issue 15). Now a row whose
student number is not one of the importing school's current students is kept as an admission request; nothing
moves until the district admin approves it.

Revision ID: b5e2a7c41d09
Revises: a7d2c4e9b813
Create Date: 2026-12-07 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b5e2a7c41d09'
down_revision = 'a7d2c4e9b813'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('admission_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('roster_import_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('row', sa.Integer(), nullable=False),
    sa.Column('student_number', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('sex', sa.Enum('F', 'M', name='sex', native_enum=False, length=1), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('guardian_name', sa.String(length=80), nullable=False),
    sa.Column('guardian_phone', sa.String(length=32), nullable=False),
    sa.Column('grade', sa.Integer(), nullable=False),
    sa.Column('class_name', sa.String(length=40), nullable=False),
    sa.Column('academic_year', sa.String(length=9), nullable=False),
    sa.Column('status', sa.Enum('pending', 'approved', 'refused', name='admissionstatus', native_enum=False,
                                length=32), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.String(length=200), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_admission_requests_decided_by_id_users')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'],
                            name=op.f('fk_admission_requests_requested_by_id_users')),
    sa.ForeignKeyConstraint(['roster_import_id'], ['roster_imports.id'],
                            name=op.f('fk_admission_requests_roster_import_id_roster_imports')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_admission_requests_school_id_schools')),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_admission_requests_student_id_students')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admission_requests'))
    )
    with op.batch_alter_table('admission_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admission_requests_roster_import_id'), ['roster_import_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_admission_requests_school_id'), ['school_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_admission_requests_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_admission_requests_student_id'), ['student_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_admission_requests_student_number'), ['student_number'], unique=False)


def downgrade():
    with op.batch_alter_table('admission_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_admission_requests_student_number'))
        batch_op.drop_index(batch_op.f('ix_admission_requests_student_id'))
        batch_op.drop_index(batch_op.f('ix_admission_requests_status'))
        batch_op.drop_index(batch_op.f('ix_admission_requests_school_id'))
        batch_op.drop_index(batch_op.f('ix_admission_requests_roster_import_id'))
    op.drop_table('admission_requests')
