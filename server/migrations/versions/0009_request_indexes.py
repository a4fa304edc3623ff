"""Fewer index writes a request: no index on status alone (ix_request_status_start begins with it),
and the provider window index only over rows with a provider (plan visits wait unassigned); offers
indexed by (request_id, status), so "has this request a live offer" is one probe

Revision ID: 9b4e2c7d1a03
Revises: 8a1c4e7b3d55
Create Date: 2026-12-01 05:20:00
"""
from alembic import op
import sqlalchemy as sa

revision = '9b4e2c7d1a03'
down_revision = '8a1c4e7b3d55'
branch_labels = None
depends_on = None

ASSIGNED = sa.text("provider_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index('ix_service_request_status', table_name='service_request')
    op.drop_index('ix_request_provider_window', table_name='service_request')
    op.create_index('ix_request_provider_window', 'service_request', ['provider_id', 'status', 'scheduled_start'],
                    sqlite_where=ASSIGNED, postgresql_where=ASSIGNED)
    op.drop_index('ix_offer_request_id', table_name='offer')
    op.create_index('ix_offer_request_status', 'offer', ['request_id', 'status'])


def downgrade() -> None:
    op.drop_index('ix_offer_request_status', table_name='offer')
    op.create_index('ix_offer_request_id', 'offer', ['request_id'])
    op.drop_index('ix_request_provider_window', table_name='service_request')
    op.create_index('ix_request_provider_window', 'service_request', ['provider_id', 'status', 'scheduled_start'])
    op.create_index('ix_service_request_status', 'service_request', ['status'])
