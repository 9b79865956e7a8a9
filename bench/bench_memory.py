"""Resident memory of `queuekiosk serve` beside the bare Flask-SocketIO app (bench/bare_socketio.py):
idle, on a new database (the first start: the server creates it) and on one migrated before (every
later start), then after a centre's first use (a ticket, a call, the dashboard's overview and page),
and what each group of imports adds.

    python bench/bench_memory.py [--rounds 3] [--baseline REVISION ...] [--variant LABEL:VAR=VALUE ...] [--imports]

Each round starts every server in turn (the order reversed every other round), waits until it answers
/healthz and 3 s more, reads VmRSS from /proc ("idle"), then issues a ticket, calls it at counter 1,
reads the dashboard's overview (GET /api/v1/reports/live) and loads /dashboard and the kiosk and
display pages with an admin token, waits 1 s and reads VmRSS again ("used"): memory that only moves
from the start to the first ticket is no saving for a centre. --baseline REVISION (e.g. HEAD~3) also
starts that revision's server in each round, on the same two databases, for a change's effect in the
same run. --variant LABEL:VAR=VALUE[,VAR=VALUE] also runs this checkout with those environment
variables (e.g. opt2:PYTHONOPTIMIZE=2 or arena2:MALLOC_ARENA_MAX=2). --imports prints VmRSS in a fresh interpreter after each import step `serve` takes (gevent's
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
import sysconfig
import tempfile
import time
from pathlib import Path

import requests
from common import (
    _OTHER_TREE,
    BENCH_SECRET_KEY,
    PARTS,
    ROOT,
    baseline_tree,
    bench_config,
    free_port,
    rss_kib,
    wait_healthy,
)

SETTLE_SECONDS = 3.0  # after /healthz answers: the background loops have started and run once

# (label, modules) in the order `serve` imports them; each step's figure is what it adds to the ones before
IMPORT_STEPS = [
    ("click, yaml", ["click", "yaml"]),
    ("pydantic + the configuration models", ["queuekiosk.server.core.config"]),
    ("SQLAlchemy core", ["sqlalchemy"]),
    ("the tables (SQLite dialect)", ["queuekiosk.server.core.db"]),
    ("the command line", ["queuekiosk.server.cli"]),
    ("Flask, Werkzeug, Jinja", ["flask"]),
    ("Flask-SocketIO, python-socketio/engineio", ["flask_socketio"]),
    ("limits (rate limits)", ["limits"]),
    ("the app factory", ["queuekiosk.server.web.app"]),
    ("the gevent server, printing", ["queuekiosk.server.wsgi_server"]),
    ("WebSocket (simple-websocket, wsproto)", ["engineio.async_drivers._websocket_wsgi"]),
    ("reports", ["queuekiosk.server.core.reports"]),
    ("Socket.IO handlers", ["queuekiosk.server.web.realtime"]),
    ("the API", ["queuekiosk.server.web.api"]),
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
    # not at idle: the first request that needs an ORM session makes the classes (server/core/mapped.py)
    ("at first use: the ORM and its classes", ["queuekiosk.server.core.mapped"]),
    # not at idle: a browser session's first login or write (server/web/api/csrf.py)
    ("at first use: Flask-WTF (a session's CSRF check)", ["flask_wtf.csrf"]),
]


def progress(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _run(code: Path | None, args: list[str], env: dict, **kwargs) -> subprocess.Popen:
    if code is not None:
        env = {**env, "PYTHONPATH": str(code / "pkg")}
    command = [sys.executable, *(["-c", _OTHER_TREE] if code is not None else ["-m", "queuekiosk.server.cli"]), *args]
    return subprocess.Popen(command, env=env, cwd=code, **kwargs)


def _admin_token(code: Path | None, config: Path, env: dict) -> str:
    done = _run(code, ["token", "create", "--role", "admin", "--config", str(config)], env, stdout=subprocess.PIPE)
    if done.wait(120) != 0:
        raise RuntimeError("token create failed")
    return done.stdout.read().decode().strip()


def first_use(base: str, token: str) -> None:
    """What a centre's first minutes load: a ticket, its call, the dashboard's overview and pages."""
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {token}"
        steps = [
            ("POST", "/api/v1/tickets", {"service": "HT"}),
            ("POST", "/api/v1/counters/1/next", {}),
            ("GET", "/api/v1/reports/live", None),
            ("GET", "/dashboard", None),
            ("GET", "/kiosk/kiosk-1", None),
            ("GET", "/display/lobby", None),
        ]
        for method, path, body in steps:
            response = http.request(method, base + path, json=body, timeout=60)
            if response.status_code >= 400:
                raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:300]}")


def server_rss(code: Path | None, migrated: bool, extra_env: dict) -> tuple[int, int]:
    """KiB (idle, after first use): a server started on a fresh SQLite database (migrated first by
    `queuekiosk migrate` if ``migrated``)."""
    with tempfile.TemporaryDirectory(prefix="qk-bench-memory-") as tmp:
        config = bench_config(Path(tmp))
        env = {
            **os.environ,
            "QUEUEKIOSK_INSTANCE": str(Path(tmp) / "instance"),
            "QUEUEKIOSK_SECRET_KEY": BENCH_SECRET_KEY,
        }
        if migrated:
            done = _run(code, ["migrate", "--config", str(config)], env, stderr=subprocess.PIPE)
            if done.wait(120) != 0:
                raise RuntimeError(f"migrate failed: {done.stderr.read().decode()[-2000:]}")
        port = free_port()
        args = ["serve", "--config", str(config), "--port", str(port), "--ignore-hours"]
        proc = _run(code, args, {**env, **extra_env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_healthy(f"{base}/healthz", timeout=90)
            time.sleep(SETTLE_SECONDS)
            idle = rss_kib(proc.pid)
            first_use(base, _admin_token(code, config, env))
            time.sleep(1.0)
            return idle, rss_kib(proc.pid)
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


def parse_variant(text: str) -> tuple[str, dict]:
    label, _, assignments = text.partition(":")
    env = dict(pair.split("=", 1) for pair in assignments.split(",") if "=" in pair)
    if not label or not env:
        raise argparse.ArgumentTypeError(f"--variant {text!r}: expected LABEL:VAR=VALUE[,VAR=VALUE]")
    return label, env


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
    parser.add_argument("--variant", type=parse_variant, nargs="+", default=[], metavar="LABEL:VAR=VALUE")
    parser.add_argument(
        "--databases", choices=("both", "new", "migrated"), default="both", help="which databases to start on"
    )
    parser.add_argument("--imports", action="store_true", help="also the import steps' figures")
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    if args.imports:
        import_steps()
    # the -OO bytecode of the libraries and of this checkout (the baselines' below), as `serve` runs once
    # installed: without it, on a machine with PYTHONDONTWRITEBYTECODE, each start compiles in memory and
    # holds ~1.5 MB more
    folders = [sysconfig.get_paths()["purelib"], *(str(ROOT / p) for p in ("queuekiosk", *PARTS))]
    if subprocess.run([sys.executable, "-m", "compileall", "-q", "-o", "2", *folders]).returncode:
        print("(compileall could not compile everything: the figures may be ~1.5 MB high)", flush=True)
    with contextlib.ExitStack() as stack:
        trees: list[tuple[str, Path | None, dict]] = [("checkout", None, {})]
        trees += [(label, None, env) for label, env in args.variant]
        for revision in args.baseline:
            directory = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="qk-bench-tree-")))
            tree = baseline_tree(revision, directory)
            # its -OO bytecode, as `serve` runs it once installed (docs/deployment.md): without it a
            # machine with PYTHONDONTWRITEBYTECODE compiles the whole tree in memory at each start
            subprocess.run([sys.executable, "-m", "compileall", "-q", "-o", "2", str(tree / "src")], check=True)
            trees.append((revision[:10], tree, {}))
        databases = {"both": (False, True), "new": (False,), "migrated": (True,)}[args.databases]
        runs = [("bare", None, None, {})] + [
            (f"{name}, {'migrated' if migrated else 'new'} db", code, migrated, env)
            for name, code, env in trees
            for migrated in databases
        ]
        idle: dict[str, list[int]] = {name: [] for name, *_ in runs}
        used: dict[str, list[int]] = {name: [] for name, *_ in runs if name != "bare"}
        for round_no in range(args.rounds):
            for name, code, migrated, env in runs if round_no % 2 == 0 else runs[::-1]:
                if name == "bare":
                    idle[name].append(bare_rss())
                    progress(f"round {round_no + 1}: {name}: idle {idle[name][-1] / 1024:.1f} MB")
                    continue
                at_rest, after_use = server_rss(code, migrated, env)
                idle[name].append(at_rest)
                used[name].append(after_use)
                progress(f"round {round_no + 1}: {name}: idle {at_rest / 1024:.1f} MB, used {after_use / 1024:.1f} MB")
    bare = statistics.median(idle["bare"])
    checkout = {
        kind: statistics.median(figures[f"checkout, {'migrated' if databases == (True,) else 'new'} db"])
        for kind, figures in (("idle", idle), ("used", used))
    }
    print(f"VmRSS over {args.rounds} round(s), min-max (median); the median beside bare's idle and the checkout's")
    for kind, figures in (("idle", idle), ("after first use", used)):
        print(f" {kind}:")
        for name, values in figures.items():
            median = statistics.median(values)
            ours = checkout["idle" if kind == "idle" else "used"]
            print(
                f"  {name:32} {min(values) / 1024:6.1f}-{max(values) / 1024:6.1f} MB ({median / 1024:.1f})"
                f"  {median / bare:.2f}x bare  +{(median - bare) / 1024:.1f} MB"
                f"  {median / ours:.3f}x checkout ({(median - ours) / 1024:+.1f} MB)"
            )
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)


if __name__ == "__main__":
    main()
