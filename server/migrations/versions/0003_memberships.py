"""Organization memberships: a provider asks to join, the organization's admin accepts

Revision ID: 3d1e7a5c9f20
Revises: 9281074110f6
Create Date: 2026-12-01 02:00:00
"""
import sqlalchemy as sa
from alembic import op

import models.types

revision = '3d1e7a5c9f20'
down_revision = '9281074110f6'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('organization_membership',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('requested_at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', models.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], ),
    sa.ForeignKeyConstraint(['provider_id'], ['provider.id'], ),
    sa.ForeignKeyConstraint(['decided_by'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('organization_id', 'provider_id', name='uq_membership_once'),
    )
    with op.batch_alter_table('organization_membership', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organization_membership_organization_id'), ['organization_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_organization_membership_provider_id'), ['provider_id'], unique=False)
    # Providers who named an organization before this revision had joined it at once: they stay
    # members, recorded as accepted.
    op.execute("INSERT INTO organization_membership (organization_id, provider_id, status, requested_at, decided_at) "
               "SELECT organization_id, id, 'accepted', created_at, created_at FROM provider "
               "WHERE organization_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('organization_membership', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organization_membership_provider_id'))
        batch_op.drop_index(batch_op.f('ix_organization_membership_organization_id'))
    op.drop_table('organization_membership')
