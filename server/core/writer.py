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

On PostgreSQL (``PostgresGroupWriter``) the same shape shares the COMMIT's flush and the
transaction's round trips among a batch; see its docstring for how batches of several processes
keep out of each other's way. ``group_writer`` picks the writer for an engine.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from urllib.request import pathname2url

import gevent
from gevent.event import AsyncResult
from gevent.queue import Empty, Queue
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from . import faults
from .db import DEFERRED, ROW_ORDER, NumberRowOrder, OutOfOrder, send_deferred

log = logging.getLogger(__name__)

MAX_BATCH = 64  # bounds how long one transaction holds the write lock
CHECKPOINT_EVERY = 300  # committed actions between two checkpoints of the WAL (see _Checkpoints)
# a WAL longer than this (frames of a page) after a checkpoint beside a steady stream of batches, which
# never leaves it a moment to start over: the writer waits for one checkpoint before its next batch
WAL_FRAMES_MAX = 2_000
QUIET_SECONDS = 1.0  # and a checkpoint this long after a commit: a quiet moment leaves the whole WAL copied
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
        self._failure = None  # why the last checkpoint failed, said on the hub (not from the pool's thread)

    def take_over(self, sqlite) -> None:
        """No checkpoint inside a COMMIT of the writer's connection (SQLite's wal_autocheckpoint)."""
        if sqlite is not self._writer_connection:
            sqlite.execute("PRAGMA wal_autocheckpoint=0")
            self._writer_connection = sqlite

    def committed(self, actions: int) -> None:
        if self._failure is not None:
            log.warning("checkpoint of the SQLite WAL failed: %s", self._failure)
            self._failure = None
        self._since += actions
        if self._later is None:
            self._later = gevent.spawn_later(QUIET_SECONDS, self._after_a_while)
        if self._since < CHECKPOINT_EVERY or self._under_way():
            return
        self._since = 0
        self.catch_up = self._frames > WAL_FRAMES_MAX
        if not self.catch_up:
            self._running = gevent.get_hub().threadpool.spawn(self._checkpoint)

    def _under_way(self) -> bool:
        return self._running is not None and not self._running.ready()

    def _after_a_while(self) -> None:
        self._later = None
        if self._under_way():  # it may have begun before the last commits: look again once it is done
            if self._since:
                self._later = gevent.spawn_later(QUIET_SECONDS, self._after_a_while)
            return
        if self._since:
            self._since = 0
            self._running = gevent.get_hub().threadpool.spawn(self._checkpoint)

    def run_now(self) -> None:
        """A checkpoint with no batch being written: it copies the whole WAL, which then starts over."""
        self.catch_up = False
        log_frames, copied = gevent.get_hub().threadpool.apply(self._checkpoint)
        if copied == log_frames:  # all of it: the WAL starts over at the next batch
            self._frames = 0

    def _checkpoint(self) -> tuple[int, int]:  # in a pool thread: (frames in the WAL, frames copied)
        if not os.path.exists(self._path):  # gone (a test's folder): nothing to copy, and no empty file made
            return -1, 0
        try:
            address = f"file:{pathname2url(os.path.abspath(self._path))}?mode=rw"
            connection = sqlite3.connect(address, uri=True, timeout=0, isolation_level=None, check_same_thread=False)
            try:
                connection.execute("PRAGMA synchronous=FULL")  # the database file synced before the WAL starts over
                _busy, self._frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            finally:
                connection.close()
        except Exception as error:  # noqa: BLE001 - the next one tries again; the WAL keeps everything meanwhile
            self._failure = error
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
        self._jobs.put((action, (site, *args), kwargs, done))
        return done.get()

    def _run(self):
        while True:
            batch = [self._jobs.get()]
            # let the callers of the batch just committed send their answers before this batch's
            # statements hold the hub: get() above returns at once when requests queued up during
            # that commit, and its callers would otherwise hear back only at this batch's COMMIT
            gevent.sleep(0)
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._jobs.get_nowait())
                except Empty:
                    break
            try:
                self._write(batch)
            except BaseException as error:  # never leave a request waiting for an answer
                for *_job, done in batch:
                    if not done.ready():
                        done.set_exception(error)
                raise

    def _write(self, batch):
        results = []
        if self._checkpoints is not None and self._checkpoints.catch_up:
            self._checkpoints.run_now()
        try:
            with self._engine.begin() as conn:
                # the savepoints go straight to SQLite: SQLAlchemy's begin_nested() costs ten times the
                # statement (an object, events and two compiled statements per action), a large part of
                # a ticket's CPU. SQLAlchemy's own transaction is the one around them all.
                sqlite = conn.connection.dbapi_connection
                if self._checkpoints is not None:
                    self._checkpoints.take_over(sqlite)
                for action, args, kwargs, done in batch:
                    sqlite.execute(_SAVEPOINT)
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
                        sqlite.execute(_ROLLBACK_TO)
                        sqlite.execute(_RELEASE)
                        results.append((done, None, error))
                    else:
                        sqlite.execute(_RELEASE)
                        results.append((done, outcome, None))
                # the COMMIT, and its fsync, in a thread of gevent's pool: SQLite lets go of the GIL while it
                # writes, so the hub goes on reading and parsing the requests that make the next batch
                # instead of standing still for the disk. Nobody hears back before it returns.
                dbapi = conn.dialect.loaded_dbapi
                error = gevent.get_hub().threadpool.apply(_commit, (sqlite,))
                if isinstance(error, dbapi.Error):  # as SQLAlchemy's own commit would raise it
                    raise DBAPIError.instance("COMMIT", None, error, dbapi.Error, dialect=conn.dialect) from error
                if error is not None:
                    raise error
        except Exception as error:  # the batch or its commit failed: nothing in it happened
            if not isinstance(error, OperationalError):  # a full or busy database: each caller reports it
                log.error("a batch of %d actions was not committed: %s", len(batch), error)
            for _action, _args, _kwargs, done in batch:
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


def group_writer(engine: Engine):
    """The group writer for ``engine``: SQLite's, PostgreSQL's (through psycopg), else None (each
    write its own transaction). ``QUEUEKIOSK_PG_GROUP_COMMIT=0`` turns PostgreSQL's off."""
    if engine.dialect.name == "sqlite":
        return GroupCommitWriter(engine)
    if engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg":
        if os.environ.get("QUEUEKIOSK_PG_GROUP_COMMIT", "1").strip() != "0":
            return PostgresGroupWriter(engine)
    return None


PG_MAX_BATCH = 32  # a savepoint's XID stays cached in the backend up to 64 a transaction; past that,
# every snapshot of every backend looks further (PostgreSQL's "suboverflowed" transactions)
PG_LANES = 2  # batches written side by side, each lane its own services (see PostgresGroupWriter.submit)
PG_TRIES = 5  # runs of an action that met a deadlock or a busy row before its caller hears of it
# deadlock, serialization failure, lock not available: nothing of the action happened, it may run again
_RETRY_STATES = frozenset({"40P01", "40001", "55P03"})


def _sqlstate(error) -> str | None:
    return getattr(getattr(error, "orig", error), "sqlstate", None)


class PostgresGroupWriter:
    """Group commit on PostgreSQL: the actions that arrive together run in one transaction of one
    connection, each inside a savepoint, and one COMMIT (one flush of PostgreSQL's WAL) answers
    them all. A ticket costs two round trips instead of three (its statement; its deferred writes
    with the RELEASE and the next action's SAVEPOINT), and the BEGIN and the COMMIT are shared.

    A batch holds the number rows it locked until its COMMIT, and another process's batch may want
    the same rows: each batch takes them in one order (service, day ascending: db.NumberRowOrder).
    An action that would lock a row below one the batch already holds is undone (its savepoint) and
    runs first in the next batch; an action that still meets a deadlock (rows other than number rows,
    say) or a serialization failure is undone and runs again in a later batch, up to ``PG_TRIES``
    times. Nothing is lost or done twice: an undone action left nothing in the database, and each
    caller hears back once, after the COMMIT that holds its change (or with its error)."""

    def __init__(self, engine: Engine, lanes: int | None = None):
        self._engine = engine
        self._lanes = [_Lane(self) for _ in range(lanes or pg_lanes())]

    def submit(self, action, site, args, kwargs):
        """Run ``action(conn, site, *args, **kwargs)``; return its result once committed, or raise."""
        done = AsyncResult()
        job = [action, (site, *args), kwargs, done, 0, None]  # (tries, the number row it wanted)
        row = _row_of(job)
        # issuing of different services in different lanes: their batches lock different rows, and
        # one lane's round trips go on while another's wait
        lane = self._lanes[row[1] % len(self._lanes) if row[0] == 0 else 0]
        lane.jobs.put(job)
        return done.get()

    def _write(self, lane, batch):
        batch.sort(key=_row_of)  # the likely number rows in order, so few actions wait for the next batch
        results = []
        order = NumberRowOrder()
        try:
            with self._engine.connect() as conn:
                info = conn.info  # the pooled connection's own: what is put here is taken out below
                info[DEFERRED], info[ROW_ORDER] = [], order
                try:
                    self._run_batch(lane, conn, batch, order, results)
                finally:
                    info.pop(ROW_ORDER, None)
                    info.pop(DEFERRED, None)
        except Exception as error:  # the batch or its commit failed: nothing in it happened
            again, lane.again = lane.again, []
            if not isinstance(error, OperationalError):
                log.error("a batch of %d actions was not committed: %s", len(batch), error)
            for job in batch + again:
                if not job[3].ready():
                    job[3].set_exception(error)
            return
        faults.writes_again()
        for done, outcome, error in results:
            if error is not None:
                done.set_exception(error)
            else:
                done.set(outcome)

    def _run_batch(self, lane, conn, batch, order, results) -> None:
        with conn.begin():
            dbapi_connection = conn.connection.dbapi_connection
            dbapi_connection.execute(_SAVEPOINT)  # (psycopg sends the BEGIN before it)
            last = len(batch) - 1
            for index, job in enumerate(batch):
                action, args, kwargs, done, _tries, _row = job
                try:
                    outcome = action(conn, *args, **kwargs)
                    # its deferred writes with the savepoint let go and the next one set (or the
                    # COMMIT): an error of a deferred write is this action's own
                    send_deferred(conn, then=(_RELEASE, "COMMIT" if index == last else _SAVEPOINT))
                except Exception as error:  # refused or failed: undo this action only ...
                    status = None if conn.invalidated else dbapi_connection.info.transaction_status
                    if status not in (_INTRANS, _INERROR):
                        raise  # ... unless the transaction is gone: nothing of the batch happened
                    order.undone()
                    conn.info[DEFERRED].clear()
                    while conn.in_nested_transaction():  # a savepoint of the action's own, left open
                        conn.get_nested_transaction().rollback()
                    tail = "COMMIT" if index == last else _SAVEPOINT
                    dbapi_connection.execute(f"{_ROLLBACK_TO}; {_RELEASE}; {tail}")
                    if isinstance(error, OutOfOrder):  # not a failure: it waits for its turn
                        job[5] = error.args[0]  # the row it wanted: its place in the next batch
                        lane.again.append(job)
                        continue
                    job[4] += 1
                    if _sqlstate(error) in _RETRY_STATES and job[4] < PG_TRIES:
                        lane.again.append(job)
                    else:
                        results.append((done, None, error))
                else:
                    order.released()
                    results.append((done, outcome, None))


class _Lane:
    """A writer's queue and the greenlet that writes its batches, on a connection of its own."""

    def __init__(self, writer: PostgresGroupWriter):
        self.jobs: Queue = Queue()
        self.again: list = []  # jobs put off to the next batch
        self.greenlet = gevent.spawn(self._run, writer)

    def _run(self, writer):
        while True:
            if self.again:
                batch, self.again = self.again, []
            else:
                batch = [self.jobs.get()]
                gevent.sleep(0)  # as GroupCommitWriter: the last batch's callers answer first
            while len(batch) < PG_MAX_BATCH:
                try:
                    batch.append(self.jobs.get_nowait())
                except Empty:
                    break
            try:
                writer._write(self, batch)
            except BaseException as error:  # never leave a request waiting for an answer
                for *_job, done, _tries, _row in batch:
                    if not done.ready():
                        done.set_exception(error)
                raise


def pg_lanes() -> int:
    """``QUEUEKIOSK_PG_WRITERS``: the group writer's lanes (connections writing batches side by side)."""
    value = os.environ.get("QUEUEKIOSK_PG_WRITERS", "").strip()
    return int(value) if value.isdigit() and 1 <= int(value) <= 16 else PG_LANES


_INTRANS, _INERROR = 2, 3  # psycopg's pq.TransactionStatus: in a transaction; in a failed one


def _row_of(job) -> tuple:
    """Where a job goes in its batch: first those put off by the last batch, by the number row each
    wanted (the first of a batch is never put off: each goes in turn); then by the service its first
    argument names (issuing's), and last the others (they may lock anything)."""
    if job[5] is not None:
        return (-1, *job[5])
    site, *rest = job[1]
    service = site.service_ids.get(rest[0]) if rest and isinstance(rest[0], str) else None
    return (0, service) if service is not None else (1, 0)
