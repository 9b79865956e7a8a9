"""kept report figures of format k5 become k6 in place where nothing changed; the sites' kept days
with a remote number are counted again

Reports measure a remote number's wait, and count it as waiting, from its holder's check-in at the
centre (server/core/reports/tickets.py ``queued_at``; server/core/reports/kept.py format k6), where k5
did from the phone request. A kept row of a day without a remote number has the same figures, so it is
only relabelled here (basis ``k5;...`` -> ``k6;...``), and so are the months, years and spans without
such a day. Only the rest is counted again by the first reports after the upgrade (the days holding a
remote number, instead of every kept day), as migrations 0019 and 0020 did.
Only k5 rows are relabelled: a row 0020 left k4 (a day a day's end finished a number) or 0019 left k3
is of an older format still and is counted again, never relabelled k6 as it is.
The sites' comparison's kept days holding a remote number are dropped, to be counted again.
An index on bookings(ticket_id) lets the reports look up each remote number's check-in by one probe
(without it, each read the day's bookings).
A downgrade drops that index and leaves the rows as they are: the older code counts again the rows of
another format.

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

from queuekiosk.server.core.migrations.kept_days import days_by_site, relabel

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# a remote number's booking, whatever became of it (one never checked in was counted as waiting by k5)
REMOTE_DAYS = sa.text("SELECT DISTINCT site_id, business_day FROM bookings WHERE kind = 'remote' ORDER BY 2")


def upgrade() -> None:
    op.create_index("ix_bookings_ticket", "bookings", ["ticket_id"])
    conn = op.get_bind()
    relabel(conn, "k5", "k6", days_by_site(conn.execute(REMOTE_DAYS)))
    _site_days_with_remote_counted_again(conn)


def downgrade() -> None:
    op.drop_index("ix_bookings_ticket", table_name="bookings")


def _site_days_with_remote_counted_again(conn) -> None:
    """The sites' comparison keeps a day's figures without a format (site_day_figures): a day holding a
    remote number is dropped, and counted again (its wait from the check-in) by the next comparison."""
    conn.execute(
        sa.text(
            "DELETE FROM site_day_figures WHERE EXISTS (SELECT 1 FROM bookings b WHERE b.kind = 'remote'"
            " AND b.site_id = site_day_figures.site_id AND b.business_day = site_day_figures.business_day)"
        )
    )
