"""The dashboard in Chromium: counters nobody opened show as closed, and a supervisor reprints a
lost ticket from its number (the demo's file printer writes each printed page into its folder); the
reprint is not offered to the province (read only) nor where no printer is set up."""

from __future__ import annotations

import time
from pathlib import Path

import yaml
from dashboard_helpers import open_dashboard
from playwright.sync_api import expect

PASSWORD = "giam-sat-2026"
REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"


def sign_in(page, server, name: str, role: str) -> None:
    open_dashboard(page, server, name, role, PASSWORD)


def test_closed_counters_and_a_reprint_by_number(page, server_on_a_working_morning, shot):
    server = server_on_a_working_morning  # the reprint looks for today's number: one day whatever the hour
    sign_in(page, server, "giamsat-in", "supervisor")
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


def test_the_province_is_not_offered_a_reprint(page, server):
    """It reads only: the reprint would be refused (403), so it is not shown, the printers still are."""
    sign_in(page, server, "tinh", "province")
    expect(page.locator('#printers li.printer[data-printer="kiosk-1"]')).to_be_visible()
    expect(page.locator("#reprint")).to_be_hidden()
    expect(page.get_by_text("In lại phiếu số")).to_be_hidden()


def test_no_reprint_is_offered_where_no_printer_is_set_up(page, start_server):
    config = yaml.safe_load(REPO_CONFIG.read_text(encoding="utf-8"))
    config["printers"] = []
    for kiosk in config["kiosks"]:
        kiosk.pop("printer", None)
    server = start_server(config)
    sign_in(page, server, "giamsat", "supervisor")
    expect(page.locator("#printers")).to_contain_text("Không có máy in nào trong cấu hình.")
    expect(page.locator("#reprint")).to_be_hidden()
