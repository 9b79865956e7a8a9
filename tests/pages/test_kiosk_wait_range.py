"""The kiosk screen and the printed ticket show the predicted wait as a range ("khoảng A–B phút"),
the same range on both: a real server whose predictor trained on its database's history, a real
Chromium at the kiosk, the network test printer (tests/printer_sim.py) receiving the ticket."""

from __future__ import annotations

import os
import re

import pytest
from printer_sim import decode, drawn_line, holds_line
from wait_history import PASSWORD, centre_with_history, wait_until_trained

if os.environ.get("CI", "").lower() != "true":  # under CI a missing Playwright fails, never skips
    pytest.importorskip("playwright", reason="Playwright for Python is not installed")
from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser

DC = "Địa chính - Đô thị - Xây dựng"
RANGE = re.compile(r"khoảng (\d+)–(\d+) phút")


@pytest.fixture
def trained(start_server, config_data, printer):
    """A server with kiosk-1's network printer, restarted on a database with 8 days of history at
    counter 4 (DC: the quick clerk "nhanh", on three days the slow "cham"), its predictor trained."""
    config_data["printers"] = [
        {"id": "kiosk-1", "driver": "network", "host": "127.0.0.1", "port": printer.port, "retry_seconds": 0.3}
    ]
    server = start_server(config_data)
    server.stop(graceful=False)
    centre_with_history(server.database_url, server.database_template, server.config_path, server.instance)
    server.start()
    health = wait_until_trained(server.url)
    assert health["wait_prediction"]["trained_days"] >= 8
    return server


def test_the_kiosk_and_the_printed_ticket_show_the_same_predicted_range(trained, page, printer):
    http = trained.session()
    clerk = trained.session()
    login = clerk.post("/api/v1/auth/login", json={"username": "cham", "password": PASSWORD})
    assert login.status_code == 200, login.text
    clerk.headers["X-CSRFToken"] = login.json()["csrf_token"]
    for _ in range(3):
        assert http.post("/api/v1/tickets", json={"service": "DC"}).status_code == 201
    called = clerk.post("/api/v1/counters/4/next")  # the slow clerk opens counter 4 and calls the first
    assert called.status_code == 200, called.text

    page.goto(f"{trained.url}/kiosk/kiosk-1")
    expect(page.locator("body")).to_have_attribute("data-live", re.compile("^(connected|live)$"))
    page.evaluate("() => { QK.page().result_seconds = 20; }")  # time for the checks on a loaded machine
    page.locator("button.service:visible, button.service-direct:visible", has_text=DC).click()
    page.locator("button.no-priority").click()
    expect(page.locator("#result")).to_be_visible()
    expect(page.locator("#result-ahead")).to_contain_text("Số người đang chờ trước Ông/Bà: 2")
    eta = page.locator("#result-eta")
    expect(eta).to_contain_text(RANGE)
    low, high = map(int, RANGE.search(eta.inner_text()).groups())
    assert low < high
    # the slow clerk is at the counter: two people ahead take far longer than the quick clerk's days say
    assert low > 10, (low, high)

    [job] = printer.wait_for_jobs(1)
    paper = decode(job)
    assert holds_line(paper, drawn_line(f"Thời gian chờ dự kiến: khoảng {low}–{high} phút"))  # the same promise
