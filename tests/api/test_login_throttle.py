"""Guessing passwords is throttled (issue 7): wrong logins past the limit get 429, right ones never count."""

from __future__ import annotations

from api_helpers import assert_error


def test_wrong_passwords_are_throttled_and_right_ones_never_count(live_server):
    srv = live_server()
    srv.add_user("lan", "mat-khau-dung-1", "clerk", counter=1)
    http = srv.session()
    for _ in range(15):  # a clerk logging in all day long is never throttled
        assert http.post("/api/v1/auth/login", json={"username": "lan", "password": "mat-khau-dung-1"}).ok
    for _ in range(10):
        assert_error(
            http.post("/api/v1/auth/login", json={"username": "lan", "password": "doan-bua"}), 401, "bad_login"
        )
    refused = http.post("/api/v1/auth/login", json={"username": "lan", "password": "doan-bua"})
    error = assert_error(refused, 429, "too_many_logins")
    assert "quá nhiều lần" in error["message"] and int(refused.headers["Retry-After"]) > 0
    # now even the right password waits: the guesser cannot tell it found the password
    assert_error(
        http.post("/api/v1/auth/login", json={"username": "lan", "password": "mat-khau-dung-1"}), 429, "too_many_logins"
    )
    assert http.get("/api/v1/queue").ok  # nothing else is slowed down
