"""What the wait prediction adds to issuing a ticket, beside issuing itself, in the same run.

A fresh SQLite database gets 20 simulated days (the history a model is trained on), then a
live day is played through the queue engine at the simulated times: every ticket is issued
with ``engine.issue`` (the reference: what issuing costs today, formula included), and right
after it, in the same transaction, ``Predictor.estimate`` reads the events written since its
last look and plays the queue forward. Both are timed per ticket; the prediction's cost is
what it adds. The target is at most 1 ms per ticket.

    .venv/bin/python bench/bench_prediction.py [--days 20] [--per-day 300]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from queuekiosk.server.core import engine as q
from queuekiosk.server.core.config import load_config
from queuekiosk.server.core.db import create_db_engine, prepare_database
from queuekiosk.server.core.prediction import Predictor
from queuekiosk.server.core.prediction_train import read_events, train
from queuekiosk.server.core.simulate import Day, EngineSteps, Settings, clerk_paces, clerks, simulate

REPO = Path(__file__).resolve().parent.parent


class TimedSteps(EngineSteps):
    """The engine's steps, with issuing timed alone and then with the prediction after it."""

    def __init__(self, conn, site, day, predictor: Predictor):
        super().__init__(conn, site, day)
        self.predictor = predictor
        self.issue_ms: list[float] = []
        self.predict_ms: list[float] = []

    def issue(self, now, service, priority, kiosk):
        started = time.perf_counter()
        view = q.issue(self.conn, self.site, service, priority, kiosk, now=now, check_hours=False).ticket
        done_issuing = time.perf_counter()
        ticket_id = _ticket_id(self.conn, view["id"])  # the engine has it already: not timed
        issued = time.perf_counter()
        self.predictor.estimate(self.conn, self.site.service_ids[service], priority is not None, now, ticket_id)
        done = time.perf_counter()
        self.issue_ms.append((done_issuing - started) * 1000)
        self.predict_ms.append((done - issued) * 1000)


def _ticket_id(conn, public_id: str) -> int:
    from sqlalchemy import select

    from queuekiosk.server.core import models as m

    T = m.Ticket.__table__
    return conn.execute(select(T.c.id).where(T.c.public_id == public_id)).scalar_one()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=20, help="simulated days of history")
    parser.add_argument("--per-day", type=int, default=300)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-prediction-"))
    engine = create_db_engine(f"sqlite:///{folder / 'centre.db'}")
    site = prepare_database(engine, load_config(REPO / "config.yaml"), folder / "instance")
    first = dt.date(2026, 10, 1)
    simulate(engine, site, first, args.days, seed=7, settings=Settings(per_day=args.per_day))
    with engine.connect() as conn:
        events = read_events(conn, site)
    started = time.perf_counter()
    model = train(site, events)
    print(f"trained on {model.days} days ({len(events)} events) in {time.perf_counter() - started:.1f} s")
    live = first + dt.timedelta(days=args.days)
    while live.weekday() == 6:
        live += dt.timedelta(days=1)
    import random

    settings = Settings(per_day=args.per_day)
    staff = clerks(engine, site)
    with engine.begin() as conn:
        steps = TimedSteps(conn, site, live, Predictor(site, model))
        Day(site, live, random.Random(f"7:{live}"), settings, staff, steps, True,
            clerk_paces(staff, site, 7, settings)).run()
    issue, extra = steps.issue_ms, steps.predict_ms
    print(f"{len(issue)} tickets issued through the engine on a live day, per ticket:")
    for name, values in (("issue (reference, formula included)", issue), ("prediction added", extra)):
        values = sorted(values)
        print(f"  {name:38s} median {statistics.median(values):.3f} ms, p90 {values[int(len(values) * 0.9)]:.3f} ms, "
              f"p99 {values[int(len(values) * 0.99)]:.3f} ms, mean {statistics.fmean(values):.3f} ms")


if __name__ == "__main__":
    main()
