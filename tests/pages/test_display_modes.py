"""A zone display (a part of the lobby: its counters only) and a counter-top display (one
counter: its number, large, and the next ones), chosen in the display's setup, in a real
Chromium against the real server (tests/pages/display_helpers.py's server and helpers)."""

from __future__ import annotations

import pytest
from display_helpers import (
    demo_centre,
    expect,
    expect_number,
    media_events,
    open_display,
    wait_media,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def centre(tmp_path, sqlite_template, morning_clock):
    yield from demo_centre(tmp_path, sqlite_template, morning_clock)


def test_a_zone_display_shows_and_says_only_its_counters_calls(page, centre, shot):
    for service in ("HT", "DC", "LD"):
        centre.issue(service)
    open_display(page, centre, "/display/zone")
    rows = page.locator(".counter-row")
    expect(rows).to_have_count(2)
    assert [rows.nth(i).get_attribute("data-counter") for i in range(2)] == ["4", "5"]
    assert sorted(page.locator(".waiting-list li").evaluate_all("(items) => items.map((i) => i.dataset.service)")) == [
        "DC",
        "LD",
        "VH",
    ], "the services its counters serve"

    centre.call(1)  # downstairs: not this zone's
    centre.call(4)
    expect_number(page, 4, "3001")
    expect(page.locator("#history li")).to_have_count(1)  # the call came once
    events = wait_media(page, lambda e: any(x["type"] == "ended" for x in e), timeout=20)
    assert [e["src"].rsplit("counter=", 1)[1] for e in events if e["type"] == "playing"] == ["4"], (
        "the call at counter 1 is neither spoken here nor waited for",
        events,
    )
    expect(page.locator("#history li").first).to_contain_text("3001")
    assert "1001" not in page.locator("main").text_content()
    shot(page, "display-zone")
    # two tall rows: the number is large, and the counter's name keeps its room beside it
    assert page.locator('.counter-row[data-counter="4"] .name').bounding_box()["width"] > 150
    assert [e for e in media_events(page) if "counter=1" in e["src"]] == []


def test_a_counter_top_display_shows_its_number_large_and_the_next_ones(page, centre, shot):
    for _ in range(4):
        centre.issue("HT")
    open_display(page, centre, "/display/quay-1")
    top = page.locator("#counter-top")
    expect(top).to_be_visible()
    expect(page.locator(".counters")).to_be_hidden()
    expect(page.locator(".latest")).to_be_hidden()
    expect(page.locator("#ct-number")).to_have_text("—")
    expect(page.locator("#ct-next li")).to_have_text(["1001", "1002", "1003", "1004"])

    centre.call(1)
    expect(page.locator("#ct-number")).to_have_text("1001", timeout=2000)
    expect(page.locator("#ct-next li")).to_have_text(["1002", "1003", "1004"], timeout=2000)
    expect(page.locator("#callout")).to_be_hidden()  # the number is already large where it is
    size = page.locator("#ct-number").evaluate("(n) => parseFloat(getComputedStyle(n).fontSize)")
    assert size >= 0.25 * 1080, size
    assert page.locator("#ct-next li").first.evaluate("(n) => parseFloat(getComputedStyle(n).fontSize)") >= 63
    shot(page, "display-counter-top")

    centre.issue("HT")  # a new citizen, and counter 2 (which serves HT too) takes the next one
    centre.call(2)
    expect(page.locator("#ct-next li")).to_have_text(["1003", "1004", "1005"], timeout=2000)
    expect(page.locator("#ct-number")).to_have_text("1001")
    events = wait_media(page, lambda e: any(x["type"] == "ended" for x in e), timeout=20)
    assert all("counter=1" in e["src"] for e in events), "only its own counter's calls are said"

    centre.call(1, "finish")
    paused = centre.http.post(
        f"{centre.url}/api/v1/counters/1/pause", json={"reason": "nghỉ"}, headers=centre.admin(), timeout=10
    )
    assert paused.status_code == 200, paused.text
    expect(page.locator("#ct-state")).to_have_text("Tạm dừng", timeout=2000)
    expect(page.locator("#ct-number")).to_be_hidden()


def test_the_mode_is_chosen_in_the_display_setup_and_checked(page, centre):
    """Through the admin API: an unknown counter is refused naming the field; a good change
    redraws the open screen as a counter-top display, without a reload."""
    centre.issue("DC")
    open_display(page, centre, "/display/lobby")
    expect(page.locator(".counter-row")).to_have_count(6)
    url = f"{centre.url}/api/v1/admin/displays/lobby"
    refused = centre.http.patch(url, json={"mode": "counter", "counter": 9}, headers=centre.admin(), timeout=10)
    assert refused.status_code == 422, refused.text
    assert "counter" in refused.json()["error"]["message"] and "9" in refused.json()["error"]["message"]
    refused = centre.http.patch(url, json={"mode": "zone"}, headers=centre.admin(), timeout=10)
    assert refused.status_code == 422, refused.text

    saved = centre.http.patch(url, json={"mode": "counter", "counter": 4}, headers=centre.admin(), timeout=10)
    assert saved.status_code == 200, saved.text
    expect(page.locator("#counter-top")).to_be_visible(timeout=5000)
    expect(page.locator("#ct-badge")).to_have_text("4")
    expect(page.locator("#ct-next li")).to_have_text(["3001"])
    assert page.evaluate("window.__loads") == 1
    assert page.evaluate("document.body.dataset.mode") == "counter"
