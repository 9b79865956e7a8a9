"""The day simulator: every step is the engine's (its books balance at the end of the day), a day whose
numbers run out turns citizens away and goes on, the seed fixes the days, closed days are skipped, a day
with tickets is refused, and the days look like a centre's day."""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from queuekiosk.server.core import engine as q
from queuekiosk.server.core import models as m
from queuekiosk.server.core import periods, reports
from queuekiosk.server.core.db import create_db_engine
from queuekiosk.server.core.simulate import Settings, SimulationError, simulate

FRIDAY = dt.date(2026, 11, 20)
# the installed command, as an operator runs it: each run a process of its own, forked from one that has
# imported what the command imports (tests/server_fork.py, Zygote.run)
QUEUEKIOSK = str(Path(sys.executable).parent / "queuekiosk")


def test_every_step_is_the_engine_s_and_its_books_balance_at_the_end_of_the_day(make_queue, config):
    queue = make_queue(config, staffed=False)
    result = simulate(queue.engine, queue.site, FRIDAY, 1, seed=11, settings=Settings(per_day=120))
    tickets = queue.tickets()
    assert len(tickets) == result.tickets > 100 and result.refused == 0
    E, SEQ, S, C = m.Event.__table__, m.NumberSequence.__table__, m.Service.__table__, m.Counter.__table__
    with queue.engine.connect() as conn:
        events = conn.execute(select(E).order_by(E.c.id)).all()
        sequences = {r.service_id: r for r in conn.execute(select(SEQ))}
        averages = dict(conn.execute(select(S.c.id, S.c.avg_service_seconds)).all())
        counters = conn.execute(select(C.c.state, C.c.pause_reason)).all()
    assert {
        "issued",
        "called",
        "recalled",
        "started",
        "finished",
        "no_show",
        "transferred",
        "paused",
        "resumed",
        "rated",
        "opened",
        "closed",
    } <= {e.kind for e in events}
    # each service's numbers run from its start without a gap, and its queue is empty at the end
    for service_id, code in queue.site.service_codes.items():
        numbers = sorted(t.number for t in tickets if t.origin_service_id == service_id)
        start = queue.site.config.service(code).numbers.start
        assert numbers == list(range(start, start + len(numbers)))
        if numbers:
            seq = sequences[service_id]
            assert (seq.last_number, seq.waiting, seq.priority_waiting) == (numbers[-1], 0, 0)
            assert averages[service_id] is not None  # the engine's moving average of finished services
    # every ticket moved only along the engine's state machine, and ended
    status = {t.id: "waiting" for t in tickets}
    moves = {
        "called": "called",
        "recalled": "called",
        "started": "serving",
        "finished": "done",
        "no_show": "no_show",
        "transferred": "waiting",
    }
    for e in events:
        if e.ticket_id is not None and e.kind in moves:
            assert moves[e.kind] in q.TRANSITIONS[status[e.ticket_id]], (e.kind, status[e.ticket_id])
            status[e.ticket_id] = moves[e.kind]
    assert set(status.values()) <= {"done", "no_show"} and {t.status for t in tickets} <= {"done", "no_show"}
    assert counters == [("closed", None)] * len(counters)  # each clerk closed the counter after the day


def test_a_day_whose_numbers_run_out_turns_citizens_away_and_goes_on(
    config_data, tmp_path, migrated_sqlite_url, server_zygote
):
    """The certification queue has 5 numbers: the kiosk refuses the 6th citizen (the engine's refusal), the
    day goes on for everyone else, and the command says how many were turned away."""
    service = next(s for s in config_data["services"] if s["code"] == "CT")
    service["numbers"] = {"start": 2001, "end": 2005}
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(config_data, allow_unicode=True), encoding="utf-8")
    done = server_zygote.run(
        [
            QUEUEKIOSK,
            "simulate",
            "--day",
            FRIDAY.isoformat(),
            "--per-day",
            "100",
            "--seed",
            "3",
            "--config",
            str(config_file),
        ],
        {**os.environ, "QUEUEKIOSK_DATABASE_URL": migrated_sqlite_url},
        timeout=300,
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    turned_away = int(re.search(r"(\d+) citizens turned away \(numbers or daily limit ran out\)", done.stderr)[1])
    issued = int(re.search(r"simulated 1 open day .*: (\d+) tickets", done.stdout)[1])
    assert turned_away >= 5, done.stderr

    engine = create_db_engine(migrated_sqlite_url)
    T, SEQ = m.Ticket.__table__, m.NumberSequence.__table__
    with engine.connect() as conn:
        ct = conn.execute(select(m.Service.__table__.c.id).where(m.Service.__table__.c.code == "CT")).scalar_one()
        tickets = conn.execute(select(T.c.origin_service_id, T.c.number, T.c.status)).all()
        last_ct = conn.execute(select(SEQ.c.last_number).where(SEQ.c.service_id == ct)).scalar_one()
    engine.dispose()
    assert len(tickets) == issued
    assert sorted(t.number for t in tickets if t.origin_service_id == ct) == [2001, 2002, 2003, 2004, 2005]
    assert last_ct == 2005  # each refusal was taken back whole: the sequence stayed at the range's end
    assert len([t for t in tickets if t.origin_service_id != ct]) > 40  # the other queues' day went on
    assert {t.status for t in tickets} <= {"done", "no_show"}  # and everyone who got a number was served


def test_the_seed_fixes_the_days_and_closed_days_are_skipped(make_queue, config, migrated_sqlite):
    def run(seed, name):
        queue = make_queue(config, migrated_sqlite(name))
        result = simulate(queue.engine, queue.site, dt.date(2026, 11, 21), 3, seed=seed, settings=Settings(per_day=80))
        with queue.engine.connect() as conn:
            summary = reports.summary(
                conn, queue.site, periods.named_period("2026-W47", queue.site.config.site.zone), "day"
            )
        return result, summary

    first, first_report = run(5, "a.db")
    again, again_report = run(5, "b.db")
    other, other_report = run(6, "c.db")
    # Saturday 21/11 and Monday 23/11 are open; Sunday 22/11 is not (config hours.days)
    assert [(d.day.isoformat(), d.skipped) for d in first.days] == [
        ("2026-11-21", None),
        ("2026-11-22", "closed"),
        ("2026-11-23", None),
    ]
    assert first_report["rows"] == again_report["rows"] and first_report["total"] == again_report["total"]
    assert other_report["total"] != first_report["total"]


def test_a_day_that_has_tickets_is_refused(queue):
    simulate(queue.engine, queue.site, FRIDAY, 1, settings=Settings(per_day=20))
    before = len(queue.tickets())
    with pytest.raises(SimulationError, match="2026-11-20 already has"):
        simulate(queue.engine, queue.site, FRIDAY, 1, settings=Settings(per_day=20))
    assert len(queue.tickets()) == before


def test_a_simulated_day_looks_like_a_centre_s_day(queue):
    simulate(queue.engine, queue.site, FRIDAY, 1, seed=7, settings=Settings(per_day=300))
    zone = queue.site.config.site.zone
    with queue.engine.connect() as conn:
        day = periods.named_period("2026-11-20", zone)
        total = reports.summary(conn, queue.site, day, "service")["total"]
        peaks = reports.peak_hours(conn, queue.site, day)
        clerks = reports.summary(conn, queue.site, day, "clerk")["rows"]
    assert 250 <= total["issued"] <= 380 and total["not_called"] == 0  # everyone who came is called
    assert total["served"] + total["no_show"] == total["issued"]
    assert 0 < total["no_show"] < total["issued"] * 0.1 and 0 < total["transferred"] < total["issued"] * 0.1
    assert total["ratings"]["total"] > total["served"] * 0.3 and total["ratings"]["satisfied_pct"] > 80
    hours = {h["hour"]: h["arrivals"] for h in peaks["hours"]}
    assert peaks["peak"]["hour"] in (8, 9, 10)  # the morning peak
    assert hours[12] < hours[9] / 2  # and the lunch lull
    assert all(row["label"].startswith("sim.") for row in clerks) and len(clerks) >= 6
    local_issues = [t.issued_at.replace(tzinfo=dt.UTC).astimezone(zone) for t in queue.tickets()]
    assert all(dt.time(7, 30) <= t.time() < dt.time(17, 0) for t in local_issues)


def test_citizens_who_took_their_number_on_the_phone_check_in_and_are_served(queue):
    """``remote_share``: some citizens take a remote number 10-50 minutes before they come, check in at
    the kiosk and are called like the others; the reports time their wait from the check-in (so the
    bench's reports look up their bookings)."""
    simulate(queue.engine, queue.site, FRIDAY, 1, seed=7, settings=Settings(per_day=200, remote_share=0.2))
    with queue.engine.connect() as conn:
        remote = conn.execute(
            select(m.Ticket.issued_at, m.Ticket.called_at, m.bookings.c.checked_in_at)
            .join(m.bookings, m.bookings.c.ticket_id == m.Ticket.id)
            .where(m.Ticket.origin == "remote")
        ).all()
        total = reports.summary(conn, queue.site, periods.named_period("2026-11-20", queue.site.config.site.zone))[
            "total"
        ]
    assert len(remote) >= 3 and all(called is not None and checked_in is not None for _i, called, checked_in in remote)
    assert all(issued < checked_in <= issued + dt.timedelta(minutes=50) for issued, _c, checked_in in remote)
    assert total["not_called"] == 0 and total["lapsed"] == 0 and total["served"] + total["no_show"] == total["issued"]


def test_real_shaped_days_have_lunch_closures_a_slow_clerk_late_counters_and_an_opening_burst(
    make_queue, config, tmp_path
):
    def run(settings, name):
        queue = make_queue(config, f"sqlite:///{tmp_path / name}")
        simulate(queue.engine, queue.site, dt.date(2026, 11, 16), 6, seed=5, settings=settings)
        E = m.Event.__table__
        with queue.engine.connect() as conn:
            events = conn.execute(select(E).order_by(E.c.id)).all()
        return queue, events

    queue, events = run(Settings(per_day=200), "real.db")
    zone = queue.site.config.site.zone
    local = lambda at: at.replace(tzinfo=dt.UTC).astimezone(zone)  # noqa: E731
    lunches = [e for e in events if e.kind == "paused" and e.detail["reason"] == "Nghỉ trưa"]
    assert len(lunches) == 6 and all(dt.time(11, 15) <= local(e.at).time() <= dt.time(13, 0) for e in lunches)
    # one clerk takes about twice as long as the others at the same services, every day
    called, per_clerk = {}, {}
    for e in events:
        if e.kind == "called":
            called[e.counter_id] = e
        elif e.kind in ("finished", "no_show", "transferred") and e.counter_id in called:
            call = called.pop(e.counter_id)
            per_clerk.setdefault((call.user_id, call.service_id), []).append((e.at - call.at).total_seconds())
    means = {key: sum(v) / len(v) for key, v in per_clerk.items() if len(v) >= 30}
    ratios = [
        means[(clerk, service)] / means[(other, service)]
        for (clerk, service) in means
        for (other, s) in means
        if s == service and other != clerk
    ]
    assert max(ratios) > 1.6
    # a counter that opens late: its first call of the day 20 minutes or more after opening
    first = {}
    for e in events:
        if e.kind == "called":
            first.setdefault((local(e.at).date(), e.counter_id), local(e.at))
    assert any(at.time() >= dt.time(7, 50) for at in first.values())
    # citizens waiting at the door: more issued in the first 10 minutes than in any later 10 minutes
    issued = [local(e.at) for e in events if e.kind == "issued"]
    slots = {}
    for at in issued:
        slots[(at.date(), at.hour, at.minute // 10)] = slots.get((at.date(), at.hour, at.minute // 10), 0) + 1
    opening_slots = [n for (day, hour, tenth), n in slots.items() if (hour, tenth) == (7, 3)]
    assert sum(opening_slots) / len(opening_slots) > 2 * sum(slots.values()) / len(slots)

    _queue, plain = run(Settings.plain(per_day=200), "plain.db")
    assert not [e for e in plain if e.kind == "paused" and e.detail["reason"] == "Nghỉ trưa"]


def test_a_site_whose_numbers_run_out_turns_citizens_away_on_postgresql(
    config_data, tmp_path, migrated_pg_url, server_zygote
):
    """`simulate --site` fills the site it names (a commune centre added to the installation), and on
    PostgreSQL too a day whose numbers run out turns citizens away and goes on, with no traceback."""
    service = next(s for s in config_data["services"] if s["code"] == "CT")
    service["numbers"] = {"start": 2001, "end": 2005}
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(config_data, allow_unicode=True), encoding="utf-8")
    env = {**os.environ, "QUEUEKIOSK_DATABASE_URL": migrated_pg_url, "QUEUEKIOSK_INSTANCE": str(tmp_path / "instance")}

    def cli(*args):
        return server_zygote.run([QUEUEKIOSK, *args, "--config", str(config_file)], env, timeout=300)

    added = cli("site", "add", "xa-tan-phu", "--name", "Xã Tân Phú")
    assert added.returncode == 0, added.stderr
    done = cli("simulate", "--site", "xa-tan-phu", "--day", FRIDAY.isoformat(), "--per-day", "100", "--seed", "3")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    turned_away = int(re.search(r"(\d+) citizens turned away \(numbers or daily limit ran out\)", done.stderr)[1])
    assert turned_away >= 5, done.stderr

    engine = create_db_engine(migrated_pg_url)
    T, S = m.Ticket.__table__, m.Service.__table__
    with engine.connect() as conn:
        ct = conn.execute(select(S.c.id).where(S.c.code == "CT", S.c.site_id == "xa-tan-phu")).scalar_one()
        tickets = conn.execute(select(T.c.site_id, T.c.origin_service_id, T.c.number)).all()
    engine.dispose()
    assert {t.site_id for t in tickets} == {"xa-tan-phu"}  # only the site it names
    assert sorted(t.number for t in tickets if t.origin_service_id == ct) == [2001, 2002, 2003, 2004, 2005]
    assert len([t for t in tickets if t.origin_service_id != ct]) > 40
