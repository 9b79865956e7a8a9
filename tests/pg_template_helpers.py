"""Copies of the session's migrated PostgreSQL template, made once and handed to one test after another
(``migrated_pg_url``, tests/conftest.py) instead of a ``CREATE DATABASE … TEMPLATE`` and a ``DROP DATABASE``
per test.

A new database from the template cost the PostgreSQL server 0.13-0.35 s of CPU (it writes every page of the
~9 MB copy, the system catalogs mostly, to its WAL) and, with its drop, ~2 s of a loaded machine's wall
(2026-12-07: 0.38 s the copy, 1.7 s the drop), for each of the suite's ~250 tests on a migrated PostgreSQL
database; that CPU is the server's, which tests/suite_cpu.py does not count. A database a test is done with
is made the template again instead (~0.14 s of wall, ~0.01 s of the server's CPU): its connections ended, it
is renamed (a server of the test still running, stopped after this, reaches it no more, as when it was
dropped), its rows deleted, its sequences restarted and the template's rows (``alembic_version``'s) written
back. Only when nothing but rows changed: a test that changed anything else in it (a table, a column, a
view, a function, a type, a trigger, an index, a large object: any row of its catalogs written since it was
handed out, seen by the row's ``xmin``; a setting, the owner or the connection limit of the database; a
prepared transaction; a catalog row deleted, seen by the catalogs' row counts; its access list or
comment) has its database dropped, as every database was before, and the next test gets a new
copy."""

from __future__ import annotations

import secrets
import time

import psycopg

ADMIN = "postgresql://postgres@127.0.0.1:5432/{}"
_XID_WRAP = 1 << 32


class TemplateCopies:
    """``take()`` a database (a copy of ``template`` as it was made), ``give_back(name)`` at the test's end."""

    def __init__(self, admin, template: str):
        self.admin, self.template = admin, template
        self._free: list[tuple[str, int]] = []  # (database, the transaction id from which a change is the test's)
        self._handed: dict[str, int] = {}
        with psycopg.connect(ADMIN.format(template), autocommit=True) as conn:
            self._tables = [
                row[0]
                for row in conn.execute(
                    "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables"
                    " WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
                )
            ]
            self._rows = {table: _copied_out(conn, table) for table in self._tables}
            self._rows = {table: data for table, data in self._rows.items() if data}
            self._catalogs = [
                row[0]
                for row in conn.execute(
                    "SELECT relname FROM pg_class WHERE relnamespace = 'pg_catalog'::regnamespace AND relkind = 'r'"
                    " AND NOT relisshared AND relname <> 'pg_statistic' ORDER BY 1"  # (ANALYZE's, not a test's)
                )
            ]
            # a row deleted leaves no xmin to see: each catalog's rows counted too
            self._counted = (
                "SELECT ARRAY[" + ", ".join(f"(SELECT count(*) FROM pg_catalog.{c})" for c in self._catalogs) + "]"
            )
            self._counts = conn.execute(self._counted).fetchone()[0]

    def _now(self) -> int:
        return self.admin.execute("SELECT txid_current()").fetchone()[0]

    def take(self) -> str:
        name, since = self._free.pop() if self._free else (self._new(), 0)
        self._handed[name] = since or self._now()
        return name

    def _new(self) -> str:
        name = f"qk_test_{secrets.token_hex(6)}"
        self.admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return name

    def give_back(self, name: str) -> None:
        """Its connections ended and the database renamed, so that a server of the test still running (stopped
        after this) reaches it no more, as when it was dropped; then made the template again, or dropped."""
        since = self._handed.pop(name)
        renamed = self._renamed(name)
        if renamed is not None and self._made_again(renamed, since):
            self._free.append((renamed, self._now()))
        else:
            self.drop(renamed or name)

    def _renamed(self, name: str) -> str | None:
        """``name`` under a new name, once no connection to it is left; None when one always came back."""
        new = f"qk_test_{secrets.token_hex(6)}"
        ended = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
        deadline = time.monotonic() + 2
        while True:
            self.admin.execute(ended, (name,))
            try:
                self.admin.execute(f'ALTER DATABASE "{name}" RENAME TO "{new}"')
                return new
            except psycopg.errors.ObjectInUse:  # a backend still ending, or a connection made again meanwhile
                if time.monotonic() > deadline:
                    return None
                time.sleep(0.01)

    def drop(self, name: str) -> None:
        self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        for name in [*self._handed, *(name for name, _ in self._free)]:
            self.drop(name)
        self._free.clear()
        self._handed.clear()

    def _made_again(self, name: str, since: int) -> bool:
        """The database emptied back to the template's rows; False (to be dropped) when anything but its rows
        changed, or it could not be done."""
        low = since % _XID_WRAP
        if low > _XID_WRAP - 100_000_000:  # the 32-bit transaction ids near their wrap: not compared
            return False
        settings = self.admin.execute(
            "SELECT (SELECT count(*) FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase"
            "        WHERE d.datname = %(name)s)"
            " + (SELECT count(*) FROM pg_prepared_xacts WHERE database = %(name)s)"
            " + (SELECT count(*) FROM pg_database d, pg_database t WHERE d.datname = %(name)s"
            "    AND t.datname = %(template)s AND (d.datdba, d.dattablespace, d.datconnlimit, d.datallowconn,"
            "    d.datistemplate, d.datcollate, d.datctype, d.datacl) IS DISTINCT FROM (t.datdba, t.dattablespace,"
            "    t.datconnlimit, t.datallowconn, false, t.datcollate, t.datctype, t.datacl))"
            " + (SELECT count(*) FROM pg_shdescription s JOIN pg_database d ON d.oid = s.objoid"
            "    WHERE s.classoid = 'pg_database'::regclass AND d.datname = %(name)s)",
            {"name": name, "template": self.template},
        ).fetchone()[0]
        if settings:
            return False
        try:
            with psycopg.connect(ADMIN.format(name), connect_timeout=5) as conn:
                conn.execute("SET lock_timeout = '5s'")
                changed = " OR ".join(
                    f"EXISTS (SELECT FROM pg_catalog.{catalog} WHERE xmin::text::bigint >= {low})"
                    for catalog in self._catalogs
                )
                if conn.execute(f"SELECT {changed}").fetchone()[0]:
                    return False
                if conn.execute(self._counted).fetchone()[0] != self._counts:
                    return False
                _emptied(conn, self._tables)
                with conn.cursor() as cursor:
                    for table, data in self._rows.items():
                        with cursor.copy(f"COPY {table} FROM STDIN") as copy:
                            copy.write(data)
                conn.commit()
                # the oid kept by the rename keeps its statistics too (a test counts deadlocks)
                conn.execute("SELECT pg_stat_reset()")
        except psycopg.Error:
            return False
        return True


# a table left with more rows than this is truncated (new files, 10-20 ms a table) rather than left with them dead
# (a later test's scans and plans on a table of dead rows until autovacuum comes)
MANY_ROWS = 1000


def _emptied(conn, tables: list[str]) -> None:
    """Every row deleted, the foreign keys' checks off meanwhile (TRUNCATE of every table made each one's files
    again: 0.4-0.7 s), the sequences back at their start (``setval``, which writes no new file either)."""
    conn.execute("SET LOCAL session_replication_role = replica")
    many = [table for table in tables if conn.execute(f"DELETE FROM {table}").rowcount > MANY_ROWS]
    if many:
        conn.execute(f"TRUNCATE {', '.join(many)} CASCADE")
    sequences = conn.execute(
        "SELECT format('%I.%I', schemaname, sequencename), start_value FROM pg_sequences"
        " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
    ).fetchall()
    if sequences:
        conn.execute("SELECT " + ", ".join(f"setval('{name}', {start}, false)" for name, start in sequences))


def _copied_out(conn, table: str) -> bytes:
    with conn.cursor() as cursor, cursor.copy(f"COPY {table} TO STDOUT") as copy:
        return b"".join(bytes(block) for block in copy)
