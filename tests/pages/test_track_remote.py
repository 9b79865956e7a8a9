"""The tracking page of a number taken from a phone ("lấy số từ xa") before its citizen has come:
what to do and by when, then the usual waiting view once checked in at the kiosk. Real server,
real Chromium on a phone-sized screen.
"""

from __future__ import annotations

import os
import re

import pytest

if os.environ.get("CI", "").lower() != "true":  # under CI a missing Playwright fails, never skips
    pytest.importorskip("playwright", reason="Playwright for Python is not installed")
from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser


def test_a_remote_number_says_where_to_go_and_by_when_until_checked_in(server, phone, shot):
    phone.goto(server.url + "/book")
    phone.get_by_role("button", name="Tư pháp - Hộ tịch").click()
    phone.get_by_role("button", name="Lấy số hôm nay").click()
    phone.fill("#name", "Phạm Văn Dũng")
    phone.fill("#phone", "0912000501")
    phone.get_by_role("button", name="Xác nhận").click()
    phone.wait_for_function("() => document.getElementById('code').textContent.length === 8")
    number = server.api("GET", "/bookings/" + phone.locator("#code").inner_text()).json()
    assert number["track_url"].startswith(f"{server.url}/t/"), number

    phone.get_by_role("link", name="Theo dõi số thứ tự").click()  # from the booking to its number's page
    phone.wait_for_url(number["track_url"])
    expect(phone.locator("body")).to_have_attribute("data-live", "live")
    expect(phone.locator("#number")).to_have_text(str(number["number"]))
    status, where = phone.locator("#status"), phone.locator("#where")
    expect(status).to_contain_text("Số lấy từ xa: chưa xác nhận có mặt")
    expect(status).to_contain_text("Number taken remotely: not checked in yet")
    expect(where).to_be_visible()
    expect(where).to_contain_text(f"tại máy lấy số (mục “Tôi đã đặt lịch”) trước {number['deadline']}")
    expect(where).to_contain_text(f"before {number['deadline']}")
    expect(phone.locator("#facts")).to_be_hidden()  # no place in the queue before the check-in
    expect(phone.locator("#call")).to_be_hidden()
    assert not re.search(r"\bremote\b", phone.locator("main").inner_text()), "no raw status word on the page"
    shot(phone, "track-remote")

    checked = server.api("POST", "/check-in", json={"code": number["code"], "kiosk": "kiosk-1"})
    assert checked.status_code == 201, checked.text
    expect(status).to_contain_text("Đang chờ đến lượt")  # live, without reloading
    expect(where).to_be_hidden()
    expect(phone.locator("#facts")).to_be_visible()
    expect(phone.locator("#ahead")).to_contain_text("Số người đang chờ trước Ông/Bà")
