"""Cut-off profiles and reviewed Chinese texts.

Every score names the cut-off profile it was banded with: the rows already stored were banded with the data
files' own (international) bands, so they get 'international'. A campaign keeps the texts and profiles fixed at
its launch (NULL on older campaigns: the default text, the international bands). The district admin's profile
choices, the doctors' reviews of the texts a centre loads, and re-bandings made by `flask scales reband` get
their tables.

Revision ID: a3c71e0b5d24
Revises: b7e2c4a91f03
Create Date: 2026-12-07 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a3c71e0b5d24'
down_revision = 'b7e2c4a91f03'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('scores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cutoff_profile', sa.String(length=64), server_default='international',
                                      nullable=False))
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scale_texts', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('cutoff_profiles', sa.JSON(), nullable=True))

    op.create_table('cutoff_profile_choices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scale_code', sa.String(length=16), nullable=False),
    sa.Column('school_level', sa.String(length=16), nullable=False),
    sa.Column('profile', sa.String(length=64), nullable=False),
    sa.Column('chosen_by_id', sa.Integer(), nullable=False),
    sa.Column('chosen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['chosen_by_id'], ['users.id'], name=op.f('fk_cutoff_profile_choices_chosen_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cutoff_profile_choices')),
    sa.UniqueConstraint('scale_code', 'school_level', name=op.f('uq_cutoff_profile_choices_scale_code_school_level'))
    )
    op.create_table('scale_text_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scale_code', sa.String(length=16), nullable=False),
    sa.Column('text_id', sa.String(length=16), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('decision', sa.Enum('approved', 'rejected', name='reviewdecision', native_enum=False, length=32),
              nullable=False),
    sa.Column('compared_with', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_scale_text_reviews_reviewed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scale_text_reviews')),
    sa.UniqueConstraint('scale_code', 'text_id', name=op.f('uq_scale_text_reviews_scale_code_text_id'))
    )
    op.create_table('score_rebands',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('score_id', sa.Integer(), nullable=False),
    sa.Column('from_profile', sa.String(length=64), nullable=False),
    sa.Column('from_band', sa.String(length=32), nullable=True),
    sa.Column('from_risk', sa.String(length=16), nullable=False),
    sa.Column('from_flags', sa.JSON(), nullable=False),
    sa.Column('to_profile', sa.String(length=64), nullable=False),
    sa.Column('to_band', sa.String(length=32), nullable=True),
    sa.Column('to_risk', sa.String(length=16), nullable=False),
    sa.Column('to_flags', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('rebanded_by_id', sa.Integer(), nullable=False),
    sa.Column('rebanded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['rebanded_by_id'], ['users.id'], name=op.f('fk_score_rebands_rebanded_by_id_users')),
    sa.ForeignKeyConstraint(['score_id'], ['scores.id'], name=op.f('fk_score_rebands_score_id_scores')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_score_rebands'))
    )
    with op.batch_alter_table('score_rebands', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_score_rebands_score_id'), ['score_id'], unique=False)


def downgrade():
    with op.batch_alter_table('score_rebands', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_score_rebands_score_id'))
    op.drop_table('score_rebands')
    op.drop_table('scale_text_reviews')
    op.drop_table('cutoff_profile_choices')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('cutoff_profiles')
        batch_op.drop_column('scale_texts')
    with op.batch_alter_table('scores', schema=None) as batch_op:
        batch_op.drop_column('cutoff_profile')
