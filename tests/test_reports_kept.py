"""Kept figures (server/core/reports/kept.py): every figure of every report over days that are kept,
partly kept (today included) or kept again after a change is the same as counted from the tickets.

The history: simulated days (transfers, no-shows, recalls, ratings, priority tickets) on Monday
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
import itertools
from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from server_db import migrate_down_and_up
from sqlalchemy import event, func, select, text, update

from queuekiosk.server.core import bookings as bk
from queuekiosk.server.core import engine as q
from queuekiosk.server.core import models as m
from queuekiosk.server.core import periods, reports
from queuekiosk.server.core.reports import kept
from queuekiosk.server.core.reports.tally import Tally, Times, describe, percentile, run_stats
from queuekiosk.server.core.simulate import Settings, simulate

K = m.ReportDayFigures.__table__
KEY = b"test person key"


def local(site, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    moment = dt.datetime.combine(day, dt.time(hour, minute), site.config.site.zone)
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


MONDAY = dt.date(2026, 11, 23)


def _same(conn, site, period, now) -> int:
    """Every report of ``period`` as kept (and kept just now) equals the count from tickets; the
    number of kept rows after."""
    for group_by in reports.GROUPS:
        expected = reports.summary(conn, site, period, group_by, now=now, from_tickets=True)
        for look in ("first", "again"):
            found = reports.summary(conn, site, period, group_by, now=now)
            assert found == expected, f"{period.key} by {group_by} ({look} look) differs from the tickets' count"
            conn.commit()
    # counted from the tickets once, as the summaries' are above: the looks at what is kept compare with it
    peaks = reports.peak_hours(conn, site, period, now=now, from_tickets=True)
    daily = reports.daily_summary(conn, site, period, now=now, from_tickets=True)
    for look in ("first", "again"):
        assert reports.peak_hours(conn, site, period, now=now) == peaks, (
            f"{period.key}: peak hours differ ({look} look)"
        )
        assert reports.daily_summary(conn, site, period, now=now) == daily, (
            f"{period.key}: daily summary differs ({look} look)"
        )
        conn.commit()
    return conn.execute(select(func.count()).select_from(K)).scalar_one()


def test_kept_figures_are_the_figures_counted_from_the_tickets(make_queue, config, migrated_sqlite_url):
    """On SQLite; on PostgreSQL in tests/test_reports_kept_pg.py, a file of its own so that a run on
    several workers checks both at once (docs/performance.md, "Test suite")."""
    check_kept_figures(make_queue(config, migrated_sqlite_url))


def check_kept_figures(queue, simulated_in=None) -> None:
    """The history of the module's docstring in ``queue``'s database: every report over it equals the
    count from the tickets, before and after the day ends and a target wait changes. If
    ``simulated_in`` (a database of the same setup) is given, the simulated days after the first are
    simulated there and copied; the first is simulated in ``queue``'s database all the same, so that
    some of the history is rows its own write paths made."""
    site, engine = queue.site, queue.engine
    busy = Settings(per_day=70, transfer_share=0.1, no_show_share=0.08, priority_share=0.15, rating_share=0.6)
    days = [(dt.date(2025, 6, 2), 1, 2), (dt.date(2026, 10, 30), 1, 3), (dt.date(2026, 11, 18), 4, 4)]
    if simulated_in is not None:
        for first, count, seed in days[1:]:
            simulate(simulated_in.engine, simulated_in.site, first, count, seed=seed, settings=busy)
        copy_rows(simulated_in, queue)
        days = days[:1]
    for first, count, seed in days:
        simulate(engine, site, first, count, seed=seed, settings=busy)

    def run(action, *args, **kwargs):
        with queue.Session.begin() as session:
            return action(session, site, *args, **kwargs)

    phones = (f"09{n:08d}" for n in itertools.count(20_000_000))

    def remote(day: dt.date, checked_in: int | None = None, called: int | None = None) -> None:
        """A remote number taken at 08:00 on ``day``, checked in at 08:``checked_in``, called then by
        counter 1 at 08:``called`` and served 3 minutes."""
        code = run(
            bk.take_remote, "HT", "Trần Thị Bình", next(phones), None, KEY, now=local(site, day, 8), check_hours=False
        ).ticket["code"]
        if checked_in is None:
            return
        ticket = run(bk.check_in, KEY, code=code, now=local(site, day, 8, checked_in), check_hours=False).ticket
        if called is not None:
            run(q.call_next, 1, number=ticket["number"], now=local(site, day, 8, called))
            run(q.finish, 1, now=local(site, day, 8, called + 3))

    for day in (dt.date(2025, 6, 2), dt.date(2026, 10, 30), dt.date(2026, 11, 20)):
        remote(day, checked_in=40, called=45)  # 5 minutes in the lobby, 45 since the phone request
    remote(dt.date(2026, 11, 20))
    run(bk.lapse_overdue, now=local(site, dt.date(2026, 11, 20), 12))  # never checked in: lapsed
    remote(MONDAY, checked_in=40, called=45)
    remote(MONDAY, checked_in=50)  # still waiting at 09:00
    with engine.connect() as conn:
        remotes = select(func.count()).where(m.Ticket.origin == "remote", m.Ticket.called_at.is_not(None))
        assert conn.execute(remotes).scalar_one() == 4

    thursday, saturday = dt.date(2026, 11, 19), dt.date(2026, 11, 21)
    left = run(q.issue, "HT", now=local(site, thursday, 17, 55), check_hours=False).ticket
    # counter 1 closed under its number twice (a supervisor's close, "requeued"): one number is called
    # again at counter 2 and served, Thursday's waits again until its day ends
    again = run(q.issue, "HT", now=local(site, thursday, 17, 56), check_hours=False).ticket
    for ticket, minute in ((again, 56), (left, 58)):
        run(q.call_next, 1, number=ticket["number"], now=local(site, thursday, 17, minute))
        run(q.close_counter, 1, requeue=ticket["number"], now=local(site, thursday, 17, minute + 1))
    run(q.call_next, 2, number=again["number"], now=local(site, thursday, 18, 0))
    run(q.finish, 2, now=local(site, thursday, 18, 5))
    left = left["id"]
    # Friday evening, counter 3's clerk left serving a number the supervisor's close ends: served, no service time
    friday = dt.date(2026, 11, 20)
    closed = run(q.issue, "CT", now=local(site, friday, 19, 0), check_hours=False).ticket
    run(q.call_next, 3, number=closed["number"], now=local(site, friday, 19, 1))
    run(q.start, 3, now=local(site, friday, 19, 2))
    run(q.close_counter, 3, finish=closed["number"], now=local(site, friday, 23, 0))
    # Saturday, counter 4's clerk went home serving a number: the day's end finishes it, untimed
    served_late = run(q.issue, "DC", now=local(site, saturday, 10, 0), check_hours=False).ticket
    run(q.call_next, 4, number=served_late["number"], now=local(site, saturday, 10, 5))
    run(q.start, 4, now=local(site, saturday, 10, 6))
    run(q.issue, "CT", now=local(site, saturday, 23, 50), check_hours=False)
    run(q.call_next, 3, now=local(site, saturday, 23, 58))
    run(q.finish, 3, now=local(site, saturday + dt.timedelta(days=1), 0, 20))
    for minute in (0, 2, 4, 6):
        run(q.issue, "HT", now=local(site, MONDAY, 8, minute), check_hours=False)
    run(q.call_next, 1, now=local(site, MONDAY, 8, 7))
    run(q.finish, 1, now=local(site, MONDAY, 8, 12))
    now = local(site, MONDAY, 9)
    zone = site.config.site.zone
    named = [periods.named_period(key, zone) for key in ("2026-11-19", "2026-W47", "2026-11", "2026-10", "2026-Q4")]
    partly = periods.range_period("2026-11-18", "2026-11-23", zone)  # up to today
    hours = periods.range_period("2026-11-20T10:00", "2026-11-21T12:00", zone)  # not whole days: from tickets
    years = periods.range_period("2025-01-01", "2026-11-23", zone)  # a kept year, kept months, days, today

    with engine.connect() as conn:
        for period in [*named, partly, hours, periods.named_period("2025", zone), years]:
            _same(conn, site, period, now)
        longest = reports.summary(conn, site, periods.named_period("2026-11-20", zone), "day", now=now)
        assert longest["total"]["service_time"]["max"] < 3600, "the hours up to Friday's close are no service"
        kept_days = set(conn.execute(select(K.c.business_day).where(K.c.grouping == "total")).scalars())
        months = set(conn.execute(select(K.c.business_day).where(K.c.grouping == "mtotal")).scalars())
        kept_years = set(conn.execute(select(K.c.business_day).where(K.c.grouping == "ytotal")).scalars())
    assert dt.date(2026, 10, 30) in kept_days and dt.date(2026, 11, 20) in kept_days
    assert thursday not in kept_days, "a day with a ticket still waiting is kept"
    assert not {MONDAY, MONDAY - dt.timedelta(days=1)} & kept_days, "a day not over is kept"
    assert dt.date(2026, 10, 1) in months and dt.date(2025, 6, 1) in months and dt.date(2026, 11, 1) not in months
    assert kept_years == {dt.date(2025, 1, 1)}

    # the day ends: Thursday's ticket expires; once no rating can come any more, the day is kept
    run(q.expire_past_days, now=now)
    with engine.connect() as conn:
        assert conn.execute(select(m.Ticket.status).where(m.Ticket.public_id == left)).scalar_one() == "expired"
        ended = conn.execute(
            select(m.Ticket.status, m.events.c.detail)
            .join(m.events, m.events.c.ticket_id == m.Ticket.id)
            .where(m.Ticket.public_id == served_late["id"], m.events.c.kind == "finished")
        ).one()
    assert tuple(ended) == ("done", {"service_seconds": None, "by": "end_of_day"}), "the day's end timed a service"
    later = now + dt.timedelta(minutes=site.config.rating.window_minutes + 1)
    with engine.connect() as conn:
        for period in (named[1], partly):
            _same(conn, site, period, now)
            _same(conn, site, period, later)
        assert conn.execute(
            select(func.count()).select_from(K).where(K.c.business_day == thursday, K.c.grouping == "total")
        ).scalar_one()

    # a service's target wait changes: the kept days (and months) are counted again with it
    with engine.begin() as conn:
        conn.execute(update(m.Service).where(m.Service.site_id == site.id).values(target_wait_minutes=3))
    with engine.connect() as conn:
        for period in (named[4], partly, years):
            _same(conn, site, period, later)
        stale = conn.execute(
            select(func.count()).select_from(K).where(K.c.basis != kept.basis_of(_targets(conn, site)))
        ).scalar_one()
        fresh = conn.execute(
            select(func.count()).select_from(K).where(K.c.basis == kept.basis_of(_targets(conn, site)))
        ).scalar_one()
    assert fresh and not stale, "kept figures of the old target wait left behind"

    # as the server asks (a Session of its own): the days it counts stay kept, committed
    with engine.begin() as conn:
        conn.execute(K.delete())
    for group_by in ("day", "service"):
        with queue.Session() as session:
            found = reports.summary(session, site, years, group_by, now=later)
        with engine.connect() as conn:
            assert found == reports.summary(conn, site, years, group_by, now=later, from_tickets=True)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(K).where(K.c.grouping == "ytotal")).scalar_one()


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


def copy_rows(source, target) -> None:
    """Every row of ``source``'s tables in place of ``target``'s (databases of the same setup: the same
    ids), and PostgreSQL's id sequences moved past the rows copied."""
    assert (source.site.service_ids, source.site.counter_ids) == (target.site.service_ids, target.site.counter_ids)
    tables = m.metadata.sorted_tables
    with source.engine.connect() as read, target.engine.begin() as write:
        for table in reversed(tables):
            write.execute(table.delete())
        for table in tables:
            rows = [dict(row._mapping) for row in read.execute(table.select())]
            if rows:
                write.execute(table.insert(), rows)
        if write.dialect.name != "postgresql":
            return
        for table in tables:
            (key, *others) = table.primary_key.columns
            if not others and key.autoincrement in (True, "auto") and key.type.python_type is int:
                write.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', '{key.name}'), "
                        f"coalesce(max({key.name}), 0) + 1, false) FROM {table.name}"
                    )
                )


def _targets(conn, site) -> dict:
    from queuekiosk.server.core.reports.tickets import read_services

    return {sid: s["target"] for sid, s in read_services(conn, site).items()}


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
