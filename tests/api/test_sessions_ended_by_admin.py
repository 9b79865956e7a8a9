"""Against a real server over HTTP and Socket.IO: a counter session ended in /admin (the account's
password changed, its role or counter changed, the account disabled) is heard by the dashboard at once,
as a sign-out is (``counter.signed_out``): its "Chưa mở (cán bộ … đã đăng nhập)" line and who is signed in
at an open counter follow without a reload.
"""

from __future__ import annotations

from api_helpers import PASSWORD, log_in
from faked_clock import on_a_working_morning
from ops_helpers import subscribed


def signed_in(sio_client, srv) -> dict[int, list[str]]:
    """Who a dashboard (re)loaded now says is signed in at each counter, by number."""
    snapshot = subscribed(sio_client, srv, {"dashboard": True}, srv.token("admin")).received("state")[0]
    return {counter["number"]: counter["signed_in"] for counter in snapshot["overview"]["counters"]}


def test_a_session_ended_in_admin_is_heard_by_the_dashboard_at_once(live_server, sio_client, tmp_path):
    """An admin signed in at closed counter 3 whose password is changed, a clerk at counter 4 moved to
    counter 5, and one of two clerks at counter 2 disabled (the counter stays open: a colleague is there):
    each is a sign-out for the dashboard, which then names nobody, or the colleague, there."""
    srv = live_server(env=on_a_working_morning(tmp_path))
    srv.add_user("quantri", PASSWORD, "admin")
    srv.add_user("canbo4", PASSWORD, "clerk", 4)
    srv.add_user("hoa", PASSWORD, "clerk", 2)
    srv.add_user("binh", PASSWORD, "clerk", 2)
    log_in(srv, "quantri", counter=3)
    log_in(srv, "canbo4")
    log_in(srv, "hoa")
    log_in(srv, "binh")
    assert {n: names for n, names in signed_in(sio_client, srv).items() if names} == {
        2: ["hoa", "binh"],
        3: ["quantri"],
        4: ["canbo4"],
    }
    admin = {"Authorization": f"Bearer {srv.token('admin')}"}
    http = srv.session()
    dashboard = subscribed(sio_client, srv, {"dashboard": True}, srv.token("admin"))

    for name, change, counter, left in (
        ("quantri", {"password": "another-" + PASSWORD}, 3, []),
        ("canbo4", {"counter": 5}, 4, []),
        ("hoa", {"active": False}, 2, ["binh"]),
    ):
        mark = dashboard.mark()
        answer = http.patch(f"/api/v1/admin/users/{name}", json=change, headers=admin)
        assert answer.status_code == 200, answer.text
        assert dashboard.wait_for("counter.signed_out", since=mark) == {"counter": counter}, name
        assert signed_in(sio_client, srv)[counter] == left
