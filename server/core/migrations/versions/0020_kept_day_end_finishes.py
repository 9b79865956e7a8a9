"""kept report figures of format k4 become k5 in place where no number was finished by a day's end

A number still being served when its business day ended is finished by the day end as served with no
service time (its ``finished`` event's ``by`` is ``end_of_day``, as a counter's close finishes one:
server/core/reports/tickets.finished_untimed, format k5), where k4 timed it up to the day's closing
time. A kept row of a day without such a finish has the same figures, so only its basis is rewritten
(``k4;...`` -> ``k5;...``), and so are the months, years and spans without such a day. The rest stays
k4 and is counted again by the first reports that need it (the days with a day-end finish only).
A downgrade leaves the rows as they are: the older code counts again the rows of another format.

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

from queuekiosk.server.core.migrations.kept_days import days_by_site, relabel

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

DAY_END_FINISHES = sa.text(
    "SELECT DISTINCT t.site_id, t.business_day FROM events e JOIN tickets t ON t.id = e.ticket_id"
    " WHERE e.kind = 'finished' AND e.detail IS NOT NULL AND CAST(e.detail AS TEXT) LIKE '%end_of_day%'"
    " ORDER BY 2"
)


def upgrade() -> None:
    relabel(op.get_bind(), "k4", "k5", days_by_site(op.get_bind().execute(DAY_END_FINISHES)))


def downgrade() -> None:
    pass
