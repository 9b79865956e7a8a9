"""A statement queued in psycopg's pipeline mode without being sent at once (pg_writer.Gathered.flush).

psycopg's ``Cursor.execute`` in a pipeline sends what is queued so far and reads what has come back,
at every statement: a batch's first round trip (its BEGIN with the transaction's id, its savepoint,
the look at the webhooks, the tickets) was three writes to PostgreSQL's socket and as many polls
before its Sync, each waking PostgreSQL's backend for a part of the round trip. Queued here, they
all go with the Sync, in one write, as its commands (psycopg's own ``_exec_command``) already did.
A second process halves a batch, so this fixed work was paid twice as often a ticket
(docs/performance.md, "One send a round trip")."""

from __future__ import annotations

def queue_execute(dbapi_connection, cursor, sql: str, values) -> None:
    """``cursor.execute(sql, values)`` on ``dbapi_connection`` in pipeline mode, queued to be sent with
    the pipeline's next Sync (psycopg 3.3's ``Cursor._execute_gen`` but its ``_communicate_gen``: check
    on upgrade, tests/test_pg_gathered.py). Its result, or PostgreSQL's error, comes as psycopg's
    pipeline gives them; psycopg's own errors before sending (values it cannot write) are raised here."""
    with dbapi_connection.lock:
        dbapi_connection.wait(_queued(cursor, sql, values))


def buffer_queued(dbapi_connection) -> None:
    """The pipeline's queued statements and commands written into libpq's buffer, not sent: psycopg's
    pipeline sends them one at a time (a write to the socket, and a poll, each), libpq in pipeline mode
    with its Sync, one write (or more, past 64 KB)."""
    queued = dbapi_connection._pipeline.command_queue
    while queued:
        queued.popleft()()


def _queued(cursor, sql: str, values):
    yield from cursor._start_query(sql)
    query = cursor._convert_query(sql, values)
    yield from cursor._maybe_prepare_gen(query, prepare=None, binary=None)
    cursor._last_query = sql
    yield from cursor._conn._prepared.maintain_gen(cursor._conn)
