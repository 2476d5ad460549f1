"""FHIR: a partner hospital's API clients and the district's bulk export jobs (issue 21).

Revision ID: cb0b0681c9a4
Revises: 42352f5a27cf
Create Date: 2026-12-07 14:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'cb0b0681c9a4'
down_revision = '42352f5a27cf'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('fhir_clients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_fhir_clients_created_by_id_users')),
    sa.ForeignKeyConstraint(['hospital_id'], ['hospitals.id'], name=op.f('fk_fhir_clients_hospital_id_hospitals')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'], name=op.f('fk_fhir_clients_revoked_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fhir_clients'))
    )
    with op.batch_alter_table('fhir_clients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fhir_clients_hospital_id'), ['hospital_id'], unique=False)

    op.create_table('fhir_export_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('types', sa.JSON(), nullable=False),
    sa.Column('school_year', sa.String(length=9), nullable=True),
    sa.Column('request_url', sa.String(length=300), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outputs', sa.JSON(), nullable=False),
    sa.Column('error', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_fhir_export_jobs_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fhir_export_jobs'))
    )
    with op.batch_alter_table('fhir_export_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fhir_export_jobs_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_fhir_export_jobs_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('fhir_export_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fhir_export_jobs_expires_at'))
        batch_op.drop_index(batch_op.f('ix_fhir_export_jobs_status'))
    op.drop_table('fhir_export_jobs')
    with op.batch_alter_table('fhir_clients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fhir_clients_hospital_id'))
    op.drop_table('fhir_clients')
