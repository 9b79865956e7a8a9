"""The same server on PostgreSQL (QUEUEKIOSK_DATABASE_URL): migrated at start, and the API works.

Uses ``pg_url`` from tests/conftest.py: a fresh database on 127.0.0.1:5432 (user postgres),
dropped after the test; the test is skipped when PostgreSQL is not reachable.
"""

from __future__ import annotations

import pytest

psycopg = pytest.importorskip("psycopg")

pytestmark = pytest.mark.postgres


@pytest.fixture
def start_pg_server(pg_url, live_server):
    """Starts the server in the test itself, so that a server that cannot start is a test failure.

    pg_url is set up before live_server, so its database is dropped only after the server stopped.
    """
    return lambda: live_server(env={"QUEUEKIOSK_DATABASE_URL": pg_url})


def test_issue_next_finish_on_postgresql(start_pg_server, pg_url, sio_client):
    pg_server = start_pg_server()
    http = pg_server.session()
    counter1 = {"Authorization": f"Bearer {pg_server.token('counter', 1)}"}
    display = sio_client(pg_server)
    assert display.subscribe({"display": "lobby"}) == {"ok": True}

    first = http.post("/api/v1/tickets", json={"service": "HT"})
    assert first.status_code == 201, first.text
    first = first.json()
    second = http.post("/api/v1/tickets", json={"service": "HT", "priority": "elderly"}).json()
    assert (first["number"], second["number"]) == (1001, 1002)
    assert http.post("/api/v1/tickets", json={"service": "CT"}).json()["number"] == 2001

    called = http.post("/api/v1/counters/1/next", headers=counter1)
    assert called.status_code == 200, called.text
    called = called.json()
    assert called["status"] == "called"
    assert display.wait_for("ticket.called", lambda d: d["ticket"]["id"] == called["id"])["counter"] == 1

    finished = http.post("/api/v1/counters/1/finish", headers=counter1)
    assert finished.status_code == 200, finished.text
    assert finished.json()["status"] == "done"
    assert http.get(f"/api/v1/tickets/{called['id']}").json()["status"] == "done"
    # refusals roll back on PostgreSQL too
    assert http.post("/api/v1/counters/1/recall", headers=counter1).status_code == 409

    queue = http.get("/api/v1/queue").json()
    waiting = {s["code"]: s["waiting"] for s in queue["services"]}
    assert (waiting["HT"], waiting["CT"]) == (1, 1)

    # the data is in PostgreSQL, in the schema the migrations made, and not in a SQLite file
    assert not (pg_server.instance / "queuekiosk.db").exists()
    with psycopg.connect(pg_url) as conn:
        version = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        assert len(version) == 1 and version[0][0], "the migrations ran and recorded their version"
        rows = conn.execute("SELECT number, status FROM tickets ORDER BY number").fetchall()
        kinds = [k for (k,) in conn.execute("SELECT kind FROM events ORDER BY id")]
    assert {n: s for n, s in rows} == {1001: "done", 1002: "waiting", 2001: "waiting"}
    assert kinds.count("issued") == 3
    assert "called" in kinds and "finished" in kinds


def test_postgresql_server_restarts_on_the_migrated_database(start_pg_server):
    """A second start finds the schema in place (migrations are idempotent) and keeps the tickets."""
    pg_server = start_pg_server()
    http = pg_server.session()
    ticket = http.post("/api/v1/tickets", json={"service": "DC"}).json()
    pg_server.restart()
    http = pg_server.session()
    assert http.get(f"/api/v1/tickets/{ticket['id']}").json()["number"] == ticket["number"]
    assert http.post("/api/v1/tickets", json={"service": "DC"}).json()["number"] == ticket["number"] + 1
