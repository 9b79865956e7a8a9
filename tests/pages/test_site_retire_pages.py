"""A site retired when communes merge, in a real Chromium: the installation's admin retires it in
/admin ("Ngừng hoạt động", naming where its citizens go); its open kiosk and lobby screen turn at once
to a notice that names the merged site, and back when it reopens; its booking page says where to book.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re

import pytest

if os.environ.get("CI", "").lower() != "true":  # under CI a missing Playwright fails, never skips
    pytest.importorskip("playwright", reason="Playwright for Python is not installed")
from admin_helpers import ADMIN_SCREEN, _field, _fill, _login, _save, _saved, reports_login  # noqa: E402
from conftest import _served  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser

OLD, MERGED = "xa-cu", "xa-moi"


@pytest.fixture(scope="module")
def morning_server(tmp_path_factory, sqlite_template, morning_clock):
    """One server for this file's tests that read today's figures or numbers, on the session's working
    morning (``server_on_a_working_morning``, a fork). Each test retires sites of its own (``morning``)."""
    env, zygote = morning_clock
    yield from _served(tmp_path_factory.mktemp("retire-pages"), sqlite_template, zygote, env)


_TESTS_SITES = itertools.count(1)


@pytest.fixture
def morning(morning_server):
    """The shared morning server and the ids this test's two sites take (xa-cu-N, xa-moi-N), named as
    OLD's and MERGED's."""
    n = next(_TESTS_SITES)
    return morning_server, f"{OLD}-{n}", f"{MERGED}-{n}"


def add_sites(server, old: str = OLD, merged: str = MERGED) -> None:
    for site, name in ((old, "Xã Phú Cũ"), (merged, "Xã Phú Mới")):
        made = server.api("POST", "/admin/sites", token=server.token("admin"), json={"id": site, "name": name})
        assert made.status_code == 201, made.text


def served_one_and_retired(server, old: str, merged: str):
    """The two sites; the old one served one citizen, then retired to the merged one. Its ticket."""
    add_sites(server, old, merged)
    admin = server.token("admin")
    issued = server.api("POST", f"/sites/{old}/tickets", json={"service": "HT"})
    assert issued.status_code == 201, issued.text
    assert server.api("POST", f"/sites/{old}/counters/1/next", token=admin).status_code == 200
    assert server.api("POST", f"/sites/{old}/counters/1/finish", token=admin).status_code == 200
    retired = server.api("PATCH", f"/admin/sites/{old}", token=admin, json={"retired": True, "moved_to": merged})
    assert retired.status_code == 200, retired.text
    return issued


def test_an_admin_retires_a_commune_and_its_open_kiosk_says_where_to_go(morning, new_tab, shot):
    server, old, merged = morning  # after reopening its first number is 1001: one day, whatever the hour
    add_sites(server, old, merged)
    kiosk = new_tab(viewport={"width": 1080, "height": 1920})
    kiosk.goto(server.url + f"/s/{old}/kiosk/kiosk-1")
    lobby = new_tab(viewport={"width": 1920, "height": 1080})
    lobby.goto(server.url + f"/s/{old}/display/lobby")
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
    row = admin.locator(f'#panel-sites tr.item[data-key="{old}"]')
    expect(row).to_contain_text("Đang phục vụ")
    row.click()
    expect(_field(admin, "sites", "retired")).to_be_visible()
    _field(admin, "sites", "retired").locator("input").check()
    _fill(admin, "sites", {"moved_to": merged})
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

    reopened = server.api("PATCH", f"/admin/sites/{old}", token=server.token("admin"), json={"retired": False})
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


def test_the_province_sees_a_retired_commune_in_its_comparison(morning, new_tab):
    server, old, merged = morning  # today's comparison: the number served is one day's whatever the hour
    issued = served_one_and_retired(server, old, merged)

    tab = new_tab(viewport={"width": 1366, "height": 900})
    # the comparison's default days (this month to today) follow the browser's clock: the server's day
    tab.clock.set_system_time(dt.datetime.fromisoformat(issued.json()["issued_at"].replace("Z", "+00:00")))
    reports_login(tab, server, "tinh", "province")
    section = tab.locator("#sites-compare")
    expect(section).to_have_attribute("data-ready", "1")
    old_row = section.locator(f'tr[data-site="{old}"]')
    expect(old_row.locator("th a").first).to_have_text("Xã Phú Cũ (đã ngừng hoạt động, chuyển đến Xã Phú Mới)")
    expect(old_row.locator("td").nth(0)).to_have_text("1")  # its history stays in the figures
    expect(old_row.get_by_role("link", name="theo dõi trực tiếp")).to_have_count(0)  # nothing live there
    merged_row = section.locator(f'tr[data-site="{merged}"] th')
    expect(merged_row.locator("a").first).to_have_text("Xã Phú Mới")
    live = merged_row.get_by_role("link", name="theo dõi trực tiếp")  # each site's dashboard, one click away
    expect(live).to_have_attribute("href", f"/s/{merged}/dashboard")
    live.click()
    expect(tab.locator("header .site")).to_contain_text("Xã Phú Mới")
    expect(tab.locator("#work")).to_be_visible()  # the province still signed in there
    expect(tab.locator(".retired-banner")).to_have_count(0)  # a serving site
    tab.goto(server.url + f"/s/{old}/dashboard")  # the retired one's, its history read there: said so
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


def test_the_merged_sites_supervisor_reads_the_retired_sites_reports(morning, new_tab):
    """Signed in at the merged site, its supervisor opens the retired commune's reports page from the
    merged site's own (which lists it) and reads its figures (the retired site's own accounts act nowhere
    any more); the retired site's page lists nothing merged into it."""
    server, old, merged = morning  # the number served is today's, whatever the hour
    issued = served_one_and_retired(server, old, merged)
    made = server.api(
        "POST",
        f"/sites/{merged}/admin/users",
        token=server.token("admin"),
        json={"username": "moi.giamsat", "password": "mat-khau-giam-sat", "role": "supervisor"},
    )
    assert made.status_code == 201, made.text

    tab = new_tab(viewport={"width": 1366, "height": 900})
    tab.clock.set_system_time(dt.datetime.fromisoformat(issued.json()["issued_at"].replace("Z", "+00:00")))
    tab.goto(server.url + f"/s/{merged}/reports")
    tab.fill("#username", "moi.giamsat")
    tab.fill("#password", "mat-khau-giam-sat")
    tab.click("#login-button")
    expect(tab.locator("#work")).to_be_visible()
    history = tab.locator("#history-sites")
    expect(history.locator("h2")).to_have_text("Báo cáo của các điểm đã sáp nhập vào điểm này")
    link = history.get_by_role("link", name="Xã Phú Cũ")
    expect(link).to_have_attribute("href", f"/s/{old}/reports")
    expect(history.locator(f'li[data-site="{old}"]')).to_have_text("Xã Phú Cũ (đã ngừng hoạt động)")
    tab.wait_for_load_state("networkidle")  # the page's own report has arrived: nothing left in flight
    link.click()
    expect(tab).to_have_url(re.compile(re.escape(server.url + f"/s/{old}/reports") + r"(\?.*)?$"))
    expect(tab.locator("#work")).to_be_visible()  # still signed in: the merged site's staff read it
    expect(tab.locator("#history-sites")).to_have_count(0)  # nothing was merged into the retired one
    expect(tab.locator(".retired-banner")).to_contain_text("công dân được mời đến Xã Phú Mới")
    expect(tab.locator("#summary-text")).to_contain_text("Xã Phú Cũ")
    expect(tab.locator("#table")).to_contain_text("Tư pháp - Hộ tịch")
