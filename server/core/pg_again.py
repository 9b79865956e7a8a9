"""A transaction's first statement on PostgreSQL whose pooled connection turns out lost runs once
more on a fresh connection (db.create_db_engine sets it up; engine/prepared.py's own statements use
it too): the same choice as the group writer's batch lost at its start (pg_writer.py), for the reads
and for the writes without the group writer (``QUEUEKIOSK_PG_GROUP_COMMIT=0``)."""

from __future__ import annotations

import logging

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)


def first_statement_again(engine: Engine) -> None:
    """A statement through SQLAlchemy (a read's, or the first of a write without the group writer)
    whose pooled connection is found lost by its answer runs once more on a fresh one (see
    ``again_on_a_fresh_connection``), so that the first request after a failover is served. On
    PostgreSQL through psycopg only (whose connection says where its transaction stands)."""
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        return

    def run(execute, cursor, statement, args, context) -> bool:
        first = opens_transaction(cursor.connection)
        try:
            execute(cursor, statement, *args, context)
        except engine.dialect.loaded_dbapi.Error as error:
            if not again_on_a_fresh_connection(context.root_connection, first, error):
                raise
            context.cursor = cursor = context.create_cursor()  # (on the fresh connection)
            execute(cursor, statement, *args, context)
        return True

    @event.listens_for(engine, "do_execute")
    def _do_execute(cursor, statement, parameters, context):
        return run(engine.dialect.do_execute, cursor, statement, (parameters,), context)

    @event.listens_for(engine, "do_execute_no_params")
    def _do_execute_no_params(cursor, statement, context):
        return run(engine.dialect.do_execute_no_params, cursor, statement, (), context)


def opens_transaction(dbapi_connection) -> bool:
    """Whether a statement about to be sent on a psycopg connection is the first of its transaction
    (psycopg sends the BEGIN with it): nothing was sent in the transaction before it, and no COMMIT
    goes with it."""
    return not dbapi_connection.autocommit and dbapi_connection.info.transaction_status == _IDLE


_IDLE = 0  # psycopg.pq.TransactionStatus.IDLE (psycopg is not imported on SQLite)


def again_on_a_fresh_connection(conn: Connection, first: bool, error: Exception) -> bool:
    """After ``error`` of a statement on ``conn``: whether it may run again, on the fresh connection
    now under ``conn`` (its transaction and ``info`` kept). Only when the connection was found lost
    (PostgreSQL restarted, failed over, or ended the session while it lay in the pool: after a
    failover that moved the address nothing arrives on an idle one, and only its first use tells)
    and the statement was the first of its transaction (``first``: ``opens_transaction`` before it
    was sent): no COMMIT went, and PostgreSQL rolls back the open transaction of a session that ends,
    so nothing of it happened, a write's included. The pool's older connections are replaced at
    their checkout: they are likely lost too."""
    if not first or conn.dialect.name != "postgresql" or conn.invalidated:
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
