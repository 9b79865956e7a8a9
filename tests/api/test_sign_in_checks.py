"""Who is asking is read afresh at every request, and cheaply (issue 21): a bearer token is one
statement on the table, and a session reads only the session-ending events since its previous
checks, not all of them since its login. Neither may hide a revocation or an ended session: a
token revoked, or a password changed, on one server process is refused at the very next request on
another process sharing the database. Real servers, real cookies."""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor

import pytest
from api_helpers import assert_error, issue

PASSWORD = "mat-khau-dung-1"


def log_in(srv, name: str):
    http = srv.session()
    answer = http.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    http.headers["X-CSRFToken"] = answer.json()["csrf_token"]
    return http


def busy_session(http, rounds: int = 6) -> None:
    """A clerk at work: requests that each check the session, with other events written in between."""
    for _ in range(rounds):
        issue(http, "HT")
        paused = http.post("/api/v1/counters/1/pause", json={"reason": "họp"})
        assert paused.status_code == 200, paused.text
        assert http.post("/api/v1/counters/1/resume").status_code == 200
        assert http.get("/api/v1/auth/me").status_code == 200


def test_a_session_checked_many_times_still_ends_at_the_next_request(live_server):
    srv = live_server()
    srv.add_user("lan", PASSWORD, "clerk", counter=1)
    http, other_pc = log_in(srv, "lan"), log_in(srv, "lan")
    busy_session(http)
    assert other_pc.post("/api/v1/auth/logout").status_code == 204
    busy_session(http, rounds=2)  # another session's logout ends that one only
    srv.cli("user", "password", "lan", input="mat-khau-moi-2\n")  # another process: the command line
    assert_error(http.get("/api/v1/auth/me"), 401, "unauthorized")
    assert_error(http.post("/api/v1/counters/1/pause", json={"reason": "họp"}), 401, "unauthorized")


@pytest.mark.postgres
def test_a_revocation_on_one_process_is_refused_at_once_on_another(migrated_pg_url, live_server, config_variant):
    """Two processes on one database, as two machines behind a load balancer: a token revoked and a
    password changed through A's admin API are refused by B at the very next request."""
    env = {"QUEUEKIOSK_DATABASE_URL": migrated_pg_url, "QUEUEKIOSK_SECRET_KEY": secrets.token_hex(16)}
    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(lambda _: live_server(config_variant(), env=env), range(2))
    admin = {"Authorization": f"Bearer {a.token('admin')}"}
    on_a, on_b = a.session(), b.session()

    made = on_a.post(
        "/api/v1/admin/tokens", json={"role": "counter", "name": "bàn phím 1", "counter": 1}, headers=admin
    )
    assert made.status_code == 201, made.text
    keypad = {"Authorization": f"Bearer {made.json()['token']}"}
    for _ in range(3):
        issue(on_b, "HT")
        assert on_b.post("/api/v1/counters/1/next", headers=keypad).status_code == 200
    assert on_a.delete(f"/api/v1/admin/tokens/{made.json()['id']}", headers=admin).status_code in (200, 204)
    assert_error(on_b.post("/api/v1/counters/1/next", headers=keypad), 401, "bad_token")
    assert_error(on_b.get("/api/v1/counters/1", headers=keypad), 401, "bad_token")

    # the keypad alone worked at counter 1: its revocation closed the counter (docs/admin.md, "Who works at a
    # counter"), the number it had called back in the queue, so the counter is free for the clerk
    assert on_b.get("/api/v1/counters/1", headers=admin).json()["state"] == "closed"
    a.add_user("lan", PASSWORD, "clerk", counter=1)
    clerk = log_in(b, "lan")
    busy_session(clerk)
    changed = on_a.patch("/api/v1/admin/users/lan", json={"password": "mat-khau-moi-2"}, headers=admin)
    assert changed.status_code == 200, changed.text
    assert_error(clerk.get("/api/v1/auth/me"), 401, "unauthorized")
    assert_error(clerk.post("/api/v1/counters/1/pause", json={"reason": "họp"}), 401, "unauthorized")
