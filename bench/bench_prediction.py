"""What the wait prediction adds to issuing a ticket: issuing with the predictor beside issuing
without it (the usual formula), on the same queue, in the same run.

A fresh SQLite database gets simulated days of history (what the predictor is trained on), then a
live day is played through the queue engine at the simulated times. Each of its tickets is issued
twice on the same state: once with ``engine.issue(..., estimator=predictor)`` (kept) and once
without (in a savepoint, rolled back), the order of the two swapped every round of tickets so
that neither always runs first (warm caches, the predictor's catch-up). Both are timed whole,
the promise included; the difference is what the prediction costs. Target: at most 1 ms a ticket.

    .venv/bin/python bench/bench_prediction.py [--days 20] [--per-day 300] [--round 40]

With ``--http``: the same history, two ``queuekiosk serve`` processes, each on its own copy of the
database with every counter opened today, one with its trained predictor and one with
``QUEUEKIOSK_WAIT_PREDICTION=off``; one keep-alive client issues ``--round`` tickets through
``POST /api/v1/tickets`` at one server, then at the other, the order swapped every round, for
``--rounds`` rounds; after each round the counters call as many as were issued (an admin token),
so the queues stay the length of a busy lobby (up to ``--round`` / 6 a service) instead of growing
all run: the play-forward's work grows with the people ahead.

    .venv/bin/python bench/bench_prediction.py --http [--round 100] [--rounds 6]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import requests
from common import queuekiosk_server, token

from queuekiosk.server.core import engine as q
from queuekiosk.server.core.config import load_config
from queuekiosk.server.core.db import create_db_engine, prepare_database
from queuekiosk.server.core.prediction import Predictor
from queuekiosk.server.core.prediction_train import read_events, train
from queuekiosk.server.core.simulate import Day, EngineSteps, Settings, clerk_paces, clerks, simulate

REPO = Path(__file__).resolve().parent.parent


class PairedSteps(EngineSteps):
    """The engine's steps; each issue timed with the predictor and without it, on the same state."""

    def __init__(self, conn, site, day, predictor: Predictor, round_size: int, progress):
        super().__init__(conn, site, day)
        self.predictor, self.round_size, self.progress = predictor, round_size, progress
        self.with_ms: list[float] = []
        self.without_ms: list[float] = []

    def issue(self, now, service, priority, kiosk):
        call = lambda estimator, keep: self._timed(now, service, priority, kiosk, estimator, keep)  # noqa: E731
        predictor_first = (len(self.with_ms) // self.round_size) % 2 == 0
        try:
            if predictor_first:
                with_ms = call(self.predictor, True)
                without_ms = call(None, False)
            else:
                without_ms = call(None, False)  # rolled back before the predictor reads the log: never seen
                with_ms = call(self.predictor, True)
        except q.QueueError:  # the number range or the daily limit ran out: the citizen is turned away
            return
        self.with_ms.append(with_ms)
        self.without_ms.append(without_ms)
        if len(self.with_ms) % self.round_size == 0:
            self.progress(self)

    def _timed(self, now, service, priority, kiosk, estimator, keep: bool) -> float:
        """One issue in a savepoint, kept or rolled back; its milliseconds."""
        started = time.perf_counter()
        savepoint = self.conn.begin_nested()
        try:
            q.issue(self.conn, self.site, service, priority, kiosk, now=now, check_hours=False, estimator=estimator)
            elapsed = time.perf_counter() - started
        except BaseException:
            savepoint.rollback()
            raise
        savepoint.commit() if keep else savepoint.rollback()
        return elapsed * 1000


def _figures(values: list[float]) -> str:
    values = sorted(values)
    return (
        f"median {statistics.median(values):.3f} ms, p90 {values[int(len(values) * 0.9)]:.3f} ms, "
        f"p99 {values[int(len(values) * 0.99)]:.3f} ms, mean {statistics.fmean(values):.3f} ms"
    )


def _progress(steps: PairedSteps) -> None:
    n, size = len(steps.with_ms), steps.round_size
    first = "predictor first" if ((n - 1) // size) % 2 == 0 else "formula first"
    with_ms, without_ms = steps.with_ms[-size:], steps.without_ms[-size:]
    added = [a - b for a, b in zip(with_ms, without_ms)]
    print(
        f"  round {n // size:2d} ({first:15s}) {size} tickets: with {statistics.median(with_ms):.3f} ms, "
        f"without {statistics.median(without_ms):.3f} ms, added {statistics.median(added):+.3f} ms (medians)",
        flush=True,
    )


def _open_counters(url: str, config: Path, instance: Path) -> None:
    """Every counter opened now through the engine (an "opened" event each), as clerks signing in."""
    engine = create_db_engine(url)
    try:
        site = prepare_database(engine, load_config(config), instance)
        with engine.begin() as conn:
            for number in site.counter_ids:
                q.open_counter(conn, site, number)
    finally:
        engine.dispose()


def _issue_round(base: str, session: requests.Session, count: int, start: int) -> list[float]:
    services = ["HT", "CT", "DC", "LD", "VH", "TK"]
    latencies = []
    for i in range(start, start + count):
        started = time.perf_counter()
        answer = session.post(f"{base}/api/v1/tickets", json={"service": services[i % len(services)]})
        latencies.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 201, answer.text
    return latencies


def _call_down(base: str, session: requests.Session, admin: str, count: int, numbers: list[int]) -> None:
    """``count`` calls through the counters in turn, as clerks pressing "next"."""
    for i in range(count):
        answer = session.post(
            f"{base}/api/v1/counters/{numbers[i % len(numbers)]}/next", headers={"Authorization": f"Bearer {admin}"}
        )
        assert answer.status_code in (200, 204), answer.text


def http_rounds(folder: Path, args) -> None:
    """Issuing through the API with the predictor beside without it (see the module's docstring)."""
    urls = {}
    for name in ("with", "without"):
        shutil.copy(folder / "centre.db", folder / f"{name}.db")
        urls[name] = f"sqlite:///{folder / f'{name}.db'}"
        _open_counters(urls[name], REPO / "config.yaml", folder / "instance")
    with contextlib.ExitStack() as stack:
        servers = {
            "with": stack.enter_context(queuekiosk_server(database_url=urls["with"])),
            "without": stack.enter_context(
                queuekiosk_server({"QUEUEKIOSK_WAIT_PREDICTION": "off"}, database_url=urls["without"])
            ),
        }
        bases = {name: server[0] for name, server in servers.items()}
        admins = {name: token(Path(server[2]), "admin", database_url=urls[name]) for name, server in servers.items()}
        deadline = time.monotonic() + 120
        while not requests.get(bases["with"] + "/healthz", timeout=5).json().get("wait_prediction"):
            assert time.monotonic() < deadline, "the server did not train its predictor within 120 s"
            time.sleep(0.5)
        print(
            f"both servers up, one with its trained predictor; {args.rounds} rounds of {args.round} tickets "
            "from one keep-alive client:",
            flush=True,
        )
        sessions = {name: requests.Session() for name in bases}
        timings: dict[str, list[float]] = {"with": [], "without": []}
        for r in range(args.rounds):
            order = ("with", "without") if r % 2 == 0 else ("without", "with")
            medians = {}
            for name in order:
                latencies = _issue_round(bases[name], sessions[name], args.round, r * args.round)
                timings[name] += latencies
                medians[name] = statistics.median(latencies)
                _call_down(bases[name], sessions[name], admins[name], args.round, [1, 2, 3, 4, 5, 6])
            print(
                f"  round {r + 1:2d} ({order[0]:7s} first): with {medians['with']:.2f} ms, without "
                f"{medians['without']:.2f} ms, added {medians['with'] - medians['without']:+.2f} ms (medians)",
                flush=True,
            )
        print(f"{args.rounds * args.round} tickets each, one client, per ticket through the API:")
        print(f"  without the predictor (formula)   {_figures(timings['without'])}")
        print(f"  with the predictor                {_figures(timings['with'])}")
        print(
            f"  added                             median "
            f"{statistics.median(timings['with']) - statistics.median(timings['without']):+.3f} ms "
            f"(target: at most 1 ms)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=20, help="simulated days of history")
    parser.add_argument("--per-day", type=int, default=300)
    parser.add_argument("--round", type=int, default=40, help="tickets per round (the order swaps each round)")
    parser.add_argument("--http", action="store_true", help="through the API: two servers, with and without")
    parser.add_argument("--rounds", type=int, default=8, help="--http: rounds")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-prediction-"))
    engine = create_db_engine(f"sqlite:///{folder / 'centre.db'}")
    site = prepare_database(engine, load_config(REPO / "config.yaml"), folder / "instance")
    first = dt.date(2026, 10, 1)
    settings = Settings(per_day=args.per_day)
    started = time.perf_counter()
    simulate(
        engine,
        site,
        first,
        args.days,
        seed=7,
        settings=settings,
        report=lambda day: print(f"  history {day.day}: {day.tickets} tickets", flush=True),
    )
    print(f"simulated {args.days} days of history in {time.perf_counter() - started:.1f} s", flush=True)
    if args.http:
        engine.dispose()
        http_rounds(folder, args)
        return
    with engine.connect() as conn:
        events = read_events(conn, site)
    started = time.perf_counter()
    model = train(site, events)
    print(f"trained on {model.days} days ({len(events)} events) in {time.perf_counter() - started:.1f} s", flush=True)
    live = first + dt.timedelta(days=args.days)
    while live.weekday() == 6:
        live += dt.timedelta(days=1)
    staff = clerks(engine, site)
    print(f"a live day ({live}), each ticket issued with the predictor and without it:", flush=True)
    with engine.begin() as conn:
        steps = PairedSteps(conn, site, live, Predictor(site, model), args.round, _progress)
        Day(
            site, live, random.Random(f"7:{live}"), settings, staff, steps, False, clerk_paces(staff, site, 7, settings)
        ).run()
    with_ms, without_ms = steps.with_ms, steps.without_ms
    added = [a - b for a, b in zip(with_ms, without_ms)]
    print(f"{len(with_ms)} tickets, per ticket (engine.issue, promise included, before the commit):")
    print(f"  without the predictor (formula)   {_figures(without_ms)}")
    print(f"  with the predictor                {_figures(with_ms)}")
    print(
        f"  added (paired, same queue)        median {statistics.median(added):+.3f} ms, "
        f"mean {statistics.fmean(added):+.3f} ms, p90 {sorted(added)[int(len(added) * 0.9)]:+.3f} ms"
    )
    # whichever of the two runs first pays for what the second finds warm: the two orders' medians
    # bracket the cost, and their mean cancels the order out
    by_order = [[d for i, d in enumerate(added) if (i // args.round) % 2 == order] for order in (0, 1)]
    first, second = (statistics.median(values) for values in by_order)
    print(
        f"  added, median by order            predictor first {first:+.3f} ms, formula first {second:+.3f} ms, "
        f"mean of both {(first + second) / 2:+.3f} ms (target: at most 1 ms)"
    )


if __name__ == "__main__":
    main()
