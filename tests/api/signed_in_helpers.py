"""Who the dashboard says is signed in at the counters, and a second site with accounts: the tests of
sessions ended in /admin and on the command line."""

from __future__ import annotations

from api_helpers import PASSWORD, log_in

FAR = "xa-hai-noi"  # a second site (a copy of the first's setup: counters 1 to 6)


def signed_in(dashboard, since: int = 0) -> dict[int, list[str]]:
    """Who the dashboard's first snapshot from ``since`` says is signed in at each counter, those with someone."""
    snapshot = dashboard.wait_for("state", since=since)
    return {
        counter["number"]: counter["signed_in"] for counter in snapshot["overview"]["counters"] if counter["signed_in"]
    }


def two_sites_signed_in(srv, *more: tuple[str, str, int | None]):
    """The site ``FAR`` added; a clerk at counter 1 of each site ("cb-dau" here, "cb-xa" there) and an
    installation admin ("qt-chung") signed in at counter 3 here and counter 2 there; ``more`` accounts
    of the first site ((name, role, counter)) added, not signed in. -> (an HTTP session, the admin
    token's header)."""
    admin = {"Authorization": f"Bearer {srv.token('admin')}"}
    http = srv.session()
    made = http.post(
        "/api/v1/admin/sites", json={"id": FAR, "name": "Xã Hải Nội", "timezone": "Asia/Ho_Chi_Minh"}, headers=admin
    )
    assert made.status_code == 201, made.text
    for where, name, role, counter in (
        ("", "cb-dau", "clerk", 1),  # (an admin's clerk at the plain path: the first site's)
        ("", "qt-chung", "admin", None),  # (an admin at the plain path: the whole installation's)
        (f"/sites/{FAR}", "cb-xa", "clerk", 1),
        *(("", *account) for account in more),
    ):
        body = {"username": name, "password": PASSWORD, "role": role, "counter": counter}
        added = http.post(f"/api/v1{where}/admin/users", json=body, headers=admin)
        assert added.status_code == 201, added.text
    log_in(srv, "cb-dau")
    log_in(srv, "cb-xa", site=FAR)
    log_in(srv, "qt-chung", counter=3)
    log_in(srv, "qt-chung", site=FAR, counter=2)
    return http, admin
