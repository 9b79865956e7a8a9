"""How fast `queuekiosk simulate` fills busy days, beside issuing alone, in the same run.

A fresh SQLite database gets ``--days`` busy weekdays of the demo centre (Monday 2026-11-16
on, ``--per-day`` citizens an average weekday, the simulator's default real-shaped days),
each day one transaction. The reference, in another fresh database of the same run: as many
tickets issued with ``engine.issue`` alone at the same pace, one transaction a day (the
cheapest write of the engine; a simulated citizen costs about five engine calls: issue, call,
start, finish, rating). Both print wall and CPU time; on the shared machine compare the CPU
figures and the ratio, not the wall seconds, across runs.

    .venv/bin/python bench/bench_simulate.py [--days 5] [--per-day 500]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

from queuekiosk.server.core import engine as q
from queuekiosk.server.core.config import load_config
from queuekiosk.server.core.db import create_db_engine, prepare_database
from queuekiosk.server.core.simulate import Settings, simulate

REPO = Path(__file__).resolve().parent.parent
MONDAY = dt.date(2026, 11, 16)


def _centre(folder: Path, name: str):
    engine = create_db_engine(f"sqlite:///{folder / name}.db")
    return engine, prepare_database(engine, load_config(REPO / "config.yaml"), folder / name)


def _timed(work) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def issue_only(engine, site, days: int, per_day: int) -> None:
    """``per_day`` tickets a day spread over the opening hours, round-robin over the services."""
    services = sorted(site.service_ids)
    opening = dt.datetime(2026, 11, 16, 0, 30)  # 07:30 in Asia/Ho_Chi_Minh, naive UTC
    for day in range(days):
        with engine.begin() as conn:
            for i in range(per_day):
                now = opening + dt.timedelta(days=day, seconds=i * 9 * 3600 / per_day)
                q.issue(conn, site, services[i % len(services)], now=now, check_hours=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=5, help="weekdays from Monday 2026-11-16 (at most 5)")
    parser.add_argument("--per-day", type=int, default=500, help="citizens on an average weekday")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-simulate-"))

    engine, site = _centre(folder, "simulated")
    outcome = {}
    wall, cpu = _timed(
        lambda: outcome.setdefault(
            "result", simulate(engine, site, MONDAY, args.days, seed=7, settings=Settings(per_day=args.per_day))
        )
    )
    tickets = outcome["result"].tickets
    engine.dispose()

    ref_engine, ref_site = _centre(folder, "reference")
    ref_wall, ref_cpu = _timed(lambda: issue_only(ref_engine, ref_site, args.days, tickets // args.days))
    ref_engine.dispose()

    print(f"{args.days} busy days, {tickets} tickets ({tickets / args.days:.0f} a day)")
    for name, seconds, cpu_seconds in (("simulate", wall, cpu), ("reference: engine.issue only", ref_wall, ref_cpu)):
        print(
            f"  {name:29s} {args.days / seconds:6.2f} days/s ({args.days / cpu_seconds:5.2f} per CPU second), "
            f"{seconds / tickets * 1000:6.3f} ms a ticket  (wall {seconds:.2f} s, CPU {cpu_seconds:.2f} s)"
        )
    print(f"  simulate / issue only: {wall / ref_wall:.1f}x wall, {cpu / ref_cpu:.1f}x CPU")


if __name__ == "__main__":
    main()
