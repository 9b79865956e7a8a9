"""Where the suite's CPU goes: each test's wall time and the CPU of its worker's whole process tree.

The suite is bound by CPU on two cores (docs/performance.md, "Test suite"), so what a test costs is
the CPU it makes the machine spend: pytest's own, the servers it forks, Chromium, the commands it
runs. ``QK_SUITE_CPU=DIR .venv/bin/python -m pytest`` writes one line of JSON per test to
``DIR/<worker>.jsonl``; ``python tests/suite_cpu.py DIR`` sums them per file, most CPU first.

Each worker moves itself into a cgroup of its own (cgroup v1 ``cpuacct``, as root), whose counter
holds the CPU of every process started below it, whichever process reaped them or not; where it
cannot, it sums /proc's utime + stime + cutime + cstime over the worker and the processes below it,
which misses the processes that exit unreaped by the tree (the per-test figures can then go
negative). Not counted either way: PostgreSQL's backends (the database server's children).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

_TICKS = os.sysconf("SC_CLK_TCK")


def _tree_cpu(root: int) -> float:
    """Seconds of CPU spent by ``root`` and its descendants, reaped children included."""
    parents: dict[int, int] = {}
    spent: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        spent[pid] = sum(int(value) for value in fields[11:15]) / _TICKS
    children: dict[int, list[int]] = defaultdict(list)
    for pid, parent in parents.items():
        children[parent].append(pid)
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        total += spent.get(pid, 0.0)
        stack.extend(children.get(pid, ()))
    return total


def _own_cgroup(worker: str):
    """A function reading the CPU (s) of a new cpuacct cgroup holding this process, or None."""
    group = Path("/sys/fs/cgroup/cpuacct") / f"queuekiosk-tests-{worker}-{os.getpid()}"
    try:
        group.mkdir()
        (group / "cgroup.procs").write_text(str(os.getpid()))
    except OSError:
        return None
    usage = group / "cpuacct.usage"

    last = [0.0]

    def read() -> float:  # (a group's counter once read empty mid-run: its last figure then, same baseline)
        try:
            last[0] = int(usage.read_text()) / 1e9
        except (OSError, ValueError):
            pass
        return last[0]

    return read


def _leave_cgroups() -> None:
    """Back to the root cgroup; this worker's own is removed once the last process in it has left."""
    root = Path("/sys/fs/cgroup/cpuacct")
    with contextlib.suppress(OSError):
        (root / "cgroup.procs").write_text(str(os.getpid()))
    for group in root.glob("queuekiosk-tests-*"):
        with contextlib.suppress(OSError):
            group.rmdir()  # refused while a process is in it


class SuiteCpu:
    def __init__(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self._out = open(directory / f"{worker}.jsonl", "a", buffering=1)  # noqa: SIM115 (open for the session)
        self._cpu = _own_cgroup(worker) or (lambda: _tree_cpu(os.getpid()))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        started, cpu = time.monotonic(), self._cpu()
        yield
        line = {
            "test": item.nodeid,
            "file": item.nodeid.split("::", 1)[0],
            "wall": round(time.monotonic() - started, 3),
            "cpu": round(self._cpu() - cpu, 3),
        }
        self._out.write(json.dumps(line) + "\n")

    def pytest_unconfigure(self):
        _leave_cgroups()


def register(config) -> None:
    directory = os.environ.get("QK_SUITE_CPU")
    if directory:
        config.pluginmanager.register(SuiteCpu(Path(directory)), "queuekiosk-suite-cpu")


def summarise(directory: Path, top: int = 40) -> None:
    files: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for path in directory.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            test = json.loads(line)
            tally = files[test["file"]]
            tally[0] += 1
            tally[1] += test["wall"]
            tally[2] += test["cpu"]
    cpu_total = sum(tally[2] for tally in files.values())
    print(f"{len(files)} files, {sum(t[0] for t in files.values())} tests, {cpu_total:.0f} s of CPU in all")
    print(f"{'file':60} {'tests':>5} {'wall s':>8} {'CPU s':>8} {'share':>6}")
    for name, (tests, wall, cpu) in sorted(files.items(), key=lambda kv: -kv[1][2])[:top]:
        print(f"{name:60} {tests:5d} {wall:8.1f} {cpu:8.1f} {cpu / cpu_total:6.1%}")


if __name__ == "__main__":
    summarise(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 40)
