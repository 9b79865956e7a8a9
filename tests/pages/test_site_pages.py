"""A second site's pages in a real Chromium (issue 16): under /s/{site}/ the kiosk issues that site's
tickets and the lobby display shows that site's calls, live; the first site's display, at the
single-site address, shows none of them. A site removed while its pages are open: they say so.
"""

from __future__ import annotations

import os
import re

import pytest

if os.environ.get("CI", "").lower() != "true":  # under CI a missing Playwright fails, never skips
    pytest.importorskip("playwright", reason="Playwright for Python is not installed")
from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser

SITE = "xa-ben-kia"


def test_a_second_sites_kiosk_and_display_work_under_its_prefix(server_on_a_working_morning, page, new_tab):
    server = server_on_a_working_morning  # the number taken is still waiting when called, whatever the hour
    made = server.api(
        "POST",
        "/admin/sites",
        token=server.token("admin"),
        json={"id": SITE, "name": "Xã Bến Kia", "timezone": "Asia/Bangkok"},
    )
    assert made.status_code == 201, made.text
    first_display = new_tab()
    first_display.goto(server.url + "/display/lobby")
    page.goto(server.url + f"/s/{SITE}/display/lobby")
    for tab in (page, first_display):
        expect(tab.locator("body")).to_have_attribute("data-live", "live")

    kiosk = new_tab()
    kiosk.goto(server.url + f"/s/{SITE}/kiosk/kiosk-1")
    kiosk.get_by_role("button", name=re.compile("Tư pháp - Hộ tịch")).click()
    kiosk.locator("button.no-priority").click()
    expect(kiosk.locator("#result-number")).to_have_text("1001")
    expect(page.locator('.waiting-list li[data-service="HT"] .count')).to_have_text("1")
    expect(first_display.locator('.waiting-list li[data-service="HT"] .count')).to_have_text("0")

    called = server.api("POST", f"/sites/{SITE}/counters/1/next", token=server.token("admin"))
    assert called.status_code == 200 and called.json()["number"] == 1001, called.text
    expect(page.locator('.counter-row[data-counter="1"] .num')).to_have_text("1001")
    expect(page.locator("#history li").first).to_contain_text("1001")
    first_display.wait_for_timeout(500)  # the call would have reached it by now
    expect(first_display.locator('.counter-row[data-counter="1"] .num')).not_to_have_text("1001")
    expect(first_display.locator("#history li")).to_have_count(0)
    assert server.waiting("HT") == 0  # the first site's queue: the kiosk above issued at the other


def add_site_and_open_its_pages(server, admin: str, new_tab) -> list:
    """SITE added; its lobby screen and its kiosk open, live."""
    made = server.api("POST", "/admin/sites", token=admin, json={"id": SITE, "name": "Xã Bến Kia"})
    assert made.status_code == 201, made.text
    tabs = [new_tab(), new_tab()]
    tabs[0].goto(server.url + f"/s/{SITE}/display/lobby")
    tabs[1].goto(server.url + f"/s/{SITE}/kiosk/kiosk-1")
    for tab in tabs:
        expect(tab.locator("body")).to_have_attribute("data-live", "live")
    return tabs


def test_the_open_pages_of_a_removed_site_say_it_is_gone(server, new_tab):
    """A site added by mistake is removed while its lobby screen and kiosk are open: each says there is no
    such site (the page a new visit gets, Vietnamese then English), not another centre's screen nor "no
    connection" for ever."""
    admin = server.token("admin")
    tabs = add_site_and_open_its_pages(server, admin, new_tab)

    assert server.api("DELETE", f"/admin/sites/{SITE}", token=admin).status_code == 204
    for tab in tabs:
        said = tab.locator("p.message.error")
        expect(said).to_contain_text(f"Không có điểm phục vụ mã “{SITE}”.", timeout=10_000)
        expect(said).to_contain_text(f"There is no site “{SITE}”.")
        expect(tab.locator("h1")).to_contain_text("Không tìm thấy")


def test_a_removed_sites_pages_come_back_when_it_is_added_again_and_the_removal_logs_no_error(server, new_tab):
    """The site removed while its lobby screen and kiosk are open: the server logs no ERROR (engineio logged
    'Session is disconnected' for a page's connection closed twice). Each page says there is no such site;
    the admin adds the site again under its id while the server runs: each page comes back by itself
    within a few seconds (it stayed on "no such site" until someone reloaded it)."""
    admin = server.token("admin")
    tabs = add_site_and_open_its_pages(server, admin, new_tab)
    before = len(server.log.read_text(errors="replace"))

    assert server.api("DELETE", f"/admin/sites/{SITE}", token=admin).status_code == 204
    for tab in tabs:
        expect(tab.locator("p.message.error")).to_contain_text(f"Không có điểm phục vụ mã “{SITE}”.", timeout=10_000)
    tabs[0].wait_for_timeout(1000)  # each page's polling request and reconnection have come and gone
    removal = server.log.read_text(errors="replace")[before:]
    assert [line for line in removal.splitlines() if " ERROR " in line or "Traceback" in line] == [], removal

    made = server.api("POST", "/admin/sites", token=admin, json={"id": SITE, "name": "Xã Bến Kia Mới"})
    assert made.status_code == 201, made.text
    for tab in tabs:
        expect(tab.locator("body")).to_have_attribute("data-live", "live", timeout=8_000)
    expect(tabs[1].get_by_role("button", name=re.compile("Tư pháp - Hộ tịch"))).to_be_visible()
