"""A transaction's BEGIN on PostgreSQL whose pooled connection turns out lost is sent again on a
fresh connection, and its first statement then runs there, for the first time (db.create_db_engine
sets it up; engine/prepared.py's own statements use it too): the same choice as the group writer's
batch lost at its start (pg_writer.py), for the reads and for the writes without the group writer
(``QUEUEKIOSK_PG_GROUP_COMMIT=0``), also when their first statement is a write deferred to go with
the next one (db.send_deferred sends the BEGIN ahead of it here), or a write of several rows (an
executemany, or insertmanyvalues: nothing of it is sent before its BEGIN, which goes alone, and its
cursor moves to the fresh connection with it). A statement that was sent is never run again."""

from __future__ import annotations

import logging

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.interfaces import ExecuteStyle

log = logging.getLogger(__name__)


def first_statement_again(engine: Engine) -> None:
    """A statement through SQLAlchemy (a read's, or the first of a write without the group writer)
    that opens a transaction on a pooled connection found lost by the BEGIN goes on a fresh one (see
    ``begin``), so that the first request after a failover is served. On PostgreSQL through psycopg
    only (whose connection says where its transaction stands). Every way SQLAlchemy sends it: a plain
    execute (a streamed read's too), an executemany, each through a new cursor of its kind on the fresh
    connection; and insertmanyvalues (a multi-row INSERT ... RETURNING, sent in batches, whose rows
    SQLAlchemy reads from the cursor it holds: that cursor is the one moved to the fresh connection,
    not a new one); also after deferred writes whose BEGIN moved the connection."""
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        return

    def run(execute, cursor, statement, args, context) -> bool:
        conn = context.root_connection
        # lost at this BEGIN, or moved already by that of the writes deferred ahead of it (db.send_deferred)
        if not begin(conn) or cursor.connection is not conn.connection.dbapi_connection:
            if context.execute_style is _MANY_VALUES:  # its rows are read from the cursor SQLAlchemy holds
                cursor.__init__(conn.connection.dbapi_connection)  # (nothing was run on it: anew there)
            else:  # (one of its own kind: a server-side one for stream_results)
                context.cursor = cursor = context.create_cursor()
        execute(cursor, statement, *args, context)
        return True

    @event.listens_for(engine, "do_execute")
    def _do_execute(cursor, statement, parameters, context):
        return run(engine.dialect.do_execute, cursor, statement, (parameters,), context)

    @event.listens_for(engine, "do_execute_no_params")
    def _do_execute_no_params(cursor, statement, context):
        return run(engine.dialect.do_execute_no_params, cursor, statement, (), context)

    @event.listens_for(engine, "do_executemany")
    def _do_executemany(cursor, statement, parameters, context):
        return run(engine.dialect.do_executemany, cursor, statement, (parameters,), context)


def begin(conn: Connection) -> bool:
    """Before a statement on ``conn``'s psycopg connection: the BEGIN psycopg would send ahead of it
    when it opens a transaction (psycopg sends it as a round trip of its own), sent now, so that a
    connection found lost by it is told from one lost while the statement ran (which may have
    started on the server: never run again). False when it was found lost and a fresh connection is
    now under ``conn`` (``again_on_a_fresh_connection``): the statement goes there."""
    dbapi_connection = conn.connection.dbapi_connection
    # (pgconn's status, not info's: info is a new object at each look, 2 us; at every statement)
    if dbapi_connection.pgconn.transaction_status != _IDLE or dbapi_connection.autocommit:
        return True
    try:
        with dbapi_connection.lock:
            dbapi_connection.wait(dbapi_connection._start_query())  # (psycopg's own: BEGIN, its options)
    except conn.dialect.loaded_dbapi.Error as error:
        if not again_on_a_fresh_connection(conn, error):
            raise
        return False
    return True


_MANY_VALUES = ExecuteStyle.INSERTMANYVALUES
_IDLE = 0  # psycopg.pq.TransactionStatus.IDLE (psycopg is not imported on SQLite)


def again_on_a_fresh_connection(conn: Connection, error: Exception) -> bool:
    """After ``error`` of the BEGIN of a transaction on ``conn``: whether its first statement may go on
    the fresh connection now under ``conn`` (its transaction and ``info`` kept). Only when the
    connection was found lost (PostgreSQL restarted, failed over, or ended the session while it lay in
    the pool: after a failover that moved the address nothing arrives on an idle one, and only its
    first use tells): no statement of the transaction was sent. The pool's older connections are
    replaced at their checkout: they are likely lost too."""
    if conn.dialect.name != "postgresql" or conn.invalidated:
        return False
    if conn.get_execution_options().get("isolation_level"):  # (a fresh connection would not have it)
        return False
    if not conn.dialect.is_disconnect(error, conn.connection.dbapi_connection, None):
        return False
    fairy = conn.connection
    record = fairy._connection_record  # as the pool itself replaces a connection failing its checkout
    kept = dict(record.info)  # (a new connection's info starts empty: this transaction's is carried over)
    # the pool's connections made before this one are replaced at their checkout, as SQLAlchemy has it
    # when its statement finds a connection lost (once for a generation: however many find theirs)
    conn.engine.pool._invalidate(fairy, error, _checkin=False)
    record.invalidate(error)  # closed, not given out again (the group writer's lanes hear of it)
    fairy.dbapi_connection = record.get_connection()
    record.info.update(kept)
    log.warning(
        "a connection to PostgreSQL was found lost by a transaction's first statement: it runs again on a fresh one"
    )
    return True
