"""A group-commit batch's gathered statements sent in one write (pg_writer.Gathered.flush).

psycopg's ``Cursor.execute`` in pipeline mode sends what is queued so far at every statement, and its
pipeline sends its queued commands one at a time, a poll and a write to PostgreSQL's socket each: a
batch's first round trip (BEGIN, the transaction's id, the savepoint, the look at the webhooks, the
tickets) was seven writes and ten polls, each write waking PostgreSQL's backend for a part of it. Here
the statements are queued without sending and then written into libpq's buffer, which libpq in pipeline
mode keeps until the Sync (or 8 KB): one write, then psycopg's Sync and Flush, and two polls. A second
process halves a batch, so this fixed work was paid twice as often a ticket (docs/performance.md,
"One write a round trip"). psycopg 3.3's internals: check on upgrade (tests/test_pg_gathered.py)."""

from __future__ import annotations


def queue_execute(dbapi_connection, cursor, sql: str, values) -> None:
    """``cursor.execute(sql, values)`` on ``dbapi_connection`` in pipeline mode, queued only (psycopg's
    ``Cursor._execute_gen`` but its ``_communicate_gen``). Its result, or PostgreSQL's error, comes as
    psycopg's pipeline gives them; psycopg's own errors before sending (values it cannot write) are
    raised here, as ``execute`` raises them."""
    with dbapi_connection.lock:
        dbapi_connection.wait(_queued(cursor, sql, values))


def buffer_queued(dbapi_connection) -> None:
    """The pipeline's queued statements and commands written into libpq's buffer: they go with the
    pipeline's Sync as it ends (``with connection.pipeline()``), or in 8 KB pieces before it when they
    are more. Under the connection's lock, as psycopg itself sends them."""
    with dbapi_connection.lock:
        queued = dbapi_connection._pipeline.command_queue
        while queued:
            queued.popleft()()


def _queued(cursor, sql: str, values):
    yield from cursor._start_query(sql)
    query = cursor._convert_query(sql, values)
    yield from cursor._maybe_prepare_gen(query, prepare=None, binary=None)
    cursor._last_query = sql
    yield from cursor._conn._prepared.maintain_gen(cursor._conn)
