"""Issuing on the documented production setup (gunicorn with deploy/gunicorn.conf.py, PostgreSQL,
the Redis message queue), each figure beside its reference measured in the same rounds.

    python bench/bench_production.py [--rounds 3] [--seconds 8] [--postgres postgresql://postgres@127.0.0.1:5432]
        [--database-prefix qk_bench_prod] [--only sqlite1,pg1,...] [--pool N] [--baseline REVISION ...] [--displays]
        [--cpu-per-process CORES]

Every server runs under the same gunicorn configuration for the whole run, one gunicorn per process
on its own port as docs/deployment.md describes (nginx's ip_hash would spread the clients over them;
here wrk's 32 keep-alive clients are split evenly):

    bare1     the bare Flask endpoint (bench/bare_flask.py), 1 process: the ceiling of one process
    bare2     the same, 2 processes
    sqlite1   queuekiosk on SQLite, 1 process: the reference the PostgreSQL figures are held to
    pg1       queuekiosk on PostgreSQL, 1 process, no message queue
    pgmq1     queuekiosk on PostgreSQL + Redis, 1 process
    pgmq2     queuekiosk on PostgreSQL + Redis, 2 processes

``--displays`` connects one lobby display (a Socket.IO client over a WebSocket) to each queuekiosk
process, as a centre has: python-socketio starts a process's Redis listener only at its first
client, and without a client no emit is encoded, so without it the pgmq figures leave out the
listening side of the message queue (each process hearing every batch). So pgmq2 has two displays
where the others have one: every ticket is encoded and sent to twice the screens. ``--displays N``
connects N in every configuration instead, spread evenly over its processes (``--displays 2``: one on
each of pgmq2's, both on the one of the others), so the 2-process ratio compares the same centre.
The displays (bench/lobby_display.py) subscribe as the lobby page does and read only the frames'
headers, as cheaply as a reader can: a centre's screens are on other machines, and python-socketio's
client, decoding every frame here, took ~0.5 of the two cores from the servers measured. Each line
says their CPU a ticket (this process's) and the frames each display heard a ticket.

Each configuration has its own database (``<prefix>_<name>``, made afresh) and its own redis-server
(started here on a free port), so that no two share a number sequence or a Socket.IO channel. Each
round measures every configuration in turn (rotating which goes first), so a change of the shared
machine's load falls on all of them alike; the ratios are those of each round (min–max). Server CPU
is the user + system time of the configuration's server processes divided by the tickets answered,
"PostgreSQL CPU" that of the PostgreSQL backends serving the configuration's database (read from /proc:
the database on this machine), and "machine busy" the share of both cores in use during the measurement
(wrk, PostgreSQL and Redis included).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bench_issue import CLIENTS, LUA, check_numbers, span, step, wrk
from common import (
    BENCH_PERSON_KEY,
    BENCH_SECRET_KEY,
    CAPPED,
    ROOT,
    baseline_tree,
    bench_config,
    cap_cpu,
    cpu_ms,
    free_port,
    wait_healthy,
)
from lobby_display import LobbyDisplay
from sqlalchemy import create_engine, text

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
CONFIGS = ("bare1", "bare2", "sqlite1", "pg1", "pgmq1", "pgmq2")


@dataclass
class Setup:
    name: str
    processes: list[subprocess.Popen] = field(default_factory=list)
    bases: list[str] = field(default_factory=list)
    database_url: str | None = None
    rounds: list[dict] = field(default_factory=list)
    admin_url: str | None = None  # PostgreSQL: the server, to find the backends of the configuration's database
    redis: subprocess.Popen | None = None  # the configuration's own redis-server
    displays: list = field(default_factory=list)  # its lobby displays (lobby_display.LobbyDisplay)

    def pids(self) -> list[int]:
        """The gunicorn masters and their workers."""
        return [pid for group in self.process_groups() for pid in group]

    def process_groups(self) -> list[list[int]]:
        """Each gunicorn master with its workers."""
        groups = []
        for proc in self.processes:
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
            groups.append(
                [proc.pid, *(int(pid) for pid in children.read_text().split())] if children.exists() else [proc.pid]
            )
        return groups


def backends_cpu_ms(setup: Setup) -> dict[int, float]:
    """CPU used so far by each PostgreSQL backend of the setup's database (none off this machine)."""
    if setup.admin_url is None:
        return {}
    database = setup.database_url.rpartition("/")[2]
    engine = create_engine(f"{setup.admin_url.rstrip('/')}/postgres".replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :d"), {"d": database}).scalars()
            found = {}
            for pid in pids:
                with contextlib.suppress(OSError):
                    found[pid] = cpu_ms(pid)
            return found
    finally:
        engine.dispose()


def busy_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


# gunicorn on the tree of PYTHONPATH (common.baseline_tree) instead of the installed (editable) checkout
_GUNICORN_OTHER_TREE = (
    "import sys; sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]; "
    "from gunicorn.app.wsgiapp import run; sys.argv[0] = 'gunicorn'; run()"
)


def start_gunicorn(
    stack: contextlib.ExitStack, env: dict, app: str, chdir: Path | None = None, code: Path | None = None
) -> tuple:
    """``code``: a tree made by common.baseline_tree, run instead of this checkout."""
    port = free_port()
    root = code / "src" if code is not None else ROOT
    command = [GUNICORN, "--config", str(root / "deploy" / "gunicorn.conf.py"), app]
    if chdir is not None:
        command[1:1] = ["--chdir", str(chdir)]
    if code is not None:
        command[0:1] = [sys.executable, "-c", _GUNICORN_OTHER_TREE]
        env = {**env, "PYTHONPATH": str(code / "pkg")}
    proc = subprocess.Popen(
        command,
        env={**os.environ, **env, "QUEUEKIOSK_BIND": f"127.0.0.1:{port}"},
        stdout=subprocess.DEVNULL,
        stderr=stack.enter_context(open(env.get("QUEUEKIOSK_INSTANCE", "/dev/null") + ".log", "a"))
        if "QUEUEKIOSK_INSTANCE" in env
        else subprocess.DEVNULL,
    )

    def stop():
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    stack.callback(stop)
    base = f"http://127.0.0.1:{port}"
    wait_healthy(f"{base}/healthz", timeout=60)
    return proc, base


def start_redis(stack: contextlib.ExitStack, folder: Path, started: list | None = None) -> str:
    """A redis-server of its own (its process appended to ``started``); its address."""
    port = free_port()
    proc = subprocess.Popen(
        [shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stack.callback(lambda: (proc.terminate(), proc.wait(10)))
    if started is not None:
        started.append(proc)
    deadline = time.monotonic() + 10
    while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode != 0:
        if time.monotonic() > deadline:
            raise RuntimeError("redis-server did not start")
        time.sleep(0.05)
    return f"redis://127.0.0.1:{port}/0"


def connect_display(stack: contextlib.ExitStack, base: str) -> LobbyDisplay:
    """A lobby display connected to ``base`` for the rest of the run (what it hears is counted, not
    kept). (A server under callgrind at load 10 took over 10 s to answer: a minute to subscribe.)"""
    display = LobbyDisplay(base, timeout=60)
    stack.callback(display.close)
    return display


def fresh_database(admin_url: str, name: str) -> str:
    engine = create_engine(
        f"{admin_url.rstrip('/')}/postgres".replace("postgresql://", "postgresql+psycopg://"),
        isolation_level="AUTOCOMMIT",
    )
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return f"{admin_url.rstrip('/')}/{name}"


def start_setup(stack, name: str, args, folder: Path, code: Path | None = None) -> Setup:
    setup = Setup(name)
    count = int(name.partition("@")[0][-1])
    if name.startswith("bare"):
        for _ in range(count):
            proc, base = start_gunicorn(stack, {}, "bare_flask:app", chdir=ROOT / "bench")
            setup.processes.append(proc)
            setup.bases.append(base)
        return setup
    env = {
        "QUEUEKIOSK_SECRET_KEY": BENCH_SECRET_KEY,
        "QUEUEKIOSK_PERSON_KEY": BENCH_PERSON_KEY,
        "QUEUEKIOSK_IGNORE_HOURS": "1",
        "QUEUEKIOSK_CONFIG": str(bench_config(folder)),
    }
    if args.pool:  # (a revision without the setting ignores it)
        env["QUEUEKIOSK_DATABASE_POOL"] = str(args.pool)
    if name.startswith("pg"):
        config, _, revision = name.partition("@")
        suffix = "".join(c if c.isalnum() else "_" for c in revision.lower())[:24]
        database = f"{args.database_prefix}_{config}" + (f"_at_{suffix}" if revision else "")
        setup.database_url = fresh_database(args.postgres, database)
        setup.admin_url = args.postgres
        env["QUEUEKIOSK_DATABASE_URL"] = setup.database_url
    else:
        setup.database_url = f"sqlite:///{folder / 'instance' / 'queuekiosk.db'}"
    if name.startswith("pgmq"):
        started = []
        env["QUEUEKIOSK_MESSAGE_QUEUE"] = start_redis(stack, folder, started)
        setup.redis = started[0]
    for i in range(count):
        # each process its own instance folder (as on separate machines); the database is shared
        proc, base = start_gunicorn(
            stack,
            {**env, "QUEUEKIOSK_INSTANCE": str(folder / ("instance" if i == 0 else f"instance{i}"))},
            "queuekiosk.server.wsgi:app",
            code=code,
        )
        setup.processes.append(proc)
        setup.bases.append(base)
    return setup


def measure(setup: Setup, seconds: int) -> dict:
    pids = setup.pids()
    before = sum(cpu_ms(pid) for pid in pids)
    backends_before = backends_cpu_ms(setup)
    redis_before = cpu_ms(setup.redis.pid) if setup.redis is not None else 0.0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)  # the wrk processes, reaped as they end
    own = resource.getrusage(resource.RUSAGE_SELF)  # this process: mostly its displays' listening threads
    frames = sum(display.frames for display in setup.displays)
    busy0, total0 = busy_jiffies()
    with ThreadPoolExecutor(len(setup.bases)) as pool:
        parts = list(
            pool.map(lambda base: wrk(base + "/api/v1/tickets", seconds, CLIENTS // len(setup.bases), LUA), setup.bases)
        )
    busy1, total1 = busy_jiffies()
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    own_ended = resource.getrusage(resource.RUSAGE_SELF)
    backends_after = backends_cpu_ms(setup)  # a backend begun meanwhile counts from its start
    requests = sum(p["requests"] for p in parts)
    wrk_ms = (ended.ru_utime + ended.ru_stime - children.ru_utime - children.ru_stime) * 1000
    return {
        "rate": sum(p["rate"] for p in parts),
        "requests": requests,
        "non_2xx": sum(p["non_2xx"] for p in parts),
        "cpu_ms": (sum(cpu_ms(pid) for pid in pids) - before) / max(requests, 1),
        "postgres_ms": sum(ms - backends_before.get(pid, 0.0) for pid, ms in backends_after.items()) / max(requests, 1)
        if backends_after
        else None,
        "busy": (busy1 - busy0) / max(total1 - total0, 1),
        "redis_ms": (cpu_ms(setup.redis.pid) - redis_before) / max(requests, 1) if setup.redis is not None else 0.0,
        "wrk_ms": wrk_ms / max(requests, 1),
        "displays_ms": (own_ended.ru_utime + own_ended.ru_stime - own.ru_utime - own.ru_stime)
        * 1000
        / max(requests, 1),
        # what each display heard a ticket (a display that heard nothing was not measuring anything)
        "frames": (sum(display.frames for display in setup.displays) - frames)
        / max(requests, 1)
        / max(len(setup.displays), 1),
        "p99": ", ".join(p["p99"] for p in parts),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432", help="server, no database")
    parser.add_argument("--database-prefix", default="qk_bench_prod", help="databases <prefix>_<configuration>")
    parser.add_argument("--only", help=f"comma-separated among {', '.join(CONFIGS)} (default: all)")
    parser.add_argument(
        "--pool",
        type=int,
        help="QUEUEKIOSK_DATABASE_POOL of every queuekiosk server (default: theirs, 10); a warning says when "
        "the run's servers may need more connections than PostgreSQL's max_connections",
    )
    parser.add_argument(
        "--baseline",
        metavar="REVISION",
        action="append",
        default=[],
        help="also measure the PostgreSQL configurations run (pg1, pgmq1, pgmq2 among --only; default pg1 and "
        "pgmq1) as that revision has them (e.g. HEAD~3); may be given more than once",
    )
    parser.add_argument(
        "--displays",
        nargs="?",
        type=int,
        const=-1,
        default=0,
        metavar="N",
        help="connect one lobby display (Socket.IO) to each queuekiosk process, as in a centre; with N, N displays "
        "in every configuration, spread evenly over its processes (the same centre however many processes)",
    )
    parser.add_argument(
        "--cpu-per-process",
        type=float,
        metavar="CORES",
        help="cap each server process (gunicorn master and worker) at this many cores' worth of CPU time, e.g. 0.5 "
        "(a cgroup's quota per 100 ms; needs root): one process and two then each use the same CPU share, with "
        "the rest of the machine left to PostgreSQL, Redis and wrk",
    )
    args = parser.parse_args()
    if args.cpu_per_process is not None:
        if not 0.01 <= args.cpu_per_process <= (os.cpu_count() or 1):
            parser.error(
                f"--cpu-per-process: between 0.01 and {os.cpu_count() or 1} cores, not {args.cpu_per_process:g}"
            )
        if os.geteuid() != 0:
            parser.error("--cpu-per-process needs root: it sets a cgroup's CPU quota")
    names = args.only.split(",") if args.only else list(CONFIGS)
    unknown = [n for n in names if n not in CONFIGS]
    if unknown:
        parser.error(f"--only: unknown configuration(s) {', '.join(unknown)}; known: {', '.join(CONFIGS)}")

    again = [n for n in names if n.startswith("pg")] if args.only else ["pg1", "pgmq1"]  # for each baseline
    postgres_processes = sum(int(n[-1]) for n in names if n.startswith("pg"))
    postgres_processes += len(args.baseline) * sum(int(n[-1]) for n in again)
    if postgres_processes:
        engine = create_engine(
            f"{args.postgres.rstrip('/')}/postgres".replace("postgresql://", "postgresql+psycopg://")
        )
        with engine.connect() as conn:
            limit = int(conn.execute(text("SHOW max_connections")).scalar())
            in_use = conn.execute(text("SELECT count(*) FROM pg_stat_activity")).scalar()
        engine.dispose()
        needed = 2 * (args.pool or 10) * postgres_processes
        if needed > limit - in_use:
            step(
                f"warning: the {postgres_processes} PostgreSQL server processes may open {needed} connections and "
                f"{limit - in_use} of max_connections {limit} are free: refused connections would show as non-2xx "
                "answers (use --pool, --only, or fewer other users of the server)"
            )

    with contextlib.ExitStack() as stack:
        setups = {}
        for name in names:
            step(f"starting {name}")
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"qk-prod-{name}-")))
            setups[name] = start_setup(stack, name, args, folder)
        for revision in args.baseline:
            code = baseline_tree(revision, Path(stack.enter_context(tempfile.TemporaryDirectory())))
            for name in again:
                step(f"starting {name} as {revision} has it")
                folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"qk-prod-{name}-before-")))
                setups[f"{name}@{revision}"] = start_setup(stack, f"{name}@{revision}", args, folder, code)
                names.append(f"{name}@{revision}")
        if args.cpu_per_process:
            for n, (name, setup) in enumerate(setups.items()):
                label = "".join(c if c.isalnum() else "_" for c in name)  # (a revision may hold a "/")
                for i, group in enumerate(setup.process_groups()):
                    cap_cpu(stack, group, args.cpu_per_process, f"qk-bench-{os.getpid()}-{n}-{label}-{i}")
        if args.displays:
            for name, setup in setups.items():
                if not name.startswith("bare"):
                    count = len(setup.bases) if args.displays < 0 else args.displays
                    for i in range(count):
                        setup.displays.append(connect_display(stack, setup.bases[i % len(setup.bases)]))
        for name, setup in setups.items():
            step(f"warming up {name} (2 s)")
            measure(setup, 2)
        for n in range(args.rounds):
            order = names[n % len(names) :] + names[: n % len(names)]
            for name in order:
                step(f"round {n + 1}/{args.rounds}: {name}, {CLIENTS} clients, {args.seconds} s")
                result = measure(setups[name], args.seconds)
                setups[name].rounds.append(result)
                postgres = "" if result["postgres_ms"] is None else f", {result['postgres_ms']:.3f} ms PostgreSQL CPU"
                redis_cpu = f", {result['redis_ms']:.3f} ms Redis CPU" if setups[name].redis is not None else ""
                step(
                    f"  {name}: {result['rate']:.0f}/s, {result['cpu_ms']:.3f} ms server CPU each{postgres}{redis_cpu}, "
                    f"wrk {result['wrk_ms']:.3f} ms, machine {result['busy']:.0%} busy"
                )
        checks = {}
        for name, setup in setups.items():
            if setup.database_url:
                step(f"checking the numbers {name} issued (duplicates, gaps)")
                try:
                    checks[name] = check_numbers(setup.database_url.replace("postgresql://", "postgresql+psycopg://"))
                except Exception as error:  # noqa: BLE001 - e.g. PostgreSQL's connections all taken: the figures still print
                    step(f"  could not check {name}'s numbers: {str(error).splitlines()[0]}")

    def rates(name):
        return [r["rate"] for r in setups[name].rounds]

    cores = os.cpu_count() or 1

    def ceiling(setup) -> str:
        """The CPU a ticket costs everything that works for it, and the rate the machine's cores would
        allow at that cost (were nothing else running, and every process able to use a core)."""
        alls = [r["cpu_ms"] + (r["postgres_ms"] or 0.0) + r["redis_ms"] + r["wrk_ms"] for r in setup.rounds]
        share = [r["rate"] * a / 1000 / cores for r, a in zip(setup.rounds, alls, strict=True)]
        return (
            f"CPU a ticket of all its processes (server, PostgreSQL, Redis, wrk) {span(alls, '{:.3f}')} ms: "
            f"{cores} cores allow {span([cores * 1000 / a for a in alls])}/s; the run used {span(share, '{:.0%}')} "
            f"of them (Redis {span([r['redis_ms'] for r in setup.rounds], '{:.3f}')} ms, "
            f"wrk {span([r['wrk_ms'] for r in setup.rounds], '{:.3f}')} ms)"
            + (
                f"; the displays (this process) {span([r['displays_ms'] for r in setup.rounds], '{:.3f}')} ms a "
                f"ticket, each hearing {span([r['frames'] for r in setup.rounds], '{:.2f}')} frames a ticket"
                if setup.displays
                else ""
            )
        )

    def ratio(name, ref):
        return [a["rate"] / b["rate"] for a, b in zip(setups[name].rounds, setups[ref].rounds, strict=True)]

    displays = {0: "no display", -1: "a lobby display on each process"}.get(
        args.displays, f"{args.displays} lobby display(s) in each configuration, spread over its processes"
    )
    print(
        f"gunicorn --config deploy/gunicorn.conf.py, {CLIENTS} keep-alive clients (wrk), POST /api/v1/tickets, "
        f"{displays}; {args.rounds} rounds of {args.seconds} s interleaved; load average {os.getloadavg()[0]:.2f}"
        + (f"; {CAPPED.format(cores=args.cpu_per_process)} (a cgroup's CPU quota)" if args.cpu_per_process else "")
    )
    references = {
        "sqlite1": [("bare1", "bare endpoint, 1 process")],
        "pg1": [("sqlite1", "SQLite, 1 process; target ≥ 0.8")],
        "pgmq1": [("pg1", "PostgreSQL without Redis; target ≥ 0.9"), ("sqlite1", "SQLite, 1 process")],
        "pgmq2": [("pgmq1", "1 process; target ≥ 1.7"), ("sqlite1", "SQLite, 1 process")],
        "bare2": [("bare1", "bare endpoint, 1 process")],
    }
    for revision in args.baseline:
        for name in again:
            if name in setups:
                references[name] = [*references[name], (f"{name}@{revision}", revision)]
            if f"{name}@{revision}" in setups:  # the revision's own figures against each other and this checkout
                ones = {"pgmq1": "pg1", "pgmq2": "pgmq1"}
                references[f"{name}@{revision}"] = [(name, "this checkout")] + (
                    [(f"{ones[name]}@{revision}", f"{ones[name]}@{revision}")] if name in ones else []
                )
    for name, setup in setups.items():
        cpu = [r["cpu_ms"] for r in setup.rounds]
        postgres = [r["postgres_ms"] for r in setup.rounds if r["postgres_ms"] is not None]
        busy = [r["busy"] * 100 for r in setup.rounds]
        against = "; ".join(
            f"{span(ratio(name, ref), '{:.2f}')}× {label}" for ref, label in references.get(name, []) if ref in setups
        )
        line = (
            f"{name:10} {span(rates(name)):>11}/s  server CPU {span(cpu, '{:.3f}')} ms each, "
            + (f"PostgreSQL CPU {span(postgres, '{:.3f}')} ms each, " if postgres else "")
            + f"machine {span(busy)}% busy, p99 {'; '.join(r['p99'] for r in setup.rounds)}"
        )
        print(line + (f"  ({against})" if against else ""))
        print(f"{'':10} {ceiling(setup)}")
        if name in checks:
            total, duplicates, gaps = checks[name]
            non_2xx = sum(r["non_2xx"] for r in setup.rounds)
            print(f"{'':10} tickets {total}, duplicates {duplicates}, gaps {gaps}, non-2xx {non_2xx}")


if __name__ == "__main__":
    main()
