"""Sites compared: one row per site over a period, for the province (``GET /api/v1/reports/sites``).

Each site's row gives what its own summary report gives in total for the same days: tickets
issued, served and no-shows, the average and 90th percentile wait, the share of called tickets
within their service's target wait, "% hài lòng", and the bookings made for those days. A period
is whole business days (``first_day`` to ``last_day``), each site's own: a site in another time
zone is counted by its own local days, as its own reports count it.

A year of fifty busy sites is millions of tickets: more than any database reads in 2 s on a
small server. So a day that is over is counted once, grouped by site and day in the database,
and kept (``site_day_figures``); the comparison then reads one row per site and day (fifty
sites, a year: 13,000 rows) and counts only the days not kept yet (today, and any day first
asked for). A day is kept once nothing in it can change: two days after it (every time zone has
ended it) and with no ticket left waiting or held.

The 90th percentile comes from the waits counted by bucket (``WAIT_BUCKETS``: 30 s wide up to an
hour, 2 min up to four hours): the middle of its bucket, within 15 s of the exact value below an
hour and 1 min below four hours ("four hours or more" past that). Everything else is exact. docs/reports.md and docs/performance.md say more.
"""

from __future__ import annotations

import datetime as dt
import json
import operator
import time

from sqlalchemy import Integer, Text, and_, case, cast, func, literal, select
from sqlalchemy.exc import DBAPIError

from .. import models as m
from ..sites import serving_site
from .clock import utcnow
from .tally import pct, rounded
from .tickets import SV, T, connection, insert_ignoring_conflicts, wait_seconds

FIG = m.site_day_figures
R = m.ratings
B = m.bookings
SITES = m.sites
SEQ = m.number_sequences

SATISFIED = ("very_satisfied", "satisfied")
OPEN_STATES = ("waiting", "called", "serving")
# waits by bucket: (up to, width) in seconds; past the last, one bucket
WAIT_BUCKETS = ((3600, 30), (14400, 120))
LAST_BUCKET = 3600 // 30 + (14400 - 3600) // 120  # 210: four hours or more
KEPT_AFTER_DAYS = 2  # a day is over in every time zone two days after it (UTC)
YIELD_EVERY = 5000  # rows counted between two pauses for the server's other requests


def _let_others_run() -> None:
    """A first look at a long period counts for seconds in Python: in a server process (gevent,
    time.sleep patched) each pause lets that process's other requests and screens go on; elsewhere
    it costs nothing."""
    time.sleep(0)


def _bucket_of(conn, wait):
    """The SQL bucket number of a wait in seconds (see WAIT_BUCKETS)."""
    first = 3600 // 30

    def whole(value):  # of a value >= 0: PostgreSQL's CAST rounds, SQLite's truncates
        return cast(func.floor(value), Integer) if conn.dialect.name == "postgresql" else cast(value, Integer)

    return case(
        (wait < 0, 0),
        (wait < 3600, whole(wait / 30)),
        (wait < 14400, first + whole((wait - 3600) / 120)),
        else_=LAST_BUCKET,
    )


def _bucket_bounds(bucket: int) -> tuple[float, float]:
    first = 3600 // 30
    if bucket < first:
        return bucket * 30.0, bucket * 30.0 + 30
    if bucket < LAST_BUCKET:
        low = 3600.0 + (bucket - first) * 120
        return low, low + 120
    return 14400.0, 14400.0  # four hours or more: said as four hours


def histogram_percentile(histogram: list[int], share: float) -> float | None:
    """The ``share`` percentile (PERCENTILE.INC ranks) of waits counted by bucket: the middle of the
    bucket it falls in, so within half a bucket's width of the exact value."""
    count = sum(histogram)
    if not count:
        return None
    rank = (count - 1) * share  # 0-based, as PERCENTILE.INC
    seen = 0
    for bucket, n in enumerate(histogram):
        if n and rank < seen + n:
            low, high = _bucket_bounds(bucket)
            return (low + high) / 2
        seen += n
    return _bucket_bounds(len(histogram) - 1)[1]


class _Day:
    """One site's figures for one day (or a sum of days) while they are counted."""

    __slots__ = (
        "issued",
        "served",
        "no_show",
        "called",
        "target_met",
        "wait_sum",
        "histogram",
        "rated",
        "satisfied",
        "open",
    )

    def __init__(self):
        self.issued = self.served = self.no_show = self.called = self.target_met = 0
        self.rated = self.satisfied = self.open = 0
        self.wait_sum = 0.0
        self.histogram: list[int] = []

    def add_histogram(self, other: list[int]) -> None:
        mine = self.histogram
        if len(mine) < len(other):
            mine.extend([0] * (len(other) - len(mine)))
        # map() adds in C: a year of fifty sites is 13,000 histograms
        mine[: len(other)] = map(operator.add, mine, other)

    def add(self, other: _Day) -> None:
        for name in ("issued", "served", "no_show", "called", "target_met", "rated", "satisfied"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.wait_sum += other.wait_sum
        self.add_histogram(other.histogram)


def _count_days(conn, where) -> dict[tuple[str, dt.date], _Day]:
    """The figures of the tickets (and ratings) ``where`` selects, per site and day, from the tickets."""
    wait = wait_seconds(conn)  # (a remote number's from its check-in, as its own summary measures it)
    days: dict[tuple[str, dt.date], _Day] = {}

    def day_of(site_id, day) -> _Day:
        if isinstance(day, str):  # SQLite
            day = dt.date.fromisoformat(day)
        key = (site_id, day)
        found = days.get(key)
        if found is None:
            found = days[key] = _Day()
        return found

    counts = select(
        T.c.site_id,
        T.c.business_day,
        func.count(),
        func.sum(case((T.c.status == "done", 1), else_=0)),
        func.sum(case((T.c.status == "no_show", 1), else_=0)),
        func.count(T.c.called_at),
        func.sum(case((wait <= SV.c.target_wait_minutes * 60.0, 1), else_=0)),
        func.coalesce(func.sum(wait), 0.0),
        func.sum(case((T.c.status.in_(OPEN_STATES), 1), else_=0)),
    ).select_from(T.join(SV, SV.c.id == T.c.origin_service_id))
    for site_id, day, issued, served, no_show, called, met, wait_sum, still_open in conn.execute(
        counts.where(where(T)).group_by(T.c.site_id, T.c.business_day)
    ):
        d = day_of(site_id, day)
        d.issued, d.served, d.no_show, d.called = issued, served or 0, no_show or 0, called
        d.target_met, d.wait_sum, d.open = met or 0, float(wait_sum or 0), still_open or 0

    bucket = _bucket_of(conn, wait).label("bucket")
    by_bucket = (
        select(T.c.site_id, T.c.business_day, bucket, func.count())
        .select_from(T)
        .where(where(T), T.c.called_at.is_not(None))
        .group_by(T.c.site_id, T.c.business_day, bucket)
    )
    for i, (site_id, day, b, n) in enumerate(conn.execute(by_bucket)):
        if not i % YIELD_EVERY:
            _let_others_run()
        d = day_of(site_id, day)
        if len(d.histogram) <= b:
            d.histogram.extend([0] * (b + 1 - len(d.histogram)))
        d.histogram[b] += n

    ratings = select(
        R.c.site_id,
        R.c.business_day,
        func.count(),
        func.sum(case((R.c.level.in_(SATISFIED), 1), else_=0)),
    )
    for site_id, day, rated, satisfied in conn.execute(ratings.where(where(R)).group_by(R.c.site_id, R.c.business_day)):
        d = day_of(site_id, day)
        d.rated, d.satisfied = rated, satisfied or 0
    return days


def _keep(conn, days: dict[tuple[str, dt.date], _Day], before: dt.date) -> None:
    """Keep the days that are over and can no longer change (another report may keep them at once)."""
    rows = [
        {
            "site_id": site_id,
            "business_day": day,
            "issued": d.issued,
            "served": d.served,
            "no_show": d.no_show,
            "called": d.called,
            "target_met": d.target_met,
            "wait_sum": d.wait_sum,
            "wait_histogram": d.histogram,
            "rated": d.rated,
            "satisfied": d.satisfied,
            "made_at": utcnow(),
        }
        for (site_id, day), d in days.items()
        if day < before and not d.open and d.issued
    ]
    if not rows:
        return
    insert = insert_ignoring_conflicts(conn, FIG)
    for start in range(0, len(rows), 1000):
        conn.execute(insert, rows[start : start + 1000])


def _kept_by_site(conn, first_day: dt.date, last_day: dt.date) -> dict[str, _Day]:
    """The kept days of the period, summed per site in the database; their histograms come as one
    text per site (decoding 13,000 JSON values one by one would cost a second)."""
    if conn.dialect.name == "postgresql":
        histograms = func.string_agg(cast(FIG.c.wait_histogram, Text), literal(";"))
    else:
        histograms = func.group_concat(cast(FIG.c.wait_histogram, Text), literal(";"))
    query = (
        select(
            FIG.c.site_id,
            func.sum(FIG.c.issued),
            func.sum(FIG.c.served),
            func.sum(FIG.c.no_show),
            func.sum(FIG.c.called),
            func.sum(FIG.c.target_met),
            func.sum(FIG.c.wait_sum),
            func.sum(FIG.c.rated),
            func.sum(FIG.c.satisfied),
            histograms,
        )
        .where(FIG.c.business_day.between(first_day, last_day))
        .group_by(FIG.c.site_id)
    )
    kept = {}
    for site_id, *sums, texts in conn.execute(query):
        d = kept[site_id] = _Day()
        issued, served, no_show, called, met, wait_sum, rated, satisfied = sums
        d.issued, d.served, d.no_show, d.called, d.target_met, d.rated, d.satisfied = (
            int(v or 0) for v in (issued, served, no_show, called, met, rated, satisfied)
        )
        d.wait_sum = float(wait_sum or 0)
        for histogram in json.loads("[" + (texts or "").replace(";", ",") + "]"):
            d.add_histogram(histogram)
        _let_others_run()
    return kept


def _days_not_kept(conn, first_day: dt.date, last_day: dt.date) -> set[tuple[str, dt.date]]:
    """(site, day) of the period on which numbers were given and whose figures are not kept, from
    the number sequences (a row per service and day: far fewer than tickets)."""
    kept = select(FIG.c.site_id).where(FIG.c.site_id == SV.c.site_id, FIG.c.business_day == SEQ.c.business_day)
    query = (
        select(SV.c.site_id, SEQ.c.business_day)
        .select_from(SEQ.join(SV, SV.c.id == SEQ.c.service_id))
        .where(SEQ.c.business_day.between(first_day, last_day), ~kept.exists())
        .distinct()
    )
    return {(s, dt.date.fromisoformat(d) if isinstance(d, str) else d) for s, d in conn.execute(query)}


def count_days_not_kept(conn, first_day: dt.date, last_day: dt.date) -> dict[tuple[str, dt.date], _Day]:
    """The figures per (site, day) of the period's days not kept yet, counted from the tickets."""
    wanted = _days_not_kept(conn, first_day, last_day)
    if not wanted:
        return {}
    site_ids = sorted({s for s, _ in wanted})
    days = sorted({d for _, d in wanted})

    def where(table):
        # the days not kept: few after the first look (today; a day still open), all of them on the first
        if len(days) > 60:
            in_days = table.c.business_day.between(days[0], days[-1])
        else:
            in_days = table.c.business_day.in_(days)
        return and_(table.c.site_id.in_(site_ids), in_days)

    return {key: d for key, d in _count_days(conn, where).items() if key in wanted}


def compare_sites(db, first_day: dt.date, last_day: dt.date, now: dt.datetime | None = None) -> dict:
    """One row per site (every site, in the order of their ids, one without tickets too) and the
    total over all sites; times in seconds to 0.1 s, shares in % to 0.1. Keeps the days it counted
    that are over (``db`` is committed by the caller)."""
    conn = connection(db)
    sites = conn.execute(select(SITES.c.id, SITES.c.name, SITES.c.timezone).order_by(SITES.c.id)).all()
    saved = m.site_setups.c.document["site"]  # whether each site is retired, and where its citizens go (sites.py)
    moves = {
        site_id: (bool(is_retired), moved_to)
        for site_id, is_retired, moved_to in conn.execute(
            select(m.site_setups.c.site_id, saved["retired"].as_boolean(), saved["moved_to"].as_string())
        )
    }
    counted = count_days_not_kept(conn, first_day, last_day)
    kept = _kept_by_site(conn, first_day, last_day)
    per_site: dict[str, _Day] = {site_id: _Day() for site_id, _, _ in sites}
    for site_id, d in kept.items():
        if site_id in per_site:
            per_site[site_id].add(d)
    for (site_id, _day), d in counted.items():
        if site_id in per_site:
            per_site[site_id].add(d)
    bookings = {
        site_id: (booked, checked_in or 0)
        for site_id, booked, checked_in in conn.execute(
            select(B.c.site_id, func.count(), func.sum(case((B.c.status == "checked_in", 1), else_=0)))
            .where(B.c.business_day.between(first_day, last_day), B.c.status != "cancelled")
            .group_by(B.c.site_id)
        )
    }
    rows = []
    total = _Day()
    booked_total = checked_in_total = 0
    for site_id, name, timezone in sites:
        d = per_site[site_id]
        total.add(d)
        booked, checked_in = bookings.get(site_id, (0, 0))
        booked_total += booked
        checked_in_total += checked_in
        is_retired = moves.get(site_id, (False, None))[0]
        rows.append(
            {
                "site": site_id,
                "name": name,
                "timezone": timezone,
                "retired": is_retired,
                "moved_to": serving_site(site_id, moves) if is_retired else None,  # (the end of a chain of merges)
                **_view(d, booked, checked_in),
            }
        )
    # the days counted that are over are kept for the next look (read above without them); a database
    # that refuses the write (full, read-only) costs the next look its time, not this answer
    try:
        with conn.begin_nested():
            _keep(conn, counted, (now or utcnow()).date() - dt.timedelta(days=KEPT_AFTER_DAYS))
    except DBAPIError:
        pass
    return {
        "report": "sites",
        "first_day": first_day.isoformat(),
        "last_day": last_day.isoformat(),
        "sites": rows,
        "total": _view(total, booked_total, checked_in_total),
    }


def _view(d: _Day, booked: int, checked_in: int) -> dict:
    return {
        "issued": d.issued,
        "served": d.served,
        "no_show": d.no_show,
        "called": d.called,
        "wait": {
            "avg": rounded(d.wait_sum / d.called) if d.called else None,
            "p90": rounded(histogram_percentile(d.histogram, 0.9)),
        },
        "target_met": d.target_met,
        "target_met_pct": pct(d.target_met, d.called),
        "ratings": {"total": d.rated, "satisfied": d.satisfied, "satisfied_pct": pct(d.satisfied, d.rated)},
        "bookings": {"booked": booked, "checked_in": checked_in},
    }
