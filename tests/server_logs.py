"""The logs of the servers a test started, attached whole to its failure report (tests/conftest.py's
hooks): an assertion's message holds at most the end of a log, or a repr pytest cuts short, and a
failure seen once in a full run is often not seen again (a lost COMMIT's line counting "2" callers
where the test expected 1: its log was gone with the run, its other caller unknown).

A server registers its log file when it starts (``watch``). Before each test every file's size is
noted (``mark``): a failure report gets what each file gained since (``grown``), so a module's server
gives its lines of that test only."""

from __future__ import annotations

from pathlib import Path

MAX_CHARS = 1_000_000  # more than this of one log: its end, the file named (kept with pytest's basetemp)

_watched: dict[Path, int] = {}  # log file -> its size when the current test began


def watch(path: Path) -> None:
    """``path`` is a server's log (output appended from here on)."""
    _watched.setdefault(Path(path), 0)


def mark() -> None:
    """A test begins: what the logs hold now is not its. Files gone (their test's folder removed) are dropped."""
    for path in list(_watched):
        try:
            _watched[path] = path.stat().st_size
        except OSError:
            del _watched[path]


def grown() -> list[tuple[str, str]]:
    """(a report section's title, its text) for each log that gained lines since ``mark``."""
    sections = []
    for path, start in _watched.items():
        try:
            with open(path, "rb") as log:
                log.seek(start)
                text = log.read().decode("utf-8", errors="replace")
        except OSError:
            continue
        if not text:
            continue
        if len(text) > MAX_CHARS:
            text = f"[… its first {len(text) - MAX_CHARS} characters: see the file]\n" + text[-MAX_CHARS:]
        sections.append((f"server log {path} (from byte {start})", text))
    return sections
