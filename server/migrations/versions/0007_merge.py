"""merge the four branches made side by side (memberships, notifications, plans, SOS acks)

Revision ID: 7e2f4a6b8c01
Revises: 3d1e7a5c9f20, 4c0e8f2a7b15, 5b7d3e9a1c42, 6a0c5e1d2b77
Create Date: 2026-12-01 02:35:00
"""
revision = '7e2f4a6b8c01'
down_revision = ('3d1e7a5c9f20', '4c0e8f2a7b15', '5b7d3e9a1c42', '6a0c5e1d2b77')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
