"""The audit log (issue 7): an administrator sees who logged in, failed to, made users and
tokens, and did what at which counter; nobody else may read it."""

from __future__ import annotations

from api_helpers import assert_error, issue


def test_the_audit_log_names_who_did_what(live_server):
    srv = live_server(accounts_by_cli=True)  # what `user add` and `token create` record is checked
    srv.add_user("lan", "mat-khau-dung-1", "clerk", counter=1)
    http = srv.session()
    assert_error(http.post("/api/v1/auth/login", json={"username": "lan", "password": "sai-roi"}), 401, "bad_login")
    login = http.post("/api/v1/auth/login", json={"username": "lan", "password": "mat-khau-dung-1"})
    assert login.ok
    issue(http, "HT")
    called = http.post("/api/v1/counters/1/next", headers={"X-CSRFToken": login.json()["csrf_token"]})
    assert called.status_code == 200, called.text

    admin = {"Authorization": f"Bearer {srv.token('admin')}"}
    events = http.get("/api/v1/audit", headers=admin).json()["events"]
    kinds = [e["kind"] for e in events]
    assert kinds.index("called") < kinds.index("login") < kinds.index("login_failed") < kinds.index("user_added")
    assert "token_created" in kinds  # the admin token this test made
    by_kind = {e["kind"]: e for e in events}
    assert by_kind["called"]["by"] == "lan" and by_kind["called"]["counter"] == 1
    assert by_kind["called"]["ticket"] == 1001
    assert by_kind["login"]["by"] == "lan"
    assert by_kind["login_failed"]["detail"]["username"] == "lan"
    assert "sai-roi" not in str(events)  # a mistyped password is never kept
    assert by_kind["user_added"]["detail"] == {"username": "lan", "role": "clerk", "counter": 1, "by": "command line"}
    assert len(http.get("/api/v1/audit?limit=2", headers=admin).json()["events"]) == 2
    assert_error(http.get("/api/v1/audit?limit=0", headers=admin), 422, "invalid_field", field="limit")
    assert_error(http.get("/api/v1/audit?since=yesterday", headers=admin), 422, "invalid_field", field="since")
    assert http.get("/api/v1/audit?since=2099-01-01T00:00:00Z", headers=admin).json()["events"] == []


def test_only_an_administrator_reads_the_audit_log(live_server):
    srv = live_server()
    http = srv.session()
    assert_error(http.get("/api/v1/audit"), 401, "unauthorized")
    for role, counter in (("supervisor", None), ("counter", 1), ("kiosk", None), ("display", None)):
        headers = {"Authorization": f"Bearer {srv.token(role, counter)}"}
        assert_error(http.get("/api/v1/audit", headers=headers), 403, "forbidden_role")
