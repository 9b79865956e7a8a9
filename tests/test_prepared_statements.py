"""The issuing path's statements run straight on SQLite's cursor (server/core/engine/prepared.py):
what they store is what SQLAlchemy's ``Connection.execute`` stores, value for value and type for
type, and a refused write is SQLAlchemy's error, as callers expect."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from queuekiosk.server.core import models as m
from queuekiosk.server.core.db import create_db_engine, prepare_database
from queuekiosk.server.core.engine.prepared import Prepared

E = m.Event.__table__
T = m.Ticket.__table__
EVENT_KEYS = ("site_id", "kind", "at", "ticket_id", "service_id", "counter_id", "user_id", "token_id", "detail")


@pytest.fixture
def database(tmp_path, config, sqlite_url):
    engine = create_db_engine(sqlite_url)
    site = prepare_database(engine, config, tmp_path / "instance")
    yield engine, site, sqlite_url.removeprefix("sqlite:///")
    engine.dispose()


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
    ticket = {
        "public_id": "same-id",
        "site_id": site.id,
        "origin_service_id": site.service_ids["HT"],
        "service_id": site.service_ids["HT"],
        "number": 1001,
        "business_day": dt.date(2026, 12, 3),
        "priority_id": None,
        "kiosk_id": None,
        "status": "waiting",
        "issued_at": dt.datetime(2026, 12, 3, 8, 0),
        "transfers": 0,
    }
    prepared = Prepared(insert(T).returning(T.c.id), keys=tuple(ticket))
    with engine.begin() as conn:
        (first,) = prepared.one(conn, ticket)
        with pytest.raises(IntegrityError):  # public_id is unique
            prepared.one(conn, {**ticket, "number": 1002})
        (second,) = prepared.one(conn, {**ticket, "public_id": "other-id", "number": 1002})
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
