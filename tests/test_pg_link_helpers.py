"""The tests' links to PostgreSQL (tests/pg_link_helpers.py): when PostgreSQL refuses a connection, and a failover
that moved the address while a query was under way."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from pg_link_helpers import CuttableLink, MovedAddressLink


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


@pytest.mark.postgres
def test_a_failover_comes_once_a_query_under_way_is_answered(pg_url, _pg_admin):
    """``MovedAddressLink.fail_over()`` is a failover of a server at rest: a query under way on one of the
    link's connections is answered first, and the next one on that connection, after the failover, gets
    the address's new holder's reset at once. (Before, a query under way was never answered: its client
    heard of it at its first keepalive probe, which tests/api/test_postgres_outage.py puts off for 10
    minutes; a server's own round trip under way at a failover then held its group writer, and the ticket
    queued behind it waited past the test's 15 s.)"""
    psycopg = pytest.importorskip("psycopg")
    link = MovedAddressLink()
    conn = psycopg.connect(pg_url.replace(":5432/", f":{link.port}/") + "?keepalives_idle=600", autocommit=True)
    try:
        answers = []
        querying = threading.Thread(
            target=lambda: answers.append(conn.execute("SELECT 1 FROM pg_sleep(3)").fetchone()), daemon=True
        )
        querying.start()
        running = (
            "SELECT 1 FROM pg_stat_activity WHERE datname = %s AND state = 'active'"
            " AND query LIKE 'SELECT 1 FROM pg_sleep%%'"
        )
        deadline = time.monotonic() + 15
        while not _pg_admin.execute(running, (pg_url.rsplit("/", 1)[1],)).fetchall():  # (the query under way)
            assert querying.is_alive() and time.monotonic() < deadline, "the query was not seen under way"
            time.sleep(0.01)
        link.fail_over()
        querying.join(10)
        assert answers == [(1,)]  # (answered, not waiting for a probe)
        started = time.monotonic()
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
        assert time.monotonic() - started < 5
    finally:
        conn.close()
        link.close()
