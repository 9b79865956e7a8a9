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

import datetime as dt
from collections.abc import Callable
from operator import itemgetter

import orjson
from sqlalchemy import exc
from sqlalchemy.engine import Connection

from ..db import GATHER, ROW_ORDER, defer, driver_error, send_deferred
from ..pg_again import begin


class JsonRows(str):
    """A ``many`` statement that takes its executions' values as one JSON parameter, ``rows``: an array
    of objects, one an execution, named as the single statement's parameters (read in the statement
    with ``json_to_recordset``). psycopg writes a batch's 13 arrays of issuing's values in ~100-150 us of
    the server's CPU (its list dumpers, element by element); orjson writes them as JSON in ~7, and
    PostgreSQL reads the JSON for about the CPU the arrays took it (docs/performance.md). For values that
    JSON and the statement's column types read back as they were: ints, str, None, dates and naive
    datetimes (an aware one would keep its wall-clock time, a bool or an Enum would not be what psycopg
    sends); a value orjson does not write (a Decimal, bytes) sends the run one at a time."""


def many_values(many: str, executions: list[dict]) -> dict:
    """The parameters of ``many`` for ``executions`` (each a dict of the single statement's values):
    each parameter the array of their values, or for a ``JsonRows`` statement their JSON. Raises
    ``orjson.JSONEncodeError`` for a value orjson does not write (a Decimal, bytes, an int past 64 bits)."""
    if isinstance(many, JsonRows):
        return {"rows": orjson.dumps(executions).decode()}
    return {name: [values[name] for values in executions] for name in executions[0]}


class Prepared:
    def __init__(self, statement, keys: tuple[str, ...] | None = None, many: str | None = None):
        """``keys``: for an INSERT, the columns every execution gives (the statement is compiled for them).
        ``many``: on PostgreSQL, the statement for several executions at once (psycopg's form, each
        parameter an array of the executions' values, in their order; or a ``JsonRows``), doing what they would do one
        after another and returning each one's single row, in their order: side-by-side actions of
        the group writer sending it together get one statement instead of one each (one parse, plan
        and executor start in PostgreSQL, one execution in psycopg)."""
        self.statement = statement
        self.keys = keys
        self.many = many
        # dialect -> its plan, or None where it does not apply: SQLite (sql, params -> values), psycopg
        # (sql, [(name, processor)], whether it locks a number row)
        self._compiled = {}

    def _for(self, dialect):
        try:
            return self._compiled[dialect]
        except KeyError:
            pass
        compiled = self.statement.compile(dialect=dialect, column_keys=None if self.keys is None else list(self.keys))
        plan = None
        if compiled.insert_prefetch or compiled.update_prefetch:
            pass
        elif dialect.name == "sqlite" and compiled.positional:
            plan = (compiled.string, _sqlite_values(compiled, dialect))
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
        dbapi = conn.dialect.loaded_dbapi
        if conn.dialect.name == "sqlite":
            sql, values_of = plan
            values = values_of(params)
            try:
                cursor = sqlite_cursor(conn)
                cursor.execute(sql, values)
                return cursor.fetchall()
            except dbapi.Error as error:
                raise driver_error(conn, sql, values, error) from error
        sql, binds, locks = plan
        # PostgreSQL through psycopg
        info = conn.info
        gather = info.get(GATHER)
        if locks:
            order = info.get(ROW_ORDER)
            if order is not None:  # in a batch of the group writer: before the row is locked
                order.take(params["service"], params["day"])
                if gather is not None:  # (actions side by side: the row is held from here on)
                    order.released()
        values = {name: params[name] if process is None else process(params[name]) for name, process in binds}
        if gather is not None:  # issuing's actions side by side: the statement goes with theirs
            return gather.statement(conn, sql, values, answer, self.many)
        if not answer and defer(conn, sql, values):
            return []
        try:
            send_deferred(conn)  # in order
            begin(conn)  # (a connection found lost by the BEGIN: the statement goes on a fresh one)
            return rows_of(conn, sql, values)
        except dbapi.Error as error:
            lost = conn.dialect.is_disconnect(error, conn.connection.dbapi_connection, None)
            if lost:  # as SQLAlchemy does: this connection is not given out again
                conn.invalidate(error)
            raise driver_error(conn, sql, values, error, lost) from error

    def rows_later(self, conn: Connection, params: dict) -> Callable[[], list[tuple]]:
        """A read asked now, its rows read when the returned function is called. Among side-by-side
        actions of the PostgreSQL group writer (pg_writer.Gathered) it goes in the next round trip,
        ahead of the statements gathered for it: one round trip fewer, for a read of what those
        actions do not write, which takes no lock (the webhooks); anywhere else it runs at once."""
        gather = conn.info.get(GATHER) if isinstance(conn, Connection) and conn.in_transaction() else None
        plan = self._for(conn.dialect) if gather is not None else None
        if plan is None:
            rows = self.rows(conn, params)
            return lambda: rows
        sql, binds, _locks = plan
        values = {name: params[name] if process is None else process(params[name]) for name, process in binds}
        slot = gather.send_later(sql, values, read=True)

        def rows_of_read() -> list[tuple]:
            if slot[0] is not None or conn.info.get(GATHER) is gather:
                return gather.answer(conn, sql, values, slot)
            return self.rows(conn, params)  # its run stopped before answering it: asked again, now

        return rows_of_read

    def one(self, conn: Connection, params: dict) -> tuple:
        rows = self.rows(conn, params)
        if len(rows) != 1:
            raise exc.NoResultFound("no row") if not rows else exc.MultipleResultsFound("more than one row")
        return rows[0]

    def execute(self, conn: Connection, params: dict) -> None:
        self.rows(conn, params, answer=False)

    def inserted_id(self, conn: Connection, params: dict) -> int:
        """Run this INSERT (of one row, no RETURNING) with ``params``; the new row's id. On SQLite the
        cursor's ``lastrowid``, what ``RETURNING id`` of an INTEGER PRIMARY KEY gives, without the
        ephemeral table SQLite runs every RETURNING through (~28k instructions a ticket); anywhere
        else SQLAlchemy's ``inserted_primary_key``."""
        cursor = self._on_sqlite_cursor(conn, params)
        return conn.execute(self.statement, params).inserted_primary_key[0] if cursor is None else cursor.lastrowid

    def changed(self, conn: Connection, params: dict) -> int:
        """Run this UPDATE with ``params``; the number of rows it changed. On SQLite straight on the
        cursor; anywhere else through ``Connection.execute`` (its ``rowcount``)."""
        cursor = self._on_sqlite_cursor(conn, params)
        return conn.execute(self.statement, params).rowcount if cursor is None else cursor.rowcount

    def _on_sqlite_cursor(self, conn: Connection, params: dict):
        """On SQLite inside a begun transaction: this statement run with ``params`` on the kept cursor,
        which is returned; anywhere else nothing is run and None returned."""
        plan = self._for(conn.dialect) if isinstance(conn, Connection) and conn.in_transaction() else None
        if plan is None or conn.dialect.name != "sqlite":
            return None
        dbapi = conn.dialect.loaded_dbapi
        sql, values_of = plan
        values = values_of(params)
        try:
            cursor = sqlite_cursor(conn)
            cursor.execute(sql, values)
            return cursor
        except dbapi.Error as error:
            raise driver_error(conn, sql, values, error) from error


_CURSOR = "queuekiosk_cursor"  # in a pooled SQLite connection's info: its kept cursor


def sqlite_cursor(conn: Connection):
    """The cursor kept for ``conn``'s SQLite connection, instead of a new one per statement
    (``Connection.execute`` of sqlite3 makes and frees one each time): Prepared's statements and the
    group writer's savepoints (writer.py). Safe because every statement on it reads all its results
    (fetchall, lastrowid) before the next one runs, and sqlite3 resets a statement that failed
    half-way. It is the cursor of this very DBAPI connection: one kept in the pool's info for a
    connection since replaced is not used."""
    fairy = conn.connection
    dbapi_connection = fairy.dbapi_connection
    info = fairy.info
    cursor = info.get(_CURSOR)
    if cursor is None or cursor.connection is not dbapi_connection:
        cursor = info[_CURSOR] = dbapi_connection.cursor()
    return cursor


def rows_of(conn: Connection, sql: str, values) -> list[tuple]:
    """``sql`` with ``values`` on ``conn``'s psycopg connection: its rows, or [] where it returns none."""
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql, values)
        return [tuple(row) for row in cursor.fetchall()] if has_rows(cursor) else []
    finally:
        cursor.close()


def has_rows(cursor) -> bool:
    """Whether a psycopg cursor's statement returned rows (RETURNING, SELECT): its result has columns.
    (``cursor.description`` says the same, but makes an object per column at every look.)"""
    result = cursor.pgresult
    return result is not None and result.nfields > 0


def _sqlite_values(compiled, dialect):
    """``params`` -> the positional values of ``compiled``, each through its bind processor as
    SQLAlchemy's execution would (a date or time to its text). The values are taken by one
    itemgetter and only those with a processor are converted; a date's or time's processor is
    replaced by ``isoformat`` where that gives the same text (checked here, on samples)."""
    names = compiled.positiontup
    converts = []
    for index, name in enumerate(names):
        process = compiled.binds[name].type._cached_bind_processor(dialect)
        if process is not None:
            converts.append((index, _faster(process)))
    if not names:
        return lambda params: ()
    take = itemgetter(*names)
    if len(names) == 1:
        if converts:
            process = converts[0][1]
            return lambda params: (process(take(params)),)
        return lambda params: (take(params),)
    if not converts:
        return take  # a tuple, as it is

    def values(params):
        values = list(take(params))
        for index, process in converts:
            values[index] = process(values[index])
        return values

    return values


# The text of the last naive datetime and date converted (value, text), whichever statement's or view's:
# a ticket binds the same ``now`` twice (its issued_at, its event's at) and the same ``day`` twice (its
# number, its business_day), and its view shows them again (views.iso: issued_at and queued_at);
# isoformat costs ~7k instructions a datetime, ~3k a date. One tuple each, replaced whole (another
# thread reads an old pair or a new one, never a mix); it holds the value, so no other object can come
# to have its identity. A new ticket's day is a new date object equal to the last one: compared, not
# formatted again.
_last_time = (None, None)
_last_date = (None, None)


# the start of the minute of the last datetime isoformat wrote, and that text up to its seconds
# ("2026-12-06 17:45:"): a time within that minute writes only its seconds and microseconds, by
# ``%`` (a call ~5.7k instructions instead of ~8.3k: isoformat's C formats each of its seven numbers
# through sprintf; an f-string's format specs cost more than ``%``)
_last_minute = (dt.datetime.max, "")
_MINUTE = dt.timedelta(minutes=1)
_NOTHING = dt.timedelta(0)


def naive_time_text(value: dt.datetime) -> str:
    """``value.isoformat(" ", "microseconds")`` of a naive datetime, the last one's text kept."""
    global _last_time, _last_minute
    last = _last_time
    if value is last[0]:
        return last[1]
    start, head = _last_minute
    since = value - start
    if _NOTHING <= since < _MINUTE:
        text = "%s%02d.%06d" % (head, since.seconds, since.microseconds)  # noqa: UP031 - see above
    else:
        text = value.isoformat(" ", "microseconds")
        _last_minute = (value.replace(second=0, microsecond=0), text[:17])
    _last_time = (value, text)
    return text


def date_text(value: dt.date) -> str:
    """``value.isoformat()`` of a date, the last one's text kept (for an equal date of the same type)."""
    global _last_date
    last = _last_date
    if value is last[0] or (value == last[0] and type(value) is type(last[0])):
        return last[1]
    text = value.isoformat()
    _last_date = (value, text)
    return text


_SAMPLE_TIMES = (dt.datetime(2026, 12, 4, 15, 3, 7), dt.datetime(2026, 1, 2, 3, 4, 5, 123456), dt.datetime(1, 1, 1))


def _faster(process):
    """SQLite's DateTime and Date bind processors format through a dict and ``%``; a naive datetime's
    ``isoformat(" ", "microseconds")`` and a date's ``isoformat()`` are the same text when the
    storage format is SQLAlchemy's default (checked on samples; anything else keeps ``process``)."""
    try:
        if all(process(t) == t.isoformat(" ", "microseconds") for t in _SAMPLE_TIMES):

            def naive_time(value, process=process, datetime=dt.datetime):
                if type(value) is datetime and value.tzinfo is None:
                    return naive_time_text(value)
                return process(value)

            return naive_time
        days = [t.date() for t in _SAMPLE_TIMES]
        if all(process(d) == d.isoformat() for d in days):

            def date(value, process=process, date=dt.date):
                if type(value) is date:
                    return date_text(value)
                return process(value)

            return date
    except Exception:  # noqa: BLE001 - a processor of another kind (JSON, an enum...): kept as it is
        pass
    return process
