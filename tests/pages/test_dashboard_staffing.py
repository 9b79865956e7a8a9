"""The dashboard in Chromium: counters nobody opened show as closed, and a supervisor reprints a
lost ticket from its number (the demo's file printer writes each printed page into its folder)."""

from __future__ import annotations

import time

from playwright.sync_api import expect

PASSWORD = "giam-sat-2026"


def test_closed_counters_and_a_reprint_by_number(page, server_on_a_working_morning, shot):
    server = server_on_a_working_morning  # the reprint looks for today's number: one day whatever the hour
    server.add_user("giamsat-in", PASSWORD, "supervisor")
    page.goto(server.url + "/dashboard")
    page.fill("#username", "giamsat-in")
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    expect(page.locator("body")).to_have_attribute("data-live", "live", timeout=15_000)
    ticket = server.api("POST", "/tickets", json={"service": "LD", "kiosk": "kiosk-1"}).json()
    closed = page.locator('tr.counter[data-counter="5"]')  # LD and VH: nobody has opened it today
    expect(closed).to_have_attribute("data-activity", "closed")
    expect(closed.locator(".activity")).to_have_text("Đóng (không có cán bộ)")
    assert server.api("POST", "/counters/5/open", token=server.counter_token(5)).status_code == 200
    expect(closed).to_have_attribute("data-activity", "idle", timeout=5_000)

    folder = server.config.parent / "instance" / "printed"
    deadline = time.monotonic() + 10
    while not list(folder.glob(f"{ticket['number']}-*.bin")):
        assert time.monotonic() < deadline, "the ticket was never printed"
        time.sleep(0.1)
    page.fill("#reprint-number", str(ticket["number"]))
    page.click("#reprint button")
    expect(page.locator("#reprint-result")).to_contain_text(f"Đã gửi in lại số {ticket['number']}")
    while len(list(folder.glob(f"{ticket['number']}-*.bin"))) < 2:
        assert time.monotonic() < deadline + 10, "the reprint did not reach the printer"
        time.sleep(0.1)
    page.fill("#reprint-number", "5999")
    page.click("#reprint button")
    expect(page.locator("#reprint-result")).to_contain_text("Hôm nay chưa cấp số 5999")
    shot(page, "dashboard-reprint")
