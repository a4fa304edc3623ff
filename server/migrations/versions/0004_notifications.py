"""notifications: push subscriptions, preferences, deliveries and the dispatcher's claim on events

Revision ID: 4c0e8f2a7b15
Revises: 9281074110f6
Create Date: 2026-12-01 02:00:00
"""
from alembic import op
import sqlalchemy as sa
import models.types


revision = '4c0e8f2a7b15'
down_revision = '9281074110f6'
branch_labels = None
depends_on = None

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'push_subscription',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('endpoint', sa.String(length=1000), nullable=False),
        sa.Column('p256dh', sa.String(length=200), nullable=False),
        sa.Column('auth', sa.String(length=100), nullable=False),
        sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('endpoint'),
    )
    op.create_index('ix_push_subscription_user_id', 'push_subscription', ['user_id'])
    op.create_table(
        'notification_preference',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('push', sa.Boolean(), nullable=False),
        sa.Column('sms', sa.Boolean(), nullable=False),
        sa.Column('quiet_start', sa.String(length=5), nullable=True),
        sa.Column('quiet_end', sa.String(length=5), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user.id']),
        sa.PrimaryKeyConstraint('user_id'),
    )
    op.create_table(
        'event_notice',
        sa.Column('event_id', _BIGINT, autoincrement=False, nullable=False),
        sa.Column('at', models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['event.id']),
        sa.PrimaryKeyConstraint('event_id'),
    )
    op.create_table(
        'delivery',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', _BIGINT, nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=24), nullable=False),
        sa.Column('subscription_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('status', sa.String(length=24), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('claim', sa.String(length=32), nullable=True),
        sa.Column('last_error', sa.String(length=300), nullable=True),
        sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('sent_at', models.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['event_id'], ['event.id']),
        sa.ForeignKeyConstraint(['user_id'], ['user.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('event_id', 'user_id', 'channel', 'subscription_id', name='uq_delivery_once'),
    )
    op.create_index('ix_delivery_due', 'delivery', ['status', 'next_attempt_at'])
    op.create_index('ix_delivery_event_id', 'delivery', ['event_id'])
    op.create_index('ix_delivery_user_id', 'delivery', ['user_id'])


def downgrade() -> None:
    op.drop_index('ix_delivery_user_id', table_name='delivery')
    op.drop_index('ix_delivery_event_id', table_name='delivery')
    op.drop_index('ix_delivery_due', table_name='delivery')
    op.drop_table('delivery')
    op.drop_table('event_notice')
    op.drop_table('notification_preference')
    op.drop_index('ix_push_subscription_user_id', table_name='push_subscription')
    op.drop_table('push_subscription')
