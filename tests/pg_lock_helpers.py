"""PostgreSQL tests of two processes (threads on their own connections) that race for a row, and the
engine of a test database's URL."""

from __future__ import annotations

import time
import zlib

from sqlalchemy import create_engine, text

_WAITING_FOR_A_LOCK = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
    " AND query ILIKE :statement AND (CAST(:blocker AS int) IS NULL OR :blocker = ANY(pg_blocking_pids(pid)))"
)


def pg_engine(url: str):
    """A SQLAlchemy engine of the PostgreSQL database ``url`` (a fixture's postgresql:// URL), by psycopg 3."""
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def until_one_waits_for_a_lock(
    engine, seconds: float = 10, unless=lambda: False, statement: str = "%", blocked_by: int | None = None
) -> bool:
    """Whether, within ``seconds``, a connection of the test's database waits for a lock another holds
    in a statement ``ILIKE statement`` (any, by default), held by the backend ``blocked_by`` if given (False
    as soon as ``unless()``: what would wait is done without waiting)."""
    with engine.connect() as conn:
        deadline = time.monotonic() + seconds
        wanted = {"statement": statement, "blocker": blocked_by}
        while not conn.execute(_WAITING_FOR_A_LOCK, wanted).scalar():
            if time.monotonic() > deadline or unless():
                return False
            conn.rollback()
            time.sleep(0.02)
    return True


def _lease_holders(conn, name: str) -> list[int]:
    """The backends holding the lease ``name`` (server/core/lease.py: an advisory lock keyed by its crc32)."""
    query = text(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 AND objid = :key AND objsubid = 1"
        " AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    return list(conn.execute(query, {"key": zlib.crc32(name.encode())}).scalars())


def end_lease_connection(engine, name: str = "delivery-worker", seconds: float = 15) -> None:
    """End the connection holding the lease ``name`` (as a PostgreSQL restart or an administrator's
    pg_terminate_backend would), then wait until a server holds it again on another connection."""
    with engine.connect() as conn:
        deadline = time.monotonic() + seconds
        while not (ended := _lease_holders(conn, name)):
            assert time.monotonic() < deadline, f"nobody holds {name}"
            conn.rollback()
            time.sleep(0.05)
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": ended[0]})
        conn.commit()
        while not (holders := _lease_holders(conn, name)) or set(holders) & set(ended):
            assert time.monotonic() < deadline, f"nobody took {name} again"
            conn.rollback()
            time.sleep(0.05)
