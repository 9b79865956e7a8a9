"""kill -9 of the server while 32 clients issue and counters call (issue 7, SPEC target):
after the restart every ticket the API acknowledged is there, no number was given twice or
skipped, and a lobby display carries on by itself."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from api_helpers import issue
from sqlalchemy import text

from queuekiosk.server.db import create_db_engine

CLIENTS = 32
SERVICES = ("HT", "CT", "DC", "LD")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request) -> str | None:
    return request.getfixturevalue("pg_url") if request.param == "postgresql" else None


def test_kill_9_under_load_loses_no_acknowledged_ticket(db_url, live_server, sio_client):
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": db_url} if db_url else None)
    display = sio_client(srv, on_connect=lambda client: client.sio.emit("subscribe", {"display": "lobby"}))
    display.wait_for("state")
    tokens = {n: srv.token("counter", n) for n in (1, 2, 4, 5)}
    acknowledged: list[dict] = []
    called: list[dict] = []
    lock = threading.Lock()
    stop = threading.Event()

    def issuer(k: int):
        http = srv.session()
        while not stop.is_set():
            try:
                response = http.post("/api/v1/tickets", json={"service": SERVICES[k % len(SERVICES)]}, timeout=5)
            except requests.RequestException:
                return  # the server is gone: whatever was not answered was not promised
            if response.status_code == 201:
                with lock:
                    acknowledged.append(response.json())

    def counter(number: int, token: str):
        http = srv.session()
        while not stop.is_set():
            try:
                response = http.post(f"/api/v1/counters/{number}/next", timeout=5,
                                     headers={"Authorization": f"Bearer {token}"})
            except requests.RequestException:
                return
            if response.status_code == 200:
                with lock:
                    called.append(response.json())

    threads = [threading.Thread(target=issuer, args=(k,)) for k in range(CLIENTS)]
    threads += [threading.Thread(target=counter, args=item) for item in tokens.items()]
    for thread in threads:
        thread.start()
    time.sleep(3)
    srv.proc.kill()  # SIGKILL: no shutdown code runs
    srv.proc.wait(10)
    stop.set()
    for thread in threads:
        thread.join(30)
    assert len(acknowledged) > 100, "the load was too light to mean anything"

    srv.start()
    http = srv.session()
    for ticket in acknowledged:
        answer = http.get(f"/api/v1/tickets/{ticket['id']}")
        assert answer.status_code == 200, f"acknowledged ticket {ticket['number']} is gone"
        assert answer.json()["number"] == ticket["number"]
    for ticket in called:  # an acknowledged call stays a call
        assert http.get(f"/api/v1/tickets/{ticket['id']}").json()["status"] != "waiting"

    # numbers: each given once, none skipped (read from the database itself)
    given = _numbers_in_database(srv, db_url)
    for service in SERVICES:
        numbers = given[service]
        assert len(numbers) == len(set(numbers)), f"{service}: a number was given twice"
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), f"{service}: a gap"
        assert {t["number"] for t in acknowledged if t["service"] == service} <= set(numbers)
        assert issue(http, service)["number"] == numbers[-1] + 1  # the day goes on where it stopped

    # the lobby display reconnected by itself and hears the next call
    display.wait_connects(2, timeout=20)
    ticket = issue(http, "HT")
    while True:
        answer = http.post("/api/v1/counters/1/next", headers={"Authorization": f"Bearer {tokens[1]}"})
        assert answer.status_code == 200, answer.text
        if answer.json()["id"] == ticket["id"]:
            break
    display.wait_for("ticket.called", lambda e: e["ticket"]["id"] == ticket["id"], timeout=10)


def _numbers_in_database(srv, db_url: str | None) -> dict[str, list[int]]:
    engine = create_db_engine(db_url or f"sqlite:///{srv.instance / 'queuekiosk.db'}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT s.code, t.number FROM tickets t JOIN services s ON s.id = t.origin_service_id"
                                     " ORDER BY t.number")).all()
    finally:
        engine.dispose()
    numbers: dict[str, list[int]] = {code: [] for code in SERVICES}
    for code, number in rows:
        numbers.setdefault(code, []).append(number)
    return numbers
