"""A ticket's status (what every open tracking page asks again at each change of its queue): its CPU time
with N tickets waiting in one queue, on SQLite, beside the same at a baseline revision.

    python bench/bench_status.py [--sizes 50,150,300] [--rounds 5] [--baseline main]

Two queues of each size are issued once (this tree's code) into SQLite files: walk-ins only ("usual":
nobody may pass an older ticket, people ahead are a count), and one ticket in ten a priority one
("priority": the queue is read and put in the order "next" calls). Each round runs, for each queue,
one process per tree (its code on PYTHONPATH, the order alternating from round to round) that asks the
status of every waiting ticket in turn, seven times over, and reports the best pass's CPU time (of its
thread) per status; each row prints the range over the rounds and the per-round ratio to the baseline.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, baseline_tree, tree_of

MON_9 = dt.datetime(2026, 11, 23, 2, 0)  # 09:00 in Ho Chi Minh City, a Monday
# the tree on PYTHONPATH rather than the installed (editable) one
_OTHER_TREE = "import runpy, sys; sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]"


def measure(database: Path, passes: int) -> float:
    """Milliseconds of CPU per status, the best of ``passes`` passes over the queue's waiting tickets."""
    from sqlalchemy import select

    from queuekiosk.server.core import engine as q
    from queuekiosk.server.core.db import create_db_engine, session_factory, site_setup
    from queuekiosk.server.core.engine.records import T

    Session = session_factory(create_db_engine(f"sqlite:///{database}"))
    with Session() as session:
        site = site_setup(session)
        waiting = session.execute(select(T.c.public_id, T.c.issued_at).where(T.c.status == "waiting")).all()
        ids = [row.public_id for row in waiting]
        now = max(row.issued_at for row in waiting) + dt.timedelta(seconds=20)
        for public_id in ids[:20]:  # warm up
            q.ticket_status(session, site, public_id, now=now)
        best = float("inf")
        for _ in range(passes):
            start = time.thread_time()
            for public_id in ids:
                q.ticket_status(session, site, public_id, now=now)
            best = min(best, (time.thread_time() - start) / len(ids) * 1000)
    return best


def make_queue(folder: Path, waiting: int, priority_share: float) -> Path:
    from queuekiosk.server.core import engine as q
    from queuekiosk.server.core.config import load_config
    from queuekiosk.server.core.db import create_db_engine, prepare_database

    name = f"queue-{waiting}-{priority_share}"
    engine = create_db_engine(f"sqlite:///{folder / name}.db")
    site = prepare_database(engine, load_config(ROOT / "config.yaml"), folder / name)
    rng = random.Random(waiting)
    with engine.begin() as conn:
        for i in range(waiting):
            priority = "elderly" if rng.random() < priority_share else None
            q.issue(conn, site, "CT", priority=priority, now=MON_9 + dt.timedelta(seconds=20 * i))
    engine.dispose()
    return folder / f"{name}.db"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="50,150,300", help="tickets waiting in the queue")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--passes", type=int, default=7)
    parser.add_argument("--baseline", default="main", help="a git revision, or a work tree's folder")
    parser.add_argument("--measure", nargs=2, metavar=("DATABASE", "PASSES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:  # a round's process, on its tree's code
        print(json.dumps(measure(Path(args.measure[0]), int(args.measure[1]))))
        return
    folder = Path(tempfile.mkdtemp(prefix="qk-bench-status-"))
    trees = {"ours": tree_of(ROOT, folder / "ours"), args.baseline: baseline_tree(args.baseline, folder / "base")}
    queues = {
        (size, kind): make_queue(folder, size, share)
        for size in map(int, args.sizes.split(","))
        for kind, share in (("usual", 0.0), ("priority", 0.1))
    }
    times: dict = {queue: {name: [] for name in trees} for queue in queues}
    script = Path(__file__).resolve()
    for round_ in range(args.rounds):
        for queue, database in queues.items():
            for name in list(trees) if round_ % 2 else list(trees)[::-1]:
                argv = [str(script), "--measure", str(database), str(args.passes)]
                code = f"{_OTHER_TREE}; sys.argv = {argv!r}; runpy.run_path({str(script)!r}, run_name='__main__')"
                env = {**os.environ, "PYTHONPATH": f"{trees[name] / 'pkg'}{os.pathsep}{script.parent}"}
                out = subprocess.run(
                    [sys.executable, "-c", code], env=env, cwd=folder, check=True, capture_output=True, text=True
                )
                times[queue][name].append(json.loads(out.stdout.splitlines()[-1]))
        print(f"[{time.strftime('%H:%M:%S')}] round {round_ + 1} of {args.rounds}", file=sys.stderr, flush=True)
    print(f"a ticket's status, ms of CPU (best of {args.passes} passes over the queue), {args.rounds} rounds:")
    for (size, kind), by_tree in times.items():
        ours, base = by_tree["ours"], by_tree[args.baseline]
        ratios = sorted(o / b for o, b in zip(ours, base))
        print(
            f"  {size:4d} waiting, {kind:8s}: ours {min(ours):.3f}-{max(ours):.3f}, {args.baseline} "
            f"{min(base):.3f}-{max(base):.3f}; ours / {args.baseline} {ratios[0]:.2f}-{ratios[-1]:.2f}"
        )


if __name__ == "__main__":
    main()
