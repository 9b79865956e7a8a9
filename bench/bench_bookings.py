"""What bookings cost the engine, beside the same work without them, in the same run (in-process, SQLite).

1. "next" on a counter whose service takes bookings (the merged-queue rule looks for a due booking
   first: one more query) beside "next" on a counter whose service takes none (no query added);
   both queues hold the same walk-in tickets.
2. Booking a place (the conditional upsert of the slot's places, the booking, the person's number
   of the day) beside issuing a ticket, one transaction each.

Each prints CPU milliseconds per action; on the shared machine compare CPU figures and ratios.

    .venv/bin/python bench/bench_bookings.py [--n 400]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import yaml

from queuekiosk.server.core import bookings as bk
from queuekiosk.server.core import engine as q
from queuekiosk.server.core.config import parse_config
from queuekiosk.server.core.db import create_db_engine, prepare_database

REPO = Path(__file__).resolve().parent.parent
MON_8 = dt.datetime(2026, 11, 16, 1, 0)  # Monday 08:00 in Asia/Ho_Chi_Minh, naive UTC
KEY = b"bench person key"


def _centre(folder: Path):
    data = yaml.safe_load((REPO / "config.yaml").read_text("utf-8"))
    for service in data["services"]:  # HT (counter 1) takes bookings; DC (counter 4) does not
        service.pop("booking", None)
        if service["code"] == "HT":
            service["booking"] = {"slot_minutes": 5, "per_slot": 100, "days_ahead": 6}
        service["numbers"] = {"start": service["numbers"]["start"], "end": service["numbers"]["start"] + 998}
    engine = create_db_engine(f"sqlite:///{folder / 'bench.db'}")
    site = prepare_database(engine, parse_config(data, "bench.yaml"), folder)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE counters SET state = 'open'")
    return engine, site


def _cpu_ms_each(n: int, action) -> float:
    start = time.process_time()
    for i in range(n):
        action(i)
    return (time.process_time() - start) * 1000 / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=400, help="actions of each kind")
    args = parser.parse_args()
    engine, site = _centre(Path(tempfile.mkdtemp(prefix="bench-bookings-")))
    n = args.n

    def run(action, *a, **kw):
        with engine.begin() as conn:
            return action(conn, site, *a, **kw)

    for i in range(n):  # the same walk-ins waiting in both queues
        run(q.issue, "HT", now=MON_8 + dt.timedelta(seconds=i), check_hours=False)
        run(q.issue, "DC", now=MON_8 + dt.timedelta(seconds=i), check_hours=False)
    later = MON_8 + dt.timedelta(hours=1)
    next_booking = _cpu_ms_each(n, lambda i: run(q.call_next, 1, now=later + dt.timedelta(seconds=i)))
    next_plain = _cpu_ms_each(n, lambda i: run(q.call_next, 4, now=later + dt.timedelta(seconds=i)))
    print(
        f"next, service taking bookings: {next_booking:.3f} ms CPU; without: {next_plain:.3f} ms "
        f"(x{next_booking / next_plain:.2f})"
    )

    tuesday = dt.date(2026, 11, 17)
    book = _cpu_ms_each(
        n,
        lambda i: run(
            bk.book, "HT", tuesday, f"{8 + i // 12 % 9:02d}:{i % 12 * 5:02d}", "P", f"09{i:08d}", None, KEY, now=MON_8
        ),
    )
    issue = _cpu_ms_each(n, lambda i: run(q.issue, "DC", now=later, check_hours=False))
    print(f"a booking: {book:.3f} ms CPU; issuing a ticket: {issue:.3f} ms (x{book / issue:.2f})")


if __name__ == "__main__":
    main()
