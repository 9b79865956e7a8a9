"""a remote number's check-in kept on its ticket: the clerk console, its list and the printed ticket
time its wait from there, as the reports do

A remote number (taken on a phone at /book) joins the queue at its holder's check-in at the centre.
The reports (server/core/reports/tickets.py ``queued_at``) and the ticket's view (``queued_at``,
server/core/engine/views.py) read that time from the ticket itself, as every screen and event shows
the ticket without looking up its booking. The rows of the numbers already checked in get their
booking's check-in (tests/test_migrations.py). A downgrade drops the column.

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tickets", sa.Column("checked_in_at", sa.DateTime(), nullable=True))
    op.get_bind().execute(
        sa.text(
            "UPDATE tickets SET checked_in_at = (SELECT b.checked_in_at FROM bookings b WHERE b.ticket_id = tickets.id"
            " AND b.kind = 'remote') WHERE origin = 'remote'"
        )
    )


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place (a batch copy would trip the foreign keys to tickets)
    op.execute("ALTER TABLE tickets DROP COLUMN checked_in_at")
