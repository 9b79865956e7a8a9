"""Retiring a site (communes merged, Decree 118/2025) on a real server over HTTP: PATCH
/api/v1/admin/sites/{id} {"retired": true, "moved_to": ...}. A retired site gives no numbers and takes
no bookings, saying where to go instead; its accounts and devices act nowhere; its history stays in
the province's report; it retires only when nobody holds a number or a booking of it, never the first
site; and it reopens as it was.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import server_db
from api_helpers import assert_error
from test_sites import SiteClient

from queuekiosk.server.core import auth

HOURS = {"open": "00:00", "close": "23:59", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}
OLD = {"id": "xa-cu", "name": "Xã Phú Cũ", "timezone": "Asia/Ho_Chi_Minh", "hours": HOURS}
MERGED = {"id": "xa-moi", "name": "Xã Phú Mới", "timezone": "Asia/Ho_Chi_Minh", "hours": HOURS}
LATER = {"id": "phuong-lon", "name": "Phường Phú Lớn", "timezone": "Asia/Ho_Chi_Minh", "hours": HOURS}


@pytest.fixture
def admin(live_server):
    server = live_server()
    http = server.session()
    http.headers["Authorization"] = f"Bearer {server.token('admin')}"
    for site in (OLD, MERGED, LATER):
        assert http.post("/api/v1/admin/sites", json=site).status_code == 201
    yield server, http
    http.close()


def bearer(server, value: str):
    http = server.session()
    http.headers["Authorization"] = f"Bearer {value}"
    return http


def serve_everyone(server, site: str) -> None:
    keypad = bearer(server, server.token("counter", 1))
    while keypad.post(f"/api/v1/sites/{site}/counters/1/next").status_code == 200:
        assert keypad.post(f"/api/v1/sites/{site}/counters/1/finish").status_code == 200


def retire(http, site: str, moved_to: str | None = None):
    return http.patch(f"/api/v1/admin/sites/{site}", json={"retired": True, "moved_to": moved_to})


def test_a_retired_commune_gives_no_numbers_and_tells_citizens_where_to_go(admin):
    server, http = admin
    citizen = server.session()
    ticket = citizen.post("/api/v1/sites/xa-cu/tickets", json={"service": "HT"})
    assert ticket.status_code == 201, ticket.text
    serve_everyone(server, "xa-cu")
    device = bearer(
        server, server_db._write(server.database_url, lambda db: auth.create_token(db, "counter", "q1", 1, "xa-cu"))
    )
    assert device.post("/api/v1/sites/xa-cu/counters/1/next").status_code == 204  # nobody waits, and it may ask

    retired = retire(http, "xa-cu", "xa-moi")
    assert retired.status_code == 200, retired.text
    assert (retired.json()["retired"], retired.json()["moved_to"]) == (True, "xa-moi")
    listed = {s["id"]: s for s in http.get("/api/v1/admin/sites").json()}
    assert (listed["xa-cu"]["retired"], listed["xa-moi"]["retired"]) == (True, False)

    refused = assert_error(
        citizen.post("/api/v1/sites/xa-cu/tickets", json={"service": "HT"}), 409, "site_retired_moved"
    )
    assert "Xã Phú Mới" in refused["message"] and "Mời Ông/Bà đến" in refused["message"], refused
    english = citizen.post("/api/v1/sites/xa-cu/tickets", json={"service": "HT"}, headers={"Accept-Language": "en"})
    assert "Please go to “Xã Phú Mới”" in english.json()["error"]["message"], english.text
    remote = {"service": "HT", "remote": True, "name": "Trần Thị Bình", "phone": "0912345678"}
    assert_error(citizen.post("/api/v1/sites/xa-cu/bookings", json=remote), 409, "site_retired_moved")
    tomorrow = (dt.datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date() + dt.timedelta(days=1)).isoformat()
    slots = citizen.get("/api/v1/sites/xa-cu/services/HT/slots", params={"date": tomorrow})
    assert_error(slots, 409, "site_retired_moved")
    assert citizen.post("/api/v1/sites/xa-moi/tickets", json={"service": "HT"}).status_code == 201

    # its devices and accounts act nowhere now; the installation's admin still reads it
    said = assert_error(device.post("/api/v1/sites/xa-cu/counters/1/next"), 403, "site_retired_account")
    assert "xa-cu" in said["message"]
    assert http.get("/api/v1/sites/xa-cu/admin/setup").status_code == 200
    # and its history stays in the province's comparison
    today = ticket.json()["business_day"]
    compared = http.get("/api/v1/reports/sites", params={"from": today, "to": today}).json()
    row = next(row for row in compared["sites"] if row["site"] == "xa-cu")
    assert (row["issued"], row["served"]) == (1, 1), row

    # merged again later: its citizens are sent on to where the merged site went
    assert_error(retire(http, "xa-moi", "phuong-lon"), 409, "site_retire_open")  # its citizen still waits
    serve_everyone(server, "xa-moi")
    assert retire(http, "xa-moi", "phuong-lon").status_code == 200
    onward = assert_error(
        citizen.post("/api/v1/sites/xa-cu/tickets", json={"service": "HT"}), 409, "site_retired_moved"
    )
    assert "Phường Phú Lớn" in onward["message"], onward

    reopened = http.patch("/api/v1/admin/sites/xa-cu", json={"retired": False})
    assert reopened.status_code == 200, reopened.text
    assert (reopened.json()["retired"], reopened.json()["moved_to"]) == (False, None)
    again = citizen.post("/api/v1/sites/xa-cu/tickets", json={"service": "HT"})
    assert again.status_code == 201 and again.json()["number"] == ticket.json()["number"] + 1, again.text
    assert device.post("/api/v1/sites/xa-cu/counters/1/next").status_code == 200


def test_a_site_retires_only_when_nobody_holds_a_number_or_booking_of_it(admin):
    server, http = admin
    first = http.get("/api/v1/admin/sites").json()[0]["id"]
    assert_error(retire(http, first), 409, "site_retire_first")

    citizen = server.session()
    assert citizen.post("/api/v1/sites/xa-cu/tickets", json={"service": "HT"}).status_code == 201
    later = (dt.datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date() + dt.timedelta(days=2)).isoformat()
    slot = citizen.get("/api/v1/sites/xa-cu/services/HT/slots", params={"date": later}).json()[0]
    booked = citizen.post(
        "/api/v1/sites/xa-cu/bookings",
        json={"service": "HT", "date": later, "start": slot["start"], "name": "Lê Văn Cường", "phone": "0987654321"},
    )
    assert booked.status_code == 201, booked.text
    error = assert_error(retire(http, "xa-cu", "xa-moi"), 409, "site_retire_open")
    assert "2" in error["message"], error  # one waiting number, one booking in two days

    serve_everyone(server, "xa-cu")
    assert_error(retire(http, "xa-cu", "xa-moi"), 409, "site_retire_open")  # the booking still holds
    assert citizen.delete(f"/api/v1/sites/xa-cu/bookings/{booked.json()['code']}").status_code == 200

    for moved_to in ("no-such-site", "xa-cu"):
        assert_error(retire(http, "xa-cu", moved_to), 422, "invalid_field", "site.moved_to")
    assert_error(http.patch("/api/v1/admin/sites/xa-moi", json={"moved_to": "phuong-lon"}), 422, "invalid_field")
    assert retire(http, "phuong-lon").status_code == 200  # retired without naming where to go
    assert_error(retire(http, "xa-cu", "phuong-lon"), 422, "invalid_field", "site.moved_to")  # not a serving site
    plain = assert_error(citizen.post("/api/v1/sites/phuong-lon/tickets", json={"service": "HT"}), 409, "site_retired")
    assert "Phường Phú Lớn" in plain["message"], plain
    assert retire(http, "xa-cu", "xa-moi").status_code == 200
    assert all(not s["retired"] for s in http.get("/api/v1/admin/sites").json() if s["id"] in (first, "xa-moi"))


def test_only_the_installation_admin_retires_a_site(admin):
    server, http = admin
    value = server_db._write(
        server.database_url, lambda db: auth.create_token(db, "admin", "cu admin", site_id="xa-cu")
    )
    commune = bearer(server, value)
    assert_error(retire(commune, "xa-cu"), 403, "forbidden_site")
    at_its_own_path = commune.patch("/api/v1/sites/xa-cu/admin/sites/xa-cu", json={"retired": True})
    assert_error(at_its_own_path, 403, "sites_installation_admin_only")
    said = assert_error(
        commune.patch("/api/v1/sites/xa-cu/admin/site", json={"retired": True}), 403, "site_retired_elsewhere"
    )
    assert "retired" in said["message"]
    assert not next(s for s in http.get("/api/v1/admin/sites").json() if s["id"] == "xa-cu")["retired"]


def test_a_retired_sites_kiosk_still_hears_it_live_but_its_devices_watch_nothing_private(admin):
    server, http = admin
    kiosk_token = server_db._write(
        server.database_url, lambda db: auth.create_token(db, "kiosk", "k1", site_id="xa-cu", kiosk="kiosk-1")
    )
    counter_token = server_db._write(server.database_url, lambda db: auth.create_token(db, "counter", "q1", 1, "xa-cu"))
    assert retire(http, "xa-cu", "xa-moi").status_code == 200
    kiosk = SiteClient(server.url, "xa-cu").connect(auth={"token": kiosk_token})
    console = SiteClient(server.url, "xa-cu").connect(auth={"token": counter_token})
    try:
        assert kiosk.subscribe({"kiosk": "kiosk-1"}) == {"ok": True}
        page = kiosk.wait_for("state")["page"]
        assert page["retired"] == {"moved_to_id": "xa-moi", "moved_to": "Xã Phú Mới"}, page
        refused = console.subscribe({"counter": 1})
        assert refused["error"]["code"] == "site_retired_account", refused
    finally:
        kiosk.close()
        console.close()
