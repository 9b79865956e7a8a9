"""Retiring a site (communes merged, Decree 118/2025) on a real server over HTTP: PATCH
/api/v1/admin/sites/{id} {"retired": true, "moved_to": ...}. A retired site gives no numbers and takes
no bookings, saying where to go instead; its accounts and devices act nowhere; its history stays in
the province's report; it retires only when nobody holds a number or a booking of it, never the first
site; and it reopens as it was.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
import unicodedata
from pathlib import Path

import pytest
import server_db
import yaml
from api_helpers import ALL_DAY_HOURS as HOURS
from api_helpers import assert_error
from faked_clock import on_a_working_morning
from site_helpers import SiteClient

from queuekiosk.server.core import auth
from queuekiosk.server.core.config import ConfigError, parse_config
from queuekiosk.server.core.db import create_db_engine, default_database_url, prepare_database

REPO = Path(__file__).resolve().parents[2]

OLD = {"id": "xa-cu", "name": "Xã Phú Cũ", "timezone": "Asia/Ho_Chi_Minh", "hours": HOURS}
MERGED = {"id": "xa-moi", "name": "Xã Phú Mới", "timezone": "Asia/Ho_Chi_Minh", "hours": HOURS}
LATER = {"id": "phuong-lon", "name": "Phường Phú Lớn", "timezone": "Asia/Ho_Chi_Minh", "hours": HOURS}


@pytest.fixture(scope="module")
def shared_server(module_live_server, tmp_path_factory):
    """One server for the SQLite tests of this file; each test retires sites of its own (``admin``)."""
    # at 09:00 on a working day (tests/faked_clock.py): a number served is in today's figures and the
    # numbers go on from the first whatever the hour the test runs at (the site's midnight is 17:00 UTC)
    return module_live_server(env=on_a_working_morning(tmp_path_factory.mktemp("clock")))


_TESTS_SITES = itertools.count(1)


@pytest.fixture
def admin(shared_server):
    """The installation admin's session, and the ids of three sites added for this test alone (OLD,
    MERGED and LATER, with their names, under ids of their own: xa-cu-1, xa-moi-1, phuong-lon-1)."""
    server = shared_server
    http = server.session()
    http.headers["Authorization"] = f"Bearer {server.token('admin')}"
    n = next(_TESTS_SITES)
    ids = tuple(f"{site['id']}-{n}" for site in (OLD, MERGED, LATER))
    for site, own in zip((OLD, MERGED, LATER), ids, strict=True):
        assert http.post("/api/v1/admin/sites", json={**site, "id": own}).status_code == 201
    yield server, http, ids
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
    server, http, (cu, moi, lon) = admin
    citizen = server.session()
    ticket = citizen.post(f"/api/v1/sites/{cu}/tickets", json={"service": "HT"})
    assert ticket.status_code == 201, ticket.text
    serve_everyone(server, cu)
    device = bearer(
        server, server_db._write(server.database_url, lambda db: auth.create_token(db, "counter", "q1", 1, cu))
    )
    assert device.post(f"/api/v1/sites/{cu}/counters/1/next").status_code == 204  # nobody waits, and it may ask

    assert http.get(f"/api/v1/sites/{cu}/counters/1").json()["state"] == "open"
    retired = retire(http, cu, moi)
    assert retired.status_code == 200, retired.text
    assert (retired.json()["retired"], retired.json()["moved_to"]) == (True, moi)
    listed = {s["id"]: s for s in http.get("/api/v1/admin/sites").json()}
    assert (listed[cu]["retired"], listed[moi]["retired"]) == (True, False)

    refused = assert_error(
        citizen.post(f"/api/v1/sites/{cu}/tickets", json={"service": "HT"}), 409, "site_retired_moved"
    )
    assert "Xã Phú Mới" in refused["message"] and "Mời Ông/Bà đến" in refused["message"], refused
    english = citizen.post(f"/api/v1/sites/{cu}/tickets", json={"service": "HT"}, headers={"Accept-Language": "en"})
    assert "Please go to “Xã Phú Mới”" in english.json()["error"]["message"], english.text
    remote = {"service": "HT", "remote": True, "name": "Trần Thị Bình", "phone": "0912345678"}
    assert_error(citizen.post(f"/api/v1/sites/{cu}/bookings", json=remote), 409, "site_retired_moved")
    tomorrow = (dt.date.fromisoformat(ticket.json()["business_day"]) + dt.timedelta(days=1)).isoformat()
    slots = citizen.get(f"/api/v1/sites/{cu}/services/HT/slots", params={"date": tomorrow})
    assert_error(slots, 409, "site_retired_moved")
    assert citizen.post(f"/api/v1/sites/{moi}/tickets", json={"service": "HT"}).status_code == 201

    # its devices and accounts act nowhere now; the installation's admin still reads it
    said = assert_error(device.post(f"/api/v1/sites/{cu}/counters/1/next"), 403, "site_retired_account")
    assert "Xã Phú Cũ" in said["message"]
    assert http.get(f"/api/v1/sites/{cu}/admin/setup").status_code == 200
    clerk = {"username": "lan.cu", "password": "pw-12345678", "role": "clerk", "counter": 1}
    assert_error(http.post(f"/api/v1/sites/{cu}/admin/users", json=clerk), 403, "site_retired_new_account")
    # its counter, open until now, is closed: nobody of the site can close it any more
    assert http.get(f"/api/v1/sites/{cu}/counters/1").json()["state"] == "closed"
    # and its history stays in the province's comparison
    today = ticket.json()["business_day"]
    compared = http.get("/api/v1/reports/sites", params={"from": today, "to": today}).json()
    row = next(row for row in compared["sites"] if row["site"] == cu)
    assert (row["issued"], row["served"], row["retired"], row["moved_to"]) == (1, 1, True, moi), row

    # merged again later: its citizens are sent on to where the merged site went
    assert_error(retire(http, moi, lon), 409, "site_retire_open")  # its citizen still waits
    serve_everyone(server, moi)
    assert retire(http, moi, lon).status_code == 200
    onward = assert_error(
        citizen.post(f"/api/v1/sites/{cu}/tickets", json={"service": "HT"}), 409, "site_retired_moved"
    )
    assert "Phường Phú Lớn" in onward["message"], onward
    compared = http.get("/api/v1/reports/sites", params={"from": today, "to": today}).json()
    moved = {row["site"]: row["moved_to"] for row in compared["sites"] if row["retired"]}
    assert moved == {cu: lon, moi: lon}, moved  # the comparison sends both where their citizens go
    said = http.get("/api/v1/reports/sites", params={"from": today, "to": today, "format": "csv"}).text
    assert "Xã Phú Cũ (đã ngừng hoạt động, chuyển đến Phường Phú Lớn)" in said, said

    reopened = http.patch(f"/api/v1/admin/sites/{cu}", json={"retired": False})
    assert reopened.status_code == 200, reopened.text
    assert (reopened.json()["retired"], reopened.json()["moved_to"]) == (False, None)
    again = citizen.post(f"/api/v1/sites/{cu}/tickets", json={"service": "HT"})
    assert again.status_code == 201 and again.json()["number"] == ticket.json()["number"] + 1, again.text
    assert device.post(f"/api/v1/sites/{cu}/counters/1/next").status_code == 200


def test_a_site_retires_only_when_no_citizen_waits_there_and_its_bookings_are_cancelled(admin):
    server, http, (cu, moi, lon) = admin
    first = http.get("/api/v1/admin/sites").json()[0]["id"]
    said = assert_error(retire(http, first), 409, "site_retire_first")
    assert "điểm đầu tiên" in said["message"], said

    citizen = server.session()
    waiting = citizen.post(f"/api/v1/sites/{cu}/tickets", json={"service": "HT"})
    assert waiting.status_code == 201, waiting.text
    remote = {"service": "HT", "remote": True, "name": "Trần Thị Bình", "phone": "0912345678"}
    far = citizen.post(f"/api/v1/sites/{cu}/bookings", json=remote)  # a number taken from a phone, not here yet
    assert far.status_code == 201, far.text
    later = (dt.date.fromisoformat(waiting.json()["business_day"]) + dt.timedelta(days=2)).isoformat()
    slot = citizen.get(f"/api/v1/sites/{cu}/services/HT/slots", params={"date": later}).json()[0]
    booked = citizen.post(
        f"/api/v1/sites/{cu}/bookings",
        json={"service": "HT", "date": later, "start": slot["start"], "name": "Lê Văn Cường", "phone": "0987654321"},
    )
    assert booked.status_code == 201, booked.text
    error = assert_error(retire(http, cu, moi), 409, "site_retire_open")
    assert "còn 1 công dân" in error["message"], error  # the one at the centre: not the phone's, not the booking

    serve_everyone(server, cu)
    for moved_to, problem in (
        ("no-such-site", "không có điểm phục vụ “no-such-site”"),
        (cu, "chính điểm này"),
    ):
        said = assert_error(retire(http, cu, moved_to), 422, "invalid_field", "site.moved_to")
        assert problem in said["message"], said
    assert_error(http.patch(f"/api/v1/admin/sites/{moi}", json={"moved_to": lon}), 422, "invalid_field")
    assert_error(http.patch(f"/api/v1/admin/sites/{moi}", json={"retired": None}), 422, "invalid_field", "retired")
    assert retire(http, lon).status_code == 200  # retired without naming where to go
    said = assert_error(retire(http, cu, lon), 422, "invalid_field", "site.moved_to")
    assert "Phường Phú Lớn” cũng đã ngừng hoạt động" in said["message"], said
    plain = assert_error(citizen.post(f"/api/v1/sites/{lon}/tickets", json={"service": "HT"}), 409, "site_retired")
    assert "Phường Phú Lớn" in plain["message"], plain

    assert retire(http, cu, moi).status_code == 200
    for code in (far.json()["code"], booked.json()["code"]):  # cancelled with the retirement, as their holders would
        assert citizen.get(f"/api/v1/sites/{cu}/bookings/{code}").json()["status"] == "cancelled"
    assert all(not s["retired"] for s in http.get("/api/v1/admin/sites").json() if s["id"] in (first, moi))


def test_a_setup_file_neither_retires_nor_reopens_a_site(admin):
    """Whether a site is retired is the installation's, not its setup's: an export leaves it out, an
    import keeps it as it is, and config.yaml cannot seed a retired first site."""
    server, http, (cu, moi, lon) = admin
    assert retire(http, cu, moi).status_code == 200
    exported = server.cli("config", "export", "--site", cu).stdout
    assert "retired" not in exported and "moved_to" not in exported, exported
    setup_file = server.workdir / f"{cu}.yaml"
    setup_file.write_text(exported, encoding="utf-8")
    server.cli("config", "import", str(setup_file), "--site", cu)
    listed = {s["id"]: s for s in http.get("/api/v1/admin/sites").json()}
    assert (listed[cu]["retired"], listed[cu]["moved_to"]) == (True, moi)


def test_config_yaml_cannot_seed_a_retired_first_site(tmp_path):
    seeded = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    seeded["site"].update(retired=True, moved_to="xa-moi")
    engine = create_db_engine(default_database_url(tmp_path))
    with pytest.raises(ConfigError, match="site.retired"):
        prepare_database(engine, parse_config(seeded, str(tmp_path / "config.yaml")), tmp_path)
    engine.dispose()


def test_only_the_installation_admin_retires_a_site(admin):
    server, http, (cu, moi, lon) = admin
    value = server_db._write(server.database_url, lambda db: auth.create_token(db, "admin", "cu admin", site_id=cu))
    commune = bearer(server, value)
    assert_error(retire(commune, cu), 403, "forbidden_site")
    at_its_own_path = commune.patch(f"/api/v1/sites/{cu}/admin/sites/{cu}", json={"retired": True})
    assert_error(at_its_own_path, 403, "sites_installation_admin_only")
    said = assert_error(
        commune.patch(f"/api/v1/sites/{cu}/admin/site", json={"retired": True}), 403, "site_retired_elsewhere"
    )
    assert "retired" in said["message"]
    unchanged = commune.patch(f"/api/v1/sites/{cu}/admin/site", json={"retired": False, "name": "Xã Phú Cũ"})
    assert unchanged.status_code == 200, unchanged.text  # what it read back, sent again, is no retirement
    assert not next(s for s in http.get("/api/v1/admin/sites").json() if s["id"] == cu)["retired"]


def test_a_retired_sites_kiosk_still_hears_it_live_but_its_devices_watch_nothing_private(admin):
    server, http, (cu, moi, lon) = admin
    kiosk_token = server_db._write(
        server.database_url, lambda db: auth.create_token(db, "kiosk", "k1", site_id=cu, kiosk="kiosk-1")
    )
    counter_token = server_db._write(server.database_url, lambda db: auth.create_token(db, "counter", "q1", 1, cu))
    assert retire(http, cu, moi).status_code == 200
    kiosk = SiteClient(server.url, cu).connect(auth={"token": kiosk_token})
    console = SiteClient(server.url, cu).connect(auth={"token": counter_token})
    try:
        assert kiosk.subscribe({"kiosk": "kiosk-1"}) == {"ok": True}
        page = kiosk.wait_for("state")["page"]
        assert page["retired"] == {"moved_to_id": moi, "moved_to": "Xã Phú Mới", "moved_to_address": None}, page
        refused = console.subscribe({"counter": 1})
        assert refused["error"]["code"] == "site_retired_account", refused
        # a citizen's tap on the paired kiosk hears where to go, not about accounts
        tap = bearer(server, kiosk_token).post(
            f"/api/v1/sites/{cu}/tickets", json={"service": "HT", "kiosk": "kiosk-1"}
        )
        assert "Xã Phú Mới" in assert_error(tap, 409, "site_retired_moved")["message"]

        # the merged site merged again later: the open kiosk is told, and names the new place
        since = kiosk.mark()
        assert retire(http, moi, lon).status_code == 200
        kiosk.wait_for("config.changed", since=since)
        since = kiosk.mark()
        assert kiosk.subscribe({"kiosk": "kiosk-1"}) == {"ok": True}
        page = kiosk.wait_for("state", since=since)["page"]
        assert page["retired"]["moved_to"] == "Phường Phú Lớn", page
    finally:
        kiosk.close()
        console.close()


@pytest.mark.postgres
def test_retiring_on_postgresql(migrated_pg_url, live_server, tmp_path):
    """The same on PostgreSQL: the refusal from the batch writer, the bookings cancelled, the comparison's
    flag read from the saved setup's JSON."""
    server = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url, **on_a_working_morning(tmp_path / "clock")})
    http = bearer(server, server.token("admin"))
    for site in (OLD, MERGED):
        assert http.post("/api/v1/admin/sites", json=site).status_code == 201
    citizen = server.session()
    remote = {"service": "HT", "remote": True, "name": "Trần Thị Bình", "phone": "0912345678"}
    held = citizen.post("/api/v1/sites/xa-cu/bookings", json=remote)
    assert held.status_code == 201, held.text
    assert retire(http, "xa-cu", "xa-moi").status_code == 200
    assert citizen.get(f"/api/v1/sites/xa-cu/bookings/{held.json()['code']}").json()["status"] == "cancelled"
    refused = assert_error(
        citizen.post("/api/v1/sites/xa-cu/tickets", json={"service": "HT"}), 409, "site_retired_moved"
    )
    assert "Xã Phú Mới" in refused["message"]
    assert citizen.post("/api/v1/sites/xa-moi/tickets", json={"service": "HT"}).status_code == 201
    today = held.json()["date"]
    compared = {
        row["site"]: row
        for row in http.get("/api/v1/reports/sites", params={"from": today, "to": today}).json()["sites"]
    }
    assert (compared["xa-cu"]["retired"], compared["xa-cu"]["moved_to"]) == (True, "xa-moi")
    assert (compared["xa-moi"]["retired"], compared["xa-moi"]["moved_to"]) == (False, None)


def test_the_merged_sites_street_address_goes_with_the_retired_sites_notice(admin):
    """``site.address`` (≤ 200 characters): set at the sites tab or the site's own setup, in its export
    and import, and in what a retired site's open kiosk is told of where to go, at once."""
    server, http, (cu, moi, lon) = admin
    address = "Số 1 Quang Trung, xã Phú Mới"
    assert retire(http, cu, moi).status_code == 200
    kiosk_token = server_db._write(
        server.database_url, lambda db: auth.create_token(db, "kiosk", "k1", site_id=cu, kiosk="kiosk-1")
    )
    kiosk = SiteClient(server.url, cu).connect(auth={"token": kiosk_token})
    try:
        assert kiosk.subscribe({"kiosk": "kiosk-1"}) == {"ok": True}
        assert kiosk.wait_for("state")["page"]["retired"]["moved_to_address"] is None
        too_long = http.patch(f"/api/v1/admin/sites/{moi}", json={"address": "x" * 201})
        assert "tối đa 200 ký tự" in assert_error(too_long, 422, "invalid_field", "site.address")["message"]
        # counted by the site's setup (and named by its place there, as its other fields): without the spaces
        # around it, accents composed (NFC)
        decomposed = unicodedata.normalize("NFD", "Số 1 Quang Trung, xã Phú Mới, " + "ở" * 170)  # 200 letters in NFC
        assert len(decomposed) > 200 and len(unicodedata.normalize("NFC", decomposed).strip()) == 200
        long_but_within = http.patch(f"/api/v1/admin/sites/{moi}", json={"address": f"  {decomposed}  "})
        assert long_but_within.status_code == 200, long_but_within.text
        assert long_but_within.json()["address"] == unicodedata.normalize("NFC", decomposed).strip()
        at_its_own = http.patch(f"/api/v1/sites/{moi}/admin/site", json={"address": "x" * 201})
        assert "quá dài" in assert_error(at_its_own, 422, "invalid_field", "site.address")["message"]
        for blank in ("   ", "Số 1\nQuang Trung"):  # said inside a sentence: one line, not blank
            said = assert_error(http.patch(f"/api/v1/admin/sites/{moi}", json={"address": blank}), 422, "invalid_field")
            assert "address" in said["field"] and ("trống" in said["message"] or "một dòng" in said["message"]), said
        padded = http.patch(f"/api/v1/admin/sites/{moi}", json={"address": f"  {address} "})
        assert padded.status_code == 200 and padded.json()["address"] == address, padded.text
        assert http.patch(f"/api/v1/admin/sites/{moi}", json={"address": None}).status_code == 200

        since = kiosk.mark()
        changed = http.patch(f"/api/v1/admin/sites/{moi}", json={"address": address})
        assert changed.status_code == 200 and changed.json()["address"] == address, changed.text
        kiosk.wait_for("config.changed", since=since)  # the retired site's open kiosk redraws
        since = kiosk.mark()
        assert kiosk.subscribe({"kiosk": "kiosk-1"}) == {"ok": True}
        page = kiosk.wait_for("state", since=since)["page"]
        assert page["retired"] == {"moved_to_id": moi, "moved_to": "Xã Phú Mới", "moved_to_address": address}
    finally:
        kiosk.close()
    assert http.get(f"/api/v1/sites/{moi}/admin/site").json()["address"] == address

    exported = server.cli("config", "export", "--site", moi).stdout
    assert f"address: {address}" in exported, exported
    setup_file = server.workdir / f"{moi}.yaml"
    setup_file.write_text(exported.replace(address, "Số 2 Quang Trung"), encoding="utf-8")
    server.cli("config", "import", str(setup_file), "--site", moi)
    deadline = time.monotonic() + 5  # the running server follows within a second
    while http.get(f"/api/v1/sites/{moi}/admin/site").json()["address"] != "Số 2 Quang Trung":
        assert time.monotonic() < deadline, "the imported address is not served"
        time.sleep(0.1)
    cleared = http.patch(f"/api/v1/sites/{moi}/admin/site", json={"address": None})
    assert cleared.status_code == 200 and cleared.json()["address"] is None, cleared.text


def test_the_merged_sites_staff_read_the_retired_sites_reports_and_nothing_else_of_it(admin):
    """A retired site's history is the work its merged site took over: the admin and supervisors of the
    site its citizens are sent to read its reports; nothing else of it, and nobody of another site."""
    server, http, (cu, moi, lon) = admin
    citizen = server.session()
    ticket = citizen.post(f"/api/v1/sites/{cu}/tickets", json={"service": "HT"})
    assert ticket.status_code == 201, ticket.text
    serve_everyone(server, cu)
    day = ticket.json()["business_day"]
    summary = f"/api/v1/sites/{cu}/reports/summary?period={day}&group_by=service"

    def staff(site: str, role: str, counter: int | None = None):
        return bearer(
            server,
            server_db._write(
                server.database_url, lambda db: auth.create_token(db, role, f"{site} {role}", counter, site)
            ),
        )

    merged_admin, merged_supervisor = staff(moi, "admin"), staff(moi, "supervisor")
    merged_clerk, other_admin = staff(moi, "counter", 1), staff(lon, "admin")
    assert_error(merged_admin.get(summary), 403, "forbidden_site")  # not while it serves: it is its own
    assert retire(http, cu, moi).status_code == 200

    for reader in (merged_admin, merged_supervisor):
        read = reader.get(summary)
        assert read.status_code == 200, read.text
        assert (read.json()["total"]["issued"], read.json()["total"]["served"]) == (1, 1)
        assert reader.get(f"/api/v1/sites/{cu}/reports/daily?period={day}").json()["served"] == 1
        for section in ("bookings", "procedures"):  # the reports page's other two tables
            read = reader.get(f"/api/v1/sites/{cu}/reports/{section}?from={day}&to={day}")
            assert read.status_code == 200, read.text
        assert reader.get(f"/api/v1/sites/{cu}/auth/me").json()["site"] == moi
        for elsewhere in (
            f"/api/v1/sites/{cu}/reports/live",
            f"/api/v1/sites/{cu}/admin/setup",
            f"/api/v1/sites/{cu}/audit",
        ):
            assert_error(reader.get(elsewhere), 403, "forbidden_site")
    assert_error(merged_admin.patch(f"/api/v1/sites/{cu}/admin/site", json={"ticker": "x"}), 403, "forbidden_site")
    assert_error(merged_clerk.get(summary), 403, "forbidden_site")
    assert_error(other_admin.get(summary), 403, "forbidden_site")

    # merged again later: the site that serves now reads both histories, the one between acts nowhere
    serve_everyone(server, moi)
    assert retire(http, moi, lon).status_code == 200
    assert other_admin.get(summary).status_code == 200
    assert other_admin.get(f"/api/v1/sites/{moi}/reports/summary?period={day}").status_code == 200
    assert_error(merged_admin.get(summary), 403, "forbidden_site")
