"""Group commit on PostgreSQL: ``PostgresGroupWriter``, the same shape as SQLite's writer
(server/core/writer.py), sharing the COMMIT's flush and the transaction's round trips among a batch,
in lanes that write batches of different services side by side."""

from __future__ import annotations

import collections
import contextvars
import copy
import logging
import os
import time

import gevent
import orjson
from gevent.event import AsyncResult
from gevent.queue import Empty, Queue
from greenlet import GreenletExit, getcurrent, greenlet
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from . import faults
from .db import (
    DEFERRED,
    GATHER,
    IDLE_PING_SECONDS,
    ROW_ORDER,
    NumberRowOrder,
    OutOfOrder,
    driver_error,
    forget_older_connections,
    send_deferred,
)
from .engine.prepared import has_rows, many_values
from .logs import sites_of
from .pg_commit import COMMITTED, ROLLED_BACK, SERVER, SERVER_CRASHED, UNKNOWN, XACT, commit_outcome, release_and_commit
from .pg_commit import sqlstate as _sqlstate
from .pg_pipeline import buffer_queued, queue_execute
from .writer import _RELEASE, _ROLLBACK_TO, _SAVEPOINT, take_queued

log = logging.getLogger(__name__)

PG_MAX_BATCH = 32  # a savepoint's XID stays cached in the backend up to 64 a transaction; past that,
# every snapshot of every backend looks further (PostgreSQL's "suboverflowed" transactions)
# batches written side by side, each lane its own services (see PostgresGroupWriter.submit). One: on a
# machine whose cores the servers share with PostgreSQL, a process's batches of all its services in one
# lane are twice as large, and a ticket cost less CPU of the server and of PostgreSQL (one commit, one
# BEGIN, savepoint and webhook look per ~25 tickets instead of ~11; bench_production's way, 4 rounds:
# PostgreSQL's CPU 0.088-0.093 against 0.129-0.144 ms a ticket, two processes with Redis 1,064-1,296/s
# against 726-1,008/s). Two or more pay off where round trips, not CPU, are the limit (PostgreSQL far).
PG_LANES = 1
CAREFUL_BATCHES = 8  # after an action was refused under a shared savepoint: batches that take one at every action
PG_TRIES = 5  # runs of an action that met a deadlock or a busy row before its caller hears of it
# an action of a batch whose COMMIT was lost runs again only this soon after its own caller came (counted
# once PostgreSQL was asked: _fresh): a batch rolled back, as a whole, if its oldest caller did; one refused
# or put off before the COMMIT, alone. Its caller still waits (a kiosk gives up after 10 s; a number issued
# after that is one nobody takes)
RUN_AGAIN_SECONDS = 5.0
# deadlock, serialization failure, lock not available: nothing of the action happened, it may run again
_RETRY_STATES = frozenset({"40P01", "40001", "55P03"})


class PostgresGroupWriter:
    """Group commit on PostgreSQL: the actions that arrive together run in one transaction of one
    connection, each inside a savepoint, and one COMMIT (one flush of PostgreSQL's WAL) answers
    them all. An action's deferred writes go with the RELEASE of its savepoint and the next action's
    SAVEPOINT, one round trip; the BEGIN and the COMMIT are shared.

    Issuing's actions, which write only to the database and may run again, share a savepoint while
    they come one after another with no deferred writes: a ticket is then one round trip (its
    statement) instead of two. When one of them fails, the savepoint undoes those before it too:
    they run again first in the next batch (their callers, not yet answered, never see it), and the
    next ``CAREFUL_BATCHES`` batches take a savepoint at every action, so a stream of refusals costs
    no more than before.

    A batch holds the number rows it locked until its COMMIT, and another process's batch may want
    the same rows: each batch takes them in one order ((day, service) ascending: db.NumberRowOrder;
    an action that changes several rows, a close, takes them in that order itself).
    An action that would lock a row below one the batch already holds is undone (its savepoint) and
    runs first in the next batch; an action that still meets a deadlock (rows other than number rows,
    say) or a serialization failure is undone and runs again in a later batch, up to ``PG_TRIES``
    times. Nothing is lost or done twice: an undone action left nothing in the database, and each
    caller hears back once, after the COMMIT that holds its change (or with its error).

    A batch whose connection is found lost by its first round trip (PostgreSQL restarted, failed over,
    or ended the session, while the lane kept it or the pool held it idle) runs again once, on a fresh
    connection, the pool's older ones replaced first (db.forget_older_connections). That round trip may
    have carried BEGIN and the first statements, never the COMMIT, and PostgreSQL rolls back the open
    transaction of a session that ends: nothing of the batch happened. One lost later fails, its
    callers told (503), unless it was lost once the COMMIT was sent: the COMMIT may have reached
    PostgreSQL (only its answer lost: a number issued, a clerk's call made) or not. The batch learnt
    its transaction's id in its first round trip (pg_commit.XACT, with the BEGIN: no round trip of its
    own; its server is learnt once per connection, pg_commit.SERVER), and PostgreSQL is asked on a
    fresh connection what became of it (pg_commit.commit_outcome): committed, its callers are answered as if the COMMIT's answer had come (the web layer then tells
    the screens); rolled back, nothing of it happened and it runs again once on a fresh connection
    while its callers still wait (``RUN_AGAIN_SECONDS`` from the oldest one's arrival, counted once
    PostgreSQL was asked); no answer, or one not to be trusted (another server answering: restarted,
    crashed and reinitialised, or a replica promoted, since; an error of the question), its callers are told it may have been done (503 ``database_outcome_unknown``,
    faults.outcome_unknown). A batch that may have committed never runs again: that could give a
    number twice. Only the callers whose writes may be in its transaction hear of the loss, though
    (``_not_committed``): an action refused in it or put off to the next batch (undone to its savepoint
    before the COMMIT, or not yet run) runs in the lane's next batch while its own caller likely waits
    (``_fresh``, the one rule; a refusal may rest on a write of the batch that never was), else its
    caller hears the database is busy. The asking
    runs in the lane's greenlet: the lane's other writes wait for it (about ``pg_commit.ASK_SECONDS``,
    in an outage)."""

    def __init__(self, engine: Engine, lanes: int | None = None):
        self._engine = engine
        self.invalidations = 0  # connections of the pool found broken: a lane then lets its own go
        self.lost_at_start = 0  # batches run again because their connection was found lost at their start
        self.lost_commits: collections.Counter = collections.Counter()  # what PostgreSQL said of lost COMMITs
        self._pool = engine.pool  # (the engine's next pool, after a dispose(), hears through this one's listener)
        event.listen(self._pool, "invalidate", self._invalidated)
        self._lanes = [_Lane(self) for _ in range(lanes or pg_lanes())]

    def close(self) -> None:
        """Stop the lanes and let their connections go back to the pool, for a writer that ends before its
        process does (a test's), so that disposing of the engine closes them. Call it once no action waits:
        a batch under way would fail (its callers hear GreenletExit), and a job a lane had just taken would
        never be answered."""
        for lane in self._lanes:
            lane.greenlet.kill()
            lane.let_go()
        if event.contains(self._pool, "invalidate", self._invalidated):
            event.remove(self._pool, "invalidate", self._invalidated)

    def _invalidated(self, *_args) -> None:
        # SQLAlchemy replaces the pool's connections made before a lost one as they are checked out;
        # a lane's kept connection is not checked out again, so it goes back and a fresh one comes
        self.invalidations += 1

    def submit(self, action, site, args, kwargs):
        """Run ``action(conn, site, *args, **kwargs)``; return its result once committed, or raise."""
        done = AsyncResult()
        # (tries, the number row it wanted, the caller's context: a failed batch names its sites, logs.sites_of;
        # when it came: a batch lost at its COMMIT runs again only while its oldest caller likely waits)
        job = [action, (site, *args), kwargs, done, 0, None, contextvars.copy_context(), time.monotonic()]
        row = _row_of(job)
        # issuing of different services in different lanes: their batches lock different rows, and
        # one lane's round trips go on while another's wait
        lane = self._lanes[row[1] % len(self._lanes) if row[0] == 0 else 0]
        lane.jobs.put(job)
        return done.get()

    def _write(self, lane, batch):
        batch.sort(key=_row_of)  # the likely number rows in order, so few actions wait for the next batch
        careful = lane.careful
        try:
            try:
                results = self._attempt(lane, batch, may_run_again=True)
            except Exception:
                if lane.lost_at_start:
                    # Its connection was found lost by the batch's first round trip (kept from an earlier
                    # batch, or idle in the pool, when PostgreSQL restarted, failed over or ended its
                    # sessions). No COMMIT was sent, and PostgreSQL rolls back the open transaction of a
                    # session that ends: nothing of the batch happened.
                    self.lost_at_start += 1
                    log.warning(
                        "a batch's connection to PostgreSQL was found lost at its start: it runs again on a"
                        " fresh one (%d such runs since the server started)",
                        self.lost_at_start,
                    )
                elif not lane.rolled_back:  # (lost after its COMMIT was sent, and PostgreSQL said it rolled back)
                    raise
                # Once more, on a fresh connection (the pool's older ones are likely dead too: a failover
                # that moved the address says nothing on them), so that the first request after a
                # restart is served, not told "busy".
                lane.let_go()
                forget_older_connections(self._engine)
                lane.careful = careful
                lane.again = []  # (jobs of this batch put off by the run that failed: they run in it again)
                results = self._attempt(lane, batch)
        except Exception as error:  # the batch or its commit failed: nothing in it happened (or, its
            # COMMIT lost and not found committed, it may have: _not_committed told apart those not in it)
            lane.let_go()  # (rolled back: back to the pool, or dropped if lost)
            if error is lane.commit_lost:  # (those that run again stay in lane.again: the next batch)
                answers, waiting = lane.answers, {id(job) for job in lane.again}
            else:  # (those put off are jobs of the batch: they hear its error)
                answers, waiting, lane.again = [], set(), []
            if not isinstance(error, faults.DATABASE_ERRORS):  # a database fault: each caller reports it
                log.error("a batch of %d actions was not committed: %s", len(batch), error, extra=_sites(batch))
            for done, answer in answers:
                done.set_exception(answer)
            for job in batch:
                if id(job) not in waiting and not job[3].ready():
                    job[3].set_exception(error)
            return
        faults.writes_again()
        for done, outcome, error in results:
            if error is not None:
                done.set_exception(error)
            else:
                done.set(outcome)

    def _attempt(self, lane, batch, may_run_again: bool = False) -> list:
        """Run ``batch`` on the lane's connection: (done, outcome, error) of each action answered, once
        the COMMIT is through (or found committed); else it raises (``lane.lost_at_start``: lost on its
        first round trip, which never holds the COMMIT; ``lane.rolled_back``: lost once the COMMIT was
        sent, found rolled back while its callers still wait, if ``may_run_again``)."""
        results = []
        order = NumberRowOrder()
        lane.lost_at_start = lane.rolled_back = False
        lane.xact = lane.commit_lost = None
        lane.answers = []
        conn = lane.connection()
        info = conn.info  # the pooled connection's own: what is put here is taken out below
        info[DEFERRED], info[ROW_ORDER] = [], order
        try:
            self._run_batch(lane, conn, batch, order, results)
        except Exception as error:
            if lane.commit_lost is None:
                raise
            if not isinstance(error, (SQLAlchemyError, conn.dialect.loaded_dbapi.Error, OSError)):
                # a fault of the server once the COMMIT was sent (not SQLAlchemy's end of the transaction on
                # the lost connection, a PendingRollbackError): said with its traceback, and its callers told
                # what is known, that it may have been written, not the fault (500: "nothing was done"); those
                # refused or put off before the COMMIT were in no part of it: they run again (_not_committed)
                told = _not_committed(lane, batch, results, unknown=True)
                log.exception(
                    "a fault of the server in a batch of %d actions whose connection to PostgreSQL was lost once"
                    " its COMMIT was sent: %s",
                    len(batch),
                    told,
                    extra=_sites(batch),
                )
                self.lost_commits[UNKNOWN] += 1
                lane.commit_lost.outcome_unknown = True
                raise lane.commit_lost from error
        finally:
            if not conn.invalidated:  # (a lost connection's info goes with it)
                info.pop(ROW_ORDER, None)
                info.pop(DEFERRED, None)
        if lane.commit_lost is not None:
            self._commit_found(lane, batch, results, may_run_again)
        return results

    def _commit_found(self, lane, batch, results: list, may_run_again: bool) -> None:
        """The batch's connection was lost once its COMMIT was sent (``lane.commit_lost``): returns if
        PostgreSQL says its transaction committed (``results`` stand, as the batch ran to its end);
        else raises the loss (``lane.rolled_back``: nothing of it happened, and it runs again as a whole
        if ``may_run_again`` and all its callers are fresh, ``_fresh``; if not, _not_committed tells apart
        the callers whose actions may be in its transaction from those that run again or hear busy).
        The asking holds the lane's other writes (a few seconds, in an outage)."""
        lane.let_go()
        if _sqlstate(lane.commit_lost) in SERVER_CRASHED:  # (PostgreSQL went down: ids may be given again)
            outcome = UNKNOWN
        else:
            try:
                outcome = commit_outcome(self._engine, *lane.xact)
            except Exception:  # (unforeseen: "unknown" is never a wrong answer)
                log.exception("asking PostgreSQL what became of a batch's lost COMMIT failed")
                outcome = UNKNOWN
        self.lost_commits[outcome] += 1
        now = time.monotonic()
        again = may_run_again and all(_fresh(job, now) for job in batch)
        if outcome == COMMITTED:
            then = "its callers are answered"
        elif outcome == ROLLED_BACK and again:
            then, lane.rolled_back = "it runs again on a fresh connection", True
        else:
            then = _not_committed(lane, batch, results, unknown=outcome == UNKNOWN)
        if outcome in (COMMITTED, ROLLED_BACK):
            said = f"PostgreSQL says it {outcome}"
        else:
            said = "PostgreSQL could not tell (out of reach, crashed, or restarted or failed over since)"
        log.warning(
            "the connection of a batch of %d actions to PostgreSQL was lost once its COMMIT was sent"
            " (transaction %s): %s: %s",
            len(batch),
            lane.xact[0],
            said,
            then,
            extra=_sites(batch),
        )
        if outcome == UNKNOWN:
            lane.commit_lost.outcome_unknown = True  # (faults.outcome_unknown: its callers told so)
        if outcome != COMMITTED:
            raise lane.commit_lost

    def _run_batch(self, lane, conn, batch, order, results) -> None:
        with conn.begin():
            last = len(batch) - 1
            careful, lane.careful = lane.careful > 0, max(lane.careful - 1, 0)
            provisional = []  # (job, outcome) since the last savepoint: undone with it if a later action fails
            index = 0
            if careful or not _gathers(batch, 0):
                _begin(lane, conn)
            # (else the BEGIN and the savepoint go with the gathered actions' first statements)
            while index <= last:
                if not careful and _gathers(batch, index):
                    index = self._run_gathered(lane, conn, batch, index, results, provisional)
                    continue
                job = batch[index]
                index += 1
                action, args, kwargs, done = job[:4]
                try:
                    outcome = action(conn, *args, **kwargs)
                    if index > last:  # its deferred writes with the COMMIT
                        _send_commit(lane, conn, release_and_commit, conn)
                    elif careful or conn.info[DEFERRED] or not _rerunnable(job):
                        # its deferred writes with the savepoint let go and the next one set: an error
                        # of a deferred write is this action's own
                        send_deferred(conn, then=(_RELEASE, _SAVEPOINT))
                    else:  # no round trip: the next action runs under the same savepoint
                        order.released()
                        provisional.append((job, outcome))
                        continue
                except Exception as error:  # refused or failed: undo this action only ...
                    if not _in_transaction(conn):
                        raise  # ... unless the transaction is gone: nothing of the batch happened
                    order.undone()
                    _undo_to_savepoint(lane, conn, provisional, "COMMIT" if index > last else _SAVEPOINT)
                    _refused(lane, job, error, results)
                else:
                    order.released()
                    results.extend((kept[3], kept_outcome, None) for kept, kept_outcome in provisional)
                    provisional.clear()
                    results.append((done, outcome, None))

    def _run_gathered(self, lane, conn, batch, index, results, provisional) -> int:
        """Issuing's actions from ``batch[index]`` on, side by side under the savepoint (``Gathered``):
        their statements go in one round trip each turn. The index of the next job."""
        end = index
        while end < len(batch) and _rerunnable(batch[end]):
            end += 1
        run = batch[index:end]
        ends_batch = end == len(batch)
        gathered = Gathered(first=(_BEGIN, XACT, _SAVEPOINT) if index == 0 else ())
        server = conn.info[SERVER]  # (read now: a connection lost in the run has no info)
        outcomes, failed = gathered.run(conn, run)
        if index == 0 and gathered.opened[1][0]:  # (the transaction's id and session, with its BEGIN)
            lane.xact = (*gathered.opened[1][0][0], server)
        if failed is None:
            provisional.extend(zip(run, outcomes, strict=True))
            if ends_batch:
                _send_commit(lane, conn, release_and_commit, conn)
                results.extend((kept[3], kept_outcome, None) for kept, kept_outcome in provisional)
                provisional.clear()
            return end
        position, error = failed
        if conn.invalidated and gathered.database_error is not None:  # lost: nothing of the batch
            # happened; its callers hear the database's error as one action at a time would (errors.py: 503)
            lost = gathered.database_error
            lane.lost_at_start = index == 0 and gathered.round_trips == 1  # (its BEGIN went in that one)
            raise driver_error(conn, None, None, lost, lost=True) from lost
        if not isinstance(error, Exception):
            raise error  # (a BaseException: the batch fails, as it would one action at a time)
        if not _in_transaction(conn):
            raise error  # the transaction is gone: nothing of the batch happened
        _undo_to_savepoint(lane, conn, provisional, "COMMIT" if ends_batch else _SAVEPOINT)
        # undone with the savepoint too: the run but its first failure (each ran as it would have one
        # at a time up to it), which the next batches run one at a time
        lane.careful = CAREFUL_BATCHES
        for offset, job in enumerate(run):
            if offset != position or gathered.database_error is not None:
                lane.again.append(job)  # (a database error is found again, and told, one at a time)
            else:
                _refused(lane, job, error, results)
        return end


class Gathered:
    """A run of issuing's actions side by side on one connection, each in a greenlet of its own: a
    statement of theirs that needs its answer (engine/prepared.py, through ``statement``) waits
    while the others run to theirs, and then all go to PostgreSQL in one round trip (psycopg's
    pipeline mode) instead of one each. Each action's statements keep their order, the actions
    theirs (statements are sent in the order they came: a run of issuing's actions, sorted by
    service, locks its number rows in that order). A statement of SQLAlchemy's in an action sends
    those gathered before it first (db.py). A read whose answer is wanted later (Prepared.rows_later:
    the look at the webhooks, outbox.wanted) goes in the next round trip, ahead of the statements
    gathered for it (so that the actions' tickets, of several sites too, stay one statement). The
    run stops at its first failure (everything in it is undone and runs again one at a time); a
    connection lost in it fails the batch with OperationalError."""

    __slots__ = ("driver", "queue", "opened", "database_error", "round_trips", "_reads_at")

    def __init__(self, first: tuple[str, ...] = ()):
        self.driver = None
        self.round_trips = 0  # flushes that sent something
        # [sql, values, slot, many], slot = [rows, error]; many: Prepared's
        self.queue: list = [[sql, None, [None, None], None] for sql in first]
        self.opened = [entry[2] for entry in self.queue]  # the slots of ``first``'s statements
        self.database_error = None  # the first error PostgreSQL (or psycopg, before sending) gave
        self._reads_at = len(self.queue)  # where the next read asked for later goes

    def statement(self, conn, sql: str, values: dict, answer: bool, many: str | None = None) -> list:
        """``many``: the statement for several executions at once (Prepared's ``many``), sent for
        those that come one after another."""
        slot = self.send_later(sql, values, many)
        return self.answer(conn, sql, values, slot) if answer else []

    def send_later(self, sql: str, values: dict, many: str | None = None, read: bool = False) -> list:
        """Queue a statement; its slot, [rows, error], which ``answer`` reads. ``read``: a read of what
        the run's actions do not write, sent ahead of the statements gathered so far."""
        slot = [None, None]
        if read:
            self.queue.insert(self._reads_at, [sql, values, slot, None])
            self._reads_at += 1
        else:
            self.queue.append([sql, values, slot, many])
        return slot

    def answer(self, conn, sql: str, values: dict, slot: list) -> list:
        """The rows of a statement this run queued: sent with the others first if it was not yet."""
        if slot[0] is None and slot[1] is None:
            if getcurrent() is self.driver:  # (never: the driver sends, it does not ask)
                self.flush(conn)
            else:
                self.driver.switch()  # the others run to their statements; then all are sent
        if slot[1] is not None:
            error = slot[1]
            raise driver_error(conn, sql, values, error) from error
        return slot[0]

    def flush(self, conn) -> None:
        """Send what was gathered, in one round trip; each statement's rows (or error) to its slot."""
        queue, self.queue, self._reads_at = self.queue, [], 0
        if not queue:
            return
        dbapi_connection = conn.connection.dbapi_connection
        dbapi = conn.dialect.loaded_dbapi
        sends = _together(queue)
        sent = []
        self.round_trips += 1
        try:
            with dbapi_connection.pipeline():  # sent as it leaves pipeline mode: one Sync, one wait
                for sql, values, slots in sends:
                    if values is None and sql in _COMMANDS:  # as psycopg queues its own BEGIN: no cursor,
                        for _ in dbapi_connection._exec_command(sql):  # ~45 Python calls less; its error
                            pass  # raised as a statement's
                        sent.append((None, slots))
                        continue
                    cursor = dbapi_connection.cursor()
                    sent.append((cursor, slots))
                    queue_execute(dbapi_connection, cursor, sql, values)  # (sent with the Sync)
                buffer_queued(dbapi_connection)
        except Exception as error:  # noqa: BLE001 - PostgreSQL's, or psycopg's own before sending (values
            # it could not write, e.g. an array of both naive and aware times): the run is undone and
            # each action runs again alone, so only the one whose values fail hears of it
            self._failed(conn, error)
        for cursor, slots in sent:
            if cursor is None:  # (a command: no rows, or the batch's error)
                slots[0][:] = [[], None] if self.database_error is None else [None, self.database_error]
                continue
            try:
                if cursor.pgresult is None:  # failed, or not run after another's failure (no rows: an error)
                    error = self.database_error or dbapi.OperationalError("the statement was not run")
                    for slot in slots:
                        slot[1] = error
                    continue
                rows = [tuple(row) for row in cursor.fetchall()] if has_rows(cursor) else []
                if len(slots) == 1:
                    slots[0][0] = rows
                elif len(rows) != len(slots):  # (never: a ``many`` statement answers each execution)
                    for slot in slots:
                        slot[1] = dbapi.ProgrammingError(f"{len(rows)} rows for {len(slots)} executions")
                else:
                    for slot, row in zip(slots, rows, strict=True):
                        slot[0] = [row]
            except dbapi.Error as error:
                for slot in slots:
                    slot[1] = self.database_error or error
            finally:
                cursor.close()
        for _sql, _values, slots in sends[len(sent) :]:
            for slot in slots:
                slot[1] = self.database_error

    def _failed(self, conn, error) -> None:
        if self.database_error is None:
            self.database_error = error
        _lost(conn, error)

    def run(self, conn, run: list) -> tuple[list, tuple | None]:
        """Each job's outcome, and (its place, its error) for the first that failed, or None."""
        self.driver = getcurrent()
        outcomes, errors = [None] * len(run), [None] * len(run)

        def act(position, action, args, kwargs):
            try:
                outcomes[position] = action(conn, *args, **kwargs)
            except GreenletExit:  # thrown by the run when it stops: not the action's error
                return
            except BaseException as error:  # noqa: BLE001 - told to the writer, which decides
                errors[position] = error

        actors = [greenlet(act) for _ in run]
        started = False
        conn.info[GATHER] = self
        try:
            waiting = list(range(len(run)))
            while waiting:
                for position in waiting:
                    if started:
                        actors[position].switch()
                    else:
                        action, args, kwargs = run[position][:3]
                        actors[position].switch(position, action, args, kwargs)
                started = True
                waiting = [position for position in waiting if not actors[position].dead]
                self.flush(conn)
                if self.database_error is not None or any(error is not None for error in errors):
                    break  # (the run is undone and run again: the others' turns would be for nothing)
        finally:
            if not conn.invalidated:
                conn.info.pop(GATHER, None)
            for actor in actors:
                if not actor.dead:
                    actor.throw()  # (GreenletExit, caught in act: it ends, with no error of its own)
        for position, error in enumerate(errors):
            if error is not None:
                return outcomes, (position, error)
        if self.database_error is not None:
            return outcomes, (0, self.database_error)
        return outcomes, None


def _together(queue: list) -> list:
    """The gathered statements as sent: (sql, values, their slots); a run of two or more executions
    of one statement that has a ``many`` form, one after another, as that one statement with their
    values together (prepared.many_values); a run whose values orjson does not write, one at a time."""
    sends = []
    index = 0
    while index < len(queue):
        sql, values, slot, many = queue[index]
        end = index + 1
        if many is not None:
            while end < len(queue) and queue[end][0] == sql:
                end += 1
        if end - index == 1:
            sends.append((sql, values, [slot]))
        else:
            run = queue[index:end]
            try:
                sends.append((many, many_values(many, [entry[1] for entry in run]), [entry[2] for entry in run]))
            except orjson.JSONEncodeError:  # (a TypeError: that is what orjson raises)
                sends.extend((sql, entry[1], [entry[2]]) for entry in run)
        index = end
    return sends


def _begin(lane, conn) -> None:
    """The batch's BEGIN, its transaction's id and session (``lane.xact``, with the connection's server)
    and its first savepoint, one round trip."""
    cursor = _first_round_trip(lane, conn, f"{_BEGIN}; {XACT}; {_SAVEPOINT}")
    cursor.nextset()  # (the BEGIN's result first)
    lane.xact = (*cursor.fetchone(), conn.info[SERVER])


def _first_round_trip(lane, conn, sql: str):
    """``sql`` sent on the batch's connection before any action of it, its cursor. A connection found
    lost here ran no action of the batch and was sent no COMMIT: ``lane.lost_at_start``."""
    try:
        return _send(conn, sql)
    except DBAPIError as error:
        lane.lost_at_start = error.connection_invalidated
        raise


def _send(conn, sql: str):
    """``sql`` sent on the batch's own connection, its cursor. A connection found lost by it is raised
    as SQLAlchemy's error of a lost connection (its callers hear 503, errors.py), the driver's other
    errors as they are."""
    try:
        return conn.connection.dbapi_connection.execute(sql)
    except conn.dialect.loaded_dbapi.Error as error:
        if not _lost(conn, error):
            raise
        raise driver_error(conn, sql, None, error, lost=True) from error


def _in_transaction(conn) -> bool:
    """Whether the batch's transaction is still there (open, or failed and waiting for a rollback)."""
    return not conn.invalidated and conn.connection.dbapi_connection.info.transaction_status in (_INTRANS, _INERROR)


def _undo_to_savepoint(lane, conn, provisional: list, tail: str) -> None:
    """An action refused or failed: back to the savepoint (its deferred writes dropped, a savepoint of
    its own left open rolled back), then ``tail`` (the next savepoint, or the COMMIT). Those done since
    the savepoint (``provisional``) were undone with it: they run again first in the next batch (as
    after a deadlock), and the next batches take a savepoint at every action while refusals come."""
    conn.info[DEFERRED].clear()
    while conn.in_nested_transaction():
        conn.get_nested_transaction().rollback()
    script = f"{_ROLLBACK_TO}; {_RELEASE}; {tail}"
    if tail == "COMMIT":
        _send_commit(lane, conn, conn.connection.dbapi_connection.execute, script)
    else:
        _send(conn, script)
    if provisional:
        lane.again.extend(undone for undone, _outcome in provisional)
        provisional.clear()
        lane.careful = CAREFUL_BATCHES


def _send_commit(lane, conn, send, *args, **kwargs) -> None:
    """``send(*args, **kwargs)``, which sends the batch's COMMIT. A connection found lost by it, the
    COMMIT sent and the transaction's id known, is not raised but noted (``lane.commit_lost``): the
    batch goes on to its end as if the COMMIT had been answered, and PostgreSQL is then asked whether it
    committed (``PostgresGroupWriter._commit_found``)."""
    try:
        send(*args, **kwargs)
    except Exception as error:
        if lane.xact is None or not _lost(conn, error):
            raise
        # (the driver's own, from a COMMIT sent on the raw connection: wrapped as SQLAlchemy's, a database
        # fault its callers hear as 503, as any other loss)
        lane.commit_lost = (
            error if isinstance(error, DBAPIError) else driver_error(conn, "COMMIT", None, error, lost=True)
        )


def _lost(conn, error) -> bool:
    """Whether ``error`` (the driver's, or SQLAlchemy's of it) says ``conn``'s connection is lost; if so,
    the connection is invalidated, as SQLAlchemy does: not given out again (and the lanes let theirs go)."""
    if conn.invalidated:
        return True
    dbapi_connection = conn.connection.dbapi_connection
    driver = getattr(error, "orig", error)
    if not (dbapi_connection.broken or conn.dialect.is_disconnect(driver, dbapi_connection, None)):
        return False
    conn.invalidate(error)
    return True


def _not_committed(lane, batch, results: list, unknown: bool) -> str:
    """A batch whose COMMIT was lost (``lane.commit_lost``), found rolled back too late to run again as a
    whole or not found either way (``unknown``). A caller whose action was in its transaction hears the
    loss (PostgresGroupWriter._write): it may have been done, or, rolled back, the database was busy.
    Each other one's action is in no committed transaction: refused (``results``' errors) or put off
    (``lane.again``), undone to its savepoint before the COMMIT or not yet run. It runs again in the
    lane's next batch while its caller likely waits (``_fresh``): a refusal found against writes of the
    batch that may never have been is found again against the true state. Else its caller hears that
    the database is busy (``lane.answers``: nothing of it was written), never its old refusal. What its
    callers hear, counted, for the log."""
    busy = lane.commit_lost
    if unknown:  # (the loss as "nothing was written": never faults.outcome_unknown)
        busy = copy.copy(busy)
        busy.outcome_unknown = False
    undone = {id(done) for done, _outcome, refusal in results if refusal is not None}
    undone.update(id(job[3]) for job in lane.again)
    now, lane.again, lane.answers = time.monotonic(), [], []
    for job in batch:
        if id(job[3]) not in undone:
            continue  # (in the lost transaction: told the loss)
        if _fresh(job, now):
            lane.again.append(job)
        else:
            lane.answers.append((job[3], busy))
    told = len(batch) - len(lane.answers) - len(lane.again)  # (the loss itself)
    said = {
        "told the outcome is unknown (it may have been written)": told if unknown else 0,
        "told the database is busy (nothing was written)": len(lane.answers) + (0 if unknown else told),
        "run again in the next batch (nothing of theirs was written)": len(lane.again),
    }
    return "its callers: " + "; ".join(f"{count} {what}" for what, count in said.items() if count)


def _fresh(job, now: float) -> bool:
    """The one freshness rule for running an action again after its batch's COMMIT was lost: its own
    caller came less than ``RUN_AGAIN_SECONDS`` before ``now`` (once PostgreSQL was asked) and it has runs
    left (``PG_TRIES``). A batch rolled back runs again as a whole if all its callers are fresh (its
    oldest: PostgresGroupWriter._commit_found), once; past that, the actions written in it hear busy
    (a batch whose COMMITs keep being lost does not loop, each loss an asking that holds the lane), while
    those refused or put off run again by this rule, as any action put off to the next batch does."""
    return now < job[7] + RUN_AGAIN_SECONDS and job[4] < PG_TRIES


def _refused(lane, job, error, results: list) -> None:
    """A job whose action was refused or failed, and undone: put off to its turn (OutOfOrder, not a
    failure), run again (a deadlock or a busy row, up to PG_TRIES runs), or its caller told."""
    if isinstance(error, OutOfOrder):
        job[5] = error.args[0]  # the row it wanted: its place in the next batch
        lane.again.append(job)
        return
    job[4] += 1
    if _sqlstate(error) in _RETRY_STATES and job[4] < PG_TRIES:
        lane.again.append(job)
    else:
        results.append((job[3], None, error))


def _gathers(batch, index) -> bool:
    """Whether the jobs from ``batch[index]`` on begin a run of two or more of issuing's actions."""
    return index + 1 < len(batch) and _rerunnable(batch[index]) and _rerunnable(batch[index + 1])


class _Lane:
    """A writer's queue and the greenlet that writes its batches, on a connection of its own.

    The lane keeps its connection out of the pool while it writes: psycopg forgets a connection's
    prepared statements at every ROLLBACK, and the reads of the pool's other users end with one (a
    transaction that only read rolls back as it closes), so a pooled connection came to the writer
    wiped and ran issuing's statement unprepared (a parse and a plan in PostgreSQL) for its next
    five tickets. Idle for ``IDLE_PING_SECONDS``, after a failed batch, or once any connection of the
    pool was found lost, it goes back to the pool (whose checkout pings one that lay idle)."""

    def __init__(self, writer: PostgresGroupWriter):
        self.writer = writer
        self.jobs: Queue = Queue()
        self.again: list = []  # jobs put off to the next batch
        self.answers: list = []  # (done, error) of a batch's jobs told apart from its lost COMMIT (_not_committed)
        self.careful = 0  # batches still to run with a savepoint at every action (PostgresGroupWriter._run_batch)
        self._connection: Connection | None = None
        self._invalidations = 0  # the writer's count when the connection was taken
        self.lost_at_start = False  # the batch's connection was found lost by its first round trip
        self.xact: tuple | None = None  # the batch's transaction: its id and session (pg_commit.XACT), and server
        self.commit_lost: Exception | None = None  # the batch's connection was lost once its COMMIT was sent
        self.rolled_back = False  # ... and PostgreSQL said its transaction rolled back: it may run again
        self.greenlet = gevent.spawn(self._run, writer)

    def connection(self) -> Connection:
        if self._connection is not None and self._invalidations != self.writer.invalidations:
            self.let_go()
        if self._connection is None:
            self._invalidations = self.writer.invalidations
            # (the pool sets the connection back to its own mode when it is let go)
            connection = self.writer._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            try:
                # once per connection (pg_commit.SERVER), kept in the pooled connection's own info,
                # which SQLAlchemy clears with a lost one
                if SERVER not in connection.info:
                    connection.info[SERVER] = _first_round_trip(self, connection, SERVER).fetchone()[0]
            except BaseException:
                connection.close()
                raise
            self._connection = connection
        return self._connection

    def let_go(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()

    def _next_job(self):
        try:
            return self.jobs.get(timeout=IDLE_PING_SECONDS)
        except Empty:
            self.let_go()  # idle: back to the pool, which pings it before its next use
            return self.jobs.get()

    def _run(self, writer):
        while True:
            if self.again:
                batch, self.again = self.again, []
            else:
                batch = [self._next_job()]
                gevent.sleep(0)  # as GroupCommitWriter: the last batch's callers answer first
            take_queued(self.jobs, batch, PG_MAX_BATCH)
            try:
                writer._write(self, batch)
            except BaseException as error:  # never leave a request waiting for an answer
                for job in batch + self.again:
                    if not job[3].ready():
                        job[3].set_exception(error)
                self.again = []
                self.let_go()
                if isinstance(error, (gevent.GreenletExit, SystemExit, KeyboardInterrupt)):
                    raise
                # anything else (a gevent.Timeout an action let out, say): its callers heard of it,
                # and the lane goes on, or every later request of its services would wait for ever
                log.error("a batch of %d actions was not committed: %r", len(batch), error, extra=_sites(batch))


def _sites(batch) -> dict:
    """The ``extra`` of a line about ``batch``: its callers' sites."""
    return sites_of(job[6] for job in batch)


def _rerunnable(job) -> bool:
    """Whether an action may share a savepoint with the next: issuing's (its first argument names a
    service, as _row_of reads it), which writes only to the database and runs again as it ran."""
    return job[5] is None and _row_of(job)[0] == 0


def pg_lanes() -> int:
    """``QUEUEKIOSK_PG_WRITERS``: the group writer's lanes (connections writing batches side by side)."""
    value = os.environ.get("QUEUEKIOSK_PG_WRITERS", "").strip()
    return int(value) if value.isdigit() and 1 <= int(value) <= 16 else PG_LANES


# the lane's connection is in psycopg's autocommit mode and the writer sends the BEGIN itself: psycopg's
# own waits for its answer before the first statement (in pipeline mode too), one round trip a batch
_BEGIN = "BEGIN"
_COMMANDS = frozenset({_BEGIN, _SAVEPOINT})  # sent by psycopg's own way for commands in a pipeline (Gathered.flush)
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
