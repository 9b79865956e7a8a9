"""kept report figures of format k4 become k5 in place where nothing changed; the sites' kept days
with a remote number are counted again

Reports measure a remote number's wait, and count it as waiting, from its holder's check-in at the
centre (server/core/reports/tickets.py ``queued_at``; server/core/reports/kept.py format k5), where k4
did from the phone request. A kept row of a day without a remote number has the same figures, so it is
only relabelled here (basis ``k4;...`` -> ``k5;...``), and so are the months, years and spans without
such a day. Only the rest is counted again by the first reports after the upgrade (the days holding a
remote number, instead of every kept day), as migration 0019 did.
The sites' comparison's kept days holding a remote number are dropped, to be counted again.
A downgrade leaves the rows as they are: the older code counts again the rows of another format.

Revision ID: 0020
Revises: 0019
"""

import importlib

import sqlalchemy as sa
from alembic import op

# the kept rows' table and which days a row covers, as migration 0019 reads them
_K3_TO_K4 = importlib.import_module("queuekiosk.server.core.migrations.versions.0019_sms_code_guesses")
_date, _days_of, _any_between = _K3_TO_K4._date, _K3_TO_K4._days_of, _K3_TO_K4._any_between

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

FIGURES = _K3_TO_K4.FIGURES


def upgrade() -> None:
    _kept_k4_to_k5_remote_waits(op.get_bind())
    _site_days_with_remote_counted_again(op.get_bind())


def downgrade() -> None:
    pass


def _kept_k4_to_k5_remote_waits(conn) -> None:
    """Relabel as k5 every k4 row (day, month, year, span) covering no day that holds a remote number
    (its booking, whatever became of it: a number never checked in was counted as waiting by k4)."""
    remote: dict[str, list[int]] = {}  # site -> the ordinals of its days holding a remote number, sorted
    for site_id, day in conn.execute(
        sa.text("SELECT DISTINCT site_id, business_day FROM bookings WHERE kind = 'remote' ORDER BY 2")
    ):
        remote.setdefault(str(site_id), []).append(_date(day).toordinal())
    columns = (FIGURES.c.site_id, FIGURES.c.grouping, FIGURES.c.business_day, FIGURES.c.basis)
    changed = []
    for site_id, grouping, day, basis in conn.execute(sa.select(*columns).where(FIGURES.c.basis.like("k4;%"))):
        first, last = _days_of(grouping, _date(day))
        if first is None or _any_between(remote.get(str(site_id), []), first, last):
            continue  # counted again by the next report that needs it
        changed.append({"s": site_id, "g": grouping, "d": day, "b": "k5" + basis[2:]})
    update = (
        sa.update(FIGURES)
        .where(
            FIGURES.c.site_id == sa.bindparam("s"),
            FIGURES.c.grouping == sa.bindparam("g"),
            FIGURES.c.business_day == sa.bindparam("d"),
        )
        .values(basis=sa.bindparam("b"))
    )
    for start in range(0, len(changed), 1000):
        conn.execute(update, changed[start : start + 1000])


def _site_days_with_remote_counted_again(conn) -> None:
    """The sites' comparison keeps a day's figures without a format (site_day_figures): a day holding a
    remote number is dropped, and counted again (its wait from the check-in) by the next comparison."""
    conn.execute(
        sa.text(
            "DELETE FROM site_day_figures WHERE EXISTS (SELECT 1 FROM bookings b WHERE b.kind = 'remote'"
            " AND b.site_id = site_day_figures.site_id AND b.business_day = site_day_figures.business_day)"
        )
    )
