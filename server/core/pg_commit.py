"""What became of a group-commit batch whose connection was lost once its COMMIT was sent
(pg_writer.py): PostgreSQL is asked, on a fresh connection, about the batch's transaction, whose id
(and session) the batch learnt in its first round trip (``XACT``). The COMMIT may have been lost on
its way (nothing happened) or only its answer (everything happened): before, every caller heard 503
"nothing was changed" either way, and a clerk's call committed so reached no screen."""

from __future__ import annotations

import time

import gevent
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from .db import DEFERRED, driver_error, forget_older_connections, send_deferred
from .writer import _RELEASE

# The server the batch began on, as a text: when it started, and when its shared statistics were
# last reset, which a crash-restart does (a backend killed: the postmaster reinitialises without
# restarting, so its start time stays; checked on PostgreSQL 15, docs/deployment.md). A transaction id
# is only that server's: after a crash or a restart, ids that left nothing on disk are given out again,
# and a promoted replica may give those the old primary gave. (pg_stat_reset_shared('bgwriter') by
# hand only makes an answer "unknown".)
_SERVER = "pg_postmaster_start_time()::text || ' ' || pg_stat_get_bgwriter_stat_reset_time()::text"
# learnt once per connection, when the writer first uses it (pg_writer._learn_server), not with every
# batch (PostgreSQL 13 and 14 read their statistics file for it): a session does not outlive its
# server's restart or crash-restart (both end every session), so the server a connection was made on is
# the one of each of its transactions
SERVER = f"SELECT {_SERVER}"
# sent with the batch's BEGIN (PostgreSQL 13 or later): the transaction's id, assigned now (a batch
# that writes gets one at its first write anyway); and the session's process, to end it if need be
XACT = "SELECT pg_current_xact_id()::text, pg_backend_pid()"
COMMITTED, ROLLED_BACK, UNKNOWN = "committed", "rolled back", "unknown"
ASK_SECONDS = 4.0  # how long PostgreSQL is asked while out of reach (each try bounded by what is left)
# A loss whose error says PostgreSQL itself went down (57P02 crash_shutdown: another backend crashed,
# the postmaster reinitialises): ids may be given again, so an answer about this one's is not trusted.
# (57P01 admin_shutdown is also pg_terminate_backend of the one session: the same server, asked. A
# connection refused while PostgreSQL starts up or recovers carries no SQLSTATE in psycopg (57P03 is
# only in its message): it is tried again like any refused one, and once PostgreSQL answers, its
# server (SERVER: a new start time) is another, so "unknown".)
SERVER_CRASHED = frozenset({"57P02"})

_STATUS = text(f"SELECT pg_xact_status(CAST(:xid AS xid8)), {_SERVER} = :server")
# the old session, if it still holds the transaction: PostgreSQL has not yet seen it end (its end of
# the connection still open); a COMMIT already being written finishes first, one not yet begun is
# rolled back with the session: either way PostgreSQL's answer is then final
_END_OLD_SESSION = text(
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
    " WHERE pid = :pid AND backend_xid = CAST(CAST(:xid AS xid8) AS xid)"
)


def commit_outcome(engine: Engine, xid: str, backend: int, server: str, seconds: float = ASK_SECONDS) -> str:
    """``COMMITTED`` or ``ROLLED_BACK`` (final: the transaction ``xid`` of the session ``backend`` (both
    of ``XACT``), on the ``server`` of ``SERVER``, ended so), or ``UNKNOWN``: PostgreSQL out of reach for ``seconds`` (each
    try, its connection's wait included, bounded by the time left), the server answering another
    (restarted, crashed and reinitialised, or a replica promoted, since), or any error of the question itself (the id "in the future": the server lost it). Never
    asked again after such an answer: a loop could meet the id given again to another transaction.
    A transaction still in progress (its session not yet ended by PostgreSQL: a COMMIT on its way or
    being written, or the session's client gone without a word) has its session ended, once: a COMMIT
    already being written finishes first, one not yet begun is rolled back with the session; then it
    is asked again. The pool's connections made before now are replaced first: the loss was likely not
    this one's."""
    deadline = time.monotonic() + seconds
    forget_older_connections(engine)
    ended = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return UNKNOWN
        status = _ask(engine, xid, backend, server, left, end_old_session=not ended)
        if status in (COMMITTED, ROLLED_BACK, UNKNOWN):
            return status
        ended = ended or status == "in progress"
        gevent.sleep(0.05 if status == "in progress" else 0.25)


def _ask(engine: Engine, xid: str, backend: int, server: str, seconds: float, end_old_session: bool) -> str | None:
    """One try, its closing included, bounded by ``seconds``: the outcome, "in progress" (the old
    session ended if ``end_old_session``), or None when no connection came (out of reach: asked again
    while time is left)."""
    timer = gevent.Timeout(seconds)
    timer.start()
    conn = None
    try:
        try:
            # (in autocommit mode: its closing sends nothing, so an answer had is not lost to it)
            conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except (DBAPIError, PoolTimeout):
            return None
        try:
            status, same_server = conn.execute(_STATUS, {"xid": xid, "server": server}).one()
            if not same_server:
                return UNKNOWN
            if status == "in progress" and end_old_session:
                conn.execute(_END_OLD_SESSION, {"pid": backend, "xid": xid}).all()
        except DBAPIError:  # (the id "in the future", the connection lost again, ...: not asked again)
            return UNKNOWN
        # (NULL: an id too old to tell, or not of this server's era: nothing said)
        return {"committed": COMMITTED, "aborted": ROLLED_BACK, "in progress": status}.get(status, UNKNOWN)
    except gevent.Timeout as timeout:
        if timeout is not timer:
            raise
        if conn is not None:
            conn.invalidate()  # (its question may be under way: not given out again)
        return UNKNOWN
    finally:
        _close(conn, timer)
        timer.close()


def _close(conn, timer: gevent.Timeout) -> None:
    """Close the connection that asked, under the try's ``timer``: an error of its closing (the
    connection lost once PostgreSQL answered) or its time running out never replaces the answer."""
    if conn is None:
        return
    try:
        conn.close()
    except (DBAPIError, conn.dialect.loaded_dbapi.Error):
        pass  # (a lost connection: SQLAlchemy let it go)
    except gevent.Timeout as timeout:
        if timeout is not timer:
            raise
        conn.invalidate()


def sqlstate(error) -> str | None:
    """The SQLSTATE of a driver's error, or SQLAlchemy's of it (None: none given)."""
    return getattr(getattr(error, "orig", error), "sqlstate", None)


_RELEASE_AND_COMMIT = f"{_RELEASE}; COMMIT".encode()


def release_and_commit(conn) -> None:
    """A group-commit batch's last savepoint let go and its COMMIT, one query of two statements (with the
    deferred writes of its last action before them, if any: db.send_deferred's way). Without those it is
    sent as psycopg sends its own commands, with no cursor (~50 Python calls less a batch); an error of
    PostgreSQL's, or a connection found lost, is raised as send_deferred raises it (SQLAlchemy's, naming
    the release)."""
    if conn.info.get(DEFERRED):
        send_deferred(conn, then=(_RELEASE, "COMMIT"))
        return
    dbapi_connection = conn.connection.dbapi_connection
    dbapi = conn.dialect.loaded_dbapi
    try:
        with dbapi_connection.lock:
            pgconn = dbapi_connection.pgconn
            pgconn.send_query(_RELEASE_AND_COMMIT)
            results = dbapi_connection.wait(dbapi.generators.execute(pgconn))
        for result in results:
            if result.status == dbapi.pq.ExecStatus.FATAL_ERROR:
                raise dbapi.errors.error_from_result(result, encoding=dbapi_connection.info.encoding)
    except dbapi.Error as error:
        raise driver_error(conn, _RELEASE, None, error) from error
