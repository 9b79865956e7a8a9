"""The tests' libpq trace (tests/libpq_trace.py) stops when its block ends: nothing more is written into
the file descriptor it had, which a later connection's socket may have by then. Left on, libpq's trace
text reached another connection's PostgreSQL as protocol bytes, and that test waited for ever."""

from __future__ import annotations

import os
import socket

import psycopg
import pytest
from libpq_trace import sent_messages

pytestmark = pytest.mark.postgres


def descriptor_of(path) -> int:
    """The one file descriptor of this process open on ``path``."""
    (found,) = [
        int(fd) for fd in os.listdir("/proc/self/fd") if os.path.realpath(f"/proc/self/fd/{fd}") == str(path.resolve())
    ]
    return found


def test_a_trace_writes_nothing_into_its_descriptor_once_its_block_is_over(_pg_admin, tmp_path):
    path = tmp_path / "libpq.trace"
    with psycopg.connect(_pg_admin.info.dsn, autocommit=True) as conn:  # a connection of its own
        with sent_messages(conn.pgconn, path) as sent:
            conn.execute("SELECT 1")
            assert sent() == ["Query"]
            traced_into = descriptor_of(path)
        # the trace's file is closed: a socket takes its descriptor's number, as a new connection would
        ours, other_end = socket.socketpair()
        moved = ours.fileno() != traced_into  # (it mostly takes it by itself: the lowest free number)
        if moved:
            with pytest.raises(OSError):  # free, or dup2 would close what has it
                os.fstat(traced_into)
            os.dup2(ours.fileno(), traced_into)
        try:
            conn.execute("SELECT 2")
            other_end.setblocking(False)
            with pytest.raises(BlockingIOError):  # nothing came through
                other_end.recv(4096)
        finally:
            if moved:
                os.close(traced_into)
            ours.close()
            other_end.close()
