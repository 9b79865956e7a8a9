"""Group commit for SQLite: one writer runs the actions that arrive together in one transaction.

SQLite takes one writer at a time anyway, and the fixed cost of a transaction (taking the
lock, writing the WAL on commit; an fsync with synchronous=FULL) is paid per commit. Here
the requests that arrive while a batch is being written wait in a queue, and the next batch
runs them all: each action inside its own savepoint, so a refused action rolls back alone,
and nobody gets an answer before the one commit that holds their change is done.

The WAL's checkpoints (copying what it holds into the database file, so that it can start
over) are off the commit: SQLite would run one inside every COMMIT that takes the WAL past
1,000 pages, and everyone in that batch would wait for it. Here a pool thread runs one on a
connection of its own every ``CHECKPOINT_EVERY`` committed actions, beside the writer, and
``QUIET_SECONDS`` after a commit.

On PostgreSQL (``pg_writer.PostgresGroupWriter``) the same shape shares the COMMIT's flush and the
transaction's round trips among a batch; see its docstring for how batches of several processes
keep out of each other's way. ``group_writer`` picks the writer for an engine.
"""

from __future__ import annotations

import contextvars
import logging
import os
import sqlite3
import time
from urllib.parse import quote

import gevent
from gevent.event import AsyncResult
from gevent.queue import Empty, Queue
from sqlalchemy.engine import Engine

from . import faults
from .db import driver_error
from .engine.prepared import sqlite_cursor
from .logs import sites_of

log = logging.getLogger(__name__)

MAX_BATCH = 64  # bounds how long one transaction holds the write lock
CHECKPOINT_EVERY = 300  # committed actions between two checkpoints of the WAL (see _Checkpoints)
# a WAL longer than this (frames of a page) after a checkpoint beside a steady stream of batches, which
# never leaves it a moment to start over: the writer waits for one checkpoint before its next batch
WAL_FRAMES_MAX = 2_000
QUIET_SECONDS = 1.0  # and a checkpoint this long after a commit: a quiet moment leaves the whole WAL copied


def _null(_none: None) -> None:
    return None


# sqlite3 binds a None parameter as NULL only after looking for an adapter of it: in its registry,
# then as ``PrepareProtocol.__adapt__``, a lookup on a type that fails and formats an AttributeError
# it drops (2-4 a ticket: a kiosk's ticket has no priority, its event no user). Registered, the
# adapter is found at once; the same NULL is bound. Process-wide: any SQLite statement gains it.
sqlite3.register_adapter(type(None), _null)
_SAVEPOINT = "SAVEPOINT qk_action"  # around each action of a batch
_ROLLBACK_TO = "ROLLBACK TO SAVEPOINT qk_action"
_RELEASE = "RELEASE SAVEPOINT qk_action"


def _commit(sqlite):
    """COMMIT on the pool's thread; a failure is returned, not raised (gevent's pool would print it)."""
    try:
        sqlite.commit()
    except Exception as error:  # noqa: BLE001 - handed back to the writer, which raises it
        return error
    return None


class _Checkpoints:
    """The WAL's checkpoints in a pool thread, on a connection of their own (``PASSIVE``: they wait
    for no one, and a COMMIT goes on meanwhile), instead of inside the writer's COMMIT."""

    def __init__(self, path: str):
        self._path = path
        self._writer_connection = None  # the writer's connection, once its own checkpoints are off
        self._since = 0  # actions committed since the last checkpoint began
        self._running = None  # the pool's result of the checkpoint under way
        self._frames = 0  # the WAL's length as the last checkpoint found it
        self.catch_up = False  # the writer should wait for a checkpoint before its next batch
        self._later = None  # the checkpoint due QUIET_SECONDS after a commit
        self._last_commit = 0.0  # (time.monotonic()) quiet is QUIET_SECONDS without a commit
        self.writing = False  # a batch is being written (GroupCommitWriter._write): not quiet
        self._failure = None  # why the last checkpoint failed, said on the hub (not from the pool's thread)
        # the checkpoints' own connection, kept while batches come: opening one reads the whole schema
        # (about 2 million instructions, at every checkpoint); closed after a quiet second
        self._connection = None

    def take_over(self, sqlite) -> None:
        """No checkpoint inside a COMMIT of the writer's connection (SQLite's wal_autocheckpoint)."""
        if sqlite is not self._writer_connection:
            sqlite.execute("PRAGMA wal_autocheckpoint=0")
            self._writer_connection = sqlite

    def committed(self, actions: int) -> None:
        if self._failure is not None:
            log.warning("checkpoint of the SQLite WAL failed: %s", self._failure)
            self._failure = None
        self.writing = False
        self._since += actions
        self._last_commit = time.monotonic()
        if self._later is None:
            self._later = gevent.spawn_later(QUIET_SECONDS, self._after_a_while)
        if self._since < CHECKPOINT_EVERY or self._under_way():
            return
        self.catch_up = self._frames > WAL_FRAMES_MAX
        if not self.catch_up:
            self._since = 0
            self._running = gevent.get_hub().threadpool.spawn(self._checkpoint)
        # else the writer waits for one (run_now) before its next batch, and the actions counted stay
        # counted: if no batch comes, the quiet moment's checkpoint copies them (catch_up stays set, so
        # a batch that comes meanwhile still waits, for that checkpoint and one more)

    def _under_way(self) -> bool:
        return self._running is not None and not self._running.ready()

    def _after_a_while(self) -> None:
        self._later = None
        # a checkpoint may have begun before the last commits, and a batch being written is not quiet (its
        # COMMIT's fsync, in a pool thread, may take seconds on a busy disk): look again later
        if self._under_way() or self.writing:
            self._later = gevent.spawn_later(QUIET_SECONDS, self._after_a_while)
            return
        if self._since:
            self._since = 0
            self._running = gevent.get_hub().threadpool.spawn(self._checkpoint)
            self._later = gevent.spawn_later(QUIET_SECONDS, self._after_a_while)  # then: quiet yet?
        elif (wait := self._last_commit + QUIET_SECONDS - time.monotonic()) > 0:
            # a commit within the second, its checkpoint begun after it: batches still come
            self._later = gevent.spawn_later(wait, self._after_a_while)
        else:  # a second without a commit: the checkpoints' connection is not kept
            self._close_connection()

    def _close_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def run_now(self) -> None:
        """A checkpoint with no batch being written: it copies the whole WAL, which then starts over."""
        self.catch_up = False
        # one checkpoint at a time on the kept connection: this one is "under way" like the others, so
        # the quiet-second greenlet neither starts another beside it nor closes the connection under it
        if self._under_way():
            self._running.get()
        self._running = gevent.get_hub().threadpool.spawn(self._checkpoint)
        log_frames, copied = self._running.get()
        if copied == log_frames:  # all of it: the WAL starts over at the next batch
            self._frames = 0

    def _checkpoint(self) -> tuple[int, int]:  # in a pool thread: (frames in the WAL, frames copied)
        if not os.path.exists(self._path):  # gone (a test's folder): nothing to copy, and no empty file made
            self._close_connection()
            return -1, 0
        try:
            connection = self._connection
            if connection is None:
                # (urllib.request's pathname2url is this quote on POSIX; importing it costs an idle serve ~0.2 MB)
                address = f"file:{quote(os.path.abspath(self._path))}?mode=rw"
                connection = sqlite3.connect(
                    address, uri=True, timeout=0, isolation_level=None, check_same_thread=False
                )
                self._connection = connection
                connection.execute("PRAGMA synchronous=FULL")  # the database file synced before the WAL starts over
            _busy, self._frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except Exception as error:  # noqa: BLE001 - the next one tries again; the WAL keeps everything meanwhile
            self._failure = error
            self._close_connection()
            return -1, 0
        return self._frames, copied


class GroupCommitWriter:
    def __init__(self, engine: Engine):
        self._engine = engine
        database = engine.url.database
        in_file = database and database != ":memory:" and not database.startswith("file:")
        self._checkpoints = _Checkpoints(database) if in_file else None
        self._jobs: Queue = Queue()
        self._greenlet = gevent.spawn(self._run)

    def submit(self, action, site, args, kwargs):
        """Run ``action(conn, site, *args, **kwargs)``; return its result once committed, or raise."""
        done = AsyncResult()
        # the caller's context: a batch that fails names the sites of its callers (logs.sites_of)
        self._jobs.put((action, (site, *args), kwargs, done, contextvars.copy_context()))
        return done.get()

    def _run(self):
        while True:
            batch = [self._jobs.get()]
            # let the callers of the batch just committed send their answers before this batch's
            # statements hold the hub: get() above returns at once when requests queued up during
            # that commit, and its callers would otherwise hear back only at this batch's COMMIT
            gevent.sleep(0)
            take_queued(self._jobs, batch, MAX_BATCH)
            try:
                self._write(batch)
            except BaseException as error:  # never leave a request waiting for an answer
                for *_job, done, _context in batch:
                    if not done.ready():
                        done.set_exception(error)
                raise

    def _write(self, batch):
        results = []
        if self._checkpoints is not None:
            if self._checkpoints.catch_up:
                self._checkpoints.run_now()
            self._checkpoints.writing = True  # (until committed, or the batch failed)
        try:
            with self._engine.begin() as conn:
                # the savepoints go straight to SQLite: SQLAlchemy's begin_nested() costs ten times the
                # statement (an object, events and two compiled statements per action), a large part of
                # a ticket's CPU. SQLAlchemy's own transaction is the one around them all.
                sqlite = conn.connection.dbapi_connection
                if self._checkpoints is not None:
                    self._checkpoints.take_over(sqlite)
                # the connection's kept cursor for the savepoints, Prepared's: the connection's execute makes
                # (and registers) a new cursor at each call (~0.9k instructions each, two an action)
                cursor = sqlite_cursor(conn)
                for action, args, kwargs, done, _context in batch:
                    cursor.execute(_SAVEPOINT)
                    try:
                        outcome = action(conn, *args, **kwargs)
                    except Exception as error:  # refused or failed: undo this action only ...
                        if not sqlite.in_transaction:
                            # ... unless SQLite rolled back the whole transaction itself (SQLITE_FULL,
                            # SQLITE_IOERR): what ran before is gone, and what follows would run
                            # outside any transaction, so the whole batch fails
                            raise
                        while conn.in_nested_transaction():  # a savepoint of the action's own, left open
                            conn.get_nested_transaction().rollback()
                        cursor.execute(_ROLLBACK_TO)
                        cursor.execute(_RELEASE)
                        results.append((done, None, error))
                    else:
                        cursor.execute(_RELEASE)
                        results.append((done, outcome, None))
                # the COMMIT, and its fsync, in a thread of gevent's pool: SQLite lets go of the GIL while it
                # writes, so the hub goes on reading and parsing the requests that make the next batch
                # instead of standing still for the disk. Nobody hears back before it returns.
                dbapi = conn.dialect.loaded_dbapi
                error = gevent.get_hub().threadpool.apply(_commit, (sqlite,))
                if isinstance(error, dbapi.Error):  # as SQLAlchemy's own commit would raise it
                    raise driver_error(conn, "COMMIT", None, error) from error
                if error is not None:
                    raise error
        except Exception as error:  # the batch or its commit failed: nothing in it happened
            if self._checkpoints is not None:
                self._checkpoints.writing = False
            if not isinstance(error, faults.DATABASE_ERRORS):  # a database fault: each caller reports it
                extra = sites_of(job[4] for job in batch)
                log.error("a batch of %d actions was not committed: %s", len(batch), error, extra=extra)
            for _action, _args, _kwargs, done, _context in batch:
                done.set_exception(error)
            return
        faults.writes_again()
        if self._checkpoints is not None:
            self._checkpoints.committed(len(batch))
        for done, outcome, error in results:
            if error is not None:
                done.set_exception(error)
            else:
                done.set(outcome)


def take_queued(jobs: Queue, batch: list, limit: int) -> None:
    """Add to ``batch`` the jobs already waiting in ``jobs``, up to ``limit`` in the batch."""
    while len(batch) < limit:
        try:
            batch.append(jobs.get_nowait())
        except Empty:
            return


def group_writer(engine: Engine):
    """The group writer for ``engine``: SQLite's, PostgreSQL's (through psycopg), else None (each
    write its own transaction). ``QUEUEKIOSK_PG_GROUP_COMMIT=0`` turns PostgreSQL's off."""
    if engine.dialect.name == "sqlite":
        return GroupCommitWriter(engine)
    if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
        if os.environ.get("QUEUEKIOSK_PG_GROUP_COMMIT", "1").strip() != "0":
            from .pg_writer import PostgresGroupWriter  # psycopg's writer: not loaded on SQLite

            return PostgresGroupWriter(engine)
    return None
