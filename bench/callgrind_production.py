"""Instructions a ticket costs the server (valgrind's callgrind) on SQLite, on PostgreSQL, on PostgreSQL
with the Redis message queue, and on two such processes (summed), with the same lobby displays connected
in each: figures that do not move with the machine's load, for the production targets' ratios
(bench_production.py measures the rates).

    python bench/callgrind_production.py [--tickets 320] [--clients 32] [--rounds 1] [--displays 2]
        [--only sqlite,pg,pgmq,pgmq2] [--baseline REVISION] [--keep DIR] [--quiet-loops]

Each configuration is ``queuekiosk serve`` under ``valgrind --tool=callgrind`` (bench/callgrind_issue.py's
way: counted only while ``--tickets`` tickets are issued by ``--clients`` keep-alive clients at once),
with its own fresh PostgreSQL database and its own redis-server. The count is the server process's
user-space instructions (the kernel's work for its system calls is not in it; PostgreSQL's and Redis's
own CPU neither) divided by the tickets answered. ``--keep DIR`` keeps the dumps, for
``callgrind_annotate --inclusive=yes DIR/pgmq-ours-p0.1``. pgmq2's count over pgmq's is what a second
process adds to a ticket's work (each process hears the other's batches and tells its own displays):
on cores of their own, two processes give at most 2 ÷ that ratio the rate of one. ``--quiet-loops``: the
loops that run on the clock look once an hour (QUIET_LOOPS), so that the count is the tickets' alone.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench_production import connect_display, fresh_database, start_redis
from callgrind_issue import ours, send, step, stop, totals, under_callgrind, wait_answering
from common import baseline_tree, bench_config, free_port

CONFIGS = ("sqlite", "pg", "pgmq", "pgmq2")

# --quiet-loops: the server's loops that run on the clock, not on requests, made to wait an hour between
# looks (a process's setup version, Redis's ping, the clients' sessions, the webhooks' lease and events).
# Each costs its instructions a second, not a ticket; under callgrind a ticket takes ~50 times its time (more
# on a busy machine), so they counted ~50 times what they cost at full speed, more for two processes, whose
# counted stretch is longer: 71k of one process's ~1,065k a ticket and 178k of two's ~1,354k at load 8 (2026-12-06).
QUIET_LOOPS = {
    "queuekiosk.server.web.live_setup": ("POLL_SECONDS",),
    "queuekiosk.server.web.resync": ("CHECK_SECONDS",),
    "queuekiosk.server.web.realtime": ("RECHECK_SECONDS",),
    "queuekiosk.server.web.delivery": (
        "POLL_SECONDS",
        "LEASE_POLL_SECONDS",
        "LEASE_CHECK_SECONDS",
        "SWEEP_SECONDS",
        "REPLAN_SECONDS",
    ),
    "queuekiosk.server.core.installation": ("LEASE_CHECK_SECONDS",),
}
_QUIET_SERVE = f"""
import importlib.abc, importlib.util, runpy, sys
if sys.argv.pop(1) == "other":  # another tree's package (PYTHONPATH), not the editable install's
    sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
QUIET = {QUIET_LOOPS!r}

class Quiet(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in QUIET:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            for constant in QUIET[name]:
                setattr(module, constant, 3600.0)

        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, Quiet())
runpy.run_module("queuekiosk.server.cli", run_name="__main__", alter_sys=True)
"""


def quiet_loops(command: list[str], tree) -> list[str]:
    """``command`` (callgrind_issue.ours's) run with the loops on the clock waiting an hour (QUIET_LOOPS)."""
    serve = command.index("serve")
    return [command[0], "-c", _QUIET_SERVE, "other" if tree is not None else "ours", *command[serve:]]


def _published(redis_url: str | None) -> int:
    """PUBLISH commands the configuration's redis-server has taken so far."""
    if redis_url is None:
        return 0
    import redis

    return int(redis.Redis.from_url(redis_url).info("commandstats").get("cmdstat_publish", {}).get("calls", 0))


def measure(name: str, command: list[str], envs: list[dict], cwd, out: Path, args, stack, displays: int) -> float:
    """Instructions per answered ticket of the servers started by ``command``, one per env of ``envs``
    (callgrind_issue.measure's way; the tickets spread evenly over them, their counts summed), with
    ``displays`` lobby displays connected, spread over them."""
    procs, ports = [], []
    for i, env in enumerate(envs):
        port = free_port()
        proc = under_callgrind(command, port, out / f"{name}-p{i}", env, cwd)
        stack.callback(stop, proc)
        procs.append(proc)
        ports.append(port)
        step(f"{name}: process {i + 1} starting under callgrind (port {port})")
        wait_answering(port, proc)
    for i in range(displays):
        connect_display(stack, f"http://127.0.0.1:{ports[i % len(ports)]}")

    def spread(total: int) -> int:
        with ThreadPoolExecutor(len(ports)) as pool:
            share = [total // len(ports) + (i < total % len(ports)) for i in range(len(ports))]
            clients = max(1, args.clients // len(ports))
            return sum(pool.map(lambda pair: send(pair[0], pair[1], clients), zip(ports, share, strict=True)))

    step(f"{name}: warming up ({args.warm} tickets)")
    spread(args.warm)
    for proc in procs:
        subprocess.run(["callgrind_control", "-i", "on", str(proc.pid)], check=True, capture_output=True)
    step(f"{name}: {args.tickets} tickets, {args.clients} clients, counted")
    queue = envs[0].get("QUEUEKIOSK_MESSAGE_QUEUE")
    published = _published(queue)
    began = time.monotonic()
    answered = spread(args.tickets)
    # (the loops on the clock count by these seconds, not by the tickets: --quiet-loops)
    step(f"{name}: counted over {time.monotonic() - began:.0f} s")
    if queue:
        step(f"{name}: {(_published(queue) - published) / answered:.3f} Redis PUBLISH a ticket")
    instructions = 0
    for i, proc in enumerate(procs):
        subprocess.run(["callgrind_control", "-d", name, str(proc.pid)], check=True, capture_output=True)
        subprocess.run(["callgrind_control", "-i", "off", str(proc.pid)], check=True, capture_output=True)
        dumps = sorted(out.glob(f"{name}-p{i}.*"), key=os.path.getmtime)
        instructions += totals(dumps[-1])
    if answered != args.tickets:
        raise RuntimeError(f"{name}: {answered} of {args.tickets} answered 201")
    return instructions / answered


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=320)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--warm", type=int, default=160, help="tickets before counting")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--only", default=",".join(CONFIGS), help=f"comma-separated among {', '.join(CONFIGS)}")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432", help="server, no database")
    parser.add_argument("--baseline", metavar="REVISION", help="count this revision's server too")
    parser.add_argument(
        "--displays",
        type=int,
        default=2,
        help="lobby displays connected in every configuration, spread over its processes (default 2: one on each "
        "of pgmq2's, so that it and one process tell the same screens)",
    )
    parser.add_argument("--keep", metavar="DIR", help="keep the callgrind dumps here")
    parser.add_argument(
        "--quiet-loops",
        action="store_true",
        help="the server's loops on the clock (QUIET_LOOPS) look once an hour: a count of what the tickets cost, "
        "which the machine's load and callgrind's slowness do not stretch",
    )
    args = parser.parse_args()
    names = args.only.split(",")
    results: dict[str, list[float]] = {}
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="qk-callgrind-prod-")))
        out = Path(args.keep) if args.keep else tmp / "out"
        out.mkdir(parents=True, exist_ok=True)
        trees = [("ours", None)]
        if args.baseline:
            trees.append(("before", baseline_tree(args.baseline, tmp / "baseline")))
        for n in range(1, args.rounds + 1):
            for name in names:
                for which, tree in trees:
                    label = f"{name}-{which}" + (f"-{n}" if args.rounds > 1 else "")
                    home = tmp / f"{label}-home"
                    home.mkdir()
                    command, env, cwd = ours(tree, home / "instance", bench_config(home))
                    if args.quiet_loops:
                        command = quiet_loops(command, tree)
                    with contextlib.ExitStack() as run:
                        if name.startswith("pg"):
                            env["QUEUEKIOSK_DATABASE_URL"] = fresh_database(args.postgres, f"qk_callgrind_{name}")
                        if name.startswith("pgmq"):
                            env["QUEUEKIOSK_MESSAGE_QUEUE"] = start_redis(run, home)
                        # each process its own instance folder, the database and the queue shared
                        envs = (
                            [env]
                            + [
                                {**env, "QUEUEKIOSK_INSTANCE": str(home / f"instance{i}")}
                                for i in range(1, int(name[-1]))
                            ]
                            if name[-1].isdigit()
                            else [env]
                        )
                        per = measure(label, command, envs, cwd, out, args, run, args.displays)
                    results.setdefault(f"{name}-{which}", []).append(per)
                    step(f"{label}: {per / 1000:,.0f}k instructions a ticket")
                    if not args.keep:
                        for dump in out.glob(f"{label}*"):
                            dump.unlink()
        print(
            f"callgrind, {args.tickets} tickets from {args.clients} keep-alive clients"
            f", {args.displays} lobby display(s) spread over each configuration's processes; "
            f"load {os.getloadavg()[0]:.2f}"
        )
        for key, values in results.items():
            print(f"  {key:12} {', '.join(f'{v / 1000:,.0f}k' for v in values)} instructions a ticket")
        pairs = [("pg-ours", "sqlite-ours", "PostgreSQL / SQLite"), ("pgmq-ours", "pg-ours", "+ Redis / PostgreSQL")]
        pairs += [
            ("pgmq2-ours", "pgmq-ours", "2 processes / 1 (summed; on cores of their own 2 processes give 2 / this)")
        ]
        pairs += [(f"{c}-ours", f"{c}-before", f"{c}: ours / {args.baseline}") for c in names if args.baseline]
        for a, b, label in pairs:
            if a in results and b in results:
                print(f"  {label}: {', '.join(f'{x / y:.3f}' for x, y in zip(results[a], results[b], strict=True))}")
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
