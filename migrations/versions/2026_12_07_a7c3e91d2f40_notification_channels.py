"""Notification channels: deliveries by SMS, WeCom, DingTalk and webhooks with each attempt, the channels each
user verified, and the duty groups of schools and hospitals (their webhook addresses and secrets encrypted).

Revision ID: a7c3e91d2f40
Revises: f153c838181d
Create Date: 2026-12-07 04:26:47.548787

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e91d2f40'
down_revision = 'f153c838181d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('duty_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.Column('hospital_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('secret', sa.Text(), nullable=True),
    sa.Column('levels', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_duty_groups_created_by_id_users')),
    sa.ForeignKeyConstraint(['hospital_id'], ['hospitals.id'], name=op.f('fk_duty_groups_hospital_id_hospitals')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_duty_groups_school_id_schools')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_groups'))
    )
    with op.batch_alter_table('duty_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_groups_hospital_id'), ['hospital_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_duty_groups_school_id'), ['school_id'], unique=False)

    op.create_table('user_channels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('levels', sa.JSON(), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('code_hash', sa.String(length=64), nullable=True),
    sa.Column('code_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('code_tries', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_channels_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_channels')),
    sa.UniqueConstraint('user_id', 'channel', name=op.f('uq_user_channels_user_id_channel'))
    )
    with op.batch_alter_table('user_channels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_channels_user_id'), ['user_id'], unique=False)

    op.create_table('deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=80), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('recipient', sa.String(length=24), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('duty_group_id', sa.Integer(), nullable=True),
    sa.Column('alert_id', sa.Integer(), nullable=True),
    sa.Column('school_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('case_number', sa.String(length=16), nullable=False),
    sa.Column('link', sa.String(length=255), nullable=False),
    sa.Column('state', sa.Enum('pending', 'sending', 'sent', 'failed', name='deliverystate', native_enum=False, length=32), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_answer', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ack_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_deliveries_alert_id_alerts')),
    sa.ForeignKeyConstraint(['duty_group_id'], ['duty_groups.id'], name=op.f('fk_deliveries_duty_group_id_duty_groups')),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_deliveries_school_id_schools')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_deliveries_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
    sa.UniqueConstraint('event', 'channel', 'recipient', name=op.f('uq_deliveries_event_channel_recipient'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deliveries_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deliveries_state'), ['state'], unique=False)

    op.create_table('delivery_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('answer', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['deliveries.id'], name=op.f('fk_delivery_attempts_delivery_id_deliveries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_attempts'))
    )
    with op.batch_alter_table('delivery_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_attempts_delivery_id'), ['delivery_id'], unique=False)



def downgrade():
    with op.batch_alter_table('delivery_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_attempts_delivery_id'))

    op.drop_table('delivery_attempts')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deliveries_state'))
        batch_op.drop_index(batch_op.f('ix_deliveries_alert_id'))

    op.drop_table('deliveries')
    with op.batch_alter_table('user_channels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_channels_user_id'))

    op.drop_table('user_channels')
    with op.batch_alter_table('duty_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duty_groups_school_id'))
        batch_op.drop_index(batch_op.f('ix_duty_groups_hospital_id'))

    op.drop_table('duty_groups')
