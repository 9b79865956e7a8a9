"""Numbers and calls under real concurrency, on a SQLite file and on PostgreSQL.

  (a) 16 threads, each with its own engine and session, issue 50 tickets each for two services;
  (b) 4 processes start on an empty database at once: each migrates and loads the config
      (prepare_database), then they all issue together;
  (c) 6 counters press "next" from their own threads while two kiosks issue tickets.

Afterwards: no number twice, no number missing, no ticket called twice, no counter holding two.
A SQLite "database is locked" (busy_timeout is 30 s) fails the test like any other error.
"""

from __future__ import annotations

import collections
import datetime as dt
import multiprocessing
import queue as queue_module
import threading
import time
import traceback
from pathlib import Path

import pytest
from sqlalchemy import func, select

from queuekiosk.server.core import engine as q
from queuekiosk.server.core import models as m
from queuekiosk.server.core.config import load_config
from queuekiosk.server.core.db import create_db_engine, prepare_database, session_factory

CONFIG_PATH = Path(__file__).resolve().parent.parent / "config.yaml"
MON_9 = dt.datetime(2026, 11, 23, 2, 0)  # Monday 09:00 in Ho Chi Minh City, inside opening hours
T = m.Ticket.__table__
E = m.Event.__table__
JOIN_TIMEOUT = 60


def clock_from(start_monotonic: float):
    """Real elapsed time on top of Monday 09:00, so every thread sees one advancing clock."""
    return lambda: MON_9 + dt.timedelta(seconds=time.monotonic() - start_monotonic)


def run_threads(targets: list) -> None:
    """Start the callables together; re-raise the first failure with every thread's traceback."""
    errors: list[str] = []
    barrier = threading.Barrier(len(targets))

    def wrap(target, index):
        try:
            barrier.wait(timeout=30)
            target()
        except BaseException:  # noqa: BLE001 - reported below, with the thread's name
            errors.append(f"thread {index}:\n{traceback.format_exc()}")

    threads = [threading.Thread(target=wrap, args=(t, i), daemon=True) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN_TIMEOUT)
    stuck = [i for i, thread in enumerate(threads) if thread.is_alive()]
    assert not stuck, f"threads {stuck} still running after {JOIN_TIMEOUT} s (a lock that never returns?)"
    assert not errors, f"{len(errors)} thread(s) failed:\n" + "\n".join(errors[:3])


def assert_gap_free(url: str, site, expected: dict[str, int]) -> None:
    """Every service in ``expected`` holds exactly start..start+n-1 today; name what is wrong."""
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(T.c.origin_service_id, T.c.number)).all()
    finally:
        engine.dispose()
    by_service = collections.defaultdict(list)
    for service_id, number in rows:
        by_service[site.service_codes[service_id]].append(number)
    problems = []
    for code, count in expected.items():
        got = by_service.get(code, [])
        start = site.config.service(code).numbers.start
        duplicated = sorted(n for n, k in collections.Counter(got).items() if k > 1)
        missing = sorted(set(range(start, start + count)) - set(got))
        extra = sorted(set(got) - set(range(start, start + count)))
        if duplicated or missing or extra or len(got) != count:
            problems.append(
                f"{code}: {len(got)} tickets, expected {count}; duplicated {duplicated[:20]}, "
                f"missing {missing[:20]}, beyond the expected range {extra[:20]}"
            )
    assert not problems, "\n".join(problems)


@pytest.fixture
def site_db(migrated_db_url, config, instance_dir):
    """A migrated database with the demo centre loaded; threads open their own engines on ``url``."""
    engine = create_db_engine(migrated_db_url)
    site = prepare_database(engine, config, instance_dir)
    engine.dispose()
    return migrated_db_url, site


# --- (a) threads issuing ------------------------------------------------------------------------

THREADS = 16
PER_THREAD = 50


def test_threads_issue_without_duplicates_or_gaps(site_db):
    url, site = site_db
    now = clock_from(time.monotonic())
    issued: list[tuple[str, int]] = []
    lock = threading.Lock()

    def kiosk(index: int):
        def run():
            engine = create_db_engine(url)  # SQLite: one connection per engine, so one per thread
            Session = session_factory(engine)
            try:
                for i in range(PER_THREAD):
                    service = ("HT", "CT")[(index + i) % 2]
                    with Session.begin() as session:
                        number = q.issue(session, site, service, now=now()).ticket["number"]
                    with lock:
                        issued.append((service, number))
            finally:
                engine.dispose()

        return run

    run_threads([kiosk(i) for i in range(THREADS)])

    answered = collections.Counter(issued)
    twice = sorted(k for k, n in answered.items() if n > 1)
    assert not twice, f"the engine answered these numbers more than once: {twice[:20]}"
    half = THREADS * PER_THREAD // 2
    assert_gap_free(url, site, {"HT": half, "CT": half})


# --- (b) processes starting and issuing at once -------------------------------------------------

PROCESSES = 4
PER_PROCESS = 100


def _process_kiosk(url: str, config_path: str, instance_dir: str, barrier, results, index: int) -> None:
    """Runs in a spawned process: start up like a server (migrate + load config), then issue."""
    try:
        engine = create_db_engine(url)
        site = prepare_database(engine, load_config(config_path), Path(instance_dir))
        Session = session_factory(engine)
        barrier.wait(timeout=60)
        got = []
        for i in range(PER_PROCESS):
            service = ("HT", "CT")[(index + i) % 2]
            with Session.begin() as session:
                ticket = q.issue(session, site, service, now=MON_9 + dt.timedelta(seconds=i)).ticket
            got.append((service, ticket["number"]))
        engine.dispose()
        results.put(("ok", index, got))
    except BaseException:  # noqa: BLE001 - sent to the parent, which fails the test with it
        results.put(("error", index, traceback.format_exc()))


def test_processes_start_up_and_issue_at_once(db_url, config, instance_dir):
    # forked from a fresh process that imported this module (and with it the engine) and the database
    # drivers once: each process still opens its own connections, migrates and loads the config; not
    # started and imported anew each (spawn: four Python starts a run, about 0.6 s of CPU each)
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__, "sqlite3", "psycopg", "sqlalchemy.dialects.postgresql.psycopg", "alembic"])
    barrier = ctx.Barrier(PROCESSES)
    results = ctx.Queue()
    processes = [
        ctx.Process(
            target=_process_kiosk, daemon=True, args=(db_url, str(CONFIG_PATH), str(instance_dir), barrier, results, i)
        )
        for i in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    outcomes = []
    try:
        for _ in processes:
            outcomes.append(results.get(timeout=90))
    except queue_module.Empty:
        pytest.fail(f"only {len(outcomes)} of {PROCESSES} processes reported within 90 s")
    finally:
        for process in processes:
            process.join(10)
            if process.is_alive():
                process.kill()

    errors = [f"process {i}:\n{detail}" for kind, i, detail in outcomes if kind == "error"]
    assert not errors, "\n".join(errors)
    answered = collections.Counter(pair for _, _, got in outcomes for pair in got)
    twice = sorted(k for k, n in answered.items() if n > 1)
    assert not twice, f"numbers given to two processes: {twice[:20]}"

    # the four start-ups loaded the centre once: one row per service and counter, one schema version
    engine = create_db_engine(db_url)
    site = prepare_database(engine, config, instance_dir)
    try:
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(m.Service.__table__)).scalar() == 6
            assert conn.execute(select(func.count()).select_from(m.Counter.__table__)).scalar() == 6
            assert conn.execute(select(func.count()).select_from(m.CounterService.__table__)).scalar() == 9
            versions = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
            assert len(versions) == 1, versions
    finally:
        engine.dispose()
    half = PROCESSES * PER_PROCESS // 2
    assert_gap_free(db_url, site, {"HT": half, "CT": half})


# --- (c) counters calling while kiosks issue ----------------------------------------------------

KIOSKS = 2
PER_KIOSK = 120
SERVICES = ["HT", "CT", "DC", "LD", "VH", "TK"]


def test_counters_call_next_while_tickets_are_issued(site_db):
    url, site = site_db
    now = clock_from(time.monotonic())
    kiosks_done = threading.Event()
    finished_kiosks = collections.Counter()
    calls: dict[int, list[int]] = collections.defaultdict(list)  # counter -> ticket numbers it got
    calls_while_issuing = [0]
    first_call = threading.Event()
    lock = threading.Lock()

    def kiosk(index: int):
        def run():
            engine = create_db_engine(url)
            Session = session_factory(engine)
            try:
                for i in range(PER_KIOSK):
                    if i == PER_KIOSK // 2:  # a fast host issued all before a counter's first call: the
                        first_call.wait(timeout=30)  # second half goes on while the counters call
                    service = SERVICES[(index + i) % len(SERVICES)]
                    priority = "elderly" if i % 5 == 0 else None
                    with Session.begin() as session:
                        q.issue(session, site, service, priority=priority, now=now())
            finally:
                engine.dispose()
                with lock:
                    finished_kiosks[index] += 1
                    if len(finished_kiosks) == KIOSKS:
                        kiosks_done.set()

        return run

    def counter(number: int):
        def run():
            engine = create_db_engine(url)
            Session = session_factory(engine)
            idle_after_kiosks = 0
            try:
                while idle_after_kiosks < 2:  # "next" until nobody is left once the kiosks are done
                    done_before = kiosks_done.is_set()
                    with Session.begin() as session:
                        ticket = q.call_next(session, site, number, now=now()).ticket
                    if ticket is None:
                        idle_after_kiosks += done_before
                        time.sleep(0.002)
                        continue
                    idle_after_kiosks = 0
                    with lock:
                        calls[number].append(ticket["number"])
                        calls_while_issuing[0] += not kiosks_done.is_set()
                    first_call.set()
                    if ticket["number"] % 2:  # start some tickets, leave others "called" until next
                        with Session.begin() as session:
                            q.start(session, site, number, now=now())
            finally:
                engine.dispose()

        return run

    run_threads([kiosk(i) for i in range(KIOSKS)] + [counter(n) for n in sorted(site.counter_ids)])
    assert calls_while_issuing[0] > 0, "no counter called while the kiosks were issuing: nothing was concurrent"

    by_number = collections.defaultdict(list)
    for counter_number, numbers in calls.items():
        for number in numbers:
            by_number[number].append(counter_number)
    twice = {n: c for n, c in by_number.items() if len(c) > 1}
    assert not twice, f"tickets called more than once (number: counters): {dict(sorted(twice.items())[:20])}"

    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            tickets = {r.id: r for r in conn.execute(select(T))}
            events = conn.execute(select(E).order_by(E.c.id)).all()
    finally:
        engine.dispose()

    total = KIOSKS * PER_KIOSK
    assert len(tickets) == total
    first_calls = collections.Counter(
        e.ticket_id for e in events if e.kind == "called" and not (e.detail or {}).get("repeat_call")
    )
    called_twice = sorted(tickets[t].number for t, n in first_calls.items() if n > 1)
    assert not called_twice, f"'called' events (not repeat calls) more than once for numbers {called_twice[:20]}"
    never = sorted(r.number for r in tickets.values() if r.id not in first_calls)
    assert not never, f"tickets never called although the counters drained the queue: {never[:20]}"
    # ended: served, or (called and never started when "next" came) a no-show (policy.unstarted_at_next)
    not_done = sorted((r.number, r.status) for r in tickets.values() if r.status not in ("done", "no_show"))
    assert not not_done, f"tickets left unfinished: {not_done[:20]}"

    # replay each counter's events: it never calls while it still holds a ticket
    holding: dict[int, int] = {}
    for e in events:
        if e.kind == "called":
            assert e.counter_id not in holding, (
                f"counter {site.counter_numbers[e.counter_id]} called {tickets[e.ticket_id].number} "
                f"while holding {tickets[holding[e.counter_id]].number}"
            )
            holding[e.counter_id] = e.ticket_id
        elif e.kind in ("finished", "no_show", "transferred"):
            assert holding.pop(e.counter_id, None) == e.ticket_id, f"event {e.id}: {e.kind} of a ticket not held"
        elif e.kind == "started":
            assert holding.get(e.counter_id) == e.ticket_id
    assert not holding, f"counters still holding tickets: {holding}"
    # each counter only took tickets of its own services
    service_of = {r.number: site.service_codes[r.origin_service_id] for r in tickets.values()}
    for counter_number, numbers in calls.items():
        allowed = {site.service_codes[s] for s in site.counter_service_ids[counter_number]}
        served = {service_of[n] for n in numbers}
        assert served <= allowed, f"counter {counter_number} serves {allowed}, called tickets of {served - allowed}"


# --- two counters pressing at the same moment -------------------------------------------------


def _race(url: str, site, first: dict, second: dict):
    """Counter A acts and holds its transaction open; counter B acts meanwhile; then A commits.

    Returns (A's ticket number, B's ticket number or its QueueError). Deterministic: B is
    blocked by A (SQLite: the write lock at BEGIN; PostgreSQL: row locks) until A commits.
    """
    engine_a, engine_b = create_db_engine(url), create_db_engine(url)
    result: dict = {}

    def counter_b():
        try:
            with session_factory(engine_b).begin() as session:
                ticket = q.call_next(session, site, now=MON_9 + dt.timedelta(minutes=1), **second).ticket
                result["b"] = ticket and ticket["number"]
        except q.QueueError as error:
            result["b"] = error
        except BaseException as error:  # noqa: BLE001 - reported by the test
            result["b"] = error

    try:
        with session_factory(engine_a).begin() as session:
            got_a = q.call_next(session, site, now=MON_9 + dt.timedelta(minutes=1), **first).ticket["number"]
            thread = threading.Thread(target=counter_b, daemon=True)
            thread.start()
            thread.join(0.5)  # B is now waiting for A
        thread.join(JOIN_TIMEOUT)
        assert not thread.is_alive(), "counter B never returned"
    finally:
        engine_a.dispose()
        engine_b.dispose()
    return got_a, result["b"]


def _issue(url: str, site, service: str, count: int) -> None:
    engine = create_db_engine(url)
    with session_factory(engine).begin() as session:
        for _ in range(count):
            q.issue(session, site, service, now=MON_9)
    engine.dispose()


def test_two_counters_pressing_next_at_once_get_different_tickets(site_db):
    url, site = site_db
    _issue(url, site, "HT", 1)
    got_a, got_b = _race(url, site, {"counter_number": 1}, {"counter_number": 2})
    assert (got_a, got_b) == (1001, None), f"one ticket waiting: A got {got_a}, B got {got_b!r}"


def test_two_counters_calling_the_same_number_at_once(site_db):
    """The loser is told the ticket is no longer waiting (409), not an internal error."""
    url, site = site_db
    _issue(url, site, "HT", 2)
    got_a, got_b = _race(url, site, {"counter_number": 1, "number": 1002}, {"counter_number": 2, "number": 1002})
    assert got_a == 1002
    assert isinstance(got_b, q.QueueError), f"counter B got {got_b!r}"
    assert (got_b.code, type(got_b)) == ("ticket_not_waiting", q.QueueError), (
        f"counter B was refused with {got_b.code!r} ({type(got_b).__name__}); expected the conflict ticket_not_waiting"
    )
