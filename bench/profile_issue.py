"""Where a ticket's Python time goes: a real ``queuekiosk serve`` under cProfile while kiosks issue.

    python bench/profile_issue.py [--tickets 2000] [--clients 32] [--out FILE] [--sort tottime] [--top 60]

The serve starts with the profiler off; after ``--warm`` requests it is switched on (SIGUSR1), the
tickets are sent by ``--clients`` raw keep-alive clients (callgrind_issue's ``send``), then it is
switched off and written to ``--out`` (SIGUSR2), and the top functions are printed. cProfile's own
cost inflates small functions: use it to find where to look, callgrind_issue.py to decide.
"""

from __future__ import annotations

import argparse
import os
import pstats
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from callgrind_issue import send, wait_answering
from common import BENCH_SECRET_KEY, bench_config, free_port

_PROFILED_SERVE = """
import cProfile, signal, sys, runpy
profile = cProfile.Profile()
OUT = sys.argv.pop(1)
def on(*_): profile.enable()
def off(*_):
    profile.disable()
    profile.dump_stats(OUT)
signal.signal(signal.SIGUSR1, on)
signal.signal(signal.SIGUSR2, off)
if sys.argv[1] == "--bare":
    sys.argv[:2] = []
    runpy.run_path(sys.argv[0], run_name="__main__")
else:
    runpy.run_module("queuekiosk.server.cli", run_name="__main__", alter_sys=True)
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--warm", type=int, default=200)
    parser.add_argument("--out", default=None)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--top", type=int, default=60)
    parser.add_argument("--bare", action="store_true", help="profile the bare Flask endpoint (bare_flask.py) instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="qk-profile-") as tmp:
        tmp = Path(tmp)
        out = Path(args.out or tmp / "issue.prof").resolve()
        port = free_port()
        env = {
            **os.environ,
            "QUEUEKIOSK_INSTANCE": str(tmp / "instance"),
            "QUEUEKIOSK_SECRET_KEY": BENCH_SECRET_KEY,
            "PYTHONOPTIMIZE": "2",
        }
        command = [
            sys.executable,
            "-c",
            _PROFILED_SERVE,
            str(out),
            "serve",
            "--config",
            str(bench_config(tmp)),
            "--port",
            str(port),
            "--ignore-hours",
        ]
        if args.bare:
            command = [
                sys.executable,
                "-c",
                _PROFILED_SERVE,
                str(out),
                "--bare",
                str(Path(__file__).parent / "bare_flask.py"),
                str(port),
            ]
        proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
        try:
            wait_answering(port, proc)
            send(port, args.warm, args.clients)
            proc.send_signal(signal.SIGUSR1)
            time.sleep(0.5)
            answered = send(port, args.tickets, args.clients)
            proc.send_signal(signal.SIGUSR2)
            while not out.exists():
                time.sleep(0.2)
            time.sleep(1)
        finally:
            proc.terminate()
            proc.wait(60)
        print(f"{answered} of {args.tickets} answered 201")
        stats = pstats.Stats(str(out))
        stats.sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
