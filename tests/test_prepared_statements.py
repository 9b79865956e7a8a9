"""The issuing path's statements run straight on SQLite's cursor (server/core/engine/prepared.py):
what they store is what SQLAlchemy's ``Connection.execute`` stores, value for value and type for
type, and a refused write is SQLAlchemy's error, as callers expect. They run on one cursor kept per
connection: a statement that fails half-way leaves it fit for the next one and the transaction going
on, and a connection replaced after an invalidation gets a cursor of its own."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
from sqlalchemy import bindparam, insert, text, update
from sqlalchemy.exc import IntegrityError, OperationalError

from queuekiosk.server.core import models as m
from queuekiosk.server.core.db import create_db_engine, prepare_database
from queuekiosk.server.core.engine.prepared import Prepared, sqlite_cursor

E = m.Event.__table__
T = m.Ticket.__table__
EVENT_KEYS = ("site_id", "kind", "at", "ticket_id", "service_id", "counter_id", "user_id", "token_id", "detail")
# rows 1, 2, 3; the second fails while being read (after the first was handed out)
_FAILS_AT_ROW_2 = Prepared(
    text("SELECT CASE WHEN value = :bad THEN json('{') ELSE value END FROM json_each('[1, 2, 3]')")
)
TICKET_KEYS = ("public_id", "site_id", "origin_service_id", "service_id", "number", "business_day")
TICKET_KEYS += ("priority_id", "kiosk_id", "status", "issued_at", "transfers")
_INSERT = Prepared(insert(T).returning(T.c.id), keys=TICKET_KEYS)
_INSERT_NO_RETURNING = Prepared(insert(T), keys=TICKET_KEYS)
_RENAME_ALL = Prepared(update(T).values(public_id=bindparam("new_id")).returning(T.c.id))  # public_id is unique


@pytest.fixture
def database(tmp_path, config, sqlite_url):
    engine = create_db_engine(sqlite_url)
    site = prepare_database(engine, config, tmp_path / "instance")
    yield engine, site, sqlite_url.removeprefix("sqlite:///")
    engine.dispose()


def ticket(site, public_id: str, number: int) -> dict:
    return {
        "public_id": public_id,
        "site_id": site.id,
        "origin_service_id": site.service_ids["HT"],
        "service_id": site.service_ids["HT"],
        "number": number,
        "business_day": dt.date(2026, 12, 4),
        "priority_id": None,
        "kiosk_id": None,
        "status": "waiting",
        "issued_at": dt.datetime(2026, 12, 4, 8, 0),
        "transfers": 0,
    }


def stored(path: str, table: str, row_id: int) -> list[tuple]:
    """Each column's value and SQLite storage type, as the file holds them."""
    with sqlite3.connect(path) as raw:
        columns = [c[1] for c in raw.execute(f"PRAGMA table_info({table})")]
        values = raw.execute(f"SELECT * FROM {table} WHERE id = ?", (row_id,)).fetchone()
        types = raw.execute(
            f"SELECT {', '.join(f'typeof({c})' for c in columns)} FROM {table} WHERE id = ?", (row_id,)
        ).fetchone()
    return [(c, v, t) for c, v, t in zip(columns, values, types, strict=True) if c != "id"]


def test_a_prepared_insert_stores_what_sqlalchemy_stores(database):
    engine, site, path = database
    event = {
        "site_id": site.id,
        "kind": "issued",
        "at": dt.datetime(2026, 12, 3, 8, 4, 5, 123456),
        "ticket_id": None,
        "service_id": site.service_ids["HT"],
        "counter_id": None,
        "user_id": None,
        "token_id": None,
        "detail": {"number": 1001, "priority": None, "kiosk": "kiosk-1", "text": "Hộ tịch"},
    }
    prepared = Prepared(insert(E).returning(E.c.id), keys=EVENT_KEYS)
    with engine.begin() as conn:
        (fast,) = prepared.one(conn, event)
        usual = conn.execute(insert(E).returning(E.c.id), event).scalar_one()
    assert fast != usual
    assert stored(path, "events", fast) == stored(path, "events", usual)


def test_a_refused_prepared_write_is_sqlalchemys_error_and_the_transaction_goes_on(database):
    engine, site, path = database
    with engine.begin() as conn:
        (first,) = _INSERT.one(conn, ticket(site, "same-id", 1001))
        with pytest.raises(IntegrityError):  # public_id is unique
            _INSERT.one(conn, ticket(site, "same-id", 1002))
        (second,) = _INSERT.one(conn, ticket(site, "other-id", 1002))
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT id, number FROM tickets ORDER BY id").fetchall() == [(first, 1001), (second, 1002)]


def test_outside_a_begun_transaction_it_runs_the_usual_way(database):
    """A connection that has not begun goes through Connection.execute, which begins it (BEGIN
    IMMEDIATE): a raw statement there would commit on its own."""
    engine, site, path = database
    prepared = Prepared(insert(E), keys=EVENT_KEYS)
    event = dict.fromkeys(EVENT_KEYS) | {"site_id": site.id, "kind": "issued", "at": dt.datetime(2026, 12, 3)}
    with engine.connect() as conn:
        prepared.execute(conn, event)
        assert conn.in_transaction()
        conn.rollback()
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT count(*) FROM events WHERE kind = 'issued'").fetchone() == (0,)


def ticket_rows(path: str) -> list[tuple]:
    with sqlite3.connect(path) as raw:
        return raw.execute("SELECT id, public_id, number FROM tickets ORDER BY id").fetchall()


def test_the_cursor_is_kept_for_the_connection(database):
    engine, _site, _path = database
    with engine.begin() as conn:
        cursor = sqlite_cursor(conn)
        assert cursor.connection is conn.connection.dbapi_connection
        assert sqlite_cursor(conn) is cursor
    with engine.begin() as conn:  # the same pooled connection, the same cursor
        assert sqlite_cursor(conn) is cursor


def test_a_read_failing_half_way_is_followed_by_other_statements(database):
    engine, site, path = database
    with engine.begin() as conn:
        assert _FAILS_AT_ROW_2.rows(conn, {"bad": 0}) == [(1,), (2,), (3,)]
        with pytest.raises(OperationalError, match="malformed JSON"):
            _FAILS_AT_ROW_2.rows(conn, {"bad": 2})
        (first,) = _INSERT.one(conn, ticket(site, "first", 1001))
        second = _INSERT_NO_RETURNING.inserted_id(conn, ticket(site, "second", 1002))
        with pytest.raises(OperationalError, match="malformed JSON"):
            _FAILS_AT_ROW_2.rows(conn, {"bad": 2})
        assert _FAILS_AT_ROW_2.rows(conn, {"bad": 0}) == [(1,), (2,), (3,)]
    assert ticket_rows(path) == [(first, "first", 1001), (second, "second", 1002)]


def test_a_write_failing_half_way_is_undone_and_the_transaction_goes_on(database):
    """The rename reaches the second row, then breaks the unique public_id: SQLite undoes the statement
    (the first row keeps its id); the next statements on the cursor, a savepoint's rollback and the
    commit work."""
    engine, site, path = database
    with engine.begin() as conn:
        (first,) = _INSERT.one(conn, ticket(site, "first", 1001))
        (second,) = _INSERT.one(conn, ticket(site, "second", 1002))
        with pytest.raises(IntegrityError):
            _RENAME_ALL.rows(conn, {"new_id": "same"})
        with conn.begin_nested() as savepoint:
            (third,) = _INSERT.one(conn, ticket(site, "third", 1003))
            with pytest.raises(IntegrityError):
                _RENAME_ALL.rows(conn, {"new_id": "same"})
            savepoint.rollback()
        (fourth,) = _INSERT.one(conn, ticket(site, "fourth", 1004))
    assert third == fourth  # (the rolled back row's id is given again)
    assert ticket_rows(path) == [(first, "first", 1001), (second, "second", 1002), (fourth, "fourth", 1004)]


def test_a_replaced_connection_gets_its_own_cursor(database):
    engine, site, path = database
    with engine.connect() as conn:
        conn.begin()
        old_cursor = sqlite_cursor(conn)
        (first,) = _INSERT.one(conn, ticket(site, "first", 1001))
        conn.invalidate()  # (its transaction is lost with it)
        conn.rollback()
        conn.begin()  # a new DBAPI connection
        cursor = sqlite_cursor(conn)
        assert cursor is not old_cursor
        assert cursor.connection is conn.connection.dbapi_connection
        (second,) = _INSERT.one(conn, ticket(site, "second", 1002))
        conn.commit()
    assert ticket_rows(path) == [(second, "second", 1002)]
