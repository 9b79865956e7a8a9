"""The clerk console's dossier field (issue 15) in a real Chromium: the clerk scans a dossier code
(a USB scanner types it and presses Enter) while serving, picks the procedure served, saves; a bad
code is refused in plain words and nothing is kept; the finished ticket carries both."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import yaml
from config_helpers import with_procedures
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"
PASSWORD = "mat-khau-quay-1"
CODE = "000.00.12.H26-241203-0001"


def test_the_clerk_scans_the_dossier_code_and_picks_the_procedure(start_server_on_a_working_morning, new_tab):
    config = with_procedures(yaml.safe_load(REPO_CONFIG.read_text(encoding="utf-8")))
    # at 09:00 on a working day: the ticket is still waiting once the clerk has signed in, whatever the hour
    server = start_server_on_a_working_morning(config)
    server.add_user("lan", PASSWORD, "clerk", 1)
    ticket = requests.post(server.url + "/api/v1/tickets", json={"service": "HT"}, timeout=10).json()

    page = new_tab(viewport={"width": 1366, "height": 768})
    page.goto(server.url + "/counter")
    page.fill("#username", "lan")
    page.fill("#password", PASSWORD)
    page.click("#login-button")
    expect(page.locator("body")).to_have_attribute("data-live", "live")
    expect(page.locator("#dossier")).to_be_hidden()  # nobody at the counter yet
    page.locator('button[data-action="next"]').click()
    expect(page.locator("#current-number")).to_have_text(ticket["display"])

    dossier = page.locator("#dossier")
    expect(dossier).to_be_visible()
    expect(dossier.get_by_label("Mã hồ sơ")).to_have_value("")
    dossier.get_by_label("Mã hồ sơ").click()
    page.keyboard.type("HS 2024")  # a typo: a space
    page.keyboard.press("Enter")
    expect(page.locator("#notice")).to_contain_text("mã hồ sơ chỉ gồm chữ, số")
    view = requests.get(f"{server.url}/api/v1/tickets/{ticket['id']}", timeout=10).json()
    assert view["dossier_code"] is None

    dossier.get_by_label("Mã hồ sơ").fill("")
    dossier.get_by_label("Thủ tục đã giải quyết").select_option("KS")
    dossier.get_by_label("Mã hồ sơ").click()
    page.keyboard.type(CODE.lower(), delay=5)  # the scanner's keystroke burst
    page.keyboard.press("Enter")
    expect(page.locator("#notice")).to_contain_text(f"Đã lưu hồ sơ của số {ticket['display']}: {CODE}")
    expect(dossier.get_by_label("Mã hồ sơ")).to_have_value(CODE)
    page.locator('button[data-action="start"]').click()  # a snapshot later: what was saved stays shown
    expect(page.locator("#current-details .status")).to_contain_text("Đang phục vụ")
    expect(dossier.get_by_label("Mã hồ sơ")).to_have_value(CODE)
    expect(dossier.get_by_label("Thủ tục đã giải quyết")).to_have_value("KS")

    page.locator('button[data-action="finish"]').click()
    expect(page.locator("#dossier")).to_be_hidden()
    view = requests.get(f"{server.url}/api/v1/tickets/{ticket['id']}", timeout=10).json()
    assert (view["status"], view["dossier_code"], view["procedure"]) == ("done", CODE, "KS")
