"""Taking access away (issue 7): an administrator revokes a lost device's token, disables a
clerk who left, resets a forgotten password, all from the command line while the server runs,
each effective at the next request and written to the audit log."""

from __future__ import annotations

import pytest
from api_helpers import assert_error, issue

PASSWORD = "mat-khau-dung-1"


def login(http, name: str, password: str):
    return http.post("/api/v1/auth/login", json={"username": name, "password": password})


@pytest.fixture(scope="module")
def srv(module_live_server):
    """One server for the module: each test has its own user or token."""
    return module_live_server()


def audit_kinds(srv) -> list[str]:
    events = srv.session().get("/api/v1/audit", headers={"Authorization": f"Bearer {srv.token('admin')}"})
    return [e["kind"] for e in events.json()["events"]]


def test_a_revoked_token_stops_working_at_its_next_request(srv):
    http = srv.session()
    keypad = {"Authorization": f"Bearer {srv.token('counter', 1)}"}
    issue(http, "HT")
    assert http.post("/api/v1/counters/1/next", headers=keypad).status_code == 200

    listing = srv.cli("token", "list").stdout
    row = next(line.split("\t") for line in listing.splitlines() if "\tcounter\tcounter 1\t" in line)
    assert row[-1] == "active" and "qk_" not in listing, "the list never shows a token itself"
    srv.cli("token", "revoke", row[0])

    assert_error(http.post("/api/v1/counters/1/finish", headers=keypad), 401, "bad_token")
    assert "token_revoked" in audit_kinds(srv)
    again = srv.cli("token", "revoke", row[0], check=False)
    assert again.returncode != 0 and "already revoked" in again.stderr, "nor is it listed as active"
    unknown = srv.cli("token", "revoke", "9999", check=False)
    assert unknown.returncode != 0 and "no token 9999" in unknown.stderr and "Traceback" not in unknown.stderr


def test_a_disabled_clerk_is_out_at_once_and_back_when_enabled(srv):
    srv.add_user("lan", PASSWORD, "clerk", counter=1)
    http = srv.session()
    csrf = {"X-CSRFToken": login(http, "lan", PASSWORD).json()["csrf_token"]}
    issue(http, "HT")
    assert http.post("/api/v1/counters/1/next", headers=csrf).status_code == 200

    srv.cli("user", "disable", "lan")
    assert "lan\tclerk\tcounter 1\tdisabled" in srv.cli("user", "list").stdout
    assert_error(http.post("/api/v1/counters/1/finish", headers=csrf), 401, "unauthorized")  # the open session
    assert_error(login(srv.session(), "lan", PASSWORD), 401, "bad_login")

    srv.cli("user", "enable", "lan")
    assert login(srv.session(), "lan", PASSWORD).ok
    kinds = audit_kinds(srv)
    assert kinds.index("user_enabled") < kinds.index("user_disabled")  # newest first


def test_a_new_password_replaces_the_old_one(srv):
    srv.add_user("hoa", PASSWORD, "supervisor")
    short = srv.cli("user", "password", "hoa", input="ngan\n", check=False)
    assert short.returncode != 0 and "8 characters" in short.stderr
    assert login(srv.session(), "hoa", PASSWORD).ok, "a refused change leaves the old password"

    srv.cli("user", "password", "hoa", input="mat-khau-moi-2\n")
    assert_error(login(srv.session(), "hoa", PASSWORD), 401, "bad_login")
    assert login(srv.session(), "hoa", "mat-khau-moi-2").ok
    assert "password_changed" in audit_kinds(srv)
    nobody = srv.cli("user", "disable", "minh", check=False)
    assert nobody.returncode != 0 and "no user named “minh”" in nobody.stderr
