"""Sessions end for good (issue 20, point 8): a cookie saved before logout, a password change or
a disabled account no longer answers or acts; another session of the same user is not ended by
one logout. Real server, real cookies, the real command line.
"""

from __future__ import annotations

from api_helpers import assert_error

PASSWORD = "mat-khau-dung-1"


def log_in(srv, name="lan"):
    http = srv.session()
    answer = http.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    http.headers["X-CSRFToken"] = answer.json()["csrf_token"]
    return http


def copy_of(srv, http):
    """Another client holding a saved copy of ``http``'s cookie and CSRF header."""
    thief = srv.session()
    thief.cookies.update(http.cookies)
    thief.headers["X-CSRFToken"] = http.headers["X-CSRFToken"]
    return thief


def assert_works(http):
    assert http.get("/api/v1/auth/me").status_code == 200
    paused = http.post("/api/v1/counters/1/pause", json={"reason": "họp"})
    assert paused.status_code == 200, paused.text
    assert http.post("/api/v1/counters/1/resume").status_code == 200


def assert_ended(http):
    assert_error(http.get("/api/v1/auth/me"), 401, "unauthorized")
    assert_error(http.post("/api/v1/counters/1/pause", json={"reason": "họp"}), 401, "unauthorized")


def test_a_cookie_saved_before_logout_stops_working(live_server):
    srv = live_server()
    srv.add_user("lan", PASSWORD, "clerk", counter=1)
    http = log_in(srv)
    other_pc = log_in(srv)  # the same clerk signed in elsewhere
    saved = copy_of(srv, http)
    assert_works(saved)
    assert http.post("/api/v1/auth/logout").status_code == 204
    assert_ended(saved)
    assert_works(other_pc)  # one logout ends its own session only


def test_a_password_change_or_a_disabled_account_ends_every_open_session(live_server):
    srv = live_server()
    srv.add_user("lan", PASSWORD, "clerk", counter=1)
    srv.add_user("mai", PASSWORD, "clerk", counter=2)
    before_change, bystander = log_in(srv), log_in(srv, "mai")
    srv.cli("user", "password", "lan", input="mat-khau-moi-2\n")
    assert_ended(before_change)
    after_change = srv.session()
    assert after_change.post("/api/v1/auth/login", json={"username": "lan", "password": "mat-khau-moi-2"}).ok
    saved = copy_of(srv, after_change) if "X-CSRFToken" in after_change.headers else after_change
    srv.cli("user", "disable", "lan")
    srv.cli("user", "enable", "lan")  # enabled again: the sessions from before stay ended
    assert_error(saved.get("/api/v1/auth/me"), 401, "unauthorized")
    assert bystander.get("/api/v1/auth/me").status_code == 200
