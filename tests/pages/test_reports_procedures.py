"""/reports by procedure (issue 15, the dossier link) in a real Chromium: what the clerks picked at
the counter with the dossier code shows to the supervisor as a table per service and procedure
(served, how many with a dossier code, average service time), tickets served without a procedure
on a line of their own; a centre whose services have no procedures is not shown the table."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import yaml
from config_helpers import with_procedures
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"
PASSWORD = "giam-sat-2026"


def serve(server, dossier: dict | None) -> dict:
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {server.token('counter', 1)}"
    ticket = requests.post(server.url + "/api/v1/tickets", json={"service": "HT"}, timeout=10).json()
    assert http.post(server.url + "/api/v1/counters/1/next", timeout=10).json()["id"] == ticket["id"]
    if dossier is not None:
        answer = http.put(server.url + "/api/v1/counters/1/dossier", json=dossier, timeout=10)
        assert answer.status_code == 200, answer.text
    for action in ("start", "finish"):
        assert http.post(server.url + f"/api/v1/counters/1/{action}", timeout=10).status_code == 200
    return ticket


def open_reports(page, server, day: str) -> None:
    server.add_user("giamsat", PASSWORD, "supervisor")
    page.goto(f"{server.url}/reports?from={day}&to={day}&group_by=service")
    page.fill("#username", "giamsat")
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    expect(page.locator("body")).to_have_attribute("data-bookings", "ready", timeout=20_000)


def test_the_supervisor_sees_the_services_by_procedure(start_server_on_a_working_morning, new_tab):
    config = with_procedures(yaml.safe_load(REPO_CONFIG.read_text(encoding="utf-8")))
    # on a working morning: a ticket served in the test is served on the day it was issued, even when
    # the test runs across the site's midnight (17:00 UTC)
    server = start_server_on_a_working_morning(config)
    first = serve(server, {"dossier_code": "000.00.12.H26-241203-0001", "procedure": "KS"})
    serve(server, {"procedure": "KS"})  # the procedure picked, no dossier code typed
    serve(server, None)  # neither

    page = new_tab(viewport={"width": 1366, "height": 768})
    open_reports(page, server, first["business_day"])  # the site's day, not this machine's date
    section = page.locator("#procedures")
    expect(section).to_be_visible()
    expect(section.locator("h2")).to_have_text("Theo thủ tục (chọn tại quầy cùng mã hồ sơ)")
    expect(section.locator("thead th")).to_have_text(
        ["Dịch vụ", "Thủ tục", "Đã phục vụ", "Có mã hồ sơ", "Phục vụ trung bình (phút)"]
    )
    rows = section.locator("tbody tr")
    expect(rows).to_have_count(2)
    ks = section.locator('tbody tr[data-procedure="KS"]')
    expect(ks.locator("th")).to_have_text("Tư pháp - Hộ tịch")
    expect(ks.locator("td")).to_have_text(["Đăng ký khai sinh", "2", "1", "0,0"])
    none = section.locator('tbody tr[data-procedure=""]')
    expect(none.locator("td").nth(0)).to_have_text("(chưa chọn thủ tục)")
    expect(none.locator("td").nth(1)).to_have_text("1")
    expect(section.locator("tfoot td")).to_have_text(["", "3", "1", ""])


def test_without_procedures_the_table_is_not_offered(start_server_on_a_working_morning, new_tab):
    server = start_server_on_a_working_morning()
    ticket = serve(server, None)
    page = new_tab(viewport={"width": 1366, "height": 768})
    open_reports(page, server, ticket["business_day"])
    expect(page.locator("#table tbody tr").first.locator("td").nth(2)).to_have_text("1")  # served: the report is there
    expect(page.locator("#procedures")).to_be_hidden()
