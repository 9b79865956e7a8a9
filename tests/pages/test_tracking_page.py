"""The ticket's tracking page (/t/<id>, where the QR code points) on a phone, and the HTML
error page a browser gets outside /api: a real server, a real Chromium.

Set QK_SCREENSHOTS=/tmp/qk-shots to keep a screenshot of each page.
"""

from __future__ import annotations

import json
import os
import re
import time

import pytest
import requests

if os.environ.get("CI", "").lower() != "true":  # under CI a missing Playwright fails, never skips
    pytest.importorskip("playwright", reason="Playwright for Python is not installed")
from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def _issue(server, service: str = "HT") -> dict:
    answer = server.api("POST", "/tickets", json={"service": service, "kiosk": "kiosk-1"})
    assert answer.status_code == 201, answer.text
    return answer.json()


def _fits_the_width(tab) -> None:
    width = tab.viewport_size["width"]
    scroll = tab.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"the page is {scroll} px wide on a {width} px screen"


def test_tracking_page_follows_its_ticket_live(server_on_a_working_morning, phone, shot):
    server = server_on_a_working_morning  # one day whatever the hour (the site's midnight is 17:00 UTC)
    token = server.counter_token(1)
    opened = requests.post(f"{server.url}/api/v1/counters/1/open", headers={"Authorization": f"Bearer {token}"})
    assert opened.status_code == 200, opened.text  # the clerk is in: waits count counter 1
    first = _issue(server)
    mine = _issue(server)
    assert mine["track_url"] == f"{server.url}/t/{mine['id']}"

    answer = phone.goto(mine["track_url"])
    assert answer.status == 200
    expect(phone.locator("body")).to_have_attribute("data-live", "live")
    expect(phone.locator("#number")).to_have_text("1002")
    expect(phone.locator("#service")).to_contain_text("Tư pháp - Hộ tịch")
    expect(phone.locator("#service")).to_contain_text("Justice - Civil status")
    expect(phone.locator("#status")).to_contain_text("Đang chờ đến lượt")
    expect(phone.locator("#ahead")).to_contain_text("Số người đang chờ trước Ông/Bà: 1")
    expect(phone.locator("#ahead")).to_contain_text("People ahead of you: 1")
    expect(phone.locator("#eta")).to_contain_text(re.compile(r"khoảng \d+ phút"))
    expect(phone.locator("#call")).to_be_hidden()
    expect(phone.locator("#offline")).to_be_hidden()
    _fits_the_width(phone)
    shot(phone, "track-phone")

    # nothing about other citizens: not the ticket ahead, not its id, no queue lists
    text = phone.locator("body").inner_text()
    assert first["display"] not in text and first["id"] not in phone.content()
    data = json.loads(phone.locator("#qk-page").text_content())
    assert set(data) == {"ticket", "services"}
    assert data["ticket"]["id"] == mine["id"]

    phone.evaluate("window.__sameLoad = true")
    called = server.api("POST", "/counters/1/next", token=token, json={"number": mine["number"]})
    assert called.status_code == 200, called.text
    assert called.json()["id"] == mine["id"]
    started = time.monotonic()
    call = phone.locator("#call")
    expect(call).to_contain_text("Xin mời Ông/Bà đến quầy số 1", timeout=2_000)
    assert time.monotonic() - started < 2.0
    expect(call).to_contain_text("Please go to counter 1")
    expect(call).to_be_in_viewport()
    expect(phone.locator("#status")).to_contain_text("Đã đến lượt Ông/Bà")
    expect(phone.locator("#facts")).to_be_hidden()
    assert phone.evaluate("window.__sameLoad") is True  # no reload
    _fits_the_width(phone)
    shot(phone, "track-phone-called")

    # sent on to counter 2: waiting again, for that counter (the event carries the position)
    moved = server.api("POST", "/counters/1/transfer", token=token, json={"counter": 2})
    assert moved.status_code == 200, moved.text
    expect(phone.locator("#status")).to_contain_text("Đang chờ đến lượt")
    expect(phone.locator("#where")).to_contain_text("Ông/Bà sẽ được gọi tại quầy số 2")
    expect(phone.locator("#ahead")).to_contain_text(f"Số người đang chờ trước Ông/Bà: {moved.json()['waiting_ahead']}")
    expect(phone.locator("#facts")).to_be_visible()
    # counter 2 is closed (counter 1, open, serves HT too): no wait is promised until it opens
    assert (moved.json()["eta_minutes"], moved.json()["eta_range"]) == (None, None), moved.json()
    not_serving = "Quầy số 2 hiện đang không phục vụ; số sẽ được gọi khi quầy số 2 phục vụ."
    expect(phone.locator("#eta")).to_have_text(re.compile(re.escape(not_serving)))
    expect(phone.locator("#eta")).to_contain_text(
        "Counter 2 is not serving now; your number will be called when it serves."
    )
    expect(call).to_be_hidden()
    # it opens: a wait is promised at once; paused, none again (the same words), with no reload
    token = server.counter_token(2)
    assert server.api("POST", "/counters/2/open", token=token).status_code == 200
    expect(phone.locator("#eta")).to_contain_text(re.compile(r"\d+ phút|sắp được gọi"))
    assert server.api("POST", "/counters/2/pause", token=token, json={}).status_code == 200
    expect(phone.locator("#eta")).to_have_text(re.compile(re.escape(not_serving)))
    assert phone.evaluate("window.__sameLoad") is True

    assert server.api("POST", "/counters/2/next", token=token, json={"number": mine["number"]}).status_code == 200
    expect(call).to_contain_text("Xin mời Ông/Bà đến quầy số 2")
    assert server.api("POST", "/counters/2/start", token=token).status_code == 200
    expect(phone.locator("#status")).to_contain_text("Đang được phục vụ")
    expect(phone.locator("#where")).to_contain_text("Tại quầy số 2")
    expect(call).to_be_hidden()
    assert server.api("POST", "/counters/2/finish", token=token).status_code == 200
    expect(phone.locator("#status")).to_contain_text("Đã phục vụ xong")
    expect(phone.locator("#where")).to_be_hidden()
    assert phone.evaluate("window.__sameLoad") is True

    # a reconnect (a new page load) draws the same from the snapshot
    phone.reload()
    expect(phone.locator("body")).to_have_attribute("data-live", "live")
    expect(phone.locator("#status")).to_contain_text("Đã phục vụ xong")


def test_unknown_ticket_is_a_404_page(module_server, phone, shot):
    server = module_server  # (asked only for pages that are not there)
    for ticket_id in ("no-such-ticket", "%3Cb%3Ex", "x" * 200):
        answer = phone.goto(f"{server.url}/t/{ticket_id}")
        assert answer.status == 404
        assert "text/html" in answer.headers["content-type"]
        expect(phone.locator("h1")).to_contain_text("Không tìm thấy trang")
        expect(phone.locator(".message")).to_contain_text("Không tìm thấy phiếu này")
        expect(phone.locator(".message")).to_contain_text("This ticket was not found")
        expect(phone.locator("b")).to_have_count(0)
    shot(phone, "track-unknown")


def test_browsers_get_html_errors_and_programs_json(module_server, page, shot):
    server = module_server  # (asked only for pages that are not there, and its start page)
    answer = page.goto(server.url + "/no-such-page")
    assert answer.status == 404
    assert "text/html" in answer.headers["content-type"]
    expect(page.locator("h1")).to_contain_text("Không tìm thấy trang")
    expect(page.locator("h1")).to_contain_text("Page not found")
    expect(page.locator(".message")).to_contain_text("/no-such-page")
    expect(page.locator('a[href="/"]')).to_have_count(1)
    shot(page, "error-404")
    page.locator('a[href="/"]').click()
    expect(page.locator('a[href="/kiosk/kiosk-1"]')).to_have_count(1)

    # the API stays JSON, even for a browser; programs get JSON outside /api too
    for path, accept in (
        ("/api/v1/nope", None),
        ("/api/v1/nope", BROWSER_ACCEPT),
        ("/no-such-page", None),
        ("/no-such-page", "application/json"),
    ):
        headers = {"Accept": accept} if accept else {}
        answer = requests.get(server.url + path, headers=headers, timeout=10)
        assert answer.status_code == 404
        assert answer.headers["Content-Type"].startswith("application/json"), (path, accept)
        assert answer.json()["error"]["code"] == "not_found"

    # a wrong method on a page: HTML for a browser, JSON for a program
    wrong = requests.post(server.url + "/kiosk/kiosk-1", headers={"Accept": BROWSER_ACCEPT}, timeout=10)
    assert wrong.status_code == 405 and "text/html" in wrong.headers["Content-Type"]
    assert "không nhận phương thức POST" in wrong.text
    wrong = requests.post(server.url + "/kiosk/kiosk-1", timeout=10)
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"


def test_the_phone_says_so_while_no_counter_serves_the_service(server_on_a_working_morning, phone):
    server = server_on_a_working_morning  # one day whatever the hour (the site's midnight is 17:00 UTC)
    """No promise of "soon" while nobody works at a counter for the service; a wait once one opens."""
    ticket = _issue(server, "DC")  # only counter 4 serves DC, and nobody has opened it
    phone.goto(ticket["track_url"])
    expect(phone.locator("#eta")).to_contain_text("Hiện chưa có quầy nào mở cho dịch vụ này")
    expect(phone.locator("#eta")).to_contain_text("No counter for this service is open yet")
    token = server.counter_token(4)
    assert (
        requests.post(f"{server.url}/api/v1/counters/4/open", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )
    phone.reload()
    expect(phone.locator("#eta")).not_to_contain_text("Hiện chưa có quầy nào mở")
