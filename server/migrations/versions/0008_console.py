"""console: complaints about visits, the date of a provider's or organization's last status change,
and the channel a request came in by (app, hotline, plan)

Revision ID: 8a1c4e7b3d55
Revises: 7e2f4a6b8c01
Create Date: 2026-12-01 04:20:00
"""
import sqlalchemy as sa
from alembic import op

import models.types

revision = '8a1c4e7b3d55'
down_revision = '7e2f4a6b8c01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('complaint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('senior_id', sa.Integer(), nullable=False),
    sa.Column('community_id', sa.Integer(), nullable=False),
    sa.Column('filed_by', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=24), nullable=False),
    sa.Column('text', sa.String(length=1000), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('upheld', sa.Boolean(), nullable=True),
    sa.Column('resolution', sa.String(length=500), nullable=True),
    sa.Column('resolved_by', sa.Integer(), nullable=True),
    sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', models.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['service_request.id'], ),
    sa.ForeignKeyConstraint(['provider_id'], ['provider.id'], ),
    sa.ForeignKeyConstraint(['senior_id'], ['senior.id'], ),
    sa.ForeignKeyConstraint(['community_id'], ['community.id'], ),
    sa.ForeignKeyConstraint(['filed_by'], ['user.id'], ),
    sa.ForeignKeyConstraint(['resolved_by'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id', 'filed_by', name='uq_complaint_once'),
    )
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        for column in ('request_id', 'provider_id', 'senior_id', 'community_id', 'filed_by'):
            batch_op.create_index(batch_op.f(f'ix_complaint_{column}'), [column], unique=False)
        batch_op.create_index('ix_complaint_community_status', ['community_id', 'status'], unique=False)

    with op.batch_alter_table('provider', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_changed_at', models.types.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_changed_at', models.types.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('service_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=10), nullable=False, server_default='app'))


def downgrade() -> None:
    with op.batch_alter_table('service_request', schema=None) as batch_op:
        batch_op.drop_column('channel')
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.drop_column('status_changed_at')
    with op.batch_alter_table('provider', schema=None) as batch_op:
        batch_op.drop_column('status_changed_at')
    op.drop_table('complaint')
