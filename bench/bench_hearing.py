"""What a second process costs for hearing the first one's tickets (issue 21: two processes on PostgreSQL +
Redis): the CPU a ticket of a process that only hears, beside the CPU a ticket of the process that issues.

    python bench/bench_hearing.py [--tickets 3000] [--clients 16] [--rounds 3]

Two ``queuekiosk serve`` processes share one fresh PostgreSQL database and one redis-server (the
production setup's message queue). Every ticket is issued at process 0 by ``--clients`` keep-alive
clients; process 1 issues nothing, it hears process 0's batches through Redis and tells its own clients.
Each round measures both processes' CPU time (/proc) over ``--tickets`` tickets twice, interleaved: with a
lobby display connected to process 1 (what a second process of a centre does: its screens hear every
ticket) and with none (the batches read and dropped). Process 0 always has one display. The hearing
process's CPU over a quiet stretch just before (its loops by the clock) is taken out at the same rate; /proc
counts in 10 ms steps, so keep ``--tickets`` large. Each line prints the hearing process's CPU a ticket
beside the issuing process's in the same round. A progress line per step.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_production import connect_display, fresh_database, start_redis
from callgrind_issue import ours, send, step, stop, wait_answering
from common import bench_config, free_port

QUIET_SECONDS = 4.0


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432", help="server, no database")
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float]]] = {"display": [], "none": []}
    with contextlib.ExitStack() as stack:
        home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="qk-hearing-")))
        command, env, cwd = ours(None, home / "instance0", bench_config(home))
        env["QUEUEKIOSK_DATABASE_URL"] = fresh_database(args.postgres, "qk_bench_hearing")
        env["QUEUEKIOSK_MESSAGE_QUEUE"] = start_redis(stack, home)
        procs, ports = [], []
        for i in range(2):
            port = free_port()
            proc = subprocess.Popen(
                [part.replace("PORT", str(port)) for part in command],
                env={**env, "QUEUEKIOSK_INSTANCE": str(home / f"instance{i}")},
                cwd=cwd,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            stack.callback(stop, proc)
            step(f"process {i} starting (port {port})")
            wait_answering(port, proc)
            procs.append(proc)
            ports.append(port)
        connect_display(stack, f"http://127.0.0.1:{ports[0]}")
        send(ports[0], 300, args.clients)  # warm up
        for n in range(1, args.rounds + 1):
            for case in ("display", "none") if n % 2 else ("none", "display"):
                with contextlib.ExitStack() as displays:
                    if case == "display":
                        connect_display(displays, f"http://127.0.0.1:{ports[1]}")
                    time.sleep(0.5)
                    quiet = cpu_seconds(procs[1].pid)
                    time.sleep(QUIET_SECONDS)  # what it does by the clock alone (its loops, the display's pings)
                    by_the_clock = (cpu_seconds(procs[1].pid) - quiet) / QUIET_SECONDS
                    before = [cpu_seconds(p.pid) for p in procs]
                    started = time.monotonic()
                    answered = send(ports[0], args.tickets, args.clients)
                    took = time.monotonic() - started
                    issuing, heard = (cpu_seconds(p.pid) - b for p, b in zip(procs, before, strict=True))
                    issuing *= 1e6 / answered
                    hearing = (heard - by_the_clock * took) * 1e6 / answered
                results[case].append((hearing, issuing))
                step(
                    f"round {n}, {'a display' if case == 'display' else 'no display'} at the hearing process: "
                    f"{answered / took:,.0f} tickets/s; hearing {hearing:.1f} us a ticket, issuing {issuing:.0f} us"
                )
    print(f"{args.tickets} tickets a round from {args.clients} clients at process 0; load {os.getloadavg()[0]:.2f}")
    for case, label in (("display", "with a display"), ("none", "with no display")):
        hearing = [h for h, _ in results[case]]
        share = [h / i for h, i in results[case]]
        print(
            f"  hearing process, {label}: {min(hearing):.1f}–{max(hearing):.1f} us a ticket, "
            f"{min(share):.3f}–{max(share):.3f}× the issuing process's CPU a ticket in the same round"
        )


if __name__ == "__main__":
    sys.exit(main())
