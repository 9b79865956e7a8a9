"""The migrated PostgreSQL databases the tests are handed one after another (tests/pg_template_helpers.py):
one whose rows alone a test changed comes back as the template made it; one in which a test changed anything
else is dropped, never handed out again."""

from __future__ import annotations

import psycopg
import pytest
from pg_template_helpers import ADMIN, TemplateCopies

from queuekiosk.server.core.db import HEAD_REVISION

pytestmark = pytest.mark.postgres


@pytest.fixture
def copies(_pg_admin, pg_template):
    made = TemplateCopies(_pg_admin, pg_template)
    yield made
    made.close()


def _exists(admin, name: str) -> bool:
    return admin.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,)).fetchone()[0] == 1


def test_a_database_whose_rows_changed_comes_back_as_the_template_made_it(copies, _pg_admin):
    name = copies.take()
    with psycopg.connect(ADMIN.format(name)) as conn:
        conn.execute("INSERT INTO alembic_version VALUES ('written by a test')")
        conn.execute("SELECT nextval('tickets_id_seq'), nextval('tickets_id_seq')")
        conn.execute("INSERT INTO api_tokens (name, token_hash, role, created_at) VALUES ('t', 'h', 'admin', now())")
    held = psycopg.connect(ADMIN.format(name))  # a connection the test left open: ended
    oid = _oid(_pg_admin, name)
    copies.give_back(name)
    assert held.closed or held.broken or _broken(held)
    assert not _exists(_pg_admin, name), "a server of the test still running can no longer reach it"
    again = copies.take()
    assert _oid(_pg_admin, again) == oid, "the same database, not a new copy"
    with psycopg.connect(ADMIN.format(again)) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD_REVISION,)]
        assert conn.execute("SELECT count(*) FROM api_tokens").fetchone()[0] == 0
        assert conn.execute("SELECT nextval('tickets_id_seq')").fetchone()[0] == 1
        assert conn.execute("SELECT nextval('api_tokens_id_seq')").fetchone()[0] == 1
    copies.give_back(again)


def _oid(admin, name: str) -> int:
    return admin.execute("SELECT oid FROM pg_database WHERE datname = %s", (name,)).fetchone()[0]


def _broken(conn) -> bool:
    try:
        conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return True
    return False


@pytest.mark.parametrize(
    "change",
    [
        "CREATE VIEW the_tests_own AS SELECT * FROM tickets",
        "ALTER TABLE tickets ADD COLUMN the_tests_own integer",
        "CREATE INDEX the_tests_own ON tickets (id)",
        "CREATE FUNCTION the_tests_own() RETURNS integer LANGUAGE sql AS 'SELECT 1'",
        "SELECT lo_create(0)",
        "ALTER DATABASE {name} SET work_mem = '8MB'",
        "ALTER DATABASE {name} CONNECTION LIMIT 50",
        "DROP INDEX uq_users_username_lower",  # a catalog row deleted: no xmin to see
        "GRANT CREATE ON DATABASE {name} TO PUBLIC",
        "COMMENT ON DATABASE {name} IS 'the test''s own'",
    ],
)
def test_a_database_in_which_more_than_rows_changed_is_dropped(copies, _pg_admin, change):
    name = copies.take()
    with psycopg.connect(ADMIN.format(name)) as conn:
        conn.execute(change.format(name=name))
    oid = _oid(_pg_admin, name)
    copies.give_back(name)
    assert not _exists(_pg_admin, name)
    assert _pg_admin.execute("SELECT count(*) FROM pg_database WHERE oid = %s", (oid,)).fetchone()[0] == 0, "dropped"
    other = copies.take()
    with psycopg.connect(ADMIN.format(other)) as conn:
        assert conn.execute("SELECT count(*) FROM pg_class WHERE relname = 'the_tests_own'").fetchone()[0] == 0
        assert (
            conn.execute("SELECT count(*) FROM pg_class WHERE relname = 'uq_users_username_lower'").fetchone()[0] == 1
        )
    copies.give_back(other)
