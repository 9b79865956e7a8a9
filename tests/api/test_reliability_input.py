"""Malformed input is refused with 422 naming the field, never a 500, and nothing is written
(issue 20, point 5): JSON nested thousands deep on every write route, numbers too big for the
database's integer columns, NUL characters PostgreSQL cannot store. Real server processes on
SQLite and on PostgreSQL.
"""

from __future__ import annotations

import pytest
from api_helpers import assert_error, issue

DEEP = "[" * 5000 + "]" * 5000
WRITE_ROUTES = [
    "/api/v1/tickets",
    "/api/v1/tickets/{ticket}/reprint",
    "/api/v1/tickets/{ticket}/rating",
    "/api/v1/counters/1/next",
    "/api/v1/counters/1/recall",
    "/api/v1/counters/1/start",
    "/api/v1/counters/1/finish",
    "/api/v1/counters/1/no-show",
    "/api/v1/counters/1/transfer",
    "/api/v1/counters/1/pause",
    "/api/v1/counters/1/resume",
    "/api/v1/auth/login",
]


def waiting(http) -> int:
    return sum(s["waiting"] for s in http.get("/api/v1/queue").json()["services"])


def test_json_nested_5000_deep_is_refused_on_every_write_route(server):
    http = server.session()
    ticket = issue(http, "HT")["id"]
    admin = {"Authorization": f"Bearer {server.token('admin')}", "Content-Type": "application/json"}
    for route in WRITE_ROUTES:
        for body in (DEEP, '{"service": ' + DEEP + "}"):
            answer = http.post(route.format(ticket=ticket), data=body, headers=admin)
            assert answer.status_code == 422, (route, answer.status_code, answer.text[:300])
            assert answer.json()["error"]["code"] in ("bad_json", "invalid_field"), (route, answer.text[:300])
    assert waiting(http) == 1  # nothing was issued or called
    assert "Traceback" not in server.log()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_database_server(request, live_server):
    env = (
        {"QUEUEKIOSK_DATABASE_URL": request.getfixturevalue("migrated_pg_url")} if request.param == "postgresql" else {}
    )
    return live_server(env=env)


def test_numbers_too_big_for_the_database_are_refused(any_database_server):
    srv = any_database_server
    http = srv.session()
    issue(http, "HT")
    admin = {"Authorization": f"Bearer {srv.token('admin')}"}
    for number in (2**31, 2**63, 2**64 + 1, 10**30):
        error = assert_error(
            http.post("/api/v1/counters/1/next", json={"number": number}, headers=admin),
            422,
            "invalid_field",
            field="number",
        )
        assert "2147483647" in error["message"]
        assert_error(
            http.post("/api/v1/counters/1/transfer", json={"counter": number}, headers=admin),
            422,
            "invalid_field",
            field="counter",
        )
        assert_error(
            http.post("/api/v1/auth/login", json={"username": "a", "password": "b", "counter": number}),
            422,
            "invalid_field",
            field="counter",
        )
    # the ticket is still waiting: nothing was called
    assert waiting(http) == 1
    assert "Traceback" not in srv.log()


def test_nul_characters_are_refused_and_name_their_field(any_database_server):
    srv = any_database_server
    srv.add_user("lan", "mat-khau-dung-1", "clerk", counter=1)
    http = srv.session()
    admin = {"Authorization": f"Bearer {srv.token('admin')}"}
    assert_error(
        http.post("/api/v1/counters/1/pause", json={"reason": "họp\x00"}, headers=admin),
        422,
        "invalid_field",
        field="reason",
    )
    assert_error(
        http.post("/api/v1/auth/login", json={"username": "lan\x00", "password": "mat-khau-dung-1"}),
        422,
        "invalid_field",
        field="username",
    )
    assert_error(
        http.post("/api/v1/tickets", json={"service": "HT", "kiosk": "k\x00"}), 422, "invalid_field", field="kiosk"
    )
    assert http.get("/api/v1/tickets/abc%00def").status_code == 404
    counter = http.get("/api/v1/counters/1", headers=admin).json()
    assert counter["state"] != "paused", counter
    assert waiting(http) == 0
    assert "Traceback" not in srv.log()
