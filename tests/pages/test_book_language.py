"""The booking page on a phone: English, once chosen, stays chosen on the booking's own page and on
a reload (QA C4), Vietnamese first for everyone else; once checked in, the booking's page no longer
asks to scan its QR code at the kiosk (QA C5)."""

from __future__ import annotations

import os

import pytest

if os.environ.get("CI", "").lower() != "true":  # under CI a missing Playwright fails, never skips
    pytest.importorskip("playwright", reason="Playwright for Python is not installed")
from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser


def test_english_chosen_once_is_kept_and_a_checked_in_booking_asks_for_no_scan(server, phone, new_tab):
    phone.goto(server.url + "/book")
    expect(phone.locator("#step-service h1")).to_have_text("Ông/Bà cần làm thủ tục gì?")
    phone.click("#lang")
    expect(phone.locator("#step-service h1")).to_have_text("What do you need to do?")
    phone.click('#services button[data-service="HT"]')
    phone.click("#take-remote")
    phone.fill("#name", "John Smith")
    phone.fill("#phone", "0987654321")
    phone.get_by_role("button", name="Confirm").click()
    expect(phone.locator("#done-title")).to_have_text("Your number")
    expect(phone.locator("#done-hint")).to_contain_text("type the code on its screen")
    code = phone.locator("#code").inner_text()

    phone.goto(phone.evaluate("document.getElementById('manage').href"))  # the booking's own page
    expect(phone.locator("#done-title")).to_have_text("Your booking")
    phone.goto(server.url + "/book")  # and the booking page again, later
    expect(phone.locator("#step-service h1")).to_have_text("What do you need to do?")
    phone.click("#lang")  # back to Vietnamese: kept too
    phone.reload()
    expect(phone.locator("#step-service h1")).to_have_text("Ông/Bà cần làm thủ tục gì?")

    # another phone opening the booking's page: Vietnamese first, unless the link asks for English
    other = new_tab(viewport={"width": 360, "height": 740})
    other.goto(f"{server.url}/book/{code}")
    expect(other.locator("#done-title")).to_have_text("Lịch hẹn của Ông/Bà")
    other.goto(f"{server.url}/book/{code}?lang=en")
    expect(other.locator("#done-title")).to_have_text("Your booking")

    # checked in at the kiosk: the page says the number, and no longer asks to scan the QR code
    checked_in = server.api("POST", "/check-in", json={"code": code})
    assert checked_in.status_code == 201, checked_in.text
    phone.goto(f"{server.url}/book/{code}")
    expect(phone.locator("#done-status")).to_have_text(f"Đã xác nhận có mặt — số thứ tự {checked_in.json()['number']}")
    expect(phone.locator("#qr")).to_be_hidden()
    expect(phone.locator("#done-hint")).to_be_hidden()
    expect(phone.locator("#code")).to_be_visible()
