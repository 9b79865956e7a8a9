"""Issue 21's targets in one command: the benchmarks in turn, then a table of every target beside its
reference measured in the same run, and whether it is met.

    .venv/bin/python bench/targets.py [--only issue,production,cores,realtime,clients,memory,reports,ticket]
                                      [--reports-db /tmp/qk-bench-year]

Each benchmark runs as its own command, with the arguments docs/performance.md gives; its output
(progress lines, then each figure beside its reference) passes through as it comes, under a line
naming the step. The table at the end is read from those lines: a figure a benchmark no longer
prints as expected shows as "not found" instead of a guess. About 16 minutes on the 2-core machine
(the first reports run fills a database of three simulated years, ~1 minute, kept in --reports-db
for the next runs). Run it on a quiet machine: every figure is a range over interleaved rounds, and
a target is met only when the whole range is. The suite's target (≤ 8 minutes) is not here: it is
`.ci/run`'s time from a fresh clone. The "cores" step caps each server process at half a core (a cgroup's
CPU quota: it needs root, and shows "not found" without), so that one process and two each use the same CPU
share, with CPU left for PostgreSQL, Redis and wrk: on these 2 shared cores a second process otherwise gets
less than the first. Each process then uses its whole quota, so the rate of two over one is twice the ratio
of their CPU a ticket (one's over two's).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from common import CAPPED  # (bench/ is the script's folder: on sys.path)

BENCH = Path(__file__).resolve().parent
NUMBER = r"\d+(?:,\d{3})*(?:\.\d+)?"  # 0.48, 1,234 or 66620 (never a sentence's full stop)
# bench_production --cpu-per-process in the "cores" step: each process's cap, the rest of the 2 cores left to
# PostgreSQL, Redis, wrk and the displays (2 processes at 0.5 left the machine a third idle)
CORES_EACH = 0.5
RANGE = rf"(?P<low>{NUMBER})(?:[–-]\s*(?P<high>{NUMBER}))?"  # "0.48–0.49", "58.5-  58.6" or one figure


def _steps(args) -> dict[str, list[str]]:
    return {
        "issue": ["bench_issue.py", "--rounds", "3", "--seconds", "6", "--single", "1000"],
        "production": ["bench_production.py", "--displays", "2", "--rounds", "5", "--seconds", "6"],
        "cores": [
            "bench_production.py",
            *("--only", "bare1,bare2,pgmq1,pgmq2", "--displays", "2", "--rounds", "5", "--seconds", "8"),
            *("--cpu-per-process", str(CORES_EACH)),
        ],
        "realtime": ["bench_realtime.py", "--memory-clients", "0", "--rounds", "3", "--calls", "200"],
        "clients": ["bench_realtime.py", "--rounds", "0", "--memory-clients", "1000"],
        "memory": ["bench_memory.py", "--rounds", "2"],
        "reports": ["bench_reports.py", "--keep", str(args.reports_db)],
        "ticket": ["bench_ticket.py"],
    }


def _figures(text: str, pattern: str) -> tuple[float, float] | None:
    """The range (low, high) the first match of ``pattern`` (its RANGE; ``^`` a line's start) gives in
    ``text``."""
    found = re.search(pattern, text, re.MULTILINE)
    if found is None:
        return None
    low = float(found["low"].replace(",", ""))
    return low, float(found["high"].replace(",", "")) if found["high"] else low


def _zero_problems(text: str, pattern: str) -> bool | None:
    """Whether every line ``pattern`` finds (its groups: counts of problems) says 0; None if none is found."""
    found = re.findall(pattern, text)
    if not found:
        return None
    return all(
        int(count.replace(",", "")) == 0 for line in found for count in (line if isinstance(line, tuple) else (line,))
    )


@dataclass
class Row:
    target: str
    figure: tuple[float, float] | None
    unit: str
    reference: str
    met: bool | None  # None: the figure was not found
    shown: str | None = None  # what was measured, where it is not a range of figures

    def cells(self) -> list[str]:
        if self.shown is not None:
            return [self.target, self.shown, self.reference, "?" if self.met is None else "yes" if self.met else "no"]
        if self.figure is None:
            return [self.target, "not found (see the step's output above)", self.reference, "?"]
        low, high = self.figure
        shown = f"{low:g}" if low == high else f"{low:g}–{high:g}"
        return [self.target, f"{shown}{self.unit}", self.reference, "yes" if self.met else "no"]


def _row(target: str, figure, unit: str, reference: str, met) -> Row:
    return Row(target, figure, unit, reference, None if figure is None else met(*figure))


def _reference(text: str, pattern: str, unit: str, label: str) -> str:
    figure = _figures(text, pattern)
    if figure is None:
        return f"{label}: not found"
    low, high = figure
    return f"{label} {low:g}{unit}" if low == high else f"{label} {low:g}–{high:g}{unit}"


def issuing_rows(text: str) -> list[Row]:
    ours = r"tickets/s \(" + RANGE + r"× bare\), server CPU "
    bare = r"bare Flask endpoint, 32 keep-alive clients: [\d–]+ req/s, server CPU " + RANGE + " ms"
    clean = bool(_zero_problems(text, r"duplicates (\d+), gaps (\d+)")) and bool(
        re.search(r"non-2xx 0, socket errors none", text)
    )
    return [
        _row(
            "issuing on SQLite: server CPU ≤ 0.5 ms a ticket",
            _figures(text, r"server CPU " + RANGE + r" ms per ticket"),
            " ms",
            _reference(text, bare, " ms", "bare endpoint"),
            lambda low, high: high <= 0.5,
        ),
        _row(
            "issuing ≥ 0.5× bare, 0 duplicates, 0 gaps",
            _figures(text, ours),
            "× bare",
            f"bare endpoint's rate; duplicates, gaps, non-2xx, socket errors {'none' if clean else 'found or not read'}",
            lambda low, high: low >= 0.5 and clean,
        ),
        _row(
            "one keep-alive client: median ≤ 2 ms",
            _figures(text, r"one after another: median " + RANGE + " ms"),
            " ms",
            _reference(text, r"bare endpoint median " + RANGE + " ms", " ms", "bare endpoint"),
            lambda low, high: high <= 2,
        ),
    ]


def _production_clean(text: str) -> bool | None:
    clean = _zero_problems(text, r"duplicates (\d+), gaps (\d+), non-2xx (\d+)")
    return clean and "could not check" not in text


def _two_processes_row(text: str, target: str) -> Row:
    bare = r"^bare2\s.*?\(" + RANGE + r"× bare endpoint, 1 process\)"
    return _row(
        target,
        _figures(text, r"^pgmq2\s.*?\(" + RANGE + r"× 1 process; target ≥ 1.7"),
        "× one",
        _reference(text, bare, "× one", "the bare endpoint's 2 processes"),
        lambda low, high: low >= 1.7,
    )


def _clean_row(target: str, clean: bool | None) -> Row:
    shown = {None: "not found (see the step's output above)", True: "none", False: "some: see the step's output"}
    return Row(target, None, "", "every configuration's issued numbers, checked", clean, shown[clean])


def production_rows(text: str) -> list[Row]:
    return [
        _row(
            "PostgreSQL, 1 process ≥ 0.8× SQLite",
            _figures(text, r"^pg1\s.*?\(" + RANGE + r"× SQLite, 1 process; target"),
            "× SQLite",
            "SQLite, 1 process, same rounds",
            lambda low, high: low >= 0.8,
        ),
        _row(
            "the Redis message queue costs ≤ 10 %",
            _figures(text, r"^pgmq1\s.*?\(" + RANGE + r"× PostgreSQL without Redis"),
            "× without Redis",
            "PostgreSQL without Redis, same rounds",
            lambda low, high: low >= 0.9,
        ),
        _two_processes_row(text, "2 processes ≥ 1.7× one"),
        _clean_row("production runs: 0 duplicates, 0 gaps, 0 non-2xx", _production_clean(text)),
    ]


def cores_rows(text: str) -> list[Row]:
    """The same two processes, each capped at CORES_EACH of a core (as the run's header says, else not found)."""
    if CAPPED.format(cores=CORES_EACH) not in text:
        text = ""
    return [
        _two_processes_row(text, f"2 processes ≥ 1.7× one, each capped at {CORES_EACH:g} core"),
        _clean_row("those runs: 0 duplicates, 0 gaps, 0 non-2xx", _production_clean(text)),
    ]


def realtime_rows(text: str) -> list[Row]:
    def ratio(label: str) -> tuple[float, float] | None:
        return _figures(text, re.escape(label) + r".*ratio per round " + RANGE)

    return [
        _row(
            "a call: HTTP part ≤ 5 ms",
            _figures(text, r"HTTP part, median ms\s+queuekiosk\s+" + RANGE),
            " ms",
            _reference(text, r"HTTP part, median ms\s+queuekiosk\s+[\d.–]+\s+bare\s+" + RANGE, " ms", "bare"),
            lambda low, high: high <= 5,
        ),
        _row(
            "a call: server CPU ≤ 1.2× bare",
            ratio("server CPU per call, ms"),
            "× bare",
            "bare emit route, same rounds",
            lambda low, high: high <= 1.2,
        ),
        _row(
            "call → display p99 ≤ 1.1× bare",
            ratio("call -> display p99, ms"),
            "× bare",
            "bare broadcast, same rounds",
            lambda low, high: high <= 1.1,
        ),
        _row(
            "a call: no event missed",
            _figures(text, r"missed events\s+queuekiosk\s+" + RANGE),
            " missed a round",
            _reference(text, r"missed events\s+queuekiosk\s+[\d.–]+\s+bare\s+" + RANGE, "", "bare"),
            lambda low, high: high == 0,
        ),
    ]


def clients_rows(text: str) -> list[Row]:
    return [
        _row(
            "≤ 130 MB with 1,000 clients",
            _figures(text, r"MB idle, " + RANGE + r" MB with 1000 connected clients"),
            " MB",
            _reference(text, r"bare Flask-SocketIO \d+ MB idle, " + RANGE + " MB", " MB", "bare"),
            lambda low, high: high <= 130,
        )
    ]


def memory_rows(text: str) -> list[Row]:
    idle = text.split(" idle:", 1)[-1].split("after first use", 1)[0]
    new, migrated = (_figures(idle, rf"checkout, {kind} db\s+" + RANGE + " MB") for kind in ("new", "migrated"))
    both = None if new is None or migrated is None else (min(new[0], migrated[0]), max(new[1], migrated[1]))
    return [
        _row(
            "idle ≤ 60 MB (new and migrated database)",
            both,
            " MB",
            _reference(idle, r"bare\s+" + RANGE + " MB", " MB", "bare"),
            lambda low, high: high <= 60,
        )
    ]


def reports_rows(text: str) -> list[Row]:
    year = rf"year 2025: NAME\s+kept\s+\d+ /\s+({NUMBER}) ms\s+from tickets\s+\d+ /\s+({NUMBER})"
    summaries = ("summary by service", "summary by counter", "summary by clerk", "summary by day", "summary by hour")
    found = [re.search(year.replace("NAME", re.escape(name)), text) for name in summaries]
    medians = None if None in found else [(float(f[1]), float(f[2])) for f in found]
    over_http = r"the reports page \(3 calls\) year\s+[\d.]+ /\s+" + RANGE
    same = "FIGURES DIFFER" not in text  # kept and counted from the tickets, compared figure by figure
    ratios = {
        name.strip(): float(ratio)
        for name, ratio in re.findall(r"\n  (\S[^\n]*)\n    now\s+wall\s+[\d./ ]+?\s+([\d.]+)x", text)
        if not name.startswith("summary by day")  # three times the rows over three years: grows with days
    }
    return [
        _row(
            "reports: a year ≤ 300 ms a summary",
            None if medians is None else (min(m[0] for m in medians), max(m[0] for m in medians)),
            " ms (median)",
            "counted from the tickets: "
            + ("not found" if medians is None else f"{min(m[1] for m in medians):g}–{max(m[1] for m in medians):g} ms")
            + ("" if same else "; FIGURES DIFFER"),
            lambda low, high: high <= 300 and same,
        ),
        _row(
            "reports: a year's page ≤ 600 ms",
            _figures(text, over_http),
            " ms (over HTTP, median)",
            _reference(text, r"GET /healthz \(reference\)\s+[\d.]+ /\s+" + RANGE, " ms", "GET /healthz"),
            lambda low, high: high <= 600,
        ),
        _row(
            "reports: 3 years ≤ 1.3× a year",
            (min(ratios.values()), max(ratios.values())) if ratios else None,
            "× a year",
            "a year, same rounds (the summary by day apart: it returns 3× the rows)",
            lambda low, high: high <= 1.3,
        ),
    ]


def ticket_rows(text: str) -> list[Row]:
    def row(name: str) -> list[str] | None:
        found = re.search(rf"\n{name}\s+compact\s+ours\s+([^\n]+)", text)
        return None if found is None else found[1].split()

    header = (
        r"ticket\s+form\s+renderer\s+first ms day cpu p50\s+p99 wall p50\s+p99 cold cpu p50\s+p99\s+bytes\s+day max"
    )
    if not re.search(header, text):  # the columns read below by position are not these
        return [_row(target, None, "", "", None) for target in ("tickets: sizes", "tickets: render p99")]
    usual, long = row("usual 80 mm"), row("long 80 mm")
    # columns: first ms, day CPU p50, p99, wall p50, p99, cold CPU p50, p99, bytes, the day's largest
    size = None if usual is None or long is None else (int(usual[8].replace(",", "")), int(long[8].replace(",", "")))
    p99 = None if usual is None or long is None else max(float(usual[2]), float(long[2]))
    return [
        _row(
            "tickets: usual ≤ 8 KB, long ≤ 12 KB (80 mm)",
            None if size is None else (size[0] / 1000, size[1] / 1000),
            " KB (usual–long, the day's largest)",
            "the image form of the same tickets, printed in the step above",
            lambda usual_kb, long_kb: usual_kb <= 8 and long_kb <= 12,
        ),
        _row(
            "tickets: render p99 ≤ 10 ms",
            None if p99 is None else (p99, p99),
            " ms (a day's CPU, p99)",
            "cold renders' p99 (usual, long): "
            + ("not found" if usual is None or long is None else f"{usual[6]}, {long[6]} ms"),
            lambda low, high: high <= 10,
        ),
    ]


ROWS = {
    "issue": issuing_rows,
    "production": production_rows,
    "cores": cores_rows,
    "realtime": realtime_rows,
    "clients": clients_rows,
    "memory": memory_rows,
    "reports": reports_rows,
    "ticket": ticket_rows,
}


def run(name: str, command: list[str], number: int, total: int) -> str:
    """``command`` (a script of bench/ and its arguments), its output passed through and returned."""
    print(f"\n[targets {time.strftime('%H:%M:%S')}] step {number}/{total}: {name}: {' '.join(command)}", flush=True)
    proc = subprocess.Popen(
        [sys.executable, str(BENCH / command[0]), *command[1:]],
        cwd=BENCH,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},  # its lines as they come, stdout's and stderr's in order
    )
    lines = []
    for line in proc.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    if proc.wait() != 0:
        lines.append(f"\n(the step ended with exit status {proc.returncode})\n")
        print(lines[-1], flush=True)
    return "".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(ROWS), help=f"comma-separated among {', '.join(ROWS)}")
    parser.add_argument("--reports-db", type=Path, default=Path("/tmp/qk-bench-year"), help="bench_reports --keep")
    args = parser.parse_args()
    names = args.only.split(",")
    unknown = set(names) - set(ROWS)
    if unknown:
        parser.error(f"--only: unknown step(s) {', '.join(sorted(unknown))}; the steps are {', '.join(ROWS)}")
    steps = _steps(args)
    rows: list[Row] = []
    for number, name in enumerate(names, 1):
        text = run(name, steps[name], number, len(names))
        try:
            rows += ROWS[name](text)
        except (ValueError, IndexError) as error:  # a line changed past what the patterns expect
            rows.append(Row(f"{name}: its figures ({error})", None, "", "", None))
    print(f"\n[targets {time.strftime('%H:%M:%S')}] issue 21's targets, each beside its reference in the same run:")
    table = [["target", "measured", "reference (same run)", "met"]] + [row.cells() for row in rows]
    widths = [max(len(cells[i]) for cells in table) for i in range(4)]
    for cells in table:
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip())
    return 0 if all(row.met for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
