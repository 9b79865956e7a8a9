"""Instructions a clerk's call ("next") costs the server with N listening displays (valgrind's
callgrind), beside the bare Socket.IO emit route (bench/bare_socketio.py) counted the same way: a
figure that does not move with the machine's load.

    python bench/callgrind_call.py [--listeners 0 50] [--calls 40] [--baseline REVISION] [--keep DIR]

Each server runs under ``valgrind --tool=callgrind`` with instrumentation off while it starts, its
tickets are issued, ``--listeners`` Socket.IO clients (python-socketio, websocket transport, subscribed
to the lobby display, in bench_realtime.py's listening processes, outside valgrind) connect and
``--warm`` calls are made; then it is switched on, ``--calls`` calls are made one after the other,
each once every listener has heard it, and the counts are dumped. The figure is the server's
instructions (all its threads) in that window over the calls. ``--keep DIR`` keeps the dumps, for
``callgrind_annotate --inclusive=yes DIR/ours-50.1`` (where the instructions go).

Under valgrind a call takes ~50 times as long, and what a server does every second whatever the
calls (queuekiosk's setup poll and session checks, every listener's ping) falls into the window in
proportion: the more listeners, the longer the window. So before the calls the server is also counted
for ``--idle`` seconds with its listeners connected, and each figure is also given net of that
(instructions a call less the idle rate times the window's seconds over the calls). Both servers ping
their clients every ``--ping-seconds`` (60: a slow server under valgrind on a loaded machine pinged
late, and python-socketio's clients gave up on it; fewer pings in the window too).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from callgrind_issue import ours, step, stop, totals, under_callgrind, wait_answering
from common import ROOT, baseline_tree, bench_config, free_port, token

HEARD_TIMEOUT = 120.0  # under valgrind a call to 50 listeners takes ~1 s


class Caller:
    """Calls over one keep-alive connection (http.client), each waiting until every listener heard it."""

    def __init__(self, port: int, headers: dict):
        import http.client

        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        self.headers = {"Content-Type": "application/json", **headers}

    def post(self, path: str, body: str = "") -> tuple[int, bytes]:
        self.conn.request("POST", path, body, self.headers)
        response = self.conn.getresponse()
        return response.status, response.read()


def listeners(port: int, count: int, processes: int, done: Path) -> list[subprocess.Popen]:
    """``count`` listening clients in ``processes`` processes of bench_realtime.py, each ready."""
    children = []
    per = [count // processes + (i < count % processes) for i in range(processes)]
    first = 0
    for n in per:
        if n == 0:
            continue
        child = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "bench_realtime.py"), "--listen", f"http://127.0.0.1:{port}"]
            + [str(first), str(n), str(done)],
            stdout=subprocess.PIPE,
            text=True,
        )
        first += n
        children.append(child)
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("a listening process failed")
    return children


def wait_heard(children: list[subprocess.Popen], ticket_id: str) -> None:
    """Every listening process says ``heard ID`` once all its clients heard the call."""
    import select

    deadline = time.monotonic() + HEARD_TIMEOUT
    for child in children:
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([child.stdout], [], [], left)[0]:
                raise RuntimeError(f"call {ticket_id}: a listening process did not hear it in {HEARD_TIMEOUT} s")
            line = child.stdout.readline()
            if not line:
                raise RuntimeError("a listening process ended")
            if line.strip() == f"heard {ticket_id}":
                break


def measure(name: str, command: list[str], env: dict, cwd, out: Path, args, count: int, instance: Path | None):
    port = free_port()
    env = {**env, "QUEUEKIOSK_PING_SECONDS": str(args.ping_seconds)}
    proc = under_callgrind(command, port, out / name, env, cwd)
    children: list[subprocess.Popen] = []
    done = out / f"{name}.done"
    try:
        step(f"{name}: starting under callgrind (port {port})")
        wait_answering(port, proc)
        headers = {}
        if instance is not None:  # queuekiosk: an admin's token, tickets to call
            headers = {"Authorization": f"Bearer {token(instance, 'admin', code=cwd)}"}
            issuer = Caller(port, headers)
            step(f"{name}: issuing {args.warm + args.calls + 2} tickets")
            for _ in range(args.warm + args.calls + 2):
                status, body = issuer.post("/api/v1/tickets", json.dumps({"service": "HT"}))
                if status != 201:
                    raise RuntimeError(f"{name}: issuing answered {status}: {body[:200]!r}")
        step(f"{name}: connecting {count} listeners")
        children = listeners(port, count, args.listener_processes, done)
        caller = Caller(port, headers)

        def call() -> None:
            status, body = caller.post("/api/v1/counters/1/next")
            if status != 200:
                raise RuntimeError(f"{name}: a call answered {status}: {body[:200]!r}")
            if children:
                wait_heard(children, json.loads(body)["id"])
            else:
                time.sleep(0.2)  # the teller greenlet's work after the answer falls in the window

        step(f"{name}: {args.warm} calls to warm up")
        for _ in range(args.warm):
            call()
        control = ["callgrind_control"]
        subprocess.run([*control, "-i", "on", str(proc.pid)], check=True, capture_output=True)
        idle = 0.0
        if args.idle:
            step(f"{name}: {args.idle} s idle, counted")
            started = time.monotonic()
            time.sleep(args.idle)
            subprocess.run([*control, "-d", f"{name}-idle", str(proc.pid)], check=True, capture_output=True)
            idle = totals(sorted(out.glob(f"{name}.[0-9]*"), key=os.path.getmtime)[-1]) / (time.monotonic() - started)
        step(f"{name}: {args.calls} calls, counted")
        started = time.monotonic()
        for _ in range(args.calls):
            call()
        seconds = time.monotonic() - started
        subprocess.run([*control, "-d", name, str(proc.pid)], check=True, capture_output=True)
        subprocess.run([*control, "-i", "off", str(proc.pid)], check=True, capture_output=True)
        dumps = sorted(out.glob(f"{name}.[0-9]*"), key=os.path.getmtime)
        total = totals(dumps[-1])
        return total / args.calls, (total - idle * seconds) / args.calls, idle, seconds
    finally:
        done.write_text("")
        for child in children:
            try:
                child.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
        stop(proc)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listeners", type=int, nargs="+", default=[0, 50])
    parser.add_argument("--listener-processes", type=int, default=2)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--warm", type=int, default=8, help="calls before counting")
    parser.add_argument("--ping-seconds", type=float, default=60, help="both servers' ping interval")
    parser.add_argument("--idle", type=float, default=10, help="seconds counted idle before the calls (0: none)")
    parser.add_argument(
        "--baseline", metavar="REVISION", help="count this revision's server too (or a work tree's: its folder)"
    )
    parser.add_argument("--no-bare", action="store_true", help="skip the bare emit route")
    parser.add_argument("--servers", nargs="+", default=["bare", "ours", "before"], help="which of them to count")
    parser.add_argument("--keep", metavar="DIR", help="keep the callgrind dumps here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qk-callgrind-call-") as tmp:
        tmp = Path(tmp)
        out = Path(args.keep) if args.keep else tmp / "out"
        out.mkdir(parents=True, exist_ok=True)
        tree = baseline_tree(args.baseline, tmp / "baseline") if args.baseline else None
        results: dict[int, dict[str, float]] = {}
        nets: dict[int, dict[str, float]] = {}
        for count in args.listeners:
            runs = [] if args.no_bare else [("bare", None)]
            runs.append(("ours", "here"))
            if tree is not None:
                runs.append(("before", tree))
            runs = [run for run in runs if run[0] in args.servers]
            for name, which in runs:
                label = f"{name}-{count}"
                instance = None
                if which is None:
                    command = [sys.executable, str(ROOT / "bench" / "bare_socketio.py"), "PORT"]
                    env, cwd = {**os.environ, "PYTHONOPTIMIZE": "2"}, None
                else:
                    home = tmp / f"{label}-home"
                    home.mkdir()
                    bench_config(home)
                    command, env, cwd = ours(
                        None if which == "here" else which, home / "instance", home / "config.yaml"
                    )
                    instance = home
                per, net, idle, seconds = measure(label, command, env, cwd, out, args, count, instance)
                results.setdefault(count, {})[name] = per
                nets.setdefault(count, {})[name] = net
                step(
                    f"{label}: {per / 1000:,.0f}k instructions a call; idle {idle / 1000:,.0f}k a second, "
                    f"{seconds:.0f} s for the calls: {net / 1000:,.0f}k a call net of idle"
                )
        print(f"callgrind, {args.calls} calls one after the other, load {os.getloadavg()[0]:.2f}")
        for kind, table in (("instructions a call", results), ("net of idle", nets)):
            for count, figures in table.items():
                bare = figures.get("bare")
                parts = []
                for name, value in figures.items():
                    part = f"{name} {value / 1000:,.0f}k"
                    if bare and name != "bare":
                        part += f" ({value / bare:.2f}× bare)"
                    parts.append(part)
                line = f"  {count} listeners, {kind}: " + ", ".join(parts)
                if "before" in figures:
                    line += f"; ours / before {figures['ours'] / figures['before']:.3f}"
                print(line, flush=True)
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
