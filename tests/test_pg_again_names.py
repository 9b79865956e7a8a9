"""server/core/pg_again.py moves a transaction whose BEGIN finds its pooled connection lost to a fresh
connection through names psycopg and SQLAlchemy keep private: psycopg's ``Connection._start_query``
(the BEGIN it would send ahead of a statement, sent on its own under the connection's ``lock``) and
SQLAlchemy's ``_ConnectionFairy._connection_record``, ``Pool._invalidate`` and
``_ConnectionRecord.get_connection`` (a fresh connection under a checked-out one, in its transaction).
No public API does either: SQLAlchemy's ``handle_error`` event only says whether an error is a
disconnect (the statement is not tried again), ``pool_pre_ping`` looks at checkout only, and
``Connection.invalidate`` refuses to reconnect inside a transaction; psycopg has no public call that
sends only the BEGIN. A release that renames or changes one fails here by name, not as a 503 (or
worse) after the next failover."""

from __future__ import annotations

import inspect

import pytest
from sqlalchemy import text
from sqlalchemy.pool import Pool
from sqlalchemy.pool.base import _ConnectionFairy, _ConnectionRecord

from queuekiosk.server.core.db import create_db_engine
from queuekiosk.server.core.pg_again import begin


def test_the_private_names_pg_again_uses_are_there():
    psycopg = pytest.importorskip("psycopg")
    assert inspect.isgeneratorfunction(psycopg.Connection._start_query), "psycopg: Connection._start_query"
    assert "_checkin" in inspect.signature(Pool._invalidate).parameters, "SQLAlchemy: Pool._invalidate(_checkin=)"
    assert "_connection_record" in _ConnectionFairy.__slots__, "SQLAlchemy: _ConnectionFairy._connection_record"
    assert callable(_ConnectionRecord.get_connection), "SQLAlchemy: _ConnectionRecord.get_connection"


@pytest.mark.postgres
def test_a_begin_that_finds_its_connection_ended_moves_the_transaction_to_a_fresh_one(pg_url, _pg_admin):
    """PostgreSQL ends a pooled connection's session (pg_terminate_backend): the BEGIN sent ahead of
    the next statement finds it lost, and the transaction goes on a fresh connection, its info kept,
    the pool's connections made before it marked for replacement."""
    engine = create_db_engine(pg_url)
    try:
        with engine.connect() as conn:
            ended = conn.execute(text("SELECT pg_backend_pid()")).scalar()
            conn.commit()
            conn.info["kept"] = "yes"
            gone = _pg_admin.execute("SELECT pg_terminate_backend(%s, 10000)", (ended,)).fetchone()[0]
            assert gone
            before = engine.pool._invalidate_time
            assert begin(conn) is False  # lost: a fresh connection is now under conn
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != ended
            assert conn.info["kept"] == "yes"
            assert engine.pool._invalidate_time > before
            conn.commit()
    finally:
        engine.dispose()
