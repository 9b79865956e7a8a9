"""Database faults a person has to act on: which one it is, and one clear log line for it.

A write the database refuses is rolled back whole (server/core/writer.py on SQLite, one transaction
per request on PostgreSQL), so the caller gets 503 and nothing was written. Three kinds:

- ``database_full``: the disk holding the database has no room (SQLite ``SQLITE_FULL``,
  PostgreSQL SQLSTATE 53100 ``disk_full``, or the OS's "No space left on device"). It stays
  until someone frees space, so the log says what to do.
- ``database_busy``: the database out of reach or contended for now: another program held SQLite's
  write lock longer than the server waits (``SERVER_BUSY_SECONDS``), a disk I/O error, a file it cannot
  open or write, PostgreSQL unreachable, shut down, out of connections or memory, a deadlock, a
  timeout, a connection SQLAlchemy found lost, no pooled connection free in time (``SQLITE_OUTAGES``,
  ``PG_OUTAGES``, ``sqlalchemy.exc.TimeoutError``); trying again usually works.
- ``database_damaged``: the database file or its data is damaged (SQLite "database disk image is
  malformed", "file is not a database"; PostgreSQL data or index corrupted): not a bug, and it stays
  until the IT person restores the last backup (docs/deployment.md, Backup and restore).

On PostgreSQL a fourth answer, ``database_outcome_unknown`` (``outcome_unknown``): a group-commit batch's
connection was lost once its COMMIT was sent and PostgreSQL could not tell what became of it
(pg_writer.py), so the write may have been done. It is said at every occurrence, by each caller of the
batch (a request, or the server's own work: a printer's state), never as "nothing was written".

Anything else the database refuses (SQLite "no such column", "no such table", a syntax error;
PostgreSQL's undefined column, ...) is a fault of the server, not of the database: ``internal``,
answered 500, and logged with its traceback at every occurrence for the IT person to read.

No log line carries what PostgreSQL says in its DETAIL (e.g. ``Key (phone)=(0912…)``, ``Failing row
contains (…)``): only its primary message (``safe_text``), and SQLAlchemy's parameters are hidden.

A full disk fails every write for as long as it lasts: the log gets the first failure with its
advice, then one line a minute counting the rest, not one line per request; the supervisor's
dashboard shows it until a write goes through again. Each of the server's own loops at each site (the day's end,
remote numbers lapsing, each printer's spooler; the delivery worker) has its own line a minute beside the
requests' one: the IT person learns each part that the fault stopped, not only the first to meet it.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import threading
import time
import traceback

from sqlalchemy import exc

from .i18n import translate

log = logging.getLogger("queuekiosk.database")

INTERNAL = "internal"  # a fault of the server: 500, the catalog's "internal" sentence
OUTCOME_UNKNOWN = "database_outcome_unknown"  # a lost COMMIT PostgreSQL did not tell of: it may have been done
SQLITE_FULL = 13
SQLITE_DAMAGED = {11: "SQLITE_CORRUPT", 26: "SQLITE_NOTADB"}
PG_DAMAGED = ("XX001", "XX002")  # data_corrupted, index_corrupted
# every error of the database or of reaching it: the web layer's handler, Socket.IO's and the workers' catch these
DATABASE_ERRORS = (exc.DBAPIError, exc.TimeoutError, sqlite3.Error)
PG_DISK_FULL = "53100"
# SQLite's primary result codes (sqlite3's ``sqlite_errorcode`` & 0xFF) of a database out of service for now
SQLITE_OUTAGES = {
    4: "SQLITE_ABORT",  # (516 SQLITE_ABORT_ROLLBACK: the transaction rolled back by an outage)
    5: "SQLITE_BUSY",
    6: "SQLITE_LOCKED",
    7: "SQLITE_NOMEM",
    8: "SQLITE_READONLY",
    9: "SQLITE_INTERRUPT",
    10: "SQLITE_IOERR",
    14: "SQLITE_CANTOPEN",
    15: "SQLITE_PROTOCOL",
    17: "SQLITE_SCHEMA",  # changed by another process (a migration) more often than SQLite prepares again
}
# the same said in words, for an error that carries no code
SQLITE_OUTAGE_WORDS = (
    "is locked",
    "busy",
    "disk i/o error",
    "unable to open",
    "readonly",
    "interrupted",
    "out of memory",
)
# PostgreSQL SQLSTATEs, or their class (2 characters), of a database out of reach, overloaded or contended:
# connection exceptions, insufficient resources (53100, the full disk, is database_full), admin or crash
# shutdown, cannot connect now, database dropped, idle session timeout, a statement timeout, system (I/O)
# errors, transaction rollback (class 40: serialization failure, deadlock, ...; not 40002, a constraint),
# a lock not had in time, a read-only server (a standby), idle-in-transaction and transaction timeouts
PG_OUTAGES = (
    *("08", "53", "57P", "57014", "58"),
    *("40000", "40001", "40003", "40P01"),
    *("55P03", "55006", "25006", "25P03", "25P04"),
)
SERVER_BUSY_SECONDS = 3  # the server waits this long for SQLite's write lock: an answer within every
# client's timeout (the keypad's 5 s, the pages' 10 s)
RETRY_AFTER = {"database_full": 30, "database_busy": 2, "database_damaged": 60}  # seconds, for the Retry-After header
REPEAT_LOG_SECONDS = 60

ADVICE = {
    "database_full": "the disk holding the database is full (SQLite: the folder of the .db file; PostgreSQL: "
    "its data directory). Free disk space (old backups, logs) or enlarge the volume; writes "
    "resume by themselves once there is room",
    "database_busy": "the database did not take the write in time or could not be reached (another program "
    "holding SQLite's write lock, e.g. a sqlite3 shell or a restore; a disk I/O error; PostgreSQL stopped, "
    "unreachable, restarting or overloaded); the caller may try again",
    "database_damaged": "the database is damaged (its file or data corrupted, or not a database at all), not a "
    "fault of the server: stop the server and restore the last backup (docs/deployment.md, Backup and restore); writes and "
    "reads fail until then",
}


def kind_of(error: BaseException) -> str:
    """``database_full``, ``database_busy``, ``database_damaged`` or ``internal`` for a database error
    (SQLAlchemy's, its pool's or the driver's)."""
    if isinstance(error, exc.TimeoutError) or getattr(error, "connection_invalidated", False):
        return "database_busy"  # no pooled connection free in time; a connection SQLAlchemy found lost
    cause = getattr(error, "orig", None) or error
    code, sqlstate = getattr(cause, "sqlite_errorcode", None), getattr(cause, "sqlstate", None)
    text = str(cause).lower()
    if (
        code == SQLITE_FULL
        or sqlstate == PG_DISK_FULL
        or "database or disk is full" in text
        or "no space left on device" in text
        or getattr(cause, "errno", None) == errno.ENOSPC
    ):
        return "database_full"
    if (code is not None and code & 0xFF in SQLITE_DAMAGED) or sqlstate in PG_DAMAGED:
        return "database_damaged"
    if isinstance(cause, sqlite3.Error):
        if code is not None:
            return "database_busy" if code & 0xFF in SQLITE_OUTAGES else INTERNAL
        return "database_busy" if any(words in text for words in SQLITE_OUTAGE_WORDS) else INTERNAL
    if sqlstate:
        return "database_busy" if sqlstate.startswith(PG_OUTAGES) else INTERNAL
    # no SQLSTATE: the driver's own, with no answer from the server (connection refused, closed, lost)
    lost = {"OperationalError", "InterfaceError"} & {kind.__name__ for kind in type(cause).__mro__}
    return "database_busy" if lost else INTERNAL


def outcome_unknown(error: BaseException) -> bool:
    """Whether ``error`` is a lost COMMIT's whose outcome PostgreSQL did not tell (pg_commit.UNKNOWN, set
    by pg_writer.py): the action may have been done, so its caller is told to check before trying again."""
    return getattr(error, "outcome_unknown", False)


def first_line(error: BaseException) -> str:
    """``safe_text``'s first line: what a log line says of the error."""
    return (safe_text(error).strip().splitlines() or ["?"])[0]


def safe_text(error: BaseException) -> str:
    """What a database error says, without PostgreSQL's DETAIL or HINT (they may quote a citizen's data):
    the primary message, and the statement SQLAlchemy names (its parameters are hidden)."""
    cause = getattr(error, "orig", None) or error
    primary = getattr(getattr(cause, "diag", None), "message_primary", None)
    if primary is None:
        return str(error)
    statement = getattr(error, "statement", None)
    return f"({type(cause).__module__}.{type(cause).__name__}) {primary}" + (
        f"\n[SQL: {statement}]" if statement else ""
    )


def log_internal(error: BaseException, line: str, logger: logging.Logger = log) -> None:
    """``line`` and the error's traceback, as ``logging`` writes it, but each exception in the chain said by
    ``safe_text``: no value of a PostgreSQL DETAIL reaches the log (Decree 13/2023 on personal data)."""
    parts, seen, current = [], set(), error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = "".join(traceback.format_tb(current.__traceback__))
        parts.append(f"Traceback (most recent call last):\n{frames}{type(current).__name__}: {safe_text(current)}")
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    logger.error("%s\n%s", line, "\n\nThe above exception led to the following one:\n\n".join(reversed(parts)))


class _Reporter:
    """One log line for the first fault of a kind, then one a minute with how many followed; and
    the kind of the last refused write until a write goes through again (the dashboard shows it)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._last: dict[tuple[str, str], float] = {}  # by (kind, "requests" or a loop)
        self._since: dict[tuple[str, str], int] = {}
        self.current: str | None = None

    def report(
        self, error: BaseException, where: str, reading: bool = False, loop_at: str | None = None
    ) -> tuple[str, bool]:
        """The fault's kind, and whether it is news (the last write did not fail this way). A fault of the
        server (``internal``) is logged with its traceback every time, and is no news for the dashboard.
        ``reading``: what failed was a read (the log says so), not a write. ``loop_at``: the site whose own loop
        ``where`` is (the day's end of a site, a printer's spooler), which gets a line a minute of its own
        (requests share one). A lost COMMIT PostgreSQL did
        not tell of (``outcome_unknown``) is said as that, at every occurrence, and is no news: its write
        may have been done, never "nothing was written" (each caller in its batch says so: the count in
        pg_writer's line about the batch can be checked against these lines)."""
        if outcome_unknown(error):
            log.error(
                "Database outcome unknown: the connection was lost once the COMMIT was sent and PostgreSQL"
                " could not tell what became of it. It may have been written (%s: %s).",
                where,
                first_line(error),
            )
            return OUTCOME_UNKNOWN, False
        kind = kind_of(error)
        if kind == INTERNAL:
            log_internal(error, f"A fault of the server, not of the database ({where}); see the traceback")
            return kind, False
        now, minute = time.monotonic(), (kind, "requests" if loop_at is None else f"{loop_at}: {where}")
        with self._lock:
            news, self.current = self.current != kind, kind
            if now - self._last.get(minute, -REPEAT_LOG_SECONDS) < REPEAT_LOG_SECONDS:
                self._since[minute] = self._since.get(minute, 0) + 1
                return kind, news
            repeats = self._since.pop(minute, 0)
            self._last[minute] = now
        detail = first_line(error)
        done = "could be read" if reading else "was written"
        log.error(
            "%s: %s. Nothing %s (%s: %s).%s",
            kind.replace("_", " ").capitalize(),
            ADVICE[kind],
            done,
            where,
            detail,
            # (requests share the minute's line: its count holds the reads and writes that failed after it)
            f" {repeats} more failed the same way since the last report." if repeats else "",
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
