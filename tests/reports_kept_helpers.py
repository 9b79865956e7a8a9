"""The kept figures' check of tests/test_reports_kept.py (the history its docstring describes, every
report over it against the count from the tickets), run there on SQLite and by
tests/test_reports_kept_pg.py on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools

from sqlalchemy import func, select, text, update

from queuekiosk.server.core import bookings as bk
from queuekiosk.server.core import engine as q
from queuekiosk.server.core import models as m
from queuekiosk.server.core import periods, reports
from queuekiosk.server.core.reports import kept
from queuekiosk.server.core.simulate import Settings, simulate

K = m.ReportDayFigures.__table__
KEY = b"test person key"


def local(site, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """``day`` at ``hour``:``minute`` at the site, as the database keeps moments (naive UTC)."""
    moment = dt.datetime.combine(day, dt.time(hour, minute), site.config.site.zone)
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


MONDAY = dt.date(2026, 11, 23)


def same_as_counted(conn, site, period, now) -> int:
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


def check_kept_figures(queue, simulated_in=None) -> None:
    """The history tests/test_reports_kept.py's docstring describes, in ``queue``'s database: every report over it equals the
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
            same_as_counted(conn, site, period, now)
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
            same_as_counted(conn, site, period, now)
            same_as_counted(conn, site, period, later)
        assert conn.execute(
            select(func.count()).select_from(K).where(K.c.business_day == thursday, K.c.grouping == "total")
        ).scalar_one()

    # a service's target wait changes: the kept days (and months) are counted again with it
    with engine.begin() as conn:
        conn.execute(update(m.Service).where(m.Service.site_id == site.id).values(target_wait_minutes=3))
    with engine.connect() as conn:
        for period in (named[4], partly, years):
            same_as_counted(conn, site, period, later)
        stale = conn.execute(
            select(func.count()).select_from(K).where(K.c.basis != kept.basis_of(targets_of(conn, site)))
        ).scalar_one()
        fresh = conn.execute(
            select(func.count()).select_from(K).where(K.c.basis == kept.basis_of(targets_of(conn, site)))
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


def targets_of(conn, site) -> dict:
    """Each service's target wait, as the kept figures' basis reads it."""
    from queuekiosk.server.core.reports.tickets import read_services

    return {sid: s["target"] for sid, s in read_services(conn, site).items()}
