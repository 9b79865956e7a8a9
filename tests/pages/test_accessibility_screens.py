"""WCAG 2.2 AA (axe-core, vendored) on the public screens test_accessibility.py does not reach:
the lobby display in portrait with paused and closed counters, a zone display, a counter-top
display (waiting, then serving, then paused), the rating tablet's reasons and its thank-you
screens (the neutral face after "Không hài lòng"), and a citizen's tracking page once their
number is called. One real server, one real Chromium, as a citizen or an installer sees them.
"""

from __future__ import annotations

import re

import pytest
import server_db
from accessibility_helpers import TOUCH_SCREENS_WITHOUT_ZOOM, axe_audit
from display_helpers import demo_centre, expect

pytestmark = pytest.mark.browser


@pytest.fixture
def audit(browser):
    yield from axe_audit(browser)


@pytest.fixture
def centre(tmp_path, sqlite_template, morning_clock):
    """The demo with a zone and a counter-top display."""
    yield from demo_centre(tmp_path, sqlite_template, morning_clock)


def _live(tab, url: str) -> None:
    tab.goto(url)
    expect(tab.locator("body")).to_have_attribute("data-live", "live", timeout=15_000)


def _mid_flash(tab) -> int:
    """Hold every new call's flash at its middle, the colour furthest from the resting one, so
    axe sees that frame and not whichever one it happened to catch; a screen's entrance (the big
    number's fade-in) is brought to its end first, as a citizen sees it a moment later."""
    return tab.evaluate("""() => {
      let held = 0;
      for (const a of document.getAnimations()) {
        if (/flash|^qk-call$/.test(a.animationName || "")) {
          a.pause(); a.currentTime = a.effect.getTiming().duration / 2; held += 1;
        } else if (a.effect.getTiming().iterations !== Infinity) {
          a.finish();
        }
      }
      return held;
    }""")


def _end_flash(tab) -> None:
    tab.evaluate(
        "() => document.getAnimations().forEach((a) => { if (a.effect.getTiming().iterations !== Infinity) a.finish(); })"
    )


def test_every_display_mode_meets_wcag_22_aa(centre, audit):
    tab, check = audit
    found = {}
    for service in ("HT", "HT", "HT", "CT", "DC", "LD", "VH"):
        centre.issue(service)

    counter_top = tab({"width": 1920, "height": 1080})
    _live(counter_top, centre.url + "/display/quay-1")
    expect(counter_top.locator("#ct-next li").first).to_be_visible()
    found["counter-top, nobody called yet"] = check(counter_top)

    for counter in (1, 2, 4):
        centre.call(counter)
    centre.call(2, "finish")
    paused = centre.http.post(
        f"{centre.url}/api/v1/counters/2/pause", json={"reason": "nghỉ trưa"}, headers=centre.admin(), timeout=10
    )
    assert paused.status_code == 200, paused.text

    expect(counter_top.locator("#ct-number")).to_have_text(re.compile(r"^\d+$"), timeout=5000)
    _mid_flash(counter_top)
    found["counter-top, a new call's flash"] = check(counter_top)
    _end_flash(counter_top)
    found["counter-top, serving"] = check(counter_top)

    portrait = tab({"width": 1080, "height": 1920})
    _live(portrait, centre.url + "/display/lobby")
    expect(portrait.locator('.counter-row[data-counter="2"] .state')).to_have_text("Tạm dừng")
    expect(portrait.locator('.counter-row[data-counter="3"] .state')).to_have_text("Đã đóng")
    found["lobby, portrait, a paused and a closed counter"] = check(portrait)
    portrait.evaluate("window.QKDisplay.showLanguage('en')")  # the English turn of the same screen
    found["lobby, portrait, in English"] = check(portrait)

    zone = portrait  # the same tab turned to the zone screen's size: a new tab cost ~0.1 s of CPU (its renderer)
    zone.set_viewport_size({"width": 1920, "height": 1080})
    _live(zone, centre.url + "/display/zone")
    expect(zone.locator(".counter-row")).to_have_count(2)
    found["zone display"] = check(zone)
    centre.call(5)  # a new call: its row flashes, and the number is shown big a moment
    expect(zone.locator('.counter-row[data-counter="5"].flash')).to_be_visible(timeout=5000)
    assert _mid_flash(zone) >= 1
    found["zone display, a new call's flash"] = check(zone)
    _end_flash(zone)

    centre.call(1, "finish")
    paused = centre.http.post(
        f"{centre.url}/api/v1/counters/1/pause", json={"reason": "nghỉ"}, headers=centre.admin(), timeout=10
    )
    assert paused.status_code == 200, paused.text
    expect(counter_top.locator("#ct-state")).to_have_text("Tạm dừng", timeout=5000)
    found["counter-top, paused"] = check(counter_top)

    found = {screen: problems for screen, problems in found.items() if problems}
    assert not found, found


def test_the_rating_tablets_answers_and_a_called_citizens_page_meet_wcag_22_aa(centre, audit):
    tab, check = audit
    found = {}
    rating_token = server_db.create_token(centre.database_url, "rating", 1)

    tablet = tab({"width": 1280, "height": 800})
    _live(tablet, f"{centre.url}/rating/1#token={rating_token}")
    ticket = centre.issue("HT")
    phone = tab({"width": 360, "height": 740})
    _live(phone, f"{centre.url}/t/{ticket['id']}")

    centre.call(1)
    expect(phone.locator("body")).to_have_attribute("data-status", "called", timeout=5000)
    expect(phone.locator("#call.flash")).to_be_visible()
    assert _mid_flash(phone) >= 1, "the call flashes"
    found["tracking page, called: its flash"] = check(phone)
    _end_flash(phone)
    found["tracking page, called to the counter"] = check(phone)

    centre.call(1, "start")
    centre.call(1, "finish")
    expect(tablet.locator("#screen-ask")).to_be_visible(timeout=5000)
    tablet.get_by_role("button", name=re.compile("^Không hài lòng")).click()
    expect(tablet.locator("#screen-reasons")).to_be_visible()
    found["rating tablet: what was wrong"] = check(tablet, TOUCH_SCREENS_WITHOUT_ZOOM)
    tablet.get_by_role("button", name=re.compile("Thời gian chờ lâu")).click()
    found["rating tablet: a reason chosen"] = check(tablet, TOUCH_SCREENS_WITHOUT_ZOOM)
    tablet.get_by_role("button", name=re.compile("Gửi đánh giá")).click()
    expect(tablet.locator("#screen-thanks")).to_be_visible()
    assert tablet.locator("#thanks-face use").get_attribute("href") == "#face-neutral"
    found["rating tablet: thanks, the neutral face"] = check(tablet, TOUCH_SCREENS_WITHOUT_ZOOM)

    expect(phone.locator("body")).to_have_attribute("data-status", "done", timeout=5000)
    found["tracking page, served"] = check(phone)

    found = {screen: problems for screen, problems in found.items() if problems}
    assert not found, found


def test_a_remote_numbers_page_and_the_not_found_page_meet_wcag_22_aa(centre, audit):
    """A number taken from a phone, not checked in yet ('Số lấy từ xa: chưa xác nhận có mặt'),
    and the page an old or mistyped QR code leads to."""
    tab, check = audit
    found = {}
    taken = centre.http.post(
        centre.url + "/api/v1/bookings",
        json={"service": "HT", "remote": True, "name": "Trần Thị Bình", "phone": "0987654321"},
        timeout=10,
    )
    assert taken.status_code == 201, taken.text
    phone = tab({"width": 360, "height": 740})
    _live(phone, taken.json()["track_url"].replace("http://127.0.0.1:8000", centre.url))
    expect(phone.locator("body")).to_contain_text("chưa xác nhận có mặt")
    found["tracking page, a remote number not checked in"] = check(phone)

    assert phone.goto(centre.url + "/t/khong-co-so-nay").status == 404
    found["not found"] = check(phone)

    found = {screen: problems for screen, problems in found.items() if problems}
    assert not found, found
