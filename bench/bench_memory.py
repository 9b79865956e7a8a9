"""Idle resident memory of `queuekiosk serve` beside the bare Flask-SocketIO app (bench/bare_socketio.py),
on a new database (the first start: the server creates it) and on one migrated before (every later
start), and what each group of imports adds.

    python bench/bench_memory.py [--rounds 3] [--baseline REVISION ...] [--imports]

Each round starts every server in turn (the order reversed every other round), waits until it answers
/healthz and 3 s more, reads VmRSS from /proc and stops it. --baseline REVISION (e.g. HEAD~3) also
starts that revision's server in each round, on the same two databases, for a change's effect in the
same run. --imports prints VmRSS in a fresh interpreter after each import step `serve` takes (gevent's
monkey patching first, the client libraries left out as serve leaves them out): where the idle
memory goes.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import _OTHER_TREE, ROOT, baseline_tree, bench_config, free_port, rss_kib, wait_healthy

SETTLE_SECONDS = 3.0  # after /healthz answers: the background loops have started and run once

# (label, modules) in the order `serve` imports them; each step's figure is what it adds to the ones before
IMPORT_STEPS = [
    ("click, yaml", ["click", "yaml"]),
    ("pydantic + the configuration models", ["queuekiosk.server.core.config"]),
    ("SQLAlchemy core", ["sqlalchemy"]),
    ("SQLAlchemy ORM", ["sqlalchemy.orm"]),
    ("the models (SQLite and PostgreSQL dialects)", ["queuekiosk.server.core.db"]),
    ("the command line", ["queuekiosk.server.cli"]),
    ("Flask, Werkzeug, Jinja", ["flask"]),
    ("Flask-SocketIO, python-socketio/engineio", ["flask_socketio"]),
    ("limits (rate limits)", ["limits"]),
    ("the app factory", ["queuekiosk.server.web.app"]),
    ("the gevent server, printing", ["queuekiosk.server.wsgi_server"]),
    ("WebSocket (simple-websocket, wsproto)", ["engineio.async_drivers._websocket_wsgi"]),
    ("reports", ["queuekiosk.server.core.reports"]),
    ("Socket.IO handlers", ["queuekiosk.server.web.realtime"]),
    ("Flask-WTF (CSRF) and the API", ["queuekiosk.server.web.api"]),
    (
        "pages, voice, kiosk, display, console",
        [
            "queuekiosk.sounds.web",
            "queuekiosk.kiosk.web",
            "queuekiosk.display.web",
            "queuekiosk.counter_client.web",
            "queuekiosk.server.web.supervisor",
            "queuekiosk.server.web.admin_page",
        ],
    ),
]


def progress(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _run(code: Path | None, args: list[str], env: dict, **kwargs) -> subprocess.Popen:
    if code is not None:
        env = {**env, "PYTHONPATH": str(code / "pkg")}
    command = [sys.executable, *(["-c", _OTHER_TREE] if code is not None else ["-m", "queuekiosk.server.cli"]), *args]
    return subprocess.Popen(command, env=env, cwd=code, **kwargs)


def idle_rss(code: Path | None, migrated: bool) -> int:
    """KiB: a server started on a fresh SQLite database (migrated first by `queuekiosk migrate` if
    ``migrated``), once idle."""
    with tempfile.TemporaryDirectory(prefix="qk-bench-memory-") as tmp:
        config = bench_config(Path(tmp))
        env = {**os.environ, "QUEUEKIOSK_INSTANCE": str(Path(tmp) / "instance"), "QUEUEKIOSK_SECRET_KEY": "bench"}
        if migrated:
            done = _run(code, ["migrate", "--config", str(config)], env, stderr=subprocess.PIPE)
            if done.wait(120) != 0:
                raise RuntimeError(f"migrate failed: {done.stderr.read().decode()[-2000:]}")
        port = free_port()
        args = ["serve", "--config", str(config), "--port", str(port), "--ignore-hours"]
        proc = _run(code, args, env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_healthy(f"http://127.0.0.1:{port}/healthz", timeout=90)
            time.sleep(SETTLE_SECONDS)
            return rss_kib(proc.pid)
        finally:
            proc.terminate()
            proc.wait(10)


def bare_rss() -> int:
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("bare_socketio.py")), str(port)])
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz")
        time.sleep(SETTLE_SECONDS)
        return rss_kib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)


def import_steps() -> None:
    """RSS after each import step in a fresh interpreter (this checkout)."""
    script = f"""
import gc, importlib, sys
from gevent import monkey
monkey.patch_all()
for name in ("requests", "websocket", "redis"):  # as serve leaves them out (server/cli.py)
    sys.modules.setdefault(name, None)
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
before = rss()
print(f"  {{'gevent, monkey-patched':48}} {{before / 1024:6.1f}} MB")
for label, modules in {IMPORT_STEPS!r}:
    for name in modules:
        importlib.import_module(name)
    gc.collect()
    now = rss()
    print(f"  {{label:48}} {{now / 1024:6.1f}} MB  +{{(now - before) / 1024:4.1f}}")
    before = now
"""
    print("import steps (VmRSS in a fresh interpreter, this checkout):", flush=True)
    subprocess.run([sys.executable, "-c", script], check=True, cwd=ROOT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", metavar="REVISION", nargs="+", default=[])
    parser.add_argument("--imports", action="store_true", help="also the import steps' figures")
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    if args.imports:
        import_steps()
    with contextlib.ExitStack() as stack:
        trees: list[tuple[str, Path | None]] = [("checkout", None)]
        for revision in args.baseline:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="qk-bench-tree-")))
            trees.append((revision[:10], baseline_tree(revision, directory)))
        runs = [("bare", None, None)] + [
            (f"{name}, {'migrated' if migrated else 'new'} db", code, migrated)
            for name, code in trees
            for migrated in (False, True)
        ]
        figures: dict[str, list[int]] = {name: [] for name, _c, _m in runs}
        for round_no in range(args.rounds):
            for name, code, migrated in runs if round_no % 2 == 0 else runs[::-1]:
                rss = bare_rss() if code is None and migrated is None else idle_rss(code, migrated)
                figures[name].append(rss)
                progress(f"round {round_no + 1}: {name}: {rss / 1024:.1f} MB")
    bare = statistics.median(figures["bare"])
    print(f"idle VmRSS over {args.rounds} round(s), min-max (median), and the median beside bare's:")
    for name, values in figures.items():
        median = statistics.median(values)
        print(
            f"  {name:32} {min(values) / 1024:6.1f}-{max(values) / 1024:6.1f} MB ({median / 1024:.1f})"
            f"  {median / bare:.2f}x bare  +{(median - bare) / 1024:.1f} MB"
        )
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)


if __name__ == "__main__":
    main()
