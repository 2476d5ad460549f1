"""Export jobs: exports too large to wait for (the district's XLSX of every response, the research export) are
written by a background job to a file outside the database and downloaded from a link. And an index for a school's
newest response, which the teacher home reads, the alert sweep's open alerts not yet escalated, and the
current enrolments per school (bench/README.md, "A province's data").

Revision ID: 0a7a347d8f0e
Revises: f34c7d814b40
Create Date: 2026-12-07 14:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0a7a347d8f0e'
down_revision = 'f34c7d814b40'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('export_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('research', 'responses_xlsx', name='exportkind', native_enum=False, length=32),
              nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'done', 'failed', 'expired', name='exportstatus',
                                native_enum=False, length=32), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('approved_by', sa.String(length=120), nullable=False),
    sa.Column('approval_reference', sa.String(length=120), nullable=False),
    sa.Column('pseudonym_salt', sa.String(length=64), nullable=True),
    sa.Column('linked_export_id', sa.Integer(), nullable=True),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=True),
    sa.Column('rows', sa.Integer(), nullable=True),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('error', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_export_jobs_created_by_id_users')),
    sa.ForeignKeyConstraint(['linked_export_id'], ['export_jobs.id'],
                            name=op.f('fk_export_jobs_linked_export_id_export_jobs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_jobs'))
    )
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_jobs_created_by_id'), ['created_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_jobs_status'), ['status'], unique=False)
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.create_index('ix_responses_school_id_submitted_at', ['school_id', 'submitted_at'], unique=False)
    # The sweep on every dashboard load, and the district's current enrolments per school.
    op.create_index('ix_alerts_unescalated_due_at', 'alerts', ['due_at'], unique=False,
                    sqlite_where=sa.text("status = 'open' AND escalated_at IS NULL"),
                    postgresql_where=sa.text("status = 'open' AND escalated_at IS NULL"))
    op.create_index('ix_enrollments_current_school_id', 'enrollments', ['school_id'], unique=False,
                    sqlite_where=sa.text('end_date IS NULL'), postgresql_where=sa.text('end_date IS NULL'))


def downgrade():
    op.drop_index('ix_enrollments_current_school_id', table_name='enrollments')
    op.drop_index('ix_alerts_unescalated_due_at', table_name='alerts')
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_index('ix_responses_school_id_submitted_at')
    with op.batch_alter_table('export_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_jobs_status'))
        batch_op.drop_index(batch_op.f('ix_export_jobs_created_by_id'))
    op.drop_table('export_jobs')
