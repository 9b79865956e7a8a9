"""Reports over a simulated year and three years of a busy centre (about 150,000 tickets a year):
each figure beside the count from tickets in the same run (issue 21: a year <= 300 ms per summary
call and <= 600 ms for the reports page; three years <= 1.3x a year).

    .venv/bin/python bench/bench_reports.py [--per-day 500] [--sim-days 28] [--keep /tmp/qk-bench-year]
                                            [--rounds 3] [--ratio-rounds 30] [--ratio-only] [--no-http]

1. `queuekiosk simulate` fills a fresh SQLite database with the first --sim-days days of 2025 of
   the demo centre (about 500 citizens a weekday; every step through the queue engine, about two
   seconds of CPU per day). Every other open day of 2023-2025 is then a copy of a simulated day of
   the same weekday, its times moved to that day (new ids; events, ratings and number sequences
   with them): three years of about 150,000 tickets each, in a minute instead of hours.
   With --keep DIR the database is kept there and reused by later runs.
2. First looks: two reports over the year as a server answers them (each keeps up to 31 more days,
   server/core/reports/kept.py), then every day of the year and of the three years kept, timed.
3. In-process, in turn round by round: each report (summary by service, counter, clerk, day,
   hour; peak hours; the daily summary; the reports page = summary + peak hours + daily summary)
   over the year 2025 and over 2023-2025, as kept and counted from the tickets (``from_tickets``,
   the reference), best and median; and whether both give the same figures. Then each kept
   report over the year and over the three years in turn, --ratio-rounds times: the ratio of
   their medians (issue 21: three years <= 1.3x a year), and the kilobytes of kept figures and
   times each reads. ``--ratio-only`` does only this, on a database an earlier run kept.
4. Over HTTP: a fresh `queuekiosk serve` on that database answers the reports page's three calls
   for the year; the time from request to the last byte.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from common import ROOT, free_port, token, wait_healthy

GROUPS = ("service", "counter", "clerk", "day", "hour")


def simulate(folder: Path, per_day: int, days: int) -> float:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "config.yaml", folder / "config.yaml")
    env = {**os.environ, "QUEUEKIOSK_INSTANCE": str(folder / "instance")}
    env.pop("QUEUEKIOSK_DATABASE_URL", None)
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "queuekiosk.server.cli",
            "simulate",
            "--day",
            "2025-01-01",
            "--days",
            str(days),
            "--per-day",
            str(per_day),
            "--seed",
            "7",
            "--config",
            str(folder / "config.yaml"),
        ],
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    return time.perf_counter() - start


def replicate(folder: Path, first: dt.date, last: dt.date) -> int:
    """Fill every open day of ``first``..``last`` without tickets with a copy of a simulated day of
    the same weekday (the simulated days: those with tickets), its times moved; the tickets added."""
    from queuekiosk.server.core.config import load_config
    from queuekiosk.server.core.simulate import open_on

    class Site:  # what open_on reads
        config = load_config(folder / "config.yaml")

    db = sqlite3.connect(folder / "instance" / "queuekiosk.db")
    simulated = [dt.date.fromisoformat(d) for (d,) in db.execute("SELECT DISTINCT business_day FROM tickets")]
    by_weekday = {}
    for day in sorted(simulated):
        by_weekday.setdefault(day.weekday(), []).append(day)
    columns = {
        table: [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
        for table in ("tickets", "events", "ratings", "number_sequences")
    }
    source_rows = {}
    for day in simulated:
        tickets = db.execute("SELECT * FROM tickets WHERE business_day = ?", (day.isoformat(),)).fetchall()
        ids = [t[0] for t in tickets]
        marks = ",".join("?" * len(ids))
        source_rows[day] = {
            "tickets": tickets,
            "events": db.execute(f"SELECT * FROM events WHERE ticket_id IN ({marks})", ids).fetchall(),
            "ratings": db.execute(f"SELECT * FROM ratings WHERE ticket_id IN ({marks})", ids).fetchall(),
            "number_sequences": db.execute(
                "SELECT * FROM number_sequences WHERE business_day = ?", (day.isoformat(),)
            ).fetchall(),
        }
    have = set(simulated)
    stride = 10**7
    added = 0
    day = first
    index = 0
    while day <= last:
        if day not in have and open_on(Site, day) and by_weekday.get(day.weekday()):
            index += 1
            choices = by_weekday[day.weekday()]
            source = choices[index % len(choices)]
            shift = day - source
            for table, rows in source_rows[source].items():
                names = columns[table]
                moved = [tuple(_moved(names, row, shift, index * stride)) for row in rows]
                db.executemany(f"INSERT INTO {table} ({','.join(names)}) VALUES ({','.join('?' * len(names))})", moved)
            added += len(source_rows[source]["tickets"])
            if index % 50 == 0:
                db.commit()
                print(f"  copied up to {day} ({added:,} tickets)", flush=True)
        day += dt.timedelta(days=1)
    db.commit()
    db.close()
    return added


_ID_COLUMNS = {"id", "ticket_id"}
_TIME_COLUMNS = {"issued_at", "called_at", "last_called_at", "started_at", "finished_at", "due_at", "at"}


def _moved(names, row, shift: dt.timedelta, id_offset: int):
    for name, value in zip(names, row):
        if value is None:
            yield None
        elif name in _ID_COLUMNS:
            yield value + id_offset
        elif name == "public_id":
            yield f"r{id_offset + int(row[0])}"[:24]
        elif name == "business_day":
            yield (dt.date.fromisoformat(value) + shift).isoformat()
        elif name in _TIME_COLUMNS:
            yield (dt.datetime.fromisoformat(value) + shift).isoformat(sep=" ", timespec="microseconds")
        else:
            yield value


def _figures(report: dict) -> dict:
    return {key: value for key, value in report.items() if key != "generated_at"}


def in_process(folder: Path, rounds: int, ratio_rounds: int, ratio_only: bool = False) -> None:
    from queuekiosk.server.core import periods, reports
    from queuekiosk.server.core.config import load_config
    from queuekiosk.server.core.db import create_db_engine, prepare_database
    from queuekiosk.server.core.reports import kept

    engine = create_db_engine(f"sqlite:///{folder / 'instance' / 'queuekiosk.db'}")
    site = prepare_database(engine, load_config(folder / "config.yaml"), folder / "instance")
    zone = site.config.site.zone
    spans = {
        "year 2025": periods.named_period("2025", zone),
        "2023-2025": periods.range_period("2023-01-01", "2025-12-31", zone),
    }
    day = periods.named_period("2025-11-20", zone)

    def page(conn, span, from_tickets):  # what the reports page asks for (server/web/static/reports.js)
        reports.summary(conn, site, span, "service", from_tickets=from_tickets)
        reports.peak_hours(conn, site, span, from_tickets=from_tickets)
        reports.daily_summary(conn, site, span, from_tickets=from_tickets)

    jobs = []
    for label, span in spans.items():
        jobs += [
            (
                f"{label}: summary by {g}",
                lambda conn, ft, g=g, span=span: reports.summary(conn, site, span, g, from_tickets=ft),
            )
            for g in GROUPS
        ]
        jobs.append(
            (f"{label}: peak hours", lambda conn, ft, span=span: reports.peak_hours(conn, site, span, from_tickets=ft))
        )
        jobs.append((f"{label}: reports page (3 calls)", lambda conn, ft, span=span: page(conn, span, ft)))
    jobs.append(("2025-11-20: daily summary", lambda conn, ft: reports.daily_summary(conn, site, day, from_tickets=ft)))

    with engine.connect() as conn:
        if ratio_only:  # what an earlier run kept stays kept
            for span in spans.values():
                kept.keep_all(conn, site, span)
                conn.commit()
        for label, span in spans.items() if not ratio_only else ():
            total = reports.summary(conn, site, span, "service", from_tickets=True)["total"]
            print(
                f"database: {total['issued']:,} tickets in {label}, {total['ratings']['total']:,} ratings", flush=True
            )
        if not ratio_only:
            conn.execute(kept.K.delete())  # the first looks start from nothing kept
            conn.commit()
            print(f"\nfirst looks, nothing kept yet (each keeps up to {kept.KEEP_AT_ONCE} more days):", flush=True)
        for name, job in jobs[:2] if not ratio_only else ():
            start = time.perf_counter()
            job(conn, False)
            conn.commit()
            print(f"  {name:42} {time.perf_counter() - start:8.1f} s", flush=True)
        for label, span in spans.items() if not ratio_only else ():
            start = time.perf_counter()
            kept.keep_all(conn, site, span)
            conn.commit()
            print(f"  kept every day of {label} that is over: {time.perf_counter() - start:.1f} s", flush=True)
    if not ratio_only:
        print(
            f"\nin-process ({rounds} rounds, in turn): kept / counted from tickets, best and median, wall ms",
            flush=True,
        )
    results = {}
    for name, job in jobs if not ratio_only else ():
        with engine.connect() as conn:
            first = job(conn, False)
            same = first is None or _figures(first) == _figures(job(conn, True))
        walls = {False: [], True: []}
        for _ in range(rounds):
            for from_tickets in (False, True):  # in turn, so that a change of load meets both alike
                with engine.connect() as conn:
                    start = time.perf_counter()
                    job(conn, from_tickets)
                    walls[from_tickets].append(time.perf_counter() - start)
        kept, counted = walls[False], walls[True]
        results[name] = (min(kept), statistics.median(kept), min(counted), statistics.median(counted))
        print(
            f"  {name:42} kept {min(kept) * 1000:6.0f} / {statistics.median(kept) * 1000:6.0f} ms   "
            f"from tickets {min(counted) * 1000:6.0f} / {statistics.median(counted) * 1000:6.0f} ms   "
            f"{'same figures' if same else 'FIGURES DIFFER'}",
            flush=True,
        )
    named = dict(jobs)
    print(
        f"\nthree years / one year, kept ({ratio_rounds} rounds, the year and the three years in turn, "
        "each on a fresh connection): best / median, wall ms",
        flush=True,
    )
    for name in [n for n, _ in jobs if n.startswith("year 2025: ")]:
        other = name.replace("year 2025: ", "2023-2025: ")
        walls = {name: [], other: []}
        for i in range(ratio_rounds):
            for job_name in (name, other) if i % 2 == 0 else (other, name):
                with engine.connect() as conn:
                    start = time.perf_counter()
                    named[job_name](conn, False)
                    walls[job_name].append(time.perf_counter() - start)
        one, three = walls[name], walls[other]
        reads = [_kept_reads(engine, named[job_name]) for job_name in (name, other)]
        print(
            f"  {name.removeprefix('year 2025: '):32} year {min(one) * 1000:6.1f} / {statistics.median(one) * 1000:6.1f}   "
            f"3 years {min(three) * 1000:6.1f} / {statistics.median(three) * 1000:6.1f}   "
            f"{statistics.median(three) / statistics.median(one):5.2f}x   "
            f"kept KB read (figures + times): {reads[0][0] / 1000:.0f} + {reads[0][1] / 1000:.0f}, "
            f"{reads[1][0] / 1000:.0f} + {reads[1][1] / 1000:.0f}",
            flush=True,
        )
    engine.dispose()


def _kept_reads(engine, job) -> tuple[int, int]:
    """The bytes of kept rows a report reads: their figures (JSON), and the times it fetches."""
    from queuekiosk.server.core.reports import kept

    read = [0, 0]
    decode, fetch = kept._decode, kept.Store.fetch

    def counting_decode(grouping, day, figures, store):
        read[0] += len(figures)
        return decode(grouping, day, figures, store)

    def counting_fetch(store):
        before = sum(map(len, store.loaded.values()))
        fetch(store)
        read[1] += sum(map(len, store.loaded.values())) - before

    kept._decode, kept.Store.fetch = counting_decode, counting_fetch
    try:
        with engine.connect() as conn:
            job(conn, False)
    finally:
        kept._decode, kept.Store.fetch = decode, fetch
    return read[0], read[1]


def over_http(folder: Path, rounds: int) -> None:
    port = free_port()
    env = {**os.environ, "QUEUEKIOSK_INSTANCE": str(folder / "instance")}
    env.pop("QUEUEKIOSK_DATABASE_URL", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "queuekiosk.server.cli",
            "serve",
            "--config",
            str(folder / "config.yaml"),
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(f"{base}/healthz")
        headers = {"Authorization": f"Bearer {token(folder, 'supervisor')}"}
        print(f"\nover HTTP, GET /api/v1/reports/... for the year 2025 ({rounds} rounds): best / median", flush=True)
        session = requests.Session()
        paths = [f"summary?period=2025&group_by={g}" for g in GROUPS]
        paths += ["summary?period=2025&group_by=service&format=xlsx", "peak-hours?period=2025", "daily?period=2025"]
        for path in paths:
            times = []
            for _ in range(rounds):
                start = time.perf_counter()
                response = session.get(f"{base}/api/v1/reports/{path}", headers=headers, timeout=60)
                response.raise_for_status()
                times.append(time.perf_counter() - start)
            print(
                f"  {path:50} {min(times) * 1000:7.0f} ms / {statistics.median(times) * 1000:7.0f} ms"
                f"  ({len(response.content):,} bytes)",
                flush=True,
            )
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-day", type=int, default=500)
    parser.add_argument("--sim-days", type=int, default=28, help="days of January 2025 simulated; the rest are copies")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ratio-rounds", type=int, default=30, help="rounds of a year beside three years, kept")
    parser.add_argument(
        "--ratio-only", action="store_true", help="only the year beside three years, on what --keep kept before"
    )
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--keep", type=Path, default=None, help="keep (and reuse) the database here")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="qk-bench-reports-"))
    print(f"load average: {' '.join(f'{v:.1f}' for v in os.getloadavg())}", flush=True)
    try:
        if (folder / "instance" / "queuekiosk.db").exists():
            print(f"reusing the database in {folder}", flush=True)
        else:
            seconds = simulate(folder, args.per_day, args.sim_days)
            print(
                f"simulated {args.sim_days} days of 2025 ({args.per_day} citizens a weekday) in {seconds:.0f} s",
                flush=True,
            )
        marker = folder / "replicated"
        if not marker.exists():
            start = time.perf_counter()
            added = replicate(folder, dt.date(2023, 1, 1), dt.date(2025, 12, 31))
            marker.write_text(str(added))
            print(
                f"copied simulated days to the other open days of 2023-2025: {added:,} tickets in {time.perf_counter() - start:.0f} s",
                flush=True,
            )
        in_process(folder, args.rounds, args.ratio_rounds, args.ratio_only)
        if not args.no_http and not args.ratio_only:
            over_http(folder, args.rounds)
        print(f"load average: {' '.join(f'{v:.1f}' for v in os.getloadavg())}", flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
