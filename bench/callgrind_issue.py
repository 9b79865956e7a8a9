"""Instructions a request costs the server (valgrind's callgrind): issuing a ticket beside the bare
Flask endpoint, counted the same way, a figure that does not move with the machine's load.

    python bench/callgrind_issue.py [--tickets 320] [--clients 32] [--rounds 1] [--baseline REVISION]
        [--keep DIR] [--get PATH]

Each server runs under ``valgrind --tool=callgrind`` with instrumentation off while it starts and
warms up (``--warm`` requests); then it is switched on, ``--tickets`` requests are sent by
``--clients`` raw keep-alive clients at once (as wrk's 32 clients do, so batches of the group writer
are of the same kind), the counts are dumped and it is switched off. The figure is the server's
instructions (all its threads) during that window divided by the requests answered. ``--keep DIR``
keeps the dumps, for ``callgrind_annotate --inclusive=yes DIR/ours.1`` (where the instructions go).
``--get PATH`` counts a GET of PATH instead of issuing (``/healthz``, or a 404 such as ``/no-such-page``:
the per-request work every request pays, beside the bare endpoint's same GET). Run-to-run noise is about
3 %; the window includes the hub's idle moments and the WAL checkpoints that fall in it (one each 300
tickets), as the real server's CPU does.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import BENCH_PERSON_KEY, BENCH_SECRET_KEY, ROOT, baseline_tree, bench_config, free_port

_OTHER_TREE = (
    "import runpy, sys; sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]; "
    "runpy.run_module('queuekiosk.server.cli', run_name='__main__', alter_sys=True)"
)
SERVICES = ["HT", "CT", "DC", "LD", "VH", "TK"]


def step(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def wait_answering(port: int, proc: subprocess.Popen, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server ended ({proc.returncode}) before answering")
        with contextlib.suppress(OSError):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
        time.sleep(1)
    raise RuntimeError(f"the server on {port} did not answer within {timeout} s")


def send(port: int, requests: int, clients: int, get: str | None = None) -> int:
    """``requests`` tickets from ``clients`` keep-alive clients at once; the 201s answered (with ``get``,
    GETs of that path instead: the 200s, or the 404s of a ``/no-such…`` path)."""
    answered = []
    per_client = [requests // clients + (i < requests % clients) for i in range(clients)]
    start = threading.Barrier(clients)

    def client(index: int, count: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        conn.connect()
        start.wait()
        ok = 0
        for i in range(count):
            if get is None:
                body = json.dumps({"service": SERVICES[(index + i) % len(SERVICES)]})
                conn.request("POST", "/api/v1/tickets", body, {"Content-Type": "application/json"})
            else:
                conn.request("GET", get)
            response = conn.getresponse()
            response.read()
            ok += response.status == (201 if get is None else 404 if get.startswith("/no-such") else 200)
        conn.close()
        answered.append(ok)

    threads = [threading.Thread(target=client, args=(i, n)) for i, n in enumerate(per_client)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(answered)


def totals(dump: Path) -> int:
    for line in reversed(dump.read_text(errors="replace").splitlines()):
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {dump}")


def under_callgrind(command: list[str], port: int, out_file: Path, env: dict, cwd) -> subprocess.Popen:
    """``command`` (its "PORT" replaced by ``port``) under callgrind, counting nothing until told
    (callgrind_control -i on), its counts dumped to ``out_file``.*; its output dropped (a pipe not read
    would stop it once full)."""
    return subprocess.Popen(
        [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out_file}",
            *[part.replace("PORT", str(port)) for part in command],
        ],
        env=env,
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def measure(name: str, command: list[str], env: dict, cwd, out: Path, args) -> float:
    """Instructions per answered request of the server started by ``command`` (under callgrind)."""
    port = free_port()
    proc = under_callgrind(command, port, out / name, env, cwd)
    try:
        step(f"{name}: starting under callgrind (port {port})")
        wait_answering(port, proc)
        step(f"{name}: warming up ({args.warm} requests)")
        send(port, args.warm, args.clients, args.get)
        subprocess.run(["callgrind_control", "-i", "on", str(proc.pid)], check=True, capture_output=True)
        step(f"{name}: {args.tickets} requests, {args.clients} clients, counted")
        answered = send(port, args.tickets, args.clients, args.get)
        subprocess.run(["callgrind_control", "-d", name, str(proc.pid)], check=True, capture_output=True)
        subprocess.run(["callgrind_control", "-i", "off", str(proc.pid)], check=True, capture_output=True)
        dumps = sorted(out.glob(f"{name}.*"), key=os.path.getmtime)
        instructions = totals(dumps[-1])
        if answered != args.tickets:
            raise RuntimeError(f"{name}: {answered} of {args.tickets} answered as expected")
        return instructions / answered
    finally:
        stop(proc)


def ours(tree: Path | None, instance: Path, config: Path) -> tuple[list[str], dict, Path | None]:
    env = {
        **os.environ,
        "QUEUEKIOSK_INSTANCE": str(instance),
        "QUEUEKIOSK_SECRET_KEY": BENCH_SECRET_KEY,
        "QUEUEKIOSK_PERSON_KEY": BENCH_PERSON_KEY,
        "PYTHONOPTIMIZE": "2",  # as serve re-runs itself (-OO), without the exec under valgrind
    }
    if tree is not None:
        env["PYTHONPATH"] = str(tree / "pkg")
    start = ["-c", _OTHER_TREE] if tree is not None else ["-m", "queuekiosk.server.cli"]
    command = [sys.executable, *start, "serve", "--config", str(config), "--port", "PORT", "--ignore-hours"]
    return command, env, tree


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=320)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--warm", type=int, default=96, help="requests before counting")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--baseline", metavar="REVISION", help="count this revision's server too (or a work tree's: its folder)"
    )
    parser.add_argument("--no-bare", action="store_true", help="skip the bare endpoint")
    parser.add_argument("--keep", metavar="DIR", help="keep the callgrind dumps here")
    parser.add_argument("--get", metavar="PATH", help="count GETs of PATH (/healthz, /no-such-page: a 404) instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qk-callgrind-") as tmp:
        tmp = Path(tmp)
        out = Path(args.keep) if args.keep else tmp / "out"
        out.mkdir(parents=True, exist_ok=True)
        tree = baseline_tree(args.baseline, tmp / "baseline") if args.baseline else None
        results: dict[str, list[float]] = {}
        for n in range(1, args.rounds + 1):
            runs = [] if args.no_bare else [("bare", None)]
            runs.append(("ours", "here"))
            if tree is not None:
                runs.append(("before", tree))
            for name, which in runs:
                label = f"{name}-{n}" if args.rounds > 1 else name
                if which is None:
                    command = [sys.executable, str(ROOT / "bench" / "bare_flask.py"), "PORT"]
                    env, cwd = {**os.environ, "PYTHONOPTIMIZE": "2"}, None
                else:
                    home = tmp / f"{label}-home"
                    home.mkdir()
                    command, env, cwd = ours(None if which == "here" else which, home / "instance", bench_config(home))
                per = measure(label, command, env, cwd, out, args)
                results.setdefault(name, []).append(per)
                step(f"{label}: {per / 1000:,.0f}k instructions a request")
                if not args.keep:
                    for dump in out.glob(f"{label}*"):
                        dump.unlink()
        print(
            f"callgrind, {args.tickets} {'GET ' + args.get if args.get else 'requests'} from {args.clients} "
            f"keep-alive clients, load {os.getloadavg()[0]:.2f}"
        )
        for name, values in results.items():
            figures = ", ".join(f"{v / 1000:,.0f}k" for v in values)
            line = f"  {name}: {figures} instructions a request"
            if "bare" in results and name != "bare":
                line += f" ({', '.join(f'{v / b:.2f}' for v, b in zip(values, results['bare']))}× bare)"
            if name == "before":
                line += f"; ours / before {', '.join(f'{o / b:.3f}' for o, b in zip(results['ours'], values))}"
            print(line)
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
