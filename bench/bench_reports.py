"""Reports over a simulated year and three years of a busy centre (about 150,000 tickets a year):
each figure beside the count from tickets in the same run (issue 21: a year <= 300 ms per summary
call and <= 600 ms for the reports page; three years <= 1.3x a year).

    .venv/bin/python bench/bench_reports.py [--per-day 500] [--sim-days 28] [--keep /tmp/qk-bench-year]
                                            [--rounds 3] [--ratio-rounds 30] [--ratio-only] [--no-http]
                                            [--baseline REV]

1. `queuekiosk simulate` fills a fresh SQLite database with the first --sim-days days of 2025 of
   the demo centre (about 500 citizens a weekday, a tenth of those of services offering it with a
   remote number taken by phone and checked in: the reports look up their bookings; every step
   through the queue engine, about two seconds of CPU per day). Every other open day of 2023-2025
   is then a copy of a simulated day of the same weekday, its times moved to that day (new ids;
   events, ratings, number sequences and bookings with them): three years of about 150,000 tickets each, in a minute instead of hours.
   With --keep DIR the database is kept there and reused by later runs.
2. First looks: two reports over the year as a server answers them (each keeps up to 31 more days,
   server/core/reports/kept.py), then every day of the year and of the three years kept, timed.
3. In-process, in turn round by round: each report (summary by service, counter, clerk, day,
   hour; peak hours; the daily summary; the reports page = summary + peak hours + daily summary)
   over the year 2025 and over 2023-2025, as kept and counted from the tickets (``from_tickets``,
   the reference), best and median; and whether both give the same figures. Then each kept
   report over the year, over the three years (through their kept spans, made by a first look
   timed apart), over the three years unit by unit (spans off, the path before spans) and SQLite's
   count(*) of the same tickets (the reference) in turn, --ratio-rounds times: the ratio of the
   medians (issue 21: three years <= 1.3x a year), whether the three agree, and the kilobytes of
   kept figures and times each reads. ``--ratio-only`` does only this, on a database an earlier
   run kept.
4. Over HTTP (also after --ratio-only; not with --no-http): a fresh `queuekiosk serve` on that
   database answers each report over the year and over the three years, in turn with GET /healthz
   (the reference), after a first look at each; the time from request to the last byte.
"""

from __future__ import annotations

import argparse
import contextlib
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
            "--remote-share",  # some remote numbers: their wait from the check-in, looked up in bookings
            "0.1",
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
        for table in ("tickets", "events", "ratings", "number_sequences", "bookings")
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
            "bookings": db.execute(f"SELECT * FROM bookings WHERE ticket_id IN ({marks})", ids).fetchall(),
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
_TIME_COLUMNS |= {"created_at", "checked_in_at", "cancelled_at", "deadline", "slot_start", "slot_end"}  # bookings


def _moved(names, row, shift: dt.timedelta, id_offset: int):
    for name, value in zip(names, row):
        if value is None:
            yield None
        elif name in _ID_COLUMNS:
            yield value + id_offset
        elif name == "public_id":
            yield f"r{id_offset + int(row[0])}"[:24]
        elif name == "code":  # a booking's, unique
            yield f"r{id_offset + int(row[0])}"[:16]
        elif name == "business_day":
            yield (dt.date.fromisoformat(value) + shift).isoformat()
        elif name in _TIME_COLUMNS:
            yield (dt.datetime.fromisoformat(value) + shift).isoformat(sep=" ", timespec="microseconds")
        else:
            yield value


def _figures(report):
    """A report (or the page's list of them) without the moment it was made."""
    if isinstance(report, list):
        return [_figures(part) for part in report]
    return {key: value for key, value in report.items() if key != "generated_at"}


def load_kept_at(revision: str):
    """server/core/reports/kept.py as it was at a git revision, as a module beside today's (the
    rest of the reports package is today's): the reference of --baseline."""
    import types

    source = subprocess.run(
        ["git", "show", f"{revision}:server/core/reports/kept.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    name = "queuekiosk.server.core.reports._kept_baseline"
    module = types.ModuleType(name)
    module.__package__ = "queuekiosk.server.core.reports"
    module.__file__ = f"<kept.py at {revision}>"
    sys.modules[name] = module
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


@contextlib.contextmanager
def kept_module(module):
    """The reports read their kept figures through ``module`` meanwhile (figures.py's and peaks.py's
    ``kept``)."""
    from queuekiosk.server.core import reports as package
    from queuekiosk.server.core.reports import figures

    before = package.kept, figures.kept
    package.kept = figures.kept = module
    try:
        yield
    finally:
        package.kept, figures.kept = before


def in_process(
    folder: Path, rounds: int, ratio_rounds: int, ratio_only: bool = False, baseline: str | None = None
) -> None:
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
        return [
            reports.summary(conn, site, span, "service", from_tickets=from_tickets),
            reports.peak_hours(conn, site, span, from_tickets=from_tickets),
            reports.daily_summary(conn, site, span, from_tickets=from_tickets),
        ]

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
            conn.commit()  # what the first look kept (a period's spans) stays, as a server's would
            same = _figures(first) == _figures(job(conn, True))
        walls = {False: [], True: []}
        for _ in range(rounds):
            for from_tickets in (False, True):  # in turn, so that a change of load meets both alike
                with engine.connect() as conn:
                    start = time.perf_counter()
                    job(conn, from_tickets)
                    walls[from_tickets].append(time.perf_counter() - start)
                    conn.commit()
        as_kept, counted = walls[False], walls[True]
        results[name] = (min(as_kept), statistics.median(as_kept), min(counted), statistics.median(counted))
        print(
            f"  {name:42} kept {min(as_kept) * 1000:6.0f} / {statistics.median(as_kept) * 1000:6.0f} ms   "
            f"from tickets {min(counted) * 1000:6.0f} / {statistics.median(counted) * 1000:6.0f} ms   "
            f"{'same figures' if same else 'FIGURES DIFFER'}",
            flush=True,
        )
    named = dict(jobs)
    base = load_kept_at(baseline) if baseline else None
    print(
        f"\nthree years / one year, kept ({ratio_rounds} rounds; in turn, each on a fresh connection: each report "
        "over the year and over the three years (read through their kept spans); the three years read unit by "
        "unit (spans off: the path before spans)"
        + (f"; the year and the three years as kept.py at {baseline} reads them" if baseline else "")
        + "; SQLite's count(*) of the year's and the three years' tickets): year then three years, wall best / median "
        "and their medians' ratio, the process's CPU time median and ratio, ms",
        flush=True,
    )
    bounds = {label: (span.first_day, span.last_day) for label, span in spans.items()}

    def count_tickets(conn, label):  # a reference that grows with the tickets: SQLite counting them
        first, last = bounds[label]
        return conn.exec_driver_sql(
            "SELECT count(*) FROM tickets WHERE business_day BETWEEN ? AND ?", (first.isoformat(), last.isoformat())
        ).scalar_one()

    def by_units(job, conn):
        kept.KEEP_SPANS = False
        try:
            return job(conn, False)
        finally:
            kept.KEEP_SPANS = True

    def at_baseline(job, conn):
        with kept_module(base):
            return job(conn, False)

    ratios = []
    for name in [n for n, _ in jobs if n.startswith("year 2025: ")]:
        other = name.replace("year 2025: ", "2023-2025: ")
        year_job, years_job = named[name], named[other]
        with engine.connect() as conn:  # the three years' spans made afresh: the first look's cost
            conn.execute(kept.K.delete().where(kept.K.c.grouping.like(kept.SPAN + "%")))
            conn.commit()
            start = time.perf_counter()
            made = years_job(conn, False)
            conn.commit()
            first_look = time.perf_counter() - start
            found = [made, years_job(conn, False), by_units(years_job, conn)]
            if base:
                found += [at_baseline(years_job, conn)]
            same = all(_figures(f) == _figures(found[0]) for f in found)
        steps = {
            "year": lambda conn, job=year_job: job(conn, False),
            "3 years": lambda conn, job=years_job: job(conn, False),
            "3 years by units": lambda conn, job=years_job: by_units(job, conn),
            "count(*) year": lambda conn: count_tickets(conn, "year 2025"),
            "count(*) 3 years": lambda conn: count_tickets(conn, "2023-2025"),
        }
        if base:
            steps["baseline year"] = lambda conn, job=year_job: at_baseline(job, conn)
            steps["baseline 3 years"] = lambda conn, job=years_job: at_baseline(job, conn)
        walls = {step: [] for step in steps}
        cpus = {step: [] for step in steps}  # (the process's CPU time: what a loaded machine's waits leave out)
        order = list(steps)
        for i in range(ratio_rounds):
            for step in order[i % len(order) :] + order[: i % len(order)]:  # each step first in turn
                with engine.connect() as conn:
                    start, cpu = time.perf_counter(), time.process_time()
                    steps[step](conn)
                    walls[step].append(time.perf_counter() - start)
                    cpus[step].append(time.process_time() - cpu)
                    conn.commit()
        med = {step: statistics.median(times) * 1000 for step, times in walls.items()}
        best = {step: min(times) * 1000 for step, times in walls.items()}
        cpu_med = {step: statistics.median(times) * 1000 for step, times in cpus.items()}

        def pair(one, three, best=best, med=med, cpu_med=cpu_med):
            return (
                f"wall {best[one]:6.1f} / {med[one]:6.1f}  {best[three]:6.1f} / {med[three]:6.1f}  "
                f"{med[three] / med[one]:5.2f}x   cpu {cpu_med[one]:6.1f}  {cpu_med[three]:6.1f}  "
                f"{cpu_med[three] / max(cpu_med[one], 1e-3):5.2f}x"
            )

        reads = [_kept_reads(engine, job) for job in (year_job, years_job)]
        label = name.removeprefix("year 2025: ")
        print(f"  {label}{'' if same else '   FIGURES DIFFER'}", flush=True)
        print(
            f"    {'now':28} {pair('year', '3 years')}   first look at 3 years {first_look * 1000:.1f} ms", flush=True
        )
        print(f"    {'3 years unit by unit':28} {pair('year', '3 years by units')}", flush=True)
        if base:
            print(f"    {'kept.py at ' + baseline:28} {pair('baseline year', 'baseline 3 years')}", flush=True)
        print(f"    {'count(*) of the tickets':28} {pair('count(*) year', 'count(*) 3 years')}", flush=True)
        print(
            f"    kept KB read (figures + times): year {reads[0][0] / 1000:.0f} + {reads[0][1] / 1000:.0f}, "
            f"3 years {reads[1][0] / 1000:.0f} + {reads[1][1] / 1000:.0f}",
            flush=True,
        )
        ratios.append((label, med["3 years"] / med["year"], cpu_med["3 years"] / max(cpu_med["year"], 1e-3)))
    print(
        "  3 years / year (medians, wall and CPU), now: "
        + ", ".join(f"{label} {wall:.2f}x {cpu:.2f}x" for label, wall, cpu in ratios),
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
        print(
            f"\nover HTTP, GET /api/v1/reports/... over the year 2025 and over 2023-2025, in turn with GET /healthz "
            f"(the reference: the app's least request), {rounds} rounds after a first look: best / median, wall ms",
            flush=True,
        )
        session = requests.Session()
        spans = {"year": "period=2025", "3 years": "from=2023-01-01&to=2025-12-31"}
        kinds = [f"summary?group_by={g}" for g in GROUPS] + ["peak-hours?", "daily?"]
        page = ["summary?group_by=service", "peak-hours?", "daily?"]  # what the reports page asks for

        def get(path):
            start = time.perf_counter()
            response = session.get(f"{base}{path}", headers=headers, timeout=120)
            response.raise_for_status()
            return time.perf_counter() - start, len(response.content)

        def url(kind, span):
            return f"/api/v1/reports/{kind}{'' if kind.endswith('?') else '&'}{spans[span]}"

        walls = {(kind, span): [] for kind in kinds for span in spans}
        sizes, first = {}, {}
        walls["healthz"] = []
        for kind in kinds:
            for span in spans:
                first[(kind, span)], sizes[(kind, span)] = get(url(kind, span))
        for i in range(rounds):
            for kind in kinds:
                for span in spans if i % 2 == 0 else reversed(spans):
                    walls[(kind, span)].append(get(url(kind, span))[0])
                walls["healthz"].append(get("/healthz")[0])
        for kind in kinds:
            one, three = walls[(kind, "year")], walls[(kind, "3 years")]
            print(
                f"  {kind.rstrip('?'):26} year {min(one) * 1000:6.1f} / {statistics.median(one) * 1000:6.1f}   "
                f"3 years {min(three) * 1000:6.1f} / {statistics.median(three) * 1000:6.1f}   "
                f"{statistics.median(three) / statistics.median(one):4.2f}x   (first looks "
                f"{first[(kind, 'year')] * 1000:.0f} / {first[(kind, '3 years')] * 1000:.0f} ms; "
                f"{sizes[(kind, 'year')]:,} / {sizes[(kind, '3 years')]:,} bytes)",
                flush=True,
            )
        pages = {span: [sum(walls[(kind, span)][r] for kind in page) for r in range(rounds)] for span in spans}
        print(
            f"  {'the reports page (3 calls)':26} year {min(pages['year']) * 1000:6.1f} / "
            f"{statistics.median(pages['year']) * 1000:6.1f}   3 years {min(pages['3 years']) * 1000:6.1f} / "
            f"{statistics.median(pages['3 years']) * 1000:6.1f}   "
            f"{statistics.median(pages['3 years']) / statistics.median(pages['year']):4.2f}x",
            flush=True,
        )
        health = walls["healthz"]
        print(
            f"  {'GET /healthz (reference)':26} {min(health) * 1000:6.1f} / {statistics.median(health) * 1000:6.1f}",
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
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also time the reports with server/core/reports/kept.py as at this git revision",
    )
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
        in_process(folder, args.rounds, args.ratio_rounds, args.ratio_only, args.baseline)
        if not args.no_http:
            over_http(folder, args.rounds)
        print(f"load average: {' '.join(f'{v:.1f}' for v in os.getloadavg())}", flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
