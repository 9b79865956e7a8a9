"""server/core/pg_again.py moves a transaction whose BEGIN finds its pooled connection lost to a fresh
connection through names psycopg and SQLAlchemy keep private: psycopg's ``Connection._start_query``
(the BEGIN it would send ahead of a statement, sent on its own under the connection's ``lock``) and
SQLAlchemy's ``_ConnectionFairy._connection_record``, ``Pool._invalidate`` and
``_ConnectionRecord.get_connection`` (a fresh connection under a checked-out one, in its transaction).
For insertmanyvalues it moves the cursor SQLAlchemy holds (``context.cursor``, handed to each batch,
whose RETURNING rows it reads from that same object) by calling psycopg's ``Cursor.__init__`` on it
again with the fresh connection (``connection`` first).
No public API does either: SQLAlchemy's ``handle_error`` event only says whether an error is a
disconnect (the statement is not tried again), ``pool_pre_ping`` looks at checkout only, and
``Connection.invalidate`` refuses to reconnect inside a transaction; psycopg has no public call that
sends only the BEGIN. A release that renames or changes one fails here by name, not as a 503 (or
worse) after the next failover."""

from __future__ import annotations

import inspect

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, create_engine, event, insert, text
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.engine.interfaces import ExecuteStyle
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
    assert [*inspect.signature(psycopg.Cursor.__init__).parameters][1] == "connection", "psycopg: Cursor(connection)"
    batches = inspect.signature(DefaultDialect._deliver_insertmanyvalues_batches).parameters
    assert [*batches][1:3] == ["connection", "cursor"], "SQLAlchemy: _deliver_insertmanyvalues_batches(cursor)"


def test_the_private_names_the_group_writer_sends_its_commands_with_are_there():
    """pg_writer sends a batch's BEGIN and SAVEPOINT as psycopg sends its own (``Connection._exec_command``),
    and pg_commit.release_and_commit its last release and COMMIT on the connection's ``pgconn``, waited by
    ``Connection.wait`` on ``generators.execute``, an error made by ``errors.error_from_result``: no public
    call sends a command without a cursor (~50–90 Python calls a batch less)."""
    psycopg = pytest.importorskip("psycopg")
    assert inspect.isgeneratorfunction(psycopg.Connection._exec_command), "psycopg: Connection._exec_command"
    assert [*inspect.signature(psycopg.Connection.wait).parameters][1] == "gen", "psycopg: Connection.wait(gen)"
    assert inspect.isgeneratorfunction(psycopg.generators.execute), "psycopg: generators.execute(pgconn)"
    assert callable(psycopg.errors.error_from_result), "psycopg: errors.error_from_result"


@pytest.mark.postgres
def test_insertmanyvalues_reads_its_rows_from_the_cursor_it_holds_re_bound_to_another_connection(pg_url):
    """The cursor SQLAlchemy holds for insertmanyvalues (``context.cursor``), its psycopg
    ``Cursor.__init__`` called again before each batch with another connection: each batch is sent
    there, and SQLAlchemy reads its RETURNING rows from that same cursor (an engine without pg_again)."""
    psycopg = pytest.importorskip("psycopg")
    engine = create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    other = psycopg.connect(pg_url, autocommit=True)
    held = []

    @event.listens_for(engine, "do_execute")
    def elsewhere(cursor, statement, parameters, context):
        if context.execute_style is ExecuteStyle.INSERTMANYVALUES:
            held.append(cursor is context.cursor)
            cursor.__init__(other)

    try:
        table = Table("pgnames_t", MetaData(), Column("id", Integer, primary_key=True), Column("v", Integer))
        with engine.begin() as conn:
            table.create(conn)
        with engine.connect() as conn:
            paged = conn.execution_options(insertmanyvalues_page_size=2)
            rows = paged.execute(insert(table).returning(table.c.v), [{"v": 1}, {"v": 2}, {"v": 3}]).scalars().all()
            conn.rollback()  # (nothing was sent on this connection: written on the other, autocommit)
        assert (rows, held) == ([1, 2, 3], [True, True])
        assert sorted(v for (v,) in other.execute("SELECT v FROM pgnames_t")) == [1, 2, 3]
    finally:
        other.close()
        engine.dispose()


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
