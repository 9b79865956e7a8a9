"""The kept spans' check of tests/test_reports_spans.py, run there on SQLite and by
tests/test_reports_spans_pg.py on PostgreSQL."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from queuekiosk.server.core import engine as q
from queuekiosk.server.core import models as m
from queuekiosk.server.core import periods, reports
from queuekiosk.server.core.reports import kept
from queuekiosk.server.core.simulate import Settings, simulate

K = m.ReportDayFigures.__table__
NOW = dt.datetime(2026, 1, 20, 3, 0)  # (UTC) every day of the history over and kept


def every_report(conn, site, period, **options) -> list:
    """Every report of ``period``: each grouping's summary, the peak hours, the daily summary."""
    found = [reports.summary(conn, site, period, g, now=NOW, **options) for g in reports.GROUPS]
    found.append(reports.peak_hours(conn, site, period, now=NOW, **options))
    found.append(reports.daily_summary(conn, site, period, now=NOW, **options))
    return found


def spans_kept(conn) -> set:
    """The (grouping, first day) of every kept span."""
    rows = conn.execute(select(K.c.grouping, K.c.business_day).where(K.c.grouping.like(kept.SPAN + "%"))).all()
    return {(grouping, day) for grouping, day in rows if kept.span_days(grouping)}


def check_period(conn, site, period, label: str) -> None:
    """Every report of ``period``: from the tickets = unit by unit = through a span (first look, which
    makes it, and a later look, which reads it)."""
    expected = every_report(conn, site, period, from_tickets=True)
    kept.KEEP_SPANS = False
    try:
        by_units = every_report(conn, site, period)
    finally:
        kept.KEEP_SPANS = True
    conn.commit()
    assert by_units == expected, f"{label}: read unit by unit differs from the tickets' count"
    for look in ("first", "again"):
        assert every_report(conn, site, period) == expected, f"{label}: read through a span ({look} look) differs"
        conn.commit()


def check_spans(queue) -> None:
    """The history of tests/test_reports_spans.py's docstring in ``queue``'s database: every report over
    its spans, kept and after a late ticket and a day simulated, equals the count from the tickets."""
    site, engine = queue.site, queue.engine
    zone = site.config.site.zone
    busy = Settings(per_day=30, transfer_share=0.1, no_show_share=0.08, priority_share=0.15, rating_share=0.6)
    for seed, day in enumerate((dt.date(2024, 3, 5), dt.date(2025, 6, 2), dt.date(2025, 7, 14))):
        simulate(engine, site, day, 1, seed=seed + 11, settings=busy)
    two_years = periods.range_period("2024-01-01", "2025-12-31", zone)  # two kept years
    spans = {
        "2024-2025": two_years,
        "June-July 2025": periods.range_period("2025-06-01", "2025-07-31", zone),  # two kept months
        "2/6-14/7/2025": periods.range_period("2025-06-02", "2025-07-14", zone),  # kept days
        "3/2024-14/7/2025": periods.range_period("2024-03-01", "2025-07-14", zone),  # months, a year's, days
        "3/2024-6/2025": periods.range_period("2024-03-01", "2025-06-30", zone),  # months (not 14/7)
    }
    with engine.connect() as conn:
        kept.keep_all(conn, site, two_years, now=NOW)
        conn.commit()
        for label, period in spans.items():
            check_period(conn, site, period, label)
        one_year = periods.named_period("2025", zone)  # one unit: no span
        check_period(conn, site, one_year, "2025")
        made = spans_kept(conn)
    assert (f"{kept.SPAN}731t", dt.date(2024, 1, 1)) in made  # 2024 + 2025: 366 + 365 days
    assert (f"{kept.SPAN}731k", dt.date(2024, 1, 1)) in made
    assert (f"{kept.SPAN}731{kept.PEAKS_CODE}", dt.date(2024, 1, 1)) in made  # (no wait past midnight)
    assert (f"{kept.SPAN}61s", dt.date(2025, 6, 1)) in made
    assert not any(day == dt.date(2025, 1, 1) for _, day in made), "a span made of one unit"

    # a late ticket on a kept day (14/7/2025): kept.forget drops the day, its month, its year and
    # the spans over it; the reports count them again, and the spans elsewhere stay
    day = dt.date(2025, 7, 14)
    moment = dt.datetime.combine(day, dt.time(15, 0), zone).astimezone(dt.UTC).replace(tzinfo=None)
    with queue.Session.begin() as session:
        q.issue(session, site, "HT", now=moment, check_hours=False)
    with queue.Session.begin() as session:
        q.call_next(session, site, 1, now=moment + dt.timedelta(minutes=7))
    with queue.Session.begin() as session:
        q.finish(session, site, 1, now=moment + dt.timedelta(minutes=19))
    with engine.connect() as conn:
        before = reports.summary(conn, site, two_years, "service", now=NOW)
        kept.forget(conn, site, day, day)
        conn.commit()
        left = spans_kept(conn)
        assert not {(g, d) for g, d in left if d <= day < d + dt.timedelta(days=kept.span_days(g))}
        assert (f"{kept.SPAN}731t", dt.date(2024, 1, 1)) not in left
        assert (f"{kept.SPAN}487t", dt.date(2024, 3, 1)) in left, "a span without the day dropped"
        for grouping, first in (("mtotal", dt.date(2025, 7, 1)), ("ytotal", dt.date(2025, 1, 1)), ("total", day)):
            assert not conn.execute(
                select(func.count()).select_from(K).where(K.c.grouping == grouping, K.c.business_day == first)
            ).scalar_one(), f"{grouping} of {first} left after its day changed"
        for label in ("2024-2025", "2/6-14/7/2025"):
            check_period(conn, site, spans[label], f"{label}, after a late ticket")
        after = reports.summary(conn, site, two_years, "service", now=NOW)
        assert after["total"]["issued"] == before["total"]["issued"] + 1
        assert conn.execute(
            select(func.count()).select_from(K).where(K.c.grouping == "ytotal", K.c.business_day == dt.date(2025, 1, 1))
        ).scalar_one(), "the year is not kept again"

    # a day kept without tickets is simulated afterwards (simulate forgets what was kept of it)
    simulate(engine, site, dt.date(2025, 9, 10), 1, seed=17, settings=busy)
    with engine.connect() as conn:
        check_period(conn, site, two_years, "2024-2025, after a day simulated")
        assert reports.summary(conn, site, two_years, "service", now=NOW)["total"]["issued"] > after["total"]["issued"]
