"""libpq's own trace of a connection (PQtrace), read as the messages it sent: how tests count round trips.

libpq writes the trace through a stream on the file descriptor it is given, for as long as the connection
lives or until it is untraced. A trace left on after its file was closed goes on writing into that
descriptor's number, which a later connection's socket may have by then: PostgreSQL reads the trace's text
as protocol messages and waits for ever for the rest of one, and the test using that connection hangs
(three suite runs did, 2026-12-04 and 05; docs/performance.md). So a trace is always stopped, which also
flushes it, before its file is closed."""

from __future__ import annotations

import contextlib
from pathlib import Path

import psycopg


@contextlib.contextmanager
def sent_messages(pgconn, path: Path, whole: bool = False):
    """``pgconn`` (psycopg's ``PGconn``) traced into ``path`` while the block runs. Yields the function that
    reads the messages sent since its last call: their kinds (Parse, Bind, Sync, Query...), or with
    ``whole`` each message as traced."""
    # appending: libpq goes on writing at its own offset, so after ``sent`` empties the file a write
    # would land past its end (the first message of each reading lost behind NULs)
    with open(path, "a") as trace:
        pgconn.trace(trace.fileno())
        try:
            pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS | psycopg.pq.Trace.REGRESS_MODE)

            def sent() -> list[str]:
                trace.flush()
                lines = path.read_text().splitlines()
                path.write_text("")
                sent = [line.split("\t", 2)[2] for line in lines if line.startswith("F\t")]
                return sent if whole else [message.split()[0] for message in sent]

            yield sent
        finally:
            if pgconn.pgconn_ptr is not None:  # (a connection already finished writes no more)
                pgconn.untrace()
