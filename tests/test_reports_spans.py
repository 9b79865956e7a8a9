"""Kept spans (server/core/reports/kept.py): a period wholly kept as several units (years, months,
days) is read as one kept row per grouping, made the first time it is asked for. Every figure of
every report over such a period, first look and later looks, is the same as read unit by unit
(spans off: the path before spans) and as counted from the tickets; and once tickets are added to a
kept day (``kept.forget``, which ``simulate`` calls), the day, its month, its year and every span
over it are counted again.

The history: simulated days on Tuesday 5/3/2024, Monday 2/6/2025 and Monday 14/7/2025, so 2024 and
2025 are whole kept years, June and July 2025 whole kept months.
"""

from __future__ import annotations

import datetime as dt

import pytest
from reports_spans_helpers import NOW, check_spans, spans_kept

from queuekiosk.server.core import engine as q
from queuekiosk.server.core import periods, reports
from queuekiosk.server.core.reports import kept
from queuekiosk.server.core.simulate import Settings, simulate


def test_spans_give_the_figures_of_their_units_and_of_the_tickets(make_queue, config, migrated_sqlite_url):
    """On SQLite; on PostgreSQL in tests/test_reports_spans_pg.py."""
    check_spans(make_queue(config, migrated_sqlite_url))


def test_a_span_is_not_read_with_other_figures(make_queue, config, migrated_sqlite_url):
    """A span keeps no times: a period that is not wholly kept (today in it) reads its units."""
    queue = make_queue(config, migrated_sqlite_url)
    site, engine = queue.site, queue.engine
    zone = site.config.site.zone
    simulate(engine, site, dt.date(2025, 12, 1), 1, seed=5, settings=Settings(per_day=40))
    today = dt.date(2026, 1, 19)
    moment = dt.datetime.combine(today, dt.time(9, 0), zone).astimezone(dt.UTC).replace(tzinfo=None)
    with queue.Session.begin() as session:
        q.issue(session, site, "HT", now=moment, check_hours=False)
    period = periods.range_period("2025-12-01", today.isoformat(), zone)
    with engine.connect() as conn:
        for group_by in reports.GROUPS:
            assert reports.summary(conn, site, period, group_by, now=NOW) == reports.summary(
                conn, site, period, group_by, now=NOW, from_tickets=True
            )
            conn.commit()
        assert not spans_kept(conn)


@pytest.fixture(autouse=True)
def _spans_on():
    yield
    kept.KEEP_SPANS = True
