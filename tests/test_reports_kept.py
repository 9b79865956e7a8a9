"""Kept figures (server/core/reports/kept.py): every figure of every report over days that are kept,
partly kept (today included) or kept again after a change is the same as counted from the tickets.

The history (made by tests/reports_kept_helpers.py's check_kept_figures, which the PostgreSQL twin,
tests/test_reports_kept_pg.py, runs too): simulated days (transfers, no-shows, recalls, ratings, priority tickets) on Monday
2/6/2025, Friday 30/10/2026 and Wednesday 18/11 to Saturday 21/11, so 2025 is a whole kept year,
October 2026 a whole kept month (their other days had no tickets) and November is kept by day; and,
made by hand: a ticket of Thursday 19/11 called, put back in the queue by a close and still waiting at
the end of its day (its day is not kept until the day is ended; another of that day was put back too,
then called again at another counter and served), one issued at 23:50 on Saturday 21/11 and served
past midnight, and today's (Monday 23/11) tickets, some still waiting; remote numbers taken on the
phone at 08:00, checked in late (08:40) and then called and served (2/6/2025, 30/10/2026, Friday
20/11 and today), one never checked in (lapsed, Friday), one of today checked in and still waiting:
their wait runs from the check-in (a called one compared in every grouping, kept against the tickets).
"""

from __future__ import annotations

import datetime as dt
from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reports_kept_helpers import MONDAY, K, check_kept_figures, local
from server_db import migrate_down_and_up
from sqlalchemy import event, func, select, update

from queuekiosk.server.core import engine as q
from queuekiosk.server.core import periods, reports
from queuekiosk.server.core.reports import kept
from queuekiosk.server.core.reports.tally import Tally, Times, describe, percentile, run_stats
from queuekiosk.server.core.simulate import Settings, simulate


def test_kept_figures_are_the_figures_counted_from_the_tickets(make_queue, config, migrated_sqlite_url):
    """On SQLite; on PostgreSQL in tests/test_reports_kept_pg.py, a file of its own so that a run on
    several workers checks both at once (docs/performance.md, "Test suite")."""
    check_kept_figures(make_queue(config, migrated_sqlite_url))


def test_the_upgrade_turns_k4_rows_into_k5_where_no_number_was_finished_by_a_day_end(make_queue, config, db_url):
    """Migration 0020 relabels the kept rows of k4 as k5 for the days, months and spans without a number
    the day's end finished (the same figures under both): the first reports after the upgrade do not
    count years again. A day with one stays k4 (its service then timed): counted again, untimed.
    Upgraded from 0019 straight through 0021 (no remote number: k5 -> k6), the quiet day ends k6 and
    the day 0020 left k4 stays k4 (0021 relabels only k5 rows), counted again."""
    queue = make_queue(config, db_url)
    site = queue.site

    def run(action, *args, **kwargs):
        with queue.Session.begin() as session:
            return action(session, site, *args, **kwargs)

    quiet, left = dt.date(2026, 11, 17), dt.date(2026, 11, 18)
    for day in (quiet, left):
        ticket = run(q.issue, "DC", now=local(site, day, 9, 0), check_hours=False).ticket
        run(q.call_next, 4, number=ticket["number"], now=local(site, day, 9, 5))
        run(q.start, 4, now=local(site, day, 9, 6))
        if day == quiet:
            run(q.finish, 4, now=local(site, day, 9, 16))
    run(q.expire_past_days, now=local(site, left + dt.timedelta(days=1), 0, 1))
    now = local(site, MONDAY, 9)
    zone = site.config.site.zone

    def summary(day, **kwargs):
        with queue.engine.connect() as conn:
            found = reports.summary(conn, site, periods.named_period(day.isoformat(), zone), "day", now=now, **kwargs)
            conn.commit()
        return found

    for day in (quiet, left):
        summary(day)  # kept
    with queue.engine.begin() as conn:  # a database kept by the code before
        conn.execute(update(K).values(basis="k4" + func.substr(K.c.basis, 3)))
        as_kept = dict(
            ((g, d), (b, f))
            for g, d, b, f in conn.execute(select(K.c.grouping, K.c.business_day, K.c.basis, K.c.figures))
        )

    migrate_down_and_up(queue.engine, "0019")
    with queue.engine.connect() as conn:
        upgraded = {(g, d): b for g, d, b in conn.execute(select(K.c.grouping, K.c.business_day, K.c.basis))}
    assert {key: basis for key, basis in upgraded.items() if key[1] == quiet} == {
        key: kept.FORMAT + basis[2:] for key, (basis, _f) in as_kept.items() if key[1] == quiet
    }
    assert {basis[:3] for (_g, day), basis in upgraded.items() if day == left} == {"k4;"}
    for day in (quiet, left):
        assert summary(day) == summary(day, from_tickets=True)
    assert summary(left)["total"]["service_time"]["count"] == 0


def test_a_year_is_kept_in_a_few_statements(make_queue, config):
    """The first report over a year keeps its 365 days (all but one without tickets), then its 12
    months and the year, in a few statements: each write replaces its days' rows at once, not a
    statement a day (~470 statements, most of the PostgreSQL test above); a report by another
    grouping then rolls its months up in one write, not one a month."""
    queue = make_queue(config)
    site, engine = queue.site, queue.engine
    simulate(engine, site, dt.date(2025, 6, 2), 1, seed=2, settings=Settings(per_day=20))
    year = periods.named_period("2025", site.config.site.zone)
    now = local(site, MONDAY, 9)
    statements = []
    event.listen(engine, "after_cursor_execute", lambda *_: statements.append(1))
    with engine.connect() as conn:
        for group_by, most in (("service", 80), ("counter", 40)):
            del statements[:]
            found = reports.summary(conn, site, year, group_by, now=now)
            conn.commit()
            assert len(statements) <= most, f"by {group_by}: {len(statements)} statements"
            assert found == reports.summary(conn, site, year, group_by, now=now, from_tickets=True)
        assert conn.execute(select(func.count()).select_from(K).where(K.c.grouping == "ycounter")).scalar_one()


seconds = st.integers(min_value=0, max_value=4 * 3600 * 1000).map(lambda ms: ms / 1000)


@settings(max_examples=200, deadline=None)
@given(
    loose=st.lists(seconds, max_size=30),
    runs=st.lists(st.lists(seconds, max_size=3000), max_size=8),
)
def test_the_statistics_of_kept_runs_are_those_of_the_tickets(loose, runs):
    """Times made of kept runs (sorted, with their exact sum) give the same count, average, median,
    90th percentile and maximum as the same times in one list."""
    times = Times(list(loose))
    for run in runs:
        ordered = sorted(run)
        times.add_run(array("d", ordered), sum(round(v * 1_000_000) for v in ordered))
    every = sorted([*loose, *(v for run in runs for v in run)])
    assert describe(times) == describe(list(every))
    if every:
        assert describe(list(every))["p90"] == round(percentile(every, 0.9), 1)


class _MemoryStore(kept.Store):
    """kept.Store over rows in memory (what kept._write would keep), counting its reads."""

    def __init__(self, rows: dict):
        super().__init__(None, "site", "basis")
        self.rows = rows
        self.reads = 0

    def fetch(self) -> None:
        self.reads += 1
        for key in self.wanted:
            self.loaded[key] = self.rows[key]
        self.wanted.clear()


@settings(max_examples=200, deadline=None)
@given(
    loose=st.lists(seconds, max_size=30),
    runs=st.lists(st.lists(seconds, min_size=1, max_size=3000), min_size=1, max_size=6),
    scales=st.lists(st.sampled_from([1, 1, 1, 3, 40]), min_size=6, max_size=6),
    before=st.integers(min_value=0, max_value=300),
)
def test_kept_runs_read_in_chunks_give_the_statistics_of_the_tickets(loose, runs, scales, before):
    """Times made of kept runs whose times stay in the database (a year's in chunk rows, a day's in
    its row, each run after ``before`` times of other rows) give the same statistics as all the
    times in one list, reading them all at once (kept.fetch_times: one read). Runs alike (a year
    and the next) and unlike (``scales``: one run's times several times another's)."""
    rows = {}
    tally = Tally()
    tally.waits = Times(list(loose))
    runs = [[value * scale for value in run] for run, scale in zip(runs, scales)]
    for i, run in enumerate(runs):
        ordered = sorted(run)
        day = dt.date(2000 + i, 1, 1)
        unit = ("y.t", day) if i % 2 == 0 else ("total", day)  # a year's chunks, a day's row
        times = array("d", [0.0] * before + ordered).tobytes()
        for name, value in kept.chunks(unit[0], times) if i % 2 == 0 else [(unit[0], times)]:
            rows[(name, day)] = value
        micros = sum(round(v * 1_000_000) for v in ordered)
        tally.waits.add_run(kept.KeptRun(None, unit, before, len(ordered), micros, run_stats(ordered)), micros)
    store = _MemoryStore(rows)
    for run in tally.waits.runs:
        run.store = store
    kept.fetch_times([tally])
    assert store.reads <= 1
    assert describe(tally.waits) == describe(sorted([*loose, *(v for run in runs for v in run)]))
    assert store.reads <= 1, "times read again after fetch_times"


@pytest.mark.parametrize("seed", range(4))
def test_long_kept_runs_alike_and_unlike_give_the_statistics_of_the_tickets(seed):
    """As above with runs as long as a year's (up to 20,000 times), alike, unlike (one run's times
    40 times another's) and made of a few repeated values; with and without times counted from
    tickets beside them."""
    import random

    chance = random.Random(seed)
    for _ in range(25):
        rows = {}
        loose = [chance.random() * 100 for _ in range(chance.choice([0, 0, 5, 500]))]
        tally = Tally()
        tally.waits = Times(list(loose))
        every = list(loose)
        for i in range(chance.randint(1, 5)):
            size, scale = chance.choice([1, 2, 50, 3000, 20000]), chance.choice([1, 1, 1.05, 3, 40])
            ordered = sorted(round(chance.expovariate(1 / 600) * scale, 3) for _ in range(size))
            if chance.random() < 0.2:
                ordered = sorted(chance.choice([5.0, 10.0]) for _ in range(size))
            every += ordered
            day = dt.date(2000 + i, 1, 1)
            unit = ("y.t", day) if i % 2 == 0 else ("total", day)
            before = chance.randint(0, 300)
            times = array("d", [0.0] * before + ordered).tobytes()
            for name, value in kept.chunks(unit[0], times) if i % 2 == 0 else [(unit[0], times)]:
                rows[(name, day)] = value
            micros = sum(round(v * 1_000_000) for v in ordered)
            tally.waits.add_run(kept.KeptRun(None, unit, before, size, micros, run_stats(ordered)), micros)
        store = _MemoryStore(rows)
        for run in tally.waits.runs:
            run.store = store
        kept.fetch_times([tally])
        assert describe(tally.waits) == describe(sorted(every))
