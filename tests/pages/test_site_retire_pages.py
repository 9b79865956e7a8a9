"""A site retired when communes merge, in a real Chromium: the installation's admin retires it in
/admin ("Ngừng hoạt động", naming where its citizens go); its open kiosk and lobby screen turn at once
to a notice that names the merged site, and back when it reopens; its booking page says where to book.
"""

from __future__ import annotations

import datetime as dt
import os
import re

import pytest

if os.environ.get("CI", "").lower() != "true":  # under CI a missing Playwright fails, never skips
    pytest.importorskip("playwright", reason="Playwright for Python is not installed")
from admin_helpers import ADMIN_SCREEN, _field, _fill, _login, _save, _saved  # noqa: E402
from playwright.sync_api import expect  # noqa: E402
from test_reports_sites import _login as reports_login  # noqa: E402

pytestmark = pytest.mark.browser

OLD, MERGED = "xa-cu", "xa-moi"


def add_sites(server) -> None:
    for site, name in ((OLD, "Xã Phú Cũ"), (MERGED, "Xã Phú Mới")):
        made = server.api("POST", "/admin/sites", token=server.token("admin"), json={"id": site, "name": name})
        assert made.status_code == 201, made.text


def served_one_and_retired(server):
    """The two sites; the old one served one citizen, then retired to the merged one. Its ticket."""
    add_sites(server)
    admin = server.token("admin")
    issued = server.api("POST", f"/sites/{OLD}/tickets", json={"service": "HT"})
    assert issued.status_code == 201, issued.text
    assert server.api("POST", f"/sites/{OLD}/counters/1/next", token=admin).status_code == 200
    assert server.api("POST", f"/sites/{OLD}/counters/1/finish", token=admin).status_code == 200
    retired = server.api("PATCH", f"/admin/sites/{OLD}", token=admin, json={"retired": True, "moved_to": MERGED})
    assert retired.status_code == 200, retired.text
    return issued


def test_an_admin_retires_a_commune_and_its_open_kiosk_says_where_to_go(server_on_a_working_morning, new_tab, shot):
    server = server_on_a_working_morning  # after reopening its first number is 1001: one day, whatever the hour
    add_sites(server)
    kiosk = new_tab(viewport={"width": 1080, "height": 1920})
    kiosk.goto(server.url + f"/s/{OLD}/kiosk/kiosk-1")
    lobby = new_tab(viewport={"width": 1920, "height": 1080})
    lobby.goto(server.url + f"/s/{OLD}/display/lobby")
    for tab in (kiosk, lobby):
        expect(tab.locator("body")).to_have_attribute("data-live", "live", timeout=15_000)
    expect(kiosk.locator("#closed")).to_be_hidden()
    expect(lobby.locator("#retired")).to_be_hidden()

    admin = new_tab(viewport=ADMIN_SCREEN)
    _login(admin, server)
    admin.locator("#tab-sites").click()
    admin.locator('#panel-sites tr.item[data-key="phuc-la"]').click()  # the first site: never retired
    expect(_field(admin, "sites", "name").locator("input")).to_have_value(re.compile("Phúc La"))
    expect(_field(admin, "sites", "retired")).to_be_hidden()
    expect(_field(admin, "sites", "moved_to")).to_be_hidden()
    row = admin.locator(f'#panel-sites tr.item[data-key="{OLD}"]')
    expect(row).to_contain_text("Đang phục vụ")
    row.click()
    expect(_field(admin, "sites", "retired")).to_be_visible()
    _field(admin, "sites", "retired").locator("input").check()
    _fill(admin, "sites", {"moved_to": MERGED})
    _save(admin, "sites")
    _saved(admin, "sites")
    expect(row).to_contain_text("Đã ngừng hoạt động (chuyển đến Xã Phú Mới)")
    shot(admin, "admin-site-retired")

    notice = kiosk.locator("#closed")
    expect(notice).to_be_visible(timeout=5_000)  # the saved change reaches the open kiosk
    expect(notice).to_contain_text("Trung tâm đã ngừng hoạt động")
    expect(notice).to_contain_text("Mời Ông/Bà đến Xã Phú Mới để được phục vụ")
    expect(notice).to_contain_text("Please go to Xã Phú Mới")
    expect(kiosk.locator("#closed-come-back")).to_be_hidden()  # not "come back later": it is closed for good
    shot(kiosk, "kiosk-site-retired")
    # the lobby's screen too: no counters as if at work, but where to go
    expect(lobby.locator("#retired")).to_be_visible(timeout=5_000)
    expect(lobby.locator("#retired")).to_contain_text("Mời Ông/Bà đến Xã Phú Mới")
    expect(lobby.locator("#rows")).to_be_hidden()
    shot(lobby, "display-site-retired")

    reopened = server.api("PATCH", f"/admin/sites/{OLD}", token=server.token("admin"), json={"retired": False})
    assert reopened.status_code == 200, reopened.text
    expect(notice).to_be_hidden(timeout=5_000)
    expect(lobby.locator("#retired")).to_be_hidden()
    expect(lobby.locator("#rows")).to_be_visible()
    kiosk.get_by_role("button", name=re.compile("Tư pháp - Hộ tịch")).click()
    kiosk.locator("button.no-priority").click()
    expect(kiosk.locator("#result-number")).to_have_text("1001")


def test_a_retired_sites_booking_page_sends_citizens_to_the_merged_site(server, phone):
    add_sites(server)
    remote = {"service": "HT", "remote": True, "name": "Trần Thị Bình", "phone": "0912345678"}
    held = server.api("POST", f"/sites/{OLD}/bookings", json=remote)
    assert held.status_code == 201, held.text
    phone.goto(server.url + f"/s/{OLD}/book")  # left open on a phone while the site is retired
    expect(phone.locator("#services button").first).to_be_visible()
    retired = server.api(
        "PATCH", f"/admin/sites/{OLD}", token=server.token("admin"), json={"retired": True, "moved_to": MERGED}
    )
    assert retired.status_code == 200, retired.text
    expect(phone.locator("#step-service")).to_contain_text("đã ngừng tiếp nhận công dân", timeout=5_000)
    expect(phone.locator("#services button")).to_have_count(0)
    link = phone.get_by_role("link", name="Xã Phú Mới")
    expect(link).to_have_attribute("href", f"/s/{MERGED}/book")
    link.click()
    expect(phone.locator("#services button").first).to_be_visible()  # the merged site takes bookings

    # a citizen who held a number there: cancelled with the retirement, said by the service's name, and where to go
    phone.goto(server.url + f"/s/{OLD}/book/{held.json()['code']}")
    done = phone.locator("#step-done")
    expect(done).to_be_visible()
    expect(phone.locator("#done-service")).to_have_text("Tư pháp - Hộ tịch")
    expect(phone.locator("#done-status")).to_contain_text("hủy")
    expect(done.get_by_role("link", name="Xã Phú Mới")).to_have_attribute("href", f"/s/{MERGED}/book")


def test_the_province_sees_a_retired_commune_in_its_comparison(server_on_a_working_morning, new_tab):
    server = server_on_a_working_morning  # today's comparison: the number served is one day's whatever the hour
    issued = served_one_and_retired(server)

    tab = new_tab(viewport={"width": 1366, "height": 900})
    # the comparison's default days (this month to today) follow the browser's clock: the server's day
    tab.clock.set_system_time(dt.datetime.fromisoformat(issued.json()["issued_at"].replace("Z", "+00:00")))
    reports_login(tab, server, "tinh", "province")
    section = tab.locator("#sites-compare")
    expect(section).to_have_attribute("data-ready", "1")
    old = section.locator(f'tr[data-site="{OLD}"]')
    expect(old.locator("th a").first).to_have_text("Xã Phú Cũ (đã ngừng hoạt động, chuyển đến Xã Phú Mới)")
    expect(old.locator("td").nth(0)).to_have_text("1")  # its history stays in the figures
    expect(old.get_by_role("link", name="theo dõi trực tiếp")).to_have_count(0)  # nothing live there
    merged = section.locator(f'tr[data-site="{MERGED}"] th')
    expect(merged.locator("a").first).to_have_text("Xã Phú Mới")
    live = merged.get_by_role("link", name="theo dõi trực tiếp")  # each site's dashboard, one click away
    expect(live).to_have_attribute("href", f"/s/{MERGED}/dashboard")
    live.click()
    expect(tab.locator("header .site")).to_contain_text("Xã Phú Mới")
    expect(tab.locator("#work")).to_be_visible()  # the province still signed in there
    expect(tab.locator(".retired-banner")).to_have_count(0)  # a serving site
    tab.goto(server.url + f"/s/{OLD}/dashboard")  # the retired one's, its history read there: said so
    expect(tab.locator(".retired-banner")).to_contain_text("công dân được mời đến Xã Phú Mới")


ADDRESS = "Số 1 Quang Trung, xã Phú Mới"


def test_the_merged_sites_address_set_in_its_admin_page_is_shown_where_citizens_are_sent_there(server, new_tab, phone):
    """The merged site's own admin page sets its street address ("Địa chỉ"); the retired commune's open
    kiosk and lobby screen and its booking page say it beside the merged site's name, at once."""
    add_sites(server)
    retired = server.api(
        "PATCH", f"/admin/sites/{OLD}", token=server.token("admin"), json={"retired": True, "moved_to": MERGED}
    )
    assert retired.status_code == 200, retired.text
    kiosk = new_tab(viewport={"width": 1080, "height": 1920})
    kiosk.goto(server.url + f"/s/{OLD}/kiosk/kiosk-1")
    lobby = new_tab(viewport={"width": 1920, "height": 1080})
    lobby.goto(server.url + f"/s/{OLD}/display/lobby")
    notice = kiosk.locator("#closed")
    expect(notice).to_contain_text("Mời Ông/Bà đến Xã Phú Mới để được phục vụ", timeout=15_000)
    expect(notice).not_to_contain_text("địa chỉ")

    admin = new_tab(viewport=ADMIN_SCREEN)
    server.add_user("quantri", "mat-khau-quan-tri", "admin")
    admin.goto(server.url + f"/s/{MERGED}/admin")
    admin.fill("#username", "quantri")
    admin.fill("#password", "mat-khau-quan-tri")
    admin.click("#login-button")
    expect(admin.locator("body")).to_have_attribute("data-ready", "1")
    admin.click("#tab-hours")
    expect(_field(admin, "hours", "address")).to_contain_text("Địa chỉ")
    _fill(admin, "hours", {"address": ADDRESS})
    _save(admin, "hours")
    _saved(admin, "hours")

    expect(notice).to_contain_text(f"Mời Ông/Bà đến Xã Phú Mới (địa chỉ: {ADDRESS}) để được phục vụ", timeout=5_000)
    expect(notice).to_contain_text(f"Please go to Xã Phú Mới ({ADDRESS})")
    expect(lobby.locator("#retired")).to_contain_text(f"(địa chỉ: {ADDRESS})", timeout=5_000)
    phone.goto(server.url + f"/s/{OLD}/book")
    expect(phone.locator("#step-service")).to_contain_text(f"Mời Ông/Bà đặt lịch tại: Xã Phú Mới ({ADDRESS})")
    sites = {s["id"]: s for s in server.api("GET", "/admin/sites", token=server.token("admin")).json()}
    assert sites[MERGED]["address"] == ADDRESS


def test_the_merged_sites_supervisor_reads_the_retired_sites_reports(server_on_a_working_morning, new_tab):
    """Signed in at the merged site, its supervisor opens the retired commune's reports page and reads its
    figures (the retired site's own accounts act nowhere any more)."""
    server = server_on_a_working_morning  # the number served is today's, whatever the hour
    issued = served_one_and_retired(server)
    made = server.api(
        "POST",
        f"/sites/{MERGED}/admin/users",
        token=server.token("admin"),
        json={"username": "moi.giamsat", "password": "mat-khau-giam-sat", "role": "supervisor"},
    )
    assert made.status_code == 201, made.text

    tab = new_tab(viewport={"width": 1366, "height": 900})
    tab.clock.set_system_time(dt.datetime.fromisoformat(issued.json()["issued_at"].replace("Z", "+00:00")))
    tab.goto(server.url + f"/s/{MERGED}/reports")
    tab.fill("#username", "moi.giamsat")
    tab.fill("#password", "mat-khau-giam-sat")
    tab.click("#login-button")
    expect(tab.locator("#work")).to_be_visible()
    tab.goto(server.url + f"/s/{OLD}/reports")
    expect(tab.locator("#work")).to_be_visible()  # still signed in: the merged site's staff read it
    expect(tab.locator(".retired-banner")).to_contain_text("công dân được mời đến Xã Phú Mới")
    expect(tab.locator("#summary-text")).to_contain_text("Xã Phú Cũ")
    expect(tab.locator("#table")).to_contain_text("Tư pháp - Hộ tịch")
