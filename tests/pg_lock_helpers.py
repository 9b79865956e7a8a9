"""PostgreSQL tests of two processes (threads on their own connections) that race for a row."""

from __future__ import annotations

import time

from sqlalchemy import text

_WAITING_FOR_A_LOCK = text(
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


def until_one_waits_for_a_lock(engine, seconds: float = 10) -> bool:
    """Whether, within ``seconds``, a connection of the test's database waits for a lock another holds."""
    with engine.connect() as conn:
        deadline = time.monotonic() + seconds
        while not conn.execute(_WAITING_FOR_A_LOCK).scalar():
            if time.monotonic() > deadline:
                return False
            conn.rollback()
            time.sleep(0.02)
    return True
