"""Removing a site added by mistake, on a real server over HTTP: DELETE /api/v1/admin/sites/{id} and
`queuekiosk site remove ID`. Only a site that never served anybody goes, with what was made for it
(its setup, its disabled accounts and revoked tokens, its webhooks, its audit log); the first site, one
with numbers or bookings (retire it instead), one a retired site sends its citizens to, and one whose
accounts still work are refused, saying why. Every process stops serving it: its addresses answer 404
and its open pages are disconnected.
"""

from __future__ import annotations

import pytest
import socketio
from api_helpers import assert_error, log_in
from faked_clock import on_a_working_morning
from site_helpers import MISTAKE, SiteClient, bearer, made_by_mistake, site, until

OTHER = site("xa-khac", "Xã Khác")


def removal_works(server, http) -> None:
    """The removal of a mistaken site, refused while its accounts work, as a user of /admin sees it."""
    made = made_by_mistake(server, http)
    kiosk = SiteClient(server.url, "xa-nham").connect(auth={"token": made["token"]["token"]})
    try:
        assert kiosk.subscribe({"kiosk": "kiosk-1"}) == {"ok": True}
        said = assert_error(http.delete("/api/v1/admin/sites/xa-nham"), 409, "site_remove_accounts")
        assert "nham.lan" in said["message"] and "(Ki-ốt)" in said["message"], said
        assert "Hãy khóa" in said["message"], said
        assert "/s/xa-nham/admin" in said["message"], said
        here = "/api/v1/sites/xa-nham/admin"
        assert http.patch(f"{here}/users/nham.lan", json={"active": False}).status_code == 200
        assert http.delete(f"{here}/tokens/{made['token']['id']}").status_code in (200, 204)

        removed = http.delete("/api/v1/admin/sites/xa-nham")
        assert removed.status_code == 204, removed.text
        assert "xa-nham" not in [s["id"] for s in http.get("/api/v1/admin/sites").json()]
        assert_error(
            server.session().post("/api/v1/sites/xa-nham/tickets", json={"service": "HT"}), 404, "site_unknown"
        )
        assert server.session().get("/s/xa-nham/kiosk/kiosk-1").status_code == 404
        until(lambda: kiosk.disconnects >= 1)  # its open page is not left watching a site that is gone
        events = http.get("/api/v1/audit").json()["events"]  # the installation's (first site's) audit log
        gone = next(e for e in events if e["kind"] == "site_removed" and e["detail"]["site_id"] == "xa-nham")
        assert gone["detail"]["site_id"] == "xa-nham" and gone["detail"]["name"] == "Xã Thêm Nhầm", gone
    finally:
        kiosk.close()
    refused = SiteClient(server.url, "xa-nham")
    with pytest.raises(socketio.exceptions.ConnectionError):
        refused.connect()
    assert [r["data"]["code"] for r in refused.refusals] == ["site_unknown"], refused.refusals

    # the id and the login name are free again: the site added anew starts afresh
    assert http.post("/api/v1/admin/sites", json=MISTAKE).status_code == 201
    again = server.session().post("/api/v1/sites/xa-nham/tickets", json={"service": "HT"})
    assert again.status_code == 201 and again.json()["number"] == 1001, again.text
    user = http.post(
        "/api/v1/sites/xa-nham/admin/users", json={"username": "nham.lan", "password": "pw-12345678", "role": "clerk"}
    )
    assert user.status_code == 201, user.text
    assert http.get("/api/v1/sites/xa-nham/admin/webhooks").json()["webhooks"] == []


@pytest.fixture(scope="module")
def admin(module_live_server, tmp_path_factory):
    """One server for the SQLite tests of this file: each test adds and removes sites of its own ids and
    names."""
    server = module_live_server(env=on_a_working_morning(tmp_path_factory.mktemp("clock")))
    yield server, bearer(server, server.token("admin"))


def test_a_site_added_by_mistake_is_removed_with_what_was_made_for_it(admin):
    removal_works(*admin)


def test_a_site_that_served_or_is_needed_is_kept_saying_why(admin):
    server, http = admin
    for added in (site("xa-nham-2", "Xã Thêm Nhầm Hai"), site("xa-khac-2", "Xã Khác Hai")):
        assert http.post("/api/v1/admin/sites", json=added).status_code == 201
    first = http.get("/api/v1/admin/sites").json()[0]
    said = assert_error(http.delete(f"/api/v1/admin/sites/{first['id']}"), 409, "site_remove_first")
    assert "điểm đầu tiên" in said["message"], said
    assert_error(http.delete("/api/v1/admin/sites/no-such-site"), 404, "site_unknown")

    # a number given there: its history stays; retiring is the way
    citizen = server.session()
    assert citizen.post("/api/v1/sites/xa-khac-2/tickets", json={"service": "HT"}).status_code == 201
    said = assert_error(http.delete("/api/v1/admin/sites/xa-khac-2"), 409, "site_remove_served")
    assert "1 số" in said["message"] and "ngừng hoạt động" in said["message"], said
    english = http.delete("/api/v1/admin/sites/xa-khac-2", headers={"Accept-Language": "en"})
    assert "(1 number, 0 bookings)" in english.json()["error"]["message"], english.text  # not "1 numbers"
    assert "retire it instead" in english.json()["error"]["message"], english.text
    assert citizen.post("/api/v1/sites/xa-khac-2/tickets", json={"service": "HT"}).status_code == 201  # still serves

    # a retired site sends its citizens there
    keypad = bearer(server, server.token("counter", 1))
    while keypad.post("/api/v1/sites/xa-khac-2/counters/1/next").status_code == 200:
        assert keypad.post("/api/v1/sites/xa-khac-2/counters/1/finish").status_code == 200
    assert (
        http.patch("/api/v1/admin/sites/xa-khac-2", json={"retired": True, "moved_to": "xa-nham-2"}).status_code == 200
    )
    said = assert_error(http.delete("/api/v1/admin/sites/xa-nham-2"), 409, "site_remove_moved_to")
    assert "(các) điểm đã ngừng hoạt động “Xã Khác Hai” đang mời" in said["message"], said
    assert citizen.post("/api/v1/sites/xa-nham-2/tickets", json={"service": "HT"}).status_code == 201

    # nobody but the installation's admin
    own = http.post("/api/v1/sites/xa-nham-2/admin/tokens", json={"role": "admin", "name": "nham hai admin"}).json()
    site_admin = bearer(server, own["token"])
    assert_error(site_admin.delete("/api/v1/admin/sites/xa-nham-2"), 403, "forbidden_site")
    assert_error(
        site_admin.delete("/api/v1/sites/xa-nham-2/admin/sites/xa-nham-2"), 403, "sites_installation_admin_only"
    )
    supervisor = bearer(server, server.token("supervisor"))
    assert_error(supervisor.delete("/api/v1/admin/sites/xa-nham-2"), 403, "forbidden_role")
    assert {s["id"] for s in http.get("/api/v1/admin/sites").json()} >= {"xa-nham-2", "xa-khac-2"}


def acted_elsewhere_is_kept(server, http) -> None:
    """A supervisor of a site that a retired site was merged into reads the retired site's reports, and
    signs out there: that sign-out is the retired site's history, so the site is kept (retire it
    instead), and the refusal says so rather than counting numbers or bookings it never gave."""
    for added in (site("xa-nham-5", "Xã Thêm Nhầm Năm"), site("xa-khac-5", "Xã Khác Năm")):
        assert http.post("/api/v1/admin/sites", json=added).status_code == 201
    here = "/api/v1/sites/xa-nham-5/admin"
    made = {"username": "nham.gs", "password": "pw-12345678", "role": "supervisor"}
    assert http.post(f"{here}/users", json=made).status_code == 201
    merged = {"retired": True, "moved_to": "xa-nham-5"}
    assert http.patch("/api/v1/admin/sites/xa-khac-5", json=merged).status_code == 200
    supervisor = log_in(server, "nham.gs", "pw-12345678", site="xa-nham-5", at_counter=False)
    assert supervisor.get("/api/v1/sites/xa-khac-5/reports/summary").status_code == 200  # the retired site's
    assert supervisor.post("/api/v1/sites/xa-khac-5/auth/logout").status_code == 204  # logged there
    assert http.patch("/api/v1/admin/sites/xa-khac-5", json={"retired": False}).status_code == 200
    assert http.patch(f"{here}/users/nham.gs", json={"active": False}).status_code == 200

    said = assert_error(http.delete("/api/v1/admin/sites/xa-nham-5"), 409, "site_remove_acted_elsewhere")
    assert "đã thao tác tại 1 điểm khác (“Xã Khác Năm”)" in said["message"], said
    assert "số thứ tự" not in said["message"] and "ngừng hoạt động" in said["message"], said
    english = http.delete("/api/v1/admin/sites/xa-nham-5", headers={"Accept-Language": "en"}).json()["error"]
    assert "acted at 1 other site (“Xã Khác Năm”), which is that site's history" in english["message"], english
    assert "retire it instead" in english["message"] and "numbers" not in english["message"], english
    assert "xa-nham-5" in [s["id"] for s in http.get("/api/v1/admin/sites").json()]


def test_a_site_whose_account_acted_at_another_site_is_kept_saying_so(admin):
    acted_elsewhere_is_kept(*admin)


def test_a_site_removed_by_the_command_goes_from_the_running_server(admin):
    server, http = admin
    for added in (site("xa-nham-3", "Xã Thêm Nhầm Ba"), site("xa-khac-3", "Xã Khác Ba")):
        assert http.post("/api/v1/admin/sites", json=added).status_code == 201
    citizen = server.session()
    assert citizen.post("/api/v1/sites/xa-khac-3/tickets", json={"service": "HT"}).status_code == 201
    refused = server.cli("site", "remove", "xa-khac-3", check=False)
    assert refused.returncode != 0 and "điểm chưa bị xoá" in refused.stderr, refused.stderr
    assert "retire it instead" in refused.stderr, refused.stderr

    kiosk = SiteClient(server.url, "xa-nham-3").connect()
    try:
        assert kiosk.subscribe({"kiosk": "kiosk-1"}) == {"ok": True}
        removed = server.cli("site", "remove", "xa-nham-3")
        assert "đã xoá điểm xa-nham-3" in removed.stderr and "site xa-nham-3 removed" in removed.stderr
        assert not any(line.startswith("xa-nham-3\t") for line in server.cli("site", "list").stdout.splitlines())
        # the running server follows within a second: its addresses are gone, its open page disconnected
        until(lambda: citizen.post("/api/v1/sites/xa-nham-3/tickets", json={"service": "HT"}).status_code == 404)
        until(lambda: kiosk.disconnects >= 1)
    finally:
        kiosk.close()
    assert citizen.post("/api/v1/sites/xa-khac-3/tickets", json={"service": "HT"}).status_code == 201
    events = http.get("/api/v1/audit").json()["events"]
    assert (
        next(e for e in events if e["kind"] == "site_removed" and e["detail"]["site_id"] == "xa-nham-3")["by"]
        == "command line"
    )


@pytest.mark.postgres
def test_removing_a_site_on_postgresql(migrated_pg_url, live_server, tmp_path):
    """The same on PostgreSQL, whose foreign keys hold every row of the site."""
    server = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url, **on_a_working_morning(tmp_path / "clock")})
    http = bearer(server, server.token("admin"))
    removal_works(server, http)
    acted_elsewhere_is_kept(server, http)
    assert http.post("/api/v1/admin/sites", json=OTHER).status_code == 201
    assert server.session().post("/api/v1/sites/xa-khac/tickets", json={"service": "HT"}).status_code == 201
    assert_error(http.delete("/api/v1/admin/sites/xa-khac"), 409, "site_remove_served")
