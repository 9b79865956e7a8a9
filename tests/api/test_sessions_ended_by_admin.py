"""Against a real server over HTTP and Socket.IO: a counter session ended in /admin (the account's
password changed, its role or counter changed, the account disabled) is heard by the dashboard at once,
as a sign-out is (``counter.signed_out``), once for each counter it was at: its "Chưa mở (cán bộ … đã
đăng nhập)" line and who is signed in at an open counter follow without a reload. Nothing is heard for
an account signed in nowhere, for a change refused, nor at another site.

That nothing came is seen without waiting: after the change, a marker account signs in at counter
``MARKER``, and the dashboard hears that sign-in after all the change made it hear (one process tells
its dashboards in order).
"""

from __future__ import annotations

from api_helpers import PASSWORD, assert_error, log_in
from faked_clock import on_a_working_morning
from ops_helpers import dashboards
from signed_in_helpers import FAR, signed_in, two_sites_signed_in

MARKER, MARKER_ACCOUNT = 6, "danh-dau"  # an installation admin, signed in there only to mark a point


def signed_out_heard(srv, dashboard, since: int, site: str | None = None) -> list[int]:
    """The counters the dashboard of ``site`` heard ``counter.signed_out`` for from ``since`` up to now: up
    to the marker's sign-in there, made now."""
    log_in(srv, MARKER_ACCOUNT, site=site, counter=MARKER)
    dashboard.wait_for("counter.signed_in", lambda data: data == {"counter": MARKER}, since=since)
    heard = dashboard.events[since:]
    upto = heard.index(("counter.signed_in", {"counter": MARKER}))
    return [data["counter"] for event, data in heard[:upto] if event == "counter.signed_out"]


def test_a_session_ended_in_admin_is_heard_by_the_dashboard_at_once(live_server, tmp_path):
    """An admin signed in at closed counter 3 whose password is changed, a clerk at counter 4 moved to
    counter 5, and one of two clerks at counter 2 disabled (the counter stays open: a colleague is there):
    each is one sign-out for the dashboard, which then names nobody, or the colleague, there."""
    srv = live_server(env=on_a_working_morning(tmp_path))
    for name, role, counter in (
        ("quantri", "admin", None),
        ("canbo4", "clerk", 4),
        ("hoa", "clerk", 2),
        ("binh", "clerk", 2),
        (MARKER_ACCOUNT, "admin", None),
    ):
        srv.add_user(name, PASSWORD, role, counter)
    log_in(srv, "quantri", counter=3)
    log_in(srv, "canbo4")
    log_in(srv, "hoa")
    log_in(srv, "binh")
    admin = {"Authorization": f"Bearer {srv.token('admin')}"}
    http = srv.session()
    with dashboards(srv, srv.token("admin"), None) as (dashboard,):
        assert signed_in(dashboard) == {2: ["hoa", "binh"], 3: ["quantri"], 4: ["canbo4"]}
        for name, change, counter, left in (
            ("quantri", {"password": "another-" + PASSWORD}, 3, []),
            ("canbo4", {"counter": 5}, 4, []),
            ("hoa", {"active": False}, 2, ["binh"]),
        ):
            mark = dashboard.mark()
            answer = http.patch(f"/api/v1/admin/users/{name}", json=change, headers=admin)
            assert answer.status_code == 200, answer.text
            assert signed_out_heard(srv, dashboard, mark) == [counter], name
            mark = dashboard.mark()
            assert dashboard.subscribe({"dashboard": True}) == {"ok": True}  # a fresh snapshot
            assert signed_in(dashboard, mark).get(counter, []) == left, name


def test_only_the_sites_an_ended_session_was_at_hear_it(live_server, tmp_path):
    """Two sites. An account signed in nowhere changed, and a change refused: no dashboard hears a
    sign-out. A first-site clerk's password changed: only the first site's dashboard hears it. An
    installation admin signed in at counter 3 here and counter 2 at the far site: each hears its own."""
    srv = live_server(env=on_a_working_morning(tmp_path))
    http, admin = two_sites_signed_in(
        srv,
        ("ngu", "clerk", 3),  # never signs in
        (MARKER_ACCOUNT, "admin", None),
    )
    with dashboards(srv, srv.token("admin"), None, FAR) as (here, far):
        assert signed_in(here) == {1: ["cb-dau"], 3: ["qt-chung"]}
        assert signed_in(far) == {1: ["cb-xa"], 2: ["qt-chung"]}
        for name, change, refused, heard_here, heard_far in (
            ("ngu", {"full_name": "Ngô Ngư"}, None, [], []),
            ("cb-xa", {"role": "province"}, "province_account_installation_only", [], []),  # (a site's account)
            ("cb-dau", {"password": "another-" + PASSWORD}, None, [1], []),
            ("qt-chung", {"full_name": "Quản trị chung"}, None, [3], [2]),
        ):
            marks = here.mark(), far.mark()
            answer = http.patch(f"/api/v1/admin/users/{name}", json=change, headers=admin)
            if refused:
                assert_error(answer, 403, refused)
            else:
                assert answer.status_code == 200, answer.text
            assert signed_out_heard(srv, here, marks[0]) == heard_here, name
            assert signed_out_heard(srv, far, marks[1], FAR) == heard_far, name
