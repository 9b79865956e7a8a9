"""Where an idle `queuekiosk serve` holds its memory (issue 21): the modules it imported, what
Python allocated for each, and the shared libraries mapped.

    python bench/idle_profile.py [--migrated] [--top 40] [--frames 120]

Starts a real `serve` (``python -OO``, as the command line runs it) on a fresh SQLite database of the
demo centre, twice: once with PYTHONPROFILEIMPORTTIME (the list of modules an idle server imported,
in the order it imported them, and who imported each), once under tracemalloc from the first line
(``--frames`` frames a trace). After /healthz answers and 3 s more, the second one writes a snapshot;
its allocations are summed by the library whose code allocated them (the outermost frame in
site-packages, else the outermost module of queuekiosk, else the standard library's module), and by
the module of queuekiosk that imported that library. Also: VmRSS of a plain run, and the shared
libraries mapped (/proc/PID/smaps, resident KB of each).
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import subprocess
import sys
import sysconfig
import tempfile
import time
import tracemalloc
from pathlib import Path

import requests
from common import BENCH_SECRET_KEY, ROOT, bench_config, free_port, rss_kib, wait_healthy

SETTLE_SECONDS = 3.0

# run in the server's interpreter: tracemalloc from the first line, a snapshot written on SIGUSR1
_TRACED = """
import os, signal, sys, tracemalloc, runpy
tracemalloc.start(int(os.environ["QK_FRAMES"]))
def _dump(*_):
    tracemalloc.take_snapshot().dump(os.environ["QK_SNAPSHOT"])
    open(os.environ["QK_SNAPSHOT"] + ".done", "w").close()
signal.signal(signal.SIGUSR1, _dump)
sys.argv = ["queuekiosk", *sys.argv[1:]]
runpy.run_module("queuekiosk.server.cli", run_name="__main__", alter_sys=True)
"""


def _start(tmp: Path, migrated: bool, env_extra: dict, traced: bool = False) -> tuple[subprocess.Popen, str]:
    config = bench_config(tmp)
    env = {**os.environ, "QUEUEKIOSK_INSTANCE": str(tmp / "instance"), "QUEUEKIOSK_SECRET_KEY": BENCH_SECRET_KEY}
    if migrated:
        subprocess.run(
            [sys.executable, "-m", "queuekiosk.server.cli", "migrate", "--config", str(config)],
            env=env,
            check=True,
            capture_output=True,
        )
    port = free_port()
    args = ["serve", "--config", str(config), "--port", str(port), "--ignore-hours"]
    command = [sys.executable, "-OO", *(["-c", _TRACED] if traced else ["-m", "queuekiosk.server.cli"]), *args]
    log = open(tmp / "stderr.txt", "wb")  # noqa: SIM115 - the server's
    proc = subprocess.Popen(command, env={**env, **env_extra}, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(f"{base}/healthz", timeout=300)
    except RuntimeError:
        _stop(proc)
        print((tmp / "stderr.txt").read_text(errors="replace")[-3000:])
        raise
    time.sleep(SETTLE_SECONDS)
    return proc, base


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(10)


def shared_libraries(pid: int) -> list[tuple[int, str]]:
    """(resident KiB, path) of each file mapped, largest first."""
    sizes: collections.Counter = collections.Counter()
    current = None
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            current = fields[5] if len(fields) > 5 else "[anonymous]"
        elif fields[0] == "Rss:":
            sizes[current] += int(fields[1])
    return sorted(((kib, path) for path, kib in sizes.items()), reverse=True)


def imported_modules(log: str) -> list[tuple[int, int, str]]:
    """(self µs, depth, module) in the order of PYTHONPROFILEIMPORTTIME's lines."""
    found = []
    for line in log.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|( *)(\S+)$", line)
        if match:
            found.append((int(match[1]), len(match[2]) // 2, match[3]))
    return found


_SITE = sysconfig.get_paths()["purelib"]
_STDLIB = sysconfig.get_paths()["stdlib"]


def _owner(filename: str) -> tuple[str, str] | None:
    """("lib"|"ours"|"std", a name) for a frame's file."""
    if filename.startswith(_SITE):
        rest = filename[len(_SITE) + 1 :]
        return "lib", rest.split("/")[0].removesuffix(".py")
    if filename.startswith(str(ROOT)) and "/.venv/" not in filename:
        rest = Path(filename).relative_to(ROOT)
        return "ours", str(rest.with_suffix(""))
    if filename.startswith(_STDLIB):
        rest = filename[len(_STDLIB) + 1 :]
        return "std", rest.split("/")[0].removesuffix(".py")
    return None


def attribute(snapshot: tracemalloc.Snapshot) -> tuple[collections.Counter, collections.Counter, collections.Counter]:
    """Bytes by the last place where our code called into (or imported) a library: (library, our
    module); by library alone; by our module (its own allocations and the libraries' it led to).
    An allocation with no frame of ours after its libraries' (the hub's, click's own) goes to its
    innermost library."""
    by_library: collections.Counter = collections.Counter()
    by_caller: collections.Counter = collections.Counter()
    by_ours: collections.Counter = collections.Counter()
    for trace in snapshot.traces._traces:
        size, frames = trace[1], trace[2]
        owners = [_owner(filename) for filename, _ in reversed(frames)]  # oldest first
        owners = [owner for owner in owners if owner is not None and owner[1] not in ("runpy", "importlib")]
        ours, lib = None, None
        for index, (kind, name) in enumerate(owners):
            if kind == "ours":
                ours, lib = name, None
            elif lib is None and ours is not None and owners[index - 1][0] == "ours":
                lib = f"{kind}:{name}"
        if ours is None:
            inner = next((f"{kind}:{name}" for kind, name in reversed(owners)), "?")
            by_library[inner] += size
            by_caller[f"- -> {inner}"] += size
            continue
        by_ours[ours] += size
        lib = lib or "(itself)"
        by_library[lib] += size
        by_caller[f"{ours} -> {lib}"] += size
    return by_library, by_caller, by_ours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--migrated", action="store_true", help="start on a database migrated before")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--keep", type=Path, help="keep the snapshot and the import log in this folder")
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)

    with tempfile.TemporaryDirectory(prefix="qk-idle-") as tmp:
        tmp = Path(tmp)
        (tmp / "a").mkdir()
        proc, base = _start(tmp / "a", args.migrated, {"PYTHONPROFILEIMPORTTIME": "1"})
        try:
            rss = rss_kib(proc.pid)
            libraries = shared_libraries(proc.pid)
        finally:
            _stop(proc)
        log = (tmp / "a" / "stderr.txt").read_text(errors="replace")
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            (args.keep / "imports.txt").write_text(log)
        modules = imported_modules(log)
        print(f"VmRSS idle (with PYTHONPROFILEIMPORTTIME): {rss / 1024:.1f} MB; {len(modules)} modules imported")
        tops = collections.Counter(name.split(".")[0] for _, _, name in modules)
        print("modules by top-level package:", ", ".join(f"{name} {n}" for name, n in tops.most_common(30)))
        print("files mapped, resident (top 15):")
        for kib, path in libraries[:15]:
            print(f"  {kib / 1024:6.1f} MB  {path}")

        (tmp / "b").mkdir()
        snapshot_path = tmp / "b" / "snapshot"
        env = {"QK_FRAMES": str(args.frames), "QK_SNAPSHOT": str(snapshot_path)}
        proc, base = _start(tmp / "b", args.migrated, env, traced=True)
        try:
            proc.send_signal(10)  # SIGUSR1
            deadline = time.monotonic() + 120
            while not Path(str(snapshot_path) + ".done").exists() and time.monotonic() < deadline:
                time.sleep(0.2)
            requests.get(f"{base}/healthz", timeout=10)
        finally:
            _stop(proc)
        snapshot = tracemalloc.Snapshot.load(str(snapshot_path))
        if args.keep:
            snapshot.dump(str(args.keep / "snapshot"))
    total = sum(trace[1] for trace in snapshot.traces._traces)
    print(f"tracemalloc at idle: {total / 2**20:.1f} MB of Python allocations")
    by_library, by_caller, by_ours = attribute(snapshot)
    for title, counter in (
        ("by the library our code last called into (or imported)", by_library),
        ("by our module -> that library", by_caller),
        ("by our module (the innermost of ours), what it led to included", by_ours),
    ):
        print(title + ":")
        for name, size in counter.most_common(args.top):
            print(f"  {size / 1024:8.0f} KB  {name}")


if __name__ == "__main__":
    main()
