"""SOS acknowledgements by everyone who saw an alert; at most one open alert per senior

Revision ID: 6a0c5e1d2b77
Revises: 9281074110f6
Create Date: 2026-12-01 02:00:00
"""
from alembic import op
import sqlalchemy as sa

import models.types

revision = '6a0c5e1d2b77'
down_revision = '9281074110f6'
branch_labels = None
depends_on = None

OPEN = sa.text("status <> 'resolved'")


def upgrade() -> None:
    op.create_table('sos_ack',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sos_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('at', models.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['sos_id'], ['sos_alert.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('sos_id', 'user_id', name='uq_sos_ack_once'),
    )
    # Older databases may hold several open alerts for one senior: keep the newest open, resolve the rest.
    op.execute("UPDATE sos_alert SET status = 'resolved', note = 'merged into a newer alert' "
               "WHERE status <> 'resolved' AND id NOT IN "
               "(SELECT max(id) FROM sos_alert WHERE status <> 'resolved' GROUP BY senior_id)")
    op.create_index('uq_sos_alert_one_open', 'sos_alert', ['senior_id'], unique=True,
                    sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade() -> None:
    op.drop_index('uq_sos_alert_one_open', table_name='sos_alert')
    op.drop_table('sos_ack')
