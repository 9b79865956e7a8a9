"""The looks the background loops take again and again (server/core/db.py read_bare): the saved
setup's versions (live_setup.py, every half second) and the delivery worker's look (outbox.py, every
second). On SQLite they run straight on the cursor, outside a transaction; they read what SQLAlchemy's
execution reads, on SQLite and on PostgreSQL, and a failure is raised as SQLAlchemy raises it."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import OperationalError

from queuekiosk.server.core import models as m
from queuekiosk.server.core import outbox
from queuekiosk.server.core.db import create_db_engine, prepare_database, read_bare, reads_engine
from queuekiosk.server.web.live_setup import _SAVED_VERSIONS


def test_each_look_reads_what_sqlalchemy_reads(migrated_db_url, config, tmp_path):
    engine = create_db_engine(migrated_db_url)
    reads = reads_engine(engine)
    try:
        site = prepare_database(engine, config, tmp_path)
        looks = (_SAVED_VERSIONS, outbox._ACTIVE_HOOK_IDS, outbox._ANY_UNDISPATCHED)
        with reads.connect() as conn:
            assert [read_bare(conn, look) for look in looks] == [[(site.id, 1, min(site.service_codes))], [], []]
            assert conn.in_transaction() == (engine.dialect.name != "sqlite")  # SQLite: none begun
        with engine.begin() as conn:
            conn.execute(
                insert(m.webhooks).values(
                    site_id=site.id,
                    url="http://127.0.0.1:9/",
                    events=["ticket.issued"],
                    secret="s" * 32,
                    active=True,
                    created_at=m.utcnow(),
                )
            )
            conn.execute(
                insert(m.outbox_events).values(site_id=site.id, kind="ticket.issued", payload={}, created_at=m.utcnow())
            )
        with reads.connect() as conn:
            bare = [read_bare(conn, look) for look in looks]
            assert conn.in_transaction() == (engine.dialect.name != "sqlite")  # SQLite: none begun
        with reads.connect() as conn:
            executed = [[tuple(row) for row in conn.execute(look)] for look in looks]
            assert read_bare(conn, outbox._ACTIVE_HOOK_IDS) == executed[1]  # inside a transaction: SQLAlchemy's way
        assert bare == executed and len(bare[1]) == 1 and len(bare[2]) == 1
        with reads.connect() as conn:
            assert outbox.active_webhooks(conn) == {bare[1][0][0]} and outbox.undispatched(conn)
    finally:
        engine.dispose()


def test_a_failing_look_is_raised_as_sqlalchemy_raises_it(migrated_sqlite_url):
    engine = create_db_engine(migrated_sqlite_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE webhooks"))
        with reads_engine(engine).connect() as conn, pytest.raises(OperationalError, match="no such table: webhooks"):
            read_bare(conn, select(m.webhooks.c.id))
    finally:
        engine.dispose()
