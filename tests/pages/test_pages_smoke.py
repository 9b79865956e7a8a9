"""The first pages, used as a person would: a real server, a real Chromium.

Set QK_SCREENSHOTS=/tmp/qk-shots to keep a screenshot of each page.

The tests on the plain demo share one server (``module_server``): between them they issue one CT
number and nothing else.
"""

from __future__ import annotations

import os
import re
import time

import pytest

if os.environ.get("CI", "").lower() != "true":  # under CI a missing Playwright fails, never skips
    pytest.importorskip("playwright", reason="Playwright for Python is not installed")
from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser

HT = re.compile("Tư pháp - Hộ tịch")


def _buttons_inside_viewport(tab) -> None:
    size = tab.viewport_size
    for button in tab.locator("button.service").all():
        box = button.bounding_box()
        assert box and box["x"] >= 0 and box["y"] >= 0, box
        assert box["x"] + box["width"] <= size["width"] and box["y"] + box["height"] <= size["height"], (
            f"{button.inner_text()!r} sticks out of the {size['width']}x{size['height']} screen: {box}"
        )


def _no_priority(page):
    """The kiosk asks "Ông/Bà có thuộc đối tượng ưu tiên không?" after the service (the demo has priority
    classes): tap "Không" once it takes taps (tests/pages/test_kiosk_page.py covers the kiosk fully)."""
    no = page.locator("button.no-priority")
    expect(no).to_be_enabled()
    return no


def test_kiosk_issues_one_ticket_per_tap(server_on_a_working_morning, page, shot):
    server = server_on_a_working_morning  # today's numbers from 1001: one day whatever the hour
    page.clock.install()  # the page's own clock: its 8 s on the number are moved on below, not waited for
    page.goto(server.url + "/kiosk/kiosk-1")
    expect(page.locator("button.service")).to_have_count(6)  # services: all
    _buttons_inside_viewport(page)
    shot(page, "kiosk-1920x1080")

    service = page.get_by_role("button", name=HT)
    service.click()
    _no_priority(page).click()
    result = page.locator("#result")
    expect(result).to_be_visible()
    expect(page.locator("#result-number")).to_have_text("1001")
    expect(page.locator("#result-service")).to_contain_text("Tư pháp - Hộ tịch")
    expect(page.locator("#result-ahead")).to_contain_text("Số người đang chờ trước Ông/Bà: 0")
    expect(page.locator("#result-eta")).not_to_be_empty()
    shot(page, "kiosk-ticket")
    result.locator("button.done").click()
    expect(result).to_be_hidden()

    # a quick double tap, and two taps in the same instant: one ticket each
    service.dblclick()
    _no_priority(page).dblclick()
    expect(page.locator("#result-number")).to_have_text("1002")
    result.locator("button.done").click()
    service.click()
    page.evaluate("button => { button.click(); button.click(); }", _no_priority(page).element_handle())
    expect(page.locator("#result-number")).to_have_text("1003")
    page.wait_for_timeout(500)  # a stray second request would have landed by now
    assert server.waiting("HT") == 3

    # it comes back to the start by itself after 8 s
    expect(result).to_be_visible()
    page.clock.fast_forward(8_000)
    expect(result).to_be_hidden(timeout=5_000)
    expect(service).to_be_enabled()

    # the same kiosk on a screen standing upright (the same tab turned: a new one cost a context's start)
    page.set_viewport_size({"width": 1080, "height": 1920})
    page.goto(server.url + "/kiosk/kiosk-1")
    expect(page.locator("button.service")).to_have_count(6)
    _buttons_inside_viewport(page)
    shot(page, "kiosk-1080x1920")


def test_kiosk_shows_api_refusal_and_lost_connection(module_server, page):
    server = module_server  # (issues nothing: HT's count is the same at the end)
    waiting = server.waiting("HT")
    # the connection is cut by a route added before the page loads (test_counter_console.py says why)
    cut = []
    page.route("**/api/v1/tickets", lambda route: route.abort() if cut else route.continue_())
    page.goto(server.url + "/kiosk/kiosk-1")
    # the API refuses (a service that vanished from the kiosk): its own words are shown
    page.evaluate("document.querySelector('button.service').dataset.service = 'NOPE'")
    page.locator("button.service").first.click()
    _no_priority(page).click()
    refusal = server.api("POST", "/tickets", json={"service": "NOPE", "kiosk": "kiosk-1"}).json()
    expect(page.locator("#problem")).to_be_visible()
    expect(page.locator("#problem-text")).to_have_text(refusal["error"]["message"])
    page.locator("#problem button.done").click()

    cut.append(True)
    page.get_by_role("button", name=HT).click()
    _no_priority(page).click()
    expect(page.locator("#problem-text")).to_contain_text("Mất kết nối", timeout=10_000)  # after ~3 s of retries
    assert server.waiting("HT") == waiting


def test_display_shows_a_call_live(server_on_a_working_morning, page, shot):
    server = server_on_a_working_morning  # today's first number, called while it waits
    token = server.counter_token(1)
    page.goto(server.url + "/display/lobby")
    expect(page.locator("body")).to_have_attribute("data-live", "live")
    expect(page.locator("#offline")).to_be_hidden()
    page.evaluate("window.__sameLoad = true")

    assert server.api("POST", "/tickets", json={"service": "HT", "kiosk": "kiosk-1"}).status_code == 201
    expect(page.locator('.waiting-list li[data-service="HT"] .count')).to_have_text("1")
    called = server.api("POST", "/counters/1/next", token=token)
    assert called.status_code == 200, called.text
    assert called.json()["number"] == 1001
    started = time.monotonic()
    row = page.locator('.counter-row[data-counter="1"]')
    expect(row.locator(".num")).to_have_text("1001", timeout=2_000)
    assert time.monotonic() - started < 2.0
    expect(row).to_have_class(re.compile(r"\bflash\b"))
    expect(page.locator("#history li").first).to_contain_text("1001")
    expect(page.locator('.waiting-list li[data-service="HT"] .count')).to_have_text("0")
    assert page.evaluate("window.__sameLoad") is True  # no reload
    shot(page, "display-1920x1080")

    # the server goes away: the small "mất kết nối" mark shows
    server.process.terminate()
    expect(page.locator("#offline")).to_be_visible(timeout=5_000)
    expect(page.locator("#offline")).to_contain_text("Mất kết nối")


def test_counter_console_login_and_next(server_on_a_working_morning, page, shot):
    server = server_on_a_working_morning  # today's numbers, called while they wait
    password = server.add_clerk("clerk1", counter=1)
    assert server.api("POST", "/tickets", json={"service": "HT"}).status_code == 201
    wrong = server.api("POST", "/auth/login", json={"username": "clerk1", "password": "wrong password"}).json()

    page.goto(server.url + "/counter")
    page.fill("#username", "clerk1")
    page.fill("#password", "wrong password")
    page.fill("#counter", "1")
    page.click("#login-button")
    expect(page.locator("#login-error")).to_have_text(wrong["error"]["message"])
    shot(page, "counter-login-refused")

    page.fill("#password", password)
    page.click("#login-button")
    expect(page.locator("#work")).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-live", "live")
    expect(page.locator("#queue-list li")).to_have_count(1)
    expect(page.locator("#queue-list li").first).to_contain_text("1001")

    page.get_by_role("button", name=re.compile("Gọi số tiếp theo")).click()
    expect(page.locator("#current-number")).to_have_text("1001")
    expect(page.locator("#queue-empty")).to_be_visible()

    # a ticket issued elsewhere shows up in the waiting list by itself
    assert server.api("POST", "/tickets", json={"service": "HT"}).status_code == 201
    expect(page.locator("#queue-list li")).to_have_count(1)
    expect(page.locator("#queue-list li").first).to_contain_text("1002")
    shot(page, "counter-1920x1080")

    page.get_by_role("button", name=re.compile("Kết thúc")).click()
    expect(page.locator("#current-number")).to_contain_text("Chưa gọi số nào")

    # a reload keeps the session; logging out (closing the counter, the dialog's default) shows the form again
    page.reload()
    expect(page.locator("#work")).to_be_visible()
    page.click("#logout")
    page.click("#logout-close")
    expect(page.locator("#login")).to_be_visible()


def test_start_page_links_every_page(module_server, page, shot):
    server = module_server
    page.goto(server.url + "/")
    for href in ("/kiosk/kiosk-1", "/display/lobby", "/counter", "/reports", "/dashboard", "/admin"):
        expect(page.locator(f'a[href="{href}"]')).to_have_count(1)
    shot(page, "home")
    page.click('a[href="/kiosk/kiosk-1"]')
    expect(page.locator("button.service").first).to_be_visible()


def test_unknown_pages_are_404_and_escaped(module_server):
    server = module_server
    for path in ("/kiosk/%3Cb%3Ex", "/display/%3Cb%3Ex"):
        answer = server.http.get(server.url + path, timeout=10)
        assert answer.status_code == 404
        assert "text/html" in answer.headers["Content-Type"]
        assert "&lt;b&gt;x" in answer.text and "<b>x" not in answer.text


def test_every_page_loads_without_a_missing_file_and_has_its_icon(module_server, page):
    """Browsers ask every page for /favicon.ico: it is served (a small local icon), and no page
    asks for anything that is not there."""
    import io

    from PIL import Image

    server = module_server
    missing = []
    page.on("response", lambda response: response.status == 404 and missing.append(response.url))
    ticket = server.api("POST", "/tickets", json={"service": "HT"}).json()
    for path in (
        "/",
        "/kiosk/kiosk-1",
        "/display/lobby",
        "/counter",
        "/rating/1",
        f"/t/{ticket['id']}",
        "/reports",
        "/dashboard",
    ):
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
        icon = page.evaluate("""async () => { const r = await fetch('/favicon.ico');
                                 return {status: r.status, type: r.headers.get('content-type')}; }""")
        assert icon == {"status": 200, "type": "image/vnd.microsoft.icon"}, (path, icon)
    assert not missing, missing
    answer = server.http.get(server.url + "/favicon.ico", timeout=10)
    assert Image.open(io.BytesIO(answer.content)).format == "ICO"
