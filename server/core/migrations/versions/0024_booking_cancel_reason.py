"""why the centre cancelled a booking: its day closed, its hours changed, its site retired

A change of the opening hours, working days or holidays that leaves booked citizens a closed door is
saved only when confirmed, and then cancels those bookings (server/core/setup_changes.py); the
booking's page tells its holder the centre cancelled it and why, and its webhook event says so. A
booking cancelled before this migration, or by its holder, has none. A downgrade drops the column.

Revision ID: 0024
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("bookings", sa.Column("cancel_reason", sa.String(16), nullable=True))


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place (a batch copy would trip the foreign keys to bookings)
    op.execute("ALTER TABLE bookings DROP COLUMN cancel_reason")
