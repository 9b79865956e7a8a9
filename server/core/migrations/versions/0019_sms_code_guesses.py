"""the wrong codes typed for an SMS code sent when booking: five make the code void; kept report
figures of format k3 become k4 in place where nothing changed

Reports count a remote number that lapsed apart (``lapsed``, after ``cancelled`` in each kept row's
counts: server/core/reports/kept.py format k4), where k3 counted it as expired. A kept row of a day
with no lapsed booking has the same figures with ``lapsed = 0``, so it is rewritten here (a 0 put in
after ``cancelled``; basis ``k3;...`` -> ``k4;...``), and so are the months, years and spans without
such a day. Only the rest is counted again by the first reports after the upgrade (the days with a
lapsed remote number, instead of every kept day: three years took the first reports minutes).
A downgrade leaves the rows as they are: the older code counts again the rows of another format.

Revision ID: 0019
Revises: 0018
"""

import datetime as dt
import json
from bisect import bisect_left

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

DAY_GROUPINGS = ("total", "service", "counter", "clerk", "hour", "peaks")
K3_ROW_LENGTH = 19  # key, 11 counts, ratings, and 3 figures each for the waits and the service times
LAPSED_AT = 9  # after the key and issued ... cancelled
FIGURES = sa.table(
    "report_day_figures",
    sa.column("site_id", sa.String),
    sa.column("grouping", sa.String),
    sa.column("business_day", sa.Date),
    sa.column("basis", sa.Text),
    sa.column("figures", sa.Text),
)


def upgrade() -> None:
    op.create_table(
        "sms_code_guesses",
        sa.Column("proof_hash", sa.String(length=64), nullable=False),
        sa.Column("wrong", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("proof_hash", name=op.f("pk_sms_code_guesses")),
    )
    op.create_index("ix_sms_code_guesses_expires_at", "sms_code_guesses", ["expires_at"])
    _kept_k3_to_k4(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_sms_code_guesses_expires_at", table_name="sms_code_guesses")
    op.drop_table("sms_code_guesses")


def _kept_k3_to_k4(conn) -> None:
    lapsed: dict[str, list[int]] = {}  # site -> the ordinals of its days with a lapsed booking, sorted
    for site_id, day in conn.execute(
        sa.text("SELECT DISTINCT site_id, business_day FROM bookings WHERE status = 'lapsed' ORDER BY 2")
    ):
        lapsed.setdefault(site_id, []).append(_date(day).toordinal())
    columns = (FIGURES.c.site_id, FIGURES.c.grouping, FIGURES.c.business_day, FIGURES.c.basis, FIGURES.c.figures)
    changed = []
    for site_id, grouping, day, basis, figures in conn.execute(sa.select(*columns).where(FIGURES.c.basis.like("k3;%"))):
        first, last = _days_of(grouping, _date(day))
        if first is None or _any_between(lapsed.get(site_id, []), first, last):
            continue  # counted again by the next report that needs it
        figures = _with_lapsed(figures)
        if figures is not None:
            changed.append({"s": site_id, "g": grouping, "d": day, "f": figures, "b": "k4" + basis[2:]})
    update = (
        sa.update(FIGURES)
        .where(
            FIGURES.c.site_id == sa.bindparam("s"),
            FIGURES.c.grouping == sa.bindparam("g"),
            FIGURES.c.business_day == sa.bindparam("d"),
        )
        .values(figures=sa.bindparam("f"), basis=sa.bindparam("b"))
    )
    for start in range(0, len(changed), 1000):
        conn.execute(update, changed[start : start + 1000])


def _date(value) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _days_of(grouping: str, day: dt.date) -> tuple:
    """The first and last day a kept row covers: a day's, a month's ("m..."), a year's ("y...") or a
    span's ("r" + its days + a letter); (None, None) for a name not known."""
    if grouping in DAY_GROUPINGS:
        return day, day
    if grouping[:1] == "m":
        following = day.replace(year=day.year + (day.month == 12), month=day.month % 12 + 1, day=1)
        return day, following - dt.timedelta(days=1)
    if grouping[:1] == "y":
        return day, day.replace(month=12, day=31)
    if grouping[:1] == "r" and grouping[1:-1].isdigit():
        return day, day + dt.timedelta(days=int(grouping[1:-1]) - 1)
    return None, None


def _any_between(ordinals: list[int], first: dt.date, last: dt.date) -> bool:
    at = bisect_left(ordinals, first.toordinal())
    return at < len(ordinals) and ordinals[at] <= last.toordinal()


def _with_lapsed(figures: str) -> str | None:
    """A k3 row's figures as k4's: each report row with lapsed = 0 after cancelled. Peaks (an object)
    and chunk rows (no figures) are the same in both; anything else is left to be counted again."""
    if not figures:
        return figures
    found = json.loads(figures)
    if isinstance(found, dict):
        return figures
    if not isinstance(found, list) or any(not isinstance(row, list) or len(row) != K3_ROW_LENGTH for row in found):
        return None
    for row in found:
        row.insert(LAPSED_AT, 0)
    return json.dumps(found, separators=(",", ":"))
