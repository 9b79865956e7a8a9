"""Database faults a person has to act on: which one it is, and one clear log line for it.

A write the database refuses is rolled back whole (server/core/writer.py on SQLite, one transaction
per request on PostgreSQL), so the caller gets 503 and nothing was written. Two kinds:

- ``database_full``: the disk holding the database has no room (SQLite ``SQLITE_FULL``,
  PostgreSQL SQLSTATE 53100 ``disk_full``, or the OS's "No space left on device"). It stays
  until someone frees space, so the log says what to do.
- ``database_busy``: anything else of the kind, e.g. another program held SQLite's write lock
  longer than the server waits (``SERVER_BUSY_SECONDS``); trying again usually works.

A full disk fails every write for as long as it lasts: the log gets the first failure with its
advice, then one line a minute counting the rest, not one line per request; the supervisor's
dashboard shows it until a write goes through again.
"""

from __future__ import annotations

import errno
import logging
import threading
import time

from .i18n import translate

log = logging.getLogger("queuekiosk.database")

SQLITE_FULL = 13
PG_DISK_FULL = "53100"
SERVER_BUSY_SECONDS = 3  # the server waits this long for SQLite's write lock: an answer within every
# client's timeout (the keypad's 5 s, the pages' 10 s)
RETRY_AFTER = {"database_full": 30, "database_busy": 2}  # seconds, for the Retry-After header
REPEAT_LOG_SECONDS = 60

ADVICE = {
    "database_full": "the disk holding the database is full (SQLite: the folder of the .db file; PostgreSQL: "
    "its data directory). Free disk space (old backups, logs) or enlarge the volume; writes "
    "resume by themselves once there is room",
    "database_busy": "the database did not take the write in time (another program holding SQLite's write lock, "
    "e.g. a sqlite3 shell or a restore, or PostgreSQL overloaded); the caller may try again",
}


def kind_of(error: BaseException) -> str:
    """``database_full`` or ``database_busy`` for an OperationalError (SQLAlchemy's or the driver's own)."""
    cause = getattr(error, "orig", None) or error
    if getattr(cause, "sqlite_errorcode", None) == SQLITE_FULL or getattr(cause, "sqlstate", None) == PG_DISK_FULL:
        return "database_full"
    text = str(cause).lower()
    if (
        "database or disk is full" in text
        or "no space left on device" in text
        or getattr(cause, "errno", None) == errno.ENOSPC
    ):
        return "database_full"
    return "database_busy"


class _Reporter:
    """One log line for the first fault of a kind, then one a minute with how many followed; and
    the kind of the last refused write until a write goes through again (the dashboard shows it)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._since: dict[str, int] = {}
        self.current: str | None = None

    def report(self, error: BaseException, where: str) -> tuple[str, bool]:
        """The fault's kind, and whether it is news (the last write did not fail this way)."""
        kind = kind_of(error)
        now = time.monotonic()
        with self._lock:
            news, self.current = self.current != kind, kind
            if now - self._last.get(kind, -REPEAT_LOG_SECONDS) < REPEAT_LOG_SECONDS:
                self._since[kind] = self._since.get(kind, 0) + 1
                return kind, news
            repeats = self._since.pop(kind, 0)
            self._last[kind] = now
        detail = (str(getattr(error, "orig", None) or error).strip().splitlines() or ["?"])[0]
        log.error(
            "%s: %s. Nothing was written (%s: %s).%s",
            kind.replace("_", " ").capitalize(),
            ADVICE[kind],
            where,
            detail,
            f" {repeats} more writes were refused since the last report." if repeats else "",
        )
        return kind, news

    def writes_again(self) -> None:
        self.current = None


_reporter = _Reporter()
report = _reporter.report
writes_again = _reporter.writes_again


def notes() -> list[dict]:
    """For the supervisor's dashboard: the database refused this process's last write."""
    kind = _reporter.current
    if kind is None:
        return []
    return [{"item": "database", "message": translate(kind, "vi"), "message_en": translate(kind, "en"), "detail": None}]
