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


def test_a_counter_consoles_no_such_site_page_asks_less_and_less_often_and_comes_back(server, page):
    """The counter console at a site's address the server does not have (a mistyped or removed site) asks
    its address after 3 s, then less and less often up to once a minute (every 3 s for ever); a proxy's
    HTML error page in between is asked again, not loaded in its place (it reloaded into it and stayed
    there); when the admin adds the site under that id, the console comes back by itself."""
    address = server.url + f"/s/{SITE}/counter"
    asks: list[str] = []
    page.on("request", lambda request: asks.append(request.url) if request.resource_type == "fetch" else None)
    documents: list[str] = []
    page.on("request", lambda request: documents.append(request.url) if request.resource_type == "document" else None)

    def proxy_error(route):
        if route.request.resource_type == "fetch" and len(asks) == 1:  # the first question: nginx's HTML 404
            route.fulfill(status=404, content_type="text/html", body="<html><body>Not Found</body></html>")
        else:
            route.continue_()

    page.clock.install()
    page.route(address, proxy_error)
    page.goto(address)
    expect(page.locator("p.message.error")).to_contain_text(f"Không có điểm phục vụ mã “{SITE}”.")
    page.clock.run_for(3_500)
    page.wait_for_timeout(500)
    assert len(asks) == 1 and len(documents) == 1, (asks, documents)  # not loaded in its place
    for _ in range(12):  # a minute and more, a few seconds at a time (each question answered before the next)
        page.clock.run_for(5_000)
        page.wait_for_timeout(150)
    assert 3 <= len(asks) <= 5, asks  # after 3, 9, 21, 45 s (every 3 s: 21 of them)
    assert len(documents) == 1, documents

    made = server.api("POST", "/admin/sites", token=server.token("admin"), json={"id": SITE, "name": "Xã Bến Kia"})
    assert made.status_code == 201, made.text
    for _ in range(14):  # the next question within a minute
        page.clock.run_for(5_000)
        page.wait_for_timeout(150)
        if len(documents) > 1:
            break
    expect(page.locator("p.message.error")).not_to_be_attached()
    assert len(documents) == 2, documents
