"""A report over a simulated year of a busy centre (about 150,000 tickets): time to answer
(target: ≤ 1 s on SQLite).

    .venv/bin/python bench/bench_reports.py [--per-day 500] [--keep /tmp/qk-bench-year] [--rounds 5]
                                            [--against REV]

1. `queuekiosk simulate` fills a fresh SQLite database with a year of the demo centre
   (2025-01-01 to 2025-12-31, about 500 citizens a weekday; every step through the queue engine,
   about 12 minutes of CPU: docs/performance.md, "The day simulator").
   With --keep DIR the database is kept there and reused by later runs.
2. In-process: each report function (summary by service, counter, clerk, day, hour; peak hours;
   the daily summary) over the year, best and median of --rounds.
3. Over HTTP: a fresh `queuekiosk serve` on that database answers
   GET /api/v1/reports/summary?period=2025&group_by=... (JSON, and the XLSX file) for a
   supervisor's token; the time from request to the last byte.

With --against REV, step 2 also runs server/core/reports.py as it was at git revision REV, its
rounds taken in turn with the current code's: a before/after that the machine's load and the
day's speed of the host affect alike. It also says whether both give the same figures.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from common import ROOT, free_port, token, wait_healthy

GROUPS = ("service", "counter", "clerk", "day", "hour")


def simulate(folder: Path, per_day: int) -> float:
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
            "365",
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


def reports_at(revision: str, folder: Path):
    """server/core/reports.py as it was at ``revision``, imported beside the current one."""
    source = subprocess.run(
        ["git", "show", f"{revision}:server/core/reports.py"], cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True
    ).stdout
    path = folder / f"reports_at_{revision}.py"
    path.write_text(source, encoding="utf-8")
    name = f"queuekiosk.server._reports_at_{revision}"  # in the package: its relative imports work
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _figures(report: dict) -> dict:
    return {key: value for key, value in report.items() if key != "generated_at"}


def in_process(folder: Path, rounds: int, against: str | None = None) -> None:
    from queuekiosk.server.core import periods, reports
    from queuekiosk.server.core.config import load_config
    from queuekiosk.server.core.db import create_db_engine, prepare_database

    engine = create_db_engine(f"sqlite:///{folder / 'instance' / 'queuekiosk.db'}")
    site = prepare_database(engine, load_config(folder / "config.yaml"), folder / "instance")
    year = periods.named_period("2025", site.config.site.zone)
    with engine.connect() as conn:
        tickets = reports.summary(conn, site, periods.named_period("2025-11-20", site.config.site.zone))
        total = reports.summary(conn, site, year, "service")["total"]
    print(
        f"database: {total['issued']:,} tickets in 2025 ({tickets['total']['issued']} on 2025-11-20), "
        f"{total['ratings']['total']:,} ratings"
    )
    versions = [("", reports)] + ([(f"at {against}", reports_at(against, folder))] if against else [])
    print(f"\nin-process, the year 2025 ({rounds} rounds): best / median, wall (CPU)")
    day = periods.named_period("2025-11-20", site.config.site.zone)
    jobs = [(f"summary group_by={g}", lambda code, conn, g=g: code.summary(conn, site, year, g)) for g in GROUPS]
    jobs += [
        ("peak hours", lambda code, conn: code.peak_hours(conn, site, year)),
        ("daily summary of one day", lambda code, conn: code.daily_summary(conn, site, day)),
    ]
    for name, job in jobs:
        if against:  # a faster report must still say the same
            with engine.connect() as conn:
                same = _figures(job(versions[0][1], conn)) == _figures(job(versions[1][1], conn))
            print(f"  {name}: {'the same figures' if same else 'FIGURES DIFFER'} {versions[1][0]}")
        times = {label: ([], []) for label, _code in versions}
        for _ in range(rounds):
            for label, code in versions:  # in turn, so that a change of load meets both alike
                with engine.connect() as conn:
                    wall, cpu = time.perf_counter(), time.process_time()
                    job(code, conn)
                    times[label][0].append(time.perf_counter() - wall)
                    times[label][1].append(time.process_time() - cpu)
        for label, (walls, cpus) in times.items():
            print(
                f"  {(name + ' ' + label).strip():34} {min(walls) * 1000:7.0f} ms / "
                f"{statistics.median(walls) * 1000:7.0f} ms   ({min(cpus) * 1000:.0f} / "
                f"{statistics.median(cpus) * 1000:.0f} ms CPU)"
            )
    engine.dispose()


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
        print(f"\nover HTTP, GET /api/v1/reports/... for the year 2025 ({rounds} rounds): best / median")
        session = requests.Session()
        paths = [f"summary?period=2025&group_by={g}" for g in GROUPS]
        paths += ["summary?period=2025&group_by=service&format=xlsx", "peak-hours?period=2025", "daily?date=2025-11-20"]
        for path in paths:
            times = []
            for _ in range(rounds):
                start = time.perf_counter()
                response = session.get(f"{base}/api/v1/reports/{path}", headers=headers, timeout=60)
                response.raise_for_status()
                times.append(time.perf_counter() - start)
            print(
                f"  {path:50} {min(times) * 1000:7.0f} ms / {statistics.median(times) * 1000:7.0f} ms"
                f"  ({len(response.content):,} bytes)"
            )
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-day", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", type=Path, default=None, help="keep (and reuse) the simulated year here")
    parser.add_argument(
        "--against",
        metavar="REV",
        default=None,
        help="also time server/core/reports.py of this git revision, in turn with the current one",
    )
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="qk-bench-reports-"))
    try:
        if (folder / "instance" / "queuekiosk.db").exists():
            print(f"reusing the simulated year in {folder}")
        else:
            seconds = simulate(folder, args.per_day)
            print(f"simulated 2025 ({args.per_day} citizens a weekday) in {seconds:.0f} s")
        in_process(folder, args.rounds, args.against)
        over_http(folder, args.rounds)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
