"""What the migrations that change the kept report figures' format share (0019, 0020, 0021): a kept row
whose days hold nothing the new format counts differently is rewritten in place to the new format, so
that the first reports after an upgrade count again only the days that changed, not years of them.
Plain SQLAlchemy Core on the table's columns, as the migrations see it, not the models of today."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left

import sqlalchemy as sa

DAY_GROUPINGS = ("total", "service", "counter", "clerk", "hour", "peaks")
FIGURES = sa.table(
    "report_day_figures",
    sa.column("site_id", sa.String),
    sa.column("grouping", sa.String),
    sa.column("business_day", sa.Date),
    sa.column("basis", sa.Text),
    sa.column("figures", sa.Text),
)


def relabel(conn, old: str, new: str, changed_days: dict[str, list[int]], figures_of=None) -> None:
    """Rows of format ``old`` ("k3") become ``new`` ("k4"), their figures ``figures_of(figures)`` (None:
    leave the row), unless one of the days they cover is in ``changed_days`` (site -> the ordinals of
    its days that count differently, sorted): those stay ``old`` and are counted again when needed.
    Without ``figures_of`` (the figures are the same) only the label is rewritten, not the figures."""
    rewrite = figures_of is not None
    columns = (FIGURES.c.site_id, FIGURES.c.grouping, FIGURES.c.business_day, FIGURES.c.basis)
    changed = []
    for site_id, grouping, day, basis, *figures in conn.execute(
        sa.select(*columns, *([FIGURES.c.figures] if rewrite else [])).where(FIGURES.c.basis.like(old + ";%"))
    ):
        first, last = days_of(grouping, date_of(day))
        if first is None or _any_between(changed_days.get(site_id, []), first, last):
            continue  # counted again by the next report that needs it
        row = {"s": site_id, "g": grouping, "d": day, "b": new + basis[len(old) :]}
        if rewrite:
            row["f"] = figures_of(figures[0])
            if row["f"] is None:
                continue
        changed.append(row)
    values = {"basis": sa.bindparam("b"), **({"figures": sa.bindparam("f")} if rewrite else {})}
    update = (
        sa.update(FIGURES)
        .where(
            FIGURES.c.site_id == sa.bindparam("s"),
            FIGURES.c.grouping == sa.bindparam("g"),
            FIGURES.c.business_day == sa.bindparam("d"),
        )
        .values(**values)
    )
    for start in range(0, len(changed), 1000):
        conn.execute(update, changed[start : start + 1000])


def days_by_site(rows) -> dict[str, list[int]]:
    """(site, day) rows, sorted by day, as relabel's ``changed_days``."""
    days: dict[str, list[int]] = {}
    for site_id, day in rows:
        days.setdefault(site_id, []).append(date_of(day).toordinal())
    return days


def date_of(value) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def days_of(grouping: str, day: dt.date) -> tuple:
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
