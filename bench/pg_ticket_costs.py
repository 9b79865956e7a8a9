"""Where a ticket's time goes on PostgreSQL, one process (bench_production's pg1) beside SQLite
(sqlite1), measured in the same run: the server's user and system CPU a ticket, the CPU of the
PostgreSQL backends serving it, transactions a ticket (pg_stat_database), and, with ``--strace``, the
server's system calls a ticket (strace -c on the worker during a second, shorter load: strace slows
the process, so its rate is not a figure; its counts per ticket are: each round trip to PostgreSQL is
a sendto and a recvfrom or more).

    cd bench && ../.venv/bin/python pg_ticket_costs.py [--seconds 8] [--rounds 2] [--strace] [--baseline REV]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import subprocess
import tempfile
from pathlib import Path

from bench_issue import CLIENTS, LUA, step, wrk
from bench_production import backends_cpu_ms, connect_display, start_setup
from common import baseline_tree
from sqlalchemy import create_engine, text


def ticks(pid: int) -> tuple[float, float]:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    hz = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) * 1000 / hz, int(fields[12]) * 1000 / hz


def switches(pid: int) -> tuple[int, int]:
    text_ = Path(f"/proc/{pid}/status").read_text()
    return (
        int(re.search(r"^voluntary_ctxt_switches:\s+(\d+)", text_, re.M).group(1)),
        int(re.search(r"^nonvoluntary_ctxt_switches:\s+(\d+)", text_, re.M).group(1)),
    )


def commits(setup) -> int:
    if setup.admin_url is None:
        return 0
    database = setup.database_url.rpartition("/")[2]
    engine = create_engine(f"{setup.admin_url.rstrip('/')}/postgres".replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_stat_clear_snapshot()"))
            return conn.execute(
                text("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = :d"), {"d": database}
            ).scalar()
    finally:
        engine.dispose()


def workers(setup) -> list[int]:
    pids = []
    for proc in setup.processes:
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        pids += [int(pid) for pid in children.read_text().split()] if children.exists() else []
    return pids or [p.pid for p in setup.processes]


def measure(setup, seconds: int) -> dict:
    pids = setup.pids()
    user0 = sum(ticks(p)[0] for p in pids)
    sys0 = sum(ticks(p)[1] for p in pids)
    sw0 = [switches(p) for p in workers(setup)]
    backends0 = backends_cpu_ms(setup)
    commits0 = commits(setup)
    part = wrk(setup.bases[0] + "/api/v1/tickets", seconds, CLIENTS, LUA)
    n = max(part["requests"], 1)
    backends1 = backends_cpu_ms(setup)
    sw1 = [switches(p) for p in workers(setup)]
    return {
        "rate": part["rate"],
        "user": (sum(ticks(p)[0] for p in pids) - user0) / n,
        "sys": (sum(ticks(p)[1] for p in pids) - sys0) / n,
        "pg": sum(ms - backends0.get(pid, 0.0) for pid, ms in backends1.items()) / n if backends1 else 0.0,
        "commits": (commits(setup) - commits0) / n,
        "vol": sum(b[0] - a[0] for a, b in zip(sw0, sw1, strict=False)) / n,
        "invol": sum(b[1] - a[1] for a, b in zip(sw0, sw1, strict=False)) / n,
    }


def syscalls(setup, seconds: int) -> dict:
    worker = workers(setup)[0]
    out = Path(tempfile.mkstemp(suffix=".strace")[1])
    tracer = subprocess.Popen(["strace", "-c", "-f", "-o", str(out), "-p", str(worker)], stderr=subprocess.DEVNULL)
    try:
        part = wrk(setup.bases[0] + "/api/v1/tickets", seconds, CLIENTS, LUA)
    finally:
        tracer.send_signal(2)
        tracer.wait(30)
    counts = {}
    for line in out.read_text().splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[-1].isidentifier() and fields[3].isdigit():
            counts[fields[-1]] = int(fields[3])
    out.unlink()
    n = max(part["requests"], 1)
    return {name: count / n for name, count in sorted(counts.items(), key=lambda kv: -kv[1])[:10]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--strace", action="store_true")
    parser.add_argument("--baseline", metavar="REVISION")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    args.pool, args.database_prefix = None, "qk_bench_costs"
    with contextlib.ExitStack() as stack:
        setups = {}
        for name in ("sqlite1", "pg1"):
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"qk-costs-{name}-")))
            step(f"starting {name}")
            setups[name] = start_setup(stack, name, args, folder)
        if args.baseline:
            code = baseline_tree(args.baseline, Path(stack.enter_context(tempfile.TemporaryDirectory())))
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="qk-costs-before-")))
            name = f"pg1@{args.baseline}"
            step(f"starting {name}")
            setups[name] = start_setup(stack, name, args, folder, code)
        for setup in setups.values():
            for base in setup.bases:
                connect_display(stack, base)
            wrk(setup.bases[0] + "/api/v1/tickets", 2, CLIENTS, LUA)
        names = list(setups)
        for r in range(args.rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                m = measure(setups[name], args.seconds)
                step(
                    f"{name:16} {m['rate']:6.0f}/s  server user {m['user']:.3f} + sys {m['sys']:.3f} ms, "
                    f"PostgreSQL {m['pg']:.3f} ms, transactions {m['commits']:.3f}, worker switches "
                    f"{m['vol']:.2f} voluntary {m['invol']:.2f} involuntary a ticket"
                )
        if args.strace:
            for name in names:
                counts = syscalls(setups[name], 4)
                step(f"{name} system calls a ticket: " + ", ".join(f"{k} {v:.2f}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
