"""The tests' links to PostgreSQL (tests/pg_link_helpers.py) when PostgreSQL refuses a connection."""

from __future__ import annotations

import socket

from pg_link_helpers import CuttableLink


def test_a_link_whose_postgresql_refuses_a_connection_closes_it_and_takes_the_next():
    """As PostgreSQL restarting does to a client: each connection through the link is closed at once
    (before, the link's accepting thread ended at the first refusal, and every later connection waited
    unanswered, a test's server then waiting its connect timeout)."""
    closed_port = socket.create_server(("127.0.0.1", 0))
    target = closed_port.getsockname()
    closed_port.close()  # (nothing listens there now: a connection is refused)
    link = CuttableLink(target)
    for _ in range(2):
        with socket.create_connection(("127.0.0.1", link.port), timeout=5) as client:
            assert client.recv(1) == b""  # closed by the link, not left waiting (socket.timeout)
