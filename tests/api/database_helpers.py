"""Shared by the tests of a database in trouble (tests/api/test_database_faults.py,
test_spooler_database.py)."""

from __future__ import annotations

import secrets
import sqlite3


def damage_table(path, table: str = "tickets") -> None:
    """Junk over the first page of the ``table``'s b-tree, as a failing disk or a copy cut short
    leaves it; then a change by another program, so the server's connection reads the file again."""
    with sqlite3.connect(path, isolation_level=None) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
    with open(path, "r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(secrets.token_bytes(page_size))
    with sqlite3.connect(path, isolation_level=None) as db:
        db.execute("PRAGMA user_version = 1")
