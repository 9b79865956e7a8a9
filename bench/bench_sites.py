"""Fifty sites on one PostgreSQL: the province's report over a year, and calls reaching the
lobby with every site's display connected (issue 16).

    .venv/bin/python bench/bench_sites.py [--sites 50] [--per-day 300] [--rounds 5] [--keep]
                                          [--url postgresql://postgres@127.0.0.1:5432/postgres] [--skip-live]

1. A dedicated database (``qk_bench_sites``, made afresh unless --keep finds it filled) gets
   the demo centre as its first site and ``--sites - 1`` commune centres added as
   ``POST /api/v1/admin/sites`` adds them (server/core/sites.py).
2. A year (2025, every weekday) of ``--per-day`` tickets per site, written by SQL in bulk
   (generate_series: issue, call, finish times with exponential waits, 90 % served, 5 % no-show,
   5 % expired; half the served rated): no simulator per ticket, so the fill takes a minute or
   two, not hours. The ticket rows are those the engine writes; the report reads nothing else.
3. The province report (server/core/reports/sites.py ``compare_sites``) over the year, best and
   median of --rounds, against a reference measured in the same run on the same tickets: a plain
   ``SELECT count(*)`` of the year's tickets. Target: ≤ 2 s. Also over a month and a day.
4. Unless --skip-live: a real ``queuekiosk serve`` on that database, one Socket.IO display per
   site connected at /s/{site}/..., a busy day's issuing at every site (``--per-day`` tickets
   spread over the sites, 8 clients), then calls at random sites: issuing p50/p99 and
   call→display p99 (target ≤ 50 ms), and that no display heard another site's call.

A progress line is printed per step. docs/performance.md records the figures and the command.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from queuekiosk.server.core import sites as site_data  # noqa: E402
from queuekiosk.server.core.config import load_config  # noqa: E402
from queuekiosk.server.core.db import create_db_engine, migrate, prepare_database  # noqa: E402
from queuekiosk.server.core.reports.sites import compare_sites  # noqa: E402

DATABASE = "qk_bench_sites"
YEAR_FIRST, YEAR_LAST = "2025-01-01", "2025-12-31"


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def database_url(admin_url: str) -> str:
    return make_url(admin_url).set(database=DATABASE).render_as_string(hide_password=False)


def pg_engine(url: str, **options):
    """An engine through psycopg 3 (the driver queuekiosk uses)."""
    return create_engine(make_url(url).set(drivername="postgresql+psycopg"), **options)


def make_database(admin_url: str, keep: bool) -> bool:
    """The bench database; True when --keep found it already filled."""
    admin = pg_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": DATABASE}).scalar()
        if exists and keep:
            admin.dispose()
            return True
        if exists:
            conn.execute(text(f"DROP DATABASE {DATABASE} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {DATABASE}"))
    admin.dispose()
    return False


def add_sites(url: str, count: int, instance: Path) -> list[str]:
    engine = create_db_engine(url)
    prepare_database(engine, lambda: load_config(ROOT / "config.yaml"), instance)
    ids = []
    with Session(engine) as db, db.begin():
        for i in range(2, count + 1):
            site_id = f"xa-{i:02d}"
            site_data.create_site(db, site_id, f"Trung tâm Phục vụ hành chính công xã số {i}")
            ids.append(site_id)
    with Session(engine) as db:
        every = [r[0] for r in db.execute(text("SELECT id FROM sites ORDER BY id"))]
    engine.dispose()
    return every


FILL_SITE = text(
    """
    WITH svc AS (
        SELECT id, range_start, row_number() OVER (ORDER BY id) - 1 AS k, count(*) OVER () AS n
        FROM services WHERE site_id = :site AND active
    ),
    days AS (
        SELECT d::date AS day FROM generate_series(CAST(:first AS date), CAST(:last AS date), interval '1 day') d
        WHERE extract(isodow FROM d) < 6
    ),
    raw AS (
        SELECT days.day, g AS i, random() AS r1, random() AS r2, random() AS r3
        FROM days CROSS JOIN generate_series(0, :per_day - 1) g
    ),
    shaped AS (
        SELECT raw.*, svc.id AS service_id, svc.range_start + raw.i / svc.n AS number,
               -- opening 08:00 local (01:00 UTC), issued evenly over eight hours
               raw.day + interval '1 hour' + (raw.i * 28800.0 / :per_day) * interval '1 second' AS issued_at,
               -600.0 * ln(1.0 - raw.r1) AS wait_s, 120.0 + 600.0 * raw.r2 AS service_s
        FROM raw JOIN svc ON svc.k = raw.i % svc.n
    )
    INSERT INTO tickets (public_id, site_id, origin_service_id, service_id, number, business_day, status,
                         issued_at, called_at, last_called_at, started_at, finished_at, transfers)
    SELECT substr(md5(:site || '/' || day || '/' || i || random()), 1, 24), :site, service_id, service_id, number, day,
           CASE WHEN r3 < 0.90 THEN 'done' WHEN r3 < 0.95 THEN 'no_show' ELSE 'expired' END,
           issued_at,
           CASE WHEN r3 < 0.95 THEN issued_at + wait_s * interval '1 second' END,
           CASE WHEN r3 < 0.95 THEN issued_at + wait_s * interval '1 second' END,
           CASE WHEN r3 < 0.90 THEN issued_at + (wait_s + 30) * interval '1 second' END,
           CASE WHEN r3 < 0.90 THEN issued_at + (wait_s + 30 + service_s) * interval '1 second' END,
           0
    FROM shaped
    """
)

RATE_SITE = text(
    """
    INSERT INTO ratings (site_id, ticket_id, counter_id, service_id, level, reasons, at, business_day)
    SELECT t.site_id, t.id, c.counter_id, t.service_id,
           CASE WHEN random() < 0.6 THEN 'very_satisfied' WHEN random() < 0.7 THEN 'satisfied'
                ELSE 'unsatisfied' END,
           '[]', t.finished_at, t.business_day
    FROM tickets t JOIN (SELECT site_id, min(id) AS counter_id FROM counters GROUP BY site_id) c ON c.site_id = t.site_id
    WHERE t.status = 'done' AND t.id % 2 = 0
    """
)


SEQUENCES = text(
    """
    INSERT INTO number_sequences (service_id, business_day, last_number, waiting, priority_waiting)
    SELECT origin_service_id, business_day, max(number), 0, 0 FROM tickets
    GROUP BY origin_service_id, business_day
    """
)


def fill(url: str, site_ids: list[str], per_day: int) -> int:
    """The year's tickets, ratings and number sequences, written with the tables' secondary indexes
    dropped and made again afterwards (as a restore does): minutes, not a quarter of an hour."""
    engine = pg_engine(url)
    started = time.perf_counter()
    with engine.begin() as conn:
        indexes = conn.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('tickets', 'ratings') "
                "AND indexname NOT LIKE 'pk_%' AND indexname NOT LIKE 'uq_%'"
            )
        ).all()
        constraints = conn.execute(
            text(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid IN ('tickets'::regclass, 'ratings'::regclass) AND contype = 'u'"
            )
        ).all()
        for table, name, _ in constraints:
            conn.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT {name}"))
        for name, _ in indexes:
            conn.execute(text(f"DROP INDEX {name}"))
    for n, site_id in enumerate(site_ids, 1):
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL synchronous_commit = off"))
            conn.execute(text("SET LOCAL session_replication_role = replica"))  # no foreign-key triggers per row
            conn.execute(FILL_SITE, {"site": site_id, "first": YEAR_FIRST, "last": YEAR_LAST, "per_day": per_day})
        if n % 5 == 0 or n == len(site_ids):
            say(f"fill: tickets of {n}/{len(site_ids)} sites, {time.perf_counter() - started:.0f} s")
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(RATE_SITE)
        conn.execute(SEQUENCES)
    say(f"fill: ratings and number sequences, {time.perf_counter() - started:.0f} s")
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        for table, name, definition in constraints:
            conn.execute(text(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"))
        for _, definition in indexes:
            conn.execute(text(definition))
    say(f"fill: indexes made again, {time.perf_counter() - started:.0f} s")
    vacuum = pg_engine(url, isolation_level="AUTOCOMMIT")  # VACUUM runs outside a transaction
    with vacuum.connect() as conn:
        conn.execute(text("VACUUM ANALYZE tickets"))
        conn.execute(text("VACUUM ANALYZE ratings"))
    vacuum.dispose()
    with engine.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM tickets")).scalar()
    engine.dispose()
    say(f"fill done: {total:,} tickets in {time.perf_counter() - started:.0f} s (with VACUUM ANALYZE)")
    return total


def timed(action, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return times


def measure_reports(url: str, rounds: int) -> dict:
    import datetime as dt

    engine = create_db_engine(url)
    results = {}
    periods = {
        "year": (dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
        "month": (dt.date(2025, 11, 1), dt.date(2025, 11, 30)),
        "day": (dt.date(2025, 11, 20), dt.date(2025, 11, 20)),
    }
    first, last = periods["year"]
    with engine.connect() as conn:
        conn.execute(text("DELETE FROM site_day_figures"))  # the days are counted afresh: the first look
        conn.commit()
        reference = timed(
            lambda: conn.execute(
                text("SELECT count(*) FROM tickets WHERE business_day BETWEEN :a AND :b"), {"a": first, "b": last}
            ).scalar(),
            rounds,
        )
        conn.rollback()
        results["reference"] = reference
        say(f"reference: SELECT count(*) of the year's tickets: best {min(reference) * 1000:.0f} ms")
        start = time.perf_counter()
        report = compare_sites(conn, first, last)
        conn.commit()
        results["first look"] = [time.perf_counter() - start]
        say(
            f"province report over the year, first look (every day counted from the tickets and kept): "
            f"{results['first look'][0] * 1000:.0f} ms ({len(report['sites'])} sites, {report['total']['issued']:,} tickets)"
        )
        for name, (first_day, last_day) in periods.items():

            def run(first_day=first_day, last_day=last_day):
                compare_sites(conn, first_day, last_day)
                conn.rollback()

            times = timed(run, rounds)
            results[name] = times
            say(
                f"province report over the {name}, days kept: best {min(times) * 1000:.0f} ms, "
                f"median {statistics.median(times) * 1000:.0f} ms"
            )
    engine.dispose()
    return results


def live(url: str, site_ids: list[str], per_day: int, calls: int) -> None:
    """Issuing and call→display with one display per site connected (needs /s/{site}/ routing)."""
    import subprocess
    import tempfile

    import requests
    from common import bench_config, free_port, token, wait_healthy  # noqa: F401

    with tempfile.TemporaryDirectory(prefix="qk-bench-sites-") as tmp:
        tmp = Path(tmp)
        port = free_port()
        env = {**os.environ, "QUEUEKIOSK_INSTANCE": str(tmp / "instance"), "QUEUEKIOSK_DATABASE_URL": url}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "queuekiosk.server.cli",
                "serve",
                "--config",
                str(ROOT / "config.yaml"),
                "--port",
                str(port),
                "--ignore-hours",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(tmp / "serve.log", "wb"),  # noqa: SIM115
        )
        base = f"http://127.0.0.1:{port}"
        try:
            try:
                wait_healthy(base + "/healthz", 90)
            except RuntimeError:
                say("live: the server did not start; its log ends:\n" + (tmp / "serve.log").read_text()[-2000:])
                raise
            probe = requests.get(f"{base}/api/v1/sites/{site_ids[-1]}/queue", timeout=5)
            if probe.status_code == 404:
                say("live: /api/v1/sites/{site}/... is not routed by this server yet: step 4 skipped")
                return
            admin = token(tmp, "admin", database_url=url)
            headers = {"Authorization": f"Bearer {admin}"}
            session = requests.Session()

            def issue(at: list[str], count: int) -> list[float]:
                times = []
                for n in range(count):
                    site_id = at[n % len(at)]
                    start = time.perf_counter()
                    answer = session.post(f"{base}/api/v1/sites/{site_id}/tickets", json={"service": "HT"}, timeout=10)
                    if answer.status_code == 409:  # that site's numbers for today ran out (a kept database)
                        continue
                    answer.raise_for_status()
                    times.append(time.perf_counter() - start)
                return sorted(times)

            def call_round(at: list[str], count: int, listening: list[str]) -> tuple[list[float], int, int]:
                """Calls at random sites of ``at``; the displays of ``listening`` (listener processes of
                their own, as bench_realtime.py) note when each call reaches them."""
                done = tmp / f"done-{len(listening)}"
                halves = [listening[i::LISTENERS] for i in range(LISTENERS)] if len(listening) > 1 else [listening]
                children = [
                    subprocess.Popen(
                        [sys.executable, __file__, "--listen", base, str(done), *part],
                        stdout=subprocess.PIPE,
                        text=True,
                    )
                    for part in halves
                    if part
                ]
                for child in children:
                    assert child.stdout.readline().strip() == "ready"
                sent: dict[str, tuple[str, float]] = {}
                rng = random.Random(7)
                for _ in range(count):
                    site_id = rng.choice(at)
                    start = time.perf_counter()
                    answer = session.post(f"{base}/api/v1/sites/{site_id}/counters/1/next", headers=headers, timeout=10)
                    if answer.status_code == 200 and answer.json().get("id"):
                        sent[answer.json()["id"]] = (site_id, start)
                    time.sleep(0.05)  # a centre's calls are seconds apart: each is measured on its own
                    session.post(f"{base}/api/v1/sites/{site_id}/counters/1/finish", headers=headers, timeout=10)
                time.sleep(1)
                done.touch()
                latencies, crossed, missed = [], 0, 0
                heard: dict[str, dict[str, float]] = {}
                for child in children:
                    heard.update(json.loads(child.stdout.readline()))
                    child.wait(30)
                for ticket_id, (site_id, start) in sent.items():
                    if ticket_id in heard.get(site_id, {}):
                        latencies.append(heard[site_id][ticket_id] - start)
                    else:
                        missed += 1
                    crossed += sum(1 for other, arrivals in heard.items() if other != site_id and ticket_id in arrivals)
                return sorted(latencies), crossed, missed

            def p(values: list[float], share: float) -> str:
                return f"{values[min(len(values) - 1, int(len(values) * share))] * 1000:.1f} ms" if values else "-"

            # the reference, in the same run: one site's display connected, calls at that site (a site
            # that changes from run to run: a kept database's number ranges last a few runs a day)
            alone_at = [site_ids[int(time.time()) % len(site_ids)]]
            issue(alone_at, calls)
            alone, _, missed = call_round(alone_at, calls, alone_at)
            say(
                f"live, reference: 1 display connected, {len(alone)} calls: call→display p50 {p(alone, 0.5)}, "
                f"p99 {p(alone, 0.99)} ({missed} not heard)"
            )
            issued = issue(site_ids, max(per_day, calls))
            say(
                f"live: {len(issued)} tickets issued over {len(site_ids)} sites: p50 {p(issued, 0.5)}, p99 {p(issued, 0.99)}"
            )
            latencies, crossed, missed = call_round(site_ids, calls, site_ids)
            say(
                f"live: {len(site_ids)} displays connected (one per site, {LISTENERS} listener processes), "
                f"{len(latencies)} calls at random sites: call→display p50 {p(latencies, 0.5)}, p99 {p(latencies, 0.99)}; "
                f"not heard {missed}; heard by another site's display: {crossed}"
            )
        finally:
            proc.terminate()
            proc.wait(10)


LISTENERS = 2  # processes holding the displays' connections (gevent), apart from the one that calls


def listen(base: str, done_file: str, site_ids: list[str]) -> None:
    """A child process: one display per site (lobby), connected under /s/{site}/socket.io; says
    "ready", then, once ``done_file`` exists, prints when each call reached each site's display."""
    from gevent import monkey

    monkey.patch_all()
    import gevent
    import socketio

    arrivals: dict[str, dict[str, float]] = {s: {} for s in site_ids}
    ready = []

    def display(site_id: str):
        client = socketio.Client(reconnection=False)
        subscribed = gevent.event.Event()
        client.on("state", lambda _data: subscribed.set())
        client.on("ticket.called", lambda data: arrivals[site_id].setdefault(data["ticket"]["id"], time.perf_counter()))
        client.connect(base, socketio_path=f"s/{site_id}/socket.io", transports=["websocket"], wait_timeout=30)
        client.emit("subscribe", {"display": "lobby"})
        subscribed.wait(30)
        ready.append(client)

    gevent.joinall([gevent.spawn(display, s) for s in site_ids], raise_error=True)
    print("ready", flush=True)
    while not os.path.exists(done_file):
        gevent.sleep(0.05)
    print(json.dumps(arrivals), flush=True)
    os._exit(0)  # the connections end with the process (closing 25 of them one by one takes long)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--listen":
        listen(sys.argv[2], sys.argv[3], sys.argv[4:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--url", default="postgresql://postgres@127.0.0.1:5432/postgres", help="a PostgreSQL to make the database in"
    )
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--per-day", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--keep", action="store_true", help="reuse a filled bench database")
    parser.add_argument("--skip-live", action="store_true")
    parser.add_argument("--skip-reports", action="store_true")
    args = parser.parse_args()

    url = database_url(args.url)
    say(f"database {url}")
    filled = make_database(args.url, args.keep)
    import tempfile

    with tempfile.TemporaryDirectory(prefix="qk-bench-sites-") as tmp:
        if filled:
            migrate(create_db_engine(url))  # a kept database made by an older version
            engine = pg_engine(url)
            with engine.connect() as conn:
                site_ids = [r[0] for r in conn.execute(text("SELECT id FROM sites ORDER BY id"))]
            engine.dispose()
            say(f"kept: {len(site_ids)} sites")
        else:
            start = time.perf_counter()
            site_ids = add_sites(url, args.sites, Path(tmp) / "instance")
            say(f"{len(site_ids)} sites made in {time.perf_counter() - start:.1f} s")
            fill(url, site_ids, args.per_day)
    if not args.skip_reports:
        measure_reports(url, args.rounds)
    if not args.skip_live:
        live(url, site_ids, args.per_day, args.calls)


if __name__ == "__main__":
    main()
