"""plans: recurring care plans, their visits' key on service_request, visit notices, daily check-ins

Revision ID: 5b7d3e9a1c42
Revises: 9281074110f6
Create Date: 2026-12-01 01:50:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import models.types


revision = '5b7d3e9a1c42'
down_revision = '9281074110f6'
branch_labels = None
depends_on = None

_TS = models.types.UTCDateTime(timezone=True)


def _str(n):
    return sqlmodel.sql.sqltypes.AutoString(length=n)


def upgrade() -> None:
    op.create_table('plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('senior_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('service_type', sa.String(length=24), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('rrule', _str(300), nullable=False),
    sa.Column('start_local', _str(19), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('rule_from', _TS, nullable=False),
    sa.Column('earlier_rules', sa.JSON(), nullable=False),
    sa.Column('until', _TS, nullable=True),
    sa.Column('preferred_provider_id', sa.Integer(), nullable=True),
    sa.Column('notes', _str(500), nullable=True),
    sa.Column('materialised_until', _TS, nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', _TS, nullable=False),
    sa.Column('updated_at', _TS, nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], ),
    sa.ForeignKeyConstraint(['created_by'], ['user.id'], ),
    sa.ForeignKeyConstraint(['preferred_provider_id'], ['provider.id'], ),
    sa.ForeignKeyConstraint(['senior_id'], ['senior.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('plan', schema=None) as batch_op:
        batch_op.create_index('ix_plan_status_senior', ['status', 'senior_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_senior_id'), ['senior_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_community_id'), ['community_id'], unique=False)

    with op.batch_alter_table('service_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('plan_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('occurrence_start', _TS, nullable=True))
        batch_op.create_index('uq_request_plan_occurrence', ['plan_id', 'occurrence_start'], unique=True)
        batch_op.create_index('ix_request_status_start', ['status', 'scheduled_start'], unique=False)

    op.create_table('visit_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('kind', _str(24), nullable=False),
    sa.Column('sent_at', _TS, nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['service_request.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id', 'kind', name='uq_visit_notice_once')
    )

    op.create_table('checkin_setting',
    sa.Column('senior_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('deadline', _str(5), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=False),
    sa.Column('updated_at', _TS, nullable=False),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], ),
    sa.ForeignKeyConstraint(['senior_id'], ['senior.id'], ),
    sa.ForeignKeyConstraint(['updated_by'], ['user.id'], ),
    sa.PrimaryKeyConstraint('senior_id')
    )
    with op.batch_alter_table('checkin_setting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkin_setting_community_id'), ['community_id'], unique=False)

    op.create_table('checkin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('senior_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('at', _TS, nullable=False),
    sa.Column('by_user', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['by_user'], ['user.id'], ),
    sa.ForeignKeyConstraint(['senior_id'], ['senior.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('senior_id', 'day', name='uq_checkin_day')
    )
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkin_day'), ['day'], unique=False)

    op.create_table('checkin_alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('senior_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('family_at', _TS, nullable=False),
    sa.Column('staff_at', _TS, nullable=True),
    sa.Column('resolved_at', _TS, nullable=True),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], ),
    sa.ForeignKeyConstraint(['senior_id'], ['senior.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('senior_id', 'day', name='uq_checkin_alert_day')
    )
    with op.batch_alter_table('checkin_alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkin_alert_day'), ['day'], unique=False)
        batch_op.create_index(batch_op.f('ix_checkin_alert_community_id'), ['community_id'], unique=False)


def downgrade() -> None:
    op.drop_table('checkin_alert')
    op.drop_table('checkin')
    op.drop_table('checkin_setting')
    op.drop_table('visit_notice')
    with op.batch_alter_table('service_request', schema=None) as batch_op:
        batch_op.drop_index('ix_request_status_start')
        batch_op.drop_index('uq_request_plan_occurrence')
        batch_op.drop_column('occurrence_start')
        batch_op.drop_column('plan_id')
    op.drop_table('plan')
