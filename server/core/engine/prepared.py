"""The hot path's statements, compiled once and run straight on SQLite's cursor.

Issuing runs four statements a ticket. Through ``Connection.execute`` each costs several times
what SQLite itself spends on it: a cache key and a lookup of the compiled form, an execution
context, events, a result object. A ``Prepared`` statement is compiled once per dialect, with its
parameters' type conversions (dates, times, JSON) taken from SQLAlchemy's compiled form, so what
is stored is byte for byte what ``Connection.execute`` would store; errors come out as SQLAlchemy's
(``OperationalError`` for a full or busy database, ``IntegrityError``), as callers expect.

It is used only where it is safe to go around SQLAlchemy: SQLite or PostgreSQL through psycopg, a
Core connection inside a transaction it has already begun (the writer's, or ``engine.begin()``), and
statements without Python-side column defaults. Anything else (an ORM Session, a connection that has
not begun) runs through its ``execute`` as before, with the same results. On PostgreSQL the statement
goes to psycopg with SQLAlchemy's casts and named parameters, which psycopg prepares on the server
after a few executions, as it would under SQLAlchemy.
"""

from __future__ import annotations

from sqlalchemy import exc
from sqlalchemy.engine import Connection

from ..db import ROW_ORDER, defer, send_deferred


class Prepared:
    def __init__(self, statement, keys: tuple[str, ...] | None = None):
        """``keys``: for an INSERT, the columns every execution gives (the statement is compiled for them)."""
        self.statement = statement
        self.keys = keys
        self._compiled = {}  # dialect -> (sql, [(name, processor)]) or None where it does not apply

    def _for(self, dialect):
        try:
            return self._compiled[dialect]
        except KeyError:
            pass
        compiled = self.statement.compile(dialect=dialect, column_keys=list(self.keys) if self.keys else None)
        plan = None
        if compiled.insert_prefetch or compiled.update_prefetch:
            pass
        elif dialect.name == "sqlite" and compiled.positional:
            plan = (
                compiled.string,
                [(name, compiled.binds[name].type._cached_bind_processor(dialect)) for name in compiled.positiontup],
            )
        elif dialect.name == "postgresql" and dialect.driver == "psycopg" and not compiled.positional:
            # named parameters (%(name)s), with SQLAlchemy's casts in the string; whether it locks a
            # queue's number row (service, day), which a batch of the group writer takes in order
            locks = "INTO number_sequences" in compiled.string and {"service", "day"} <= compiled.binds.keys()
            plan = (
                compiled.string,
                [(name, bind.type._cached_bind_processor(dialect)) for name, bind in compiled.binds.items()],
                locks,
            )
        self._compiled[dialect] = plan
        return plan

    def rows(self, conn: Connection, params: dict, answer: bool = True) -> list[tuple]:
        """Execute with ``params``; the rows it returns (RETURNING), as plain tuples. ``answer`` False
        (``execute``): on PostgreSQL inside ``db.write_transaction`` the write may go out later, with
        the next statement or the COMMIT."""
        # an ORM Session (which flushes first) or a connection yet to begin: the usual way
        plan = self._for(conn.dialect) if isinstance(conn, Connection) and conn.in_transaction() else None
        if plan is None:
            result = conn.execute(self.statement, params)
            return [tuple(row) for row in result] if result.returns_rows else []
        sql, binds, *locks = plan
        dbapi = conn.dialect.loaded_dbapi
        if conn.dialect.name == "postgresql":
            if locks[0]:
                order = conn.info.get(ROW_ORDER)
                if order is not None:  # in a batch of the group writer: before the row is locked
                    order.take(params["service"], params["day"])
            values = {name: params[name] if process is None else process(params[name]) for name, process in binds}
            if not answer and defer(conn, sql, values):
                return []
            try:
                send_deferred(conn)  # in order
                cursor = conn.connection.dbapi_connection.cursor()
                try:
                    cursor.execute(sql, values)
                    return [tuple(row) for row in cursor.fetchall()] if cursor.description else []
                finally:
                    cursor.close()
            except dbapi.Error as error:
                lost = conn.dialect.is_disconnect(error, conn.connection.dbapi_connection, None)
                if lost:  # as SQLAlchemy does: this connection is not given out again
                    conn.invalidate(error)
                raise exc.DBAPIError.instance(
                    sql, values, error, dbapi.Error, dialect=conn.dialect, connection_invalidated=lost
                ) from error
        values = tuple(params[name] if process is None else process(params[name]) for name, process in binds)
        try:
            cursor = conn.connection.dbapi_connection.execute(sql, values)
            try:
                return cursor.fetchall()
            finally:
                cursor.close()
        except dbapi.Error as error:
            raise exc.DBAPIError.instance(sql, values, error, dbapi.Error, dialect=conn.dialect) from error

    def one(self, conn: Connection, params: dict) -> tuple:
        rows = self.rows(conn, params)
        if len(rows) != 1:
            raise exc.NoResultFound("no row") if not rows else exc.MultipleResultsFound("more than one row")
        return rows[0]

    def execute(self, conn: Connection, params: dict) -> None:
        self.rows(conn, params, answer=False)
