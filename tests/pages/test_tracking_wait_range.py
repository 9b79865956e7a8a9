"""The phone's tracking page shows the predicted wait as a range ("khoảng A–B phút") and updates it
when someone ahead is served: a real server trained on its database's history, a real Chromium."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from wait_history import centre_with_history, wait_until_trained

if os.environ.get("CI", "").lower() != "true":  # under CI a missing Playwright fails, never skips
    pytest.importorskip("playwright", reason="Playwright for Python is not installed")
from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"
RANGE = re.compile(r"khoảng (\d+)–(\d+) phút")


@pytest.fixture
def history(tmp_path, sqlite_template):
    """The server's database file, with its history, before the server below first opens it."""
    url = f"sqlite:///{(tmp_path / 'instance').resolve() / 'queuekiosk.db'}"
    centre_with_history(url, sqlite_template, REPO_CONFIG, tmp_path / "instance")


@pytest.fixture
def server(history, server):
    """The pages' server (tests/pages/conftest.py), started on the database with history."""
    wait_until_trained(server.url)
    return server


def test_the_tracking_page_shows_the_range_and_updates_it_when_someone_ahead_is_served(server, phone):
    token = server.counter_token(4)
    assert server.api("POST", "/counters/4/open", token).status_code == 200
    for _ in range(3):
        assert server.api("POST", "/tickets", json={"service": "DC"}).status_code == 201
    mine = server.api("POST", "/tickets", json={"service": "DC"}).json()
    assert server.api("POST", "/counters/4/next", token).status_code == 200  # the first is called: 2 ahead

    phone.goto(mine["track_url"])
    expect(phone.locator("body")).to_have_attribute("data-live", "live")
    expect(phone.locator("#ahead")).to_contain_text("Số người đang chờ trước Ông/Bà: 2")
    eta = phone.locator("#eta")
    expect(eta).to_contain_text(RANGE)
    expect(eta).to_contain_text(re.compile(r"about \d+–\d+ min"))
    low, high = map(int, RANGE.search(eta.inner_text()).groups())
    assert low < high

    assert server.api("POST", "/counters/4/next", token).status_code == 200  # someone ahead served: 1 ahead
    expect(phone.locator("#ahead")).to_contain_text("Số người đang chờ trước Ông/Bà: 1")
    expect(eta).not_to_contain_text(f"khoảng {low}–{high} phút")
    expect(eta).to_contain_text(RANGE)
    new_low, new_high = map(int, RANGE.search(eta.inner_text()).groups())
    assert new_high < high and new_low <= low, (low, high, new_low, new_high)
