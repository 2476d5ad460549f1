"""Setting up without the demo: school codes and closing, agreements ended early, one-time passwords,
staff account imports.

- schools.code (the school's own code, unique; older rows have none until an admin edits them),
  schools.closed_on / closed_reason (a closed school keeps its files; nothing is deleted);
- partnerships.ended_on / end_reason / ended_by_id (an agreement ended early stays in force that day);
- users.must_change_password (an account's password given by an admin must be changed at first use);
- staff_imports (a CSV/XLSX list of staff accounts kept between preview and apply).

Revision ID: 5e7a1c2b9d40
Revises: a7c3e91d2f40
Create Date: 2026-12-07 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e7a1c2b9d40'
down_revision = 'a7c3e91d2f40'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('schools', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('closed_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('closed_reason', sa.String(length=300), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_schools_code'), ['code'])

    with op.batch_alter_table('partnerships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ended_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('end_reason', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('ended_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_partnerships_ended_by_id_users'), 'users', ['ended_by_id'], ['id'])

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False, server_default=sa.false()))

    op.create_table(
        'staff_imports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('school_id', sa.Integer(), nullable=True),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('rows', sa.JSON(), nullable=False),
        sa.Column('status', sa.Enum('previewed', 'applied', name='staffimportstatus', native_enum=False, length=32), nullable=False),
        sa.Column('summary', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_staff_imports_created_by_id_users')),
        sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_staff_imports_school_id_schools')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_imports')),
    )
    with op.batch_alter_table('staff_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_imports_school_id'), ['school_id'], unique=False)


def downgrade():
    with op.batch_alter_table('staff_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_imports_school_id'))
    op.drop_table('staff_imports')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')

    with op.batch_alter_table('partnerships', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_partnerships_ended_by_id_users'), type_='foreignkey')
        batch_op.drop_column('ended_by_id')
        batch_op.drop_column('end_reason')
        batch_op.drop_column('ended_on')

    with op.batch_alter_table('schools', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_schools_code'), type_='unique')
        batch_op.drop_column('closed_reason')
        batch_op.drop_column('closed_on')
        batch_op.drop_column('code')
