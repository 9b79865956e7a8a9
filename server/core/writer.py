"""Group commit for SQLite: one writer runs the actions that arrive together in one transaction.

SQLite takes one writer at a time anyway, and the fixed cost of a transaction (taking the
lock, writing the WAL on commit; an fsync with synchronous=FULL) is paid per commit. Here
the requests that arrive while a batch is being written wait in a queue, and the next batch
runs them all: each action inside its own savepoint, so a refused action rolls back alone,
and nobody gets an answer before the one commit that holds their change is done.

PostgreSQL handles concurrent transactions itself and does not use this.
"""

from __future__ import annotations

import logging

import gevent
from gevent.event import AsyncResult
from gevent.queue import Empty, Queue
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from . import faults

log = logging.getLogger(__name__)

MAX_BATCH = 64  # bounds how long one transaction holds the write lock
# a batch of one after this many batches of one in a row is committed on the hub (see _write)
ALONE_AFTER = 2
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


class GroupCommitWriter:
    def __init__(self, engine: Engine):
        self._engine = engine
        self._jobs: Queue = Queue()
        self._singles = 0  # batches of one in a row, up to the one being written
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
        try:
            with self._engine.begin() as conn:
                # the savepoints go straight to SQLite: SQLAlchemy's begin_nested() costs ten times the
                # statement (an object, events and two compiled statements per action), a large part of
                # a ticket's CPU. SQLAlchemy's own transaction is the one around them all.
                sqlite = conn.connection.dbapi_connection
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
                # A lone request, though (a kiosk's tap on a quiet day, batches of one in a row and
                # nobody waiting), is answered sooner when its COMMIT runs on the hub: handing it to a
                # thread and back costs more than the hub would do meanwhile.
                dbapi = conn.dialect.loaded_dbapi
                self._singles = self._singles + 1 if len(batch) == 1 else 0
                if self._singles > ALONE_AFTER and self._jobs.empty():
                    error = _commit(sqlite)
                else:
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
        for done, outcome, error in results:
            if error is not None:
                done.set_exception(error)
            else:
                done.set(outcome)
