"""What the supervisor's dashboard says about the system itself, in a real Chromium: a voice
without text to speech (espeak-ng missing) and a printer that hangs mid-job, each with what
is wrong, as the people who must act on them read it."""

from __future__ import annotations

import os

import pytest

if os.environ.get("CI", "").lower() != "true":  # under CI a missing Playwright fails, never skips
    pytest.importorskip("playwright", reason="Playwright for Python is not installed")
from dashboard_helpers import open_dashboard  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser


def test_the_dashboard_shows_a_voice_without_espeak_ng_and_a_hung_printer(
    start_server, page, config_data, printer, shot
):
    config_data["sounds"] = {"tts": "espeak-ng"}
    config_data["printers"] = [
        {
            "id": "kiosk-1",
            "driver": "network",
            "host": "127.0.0.1",
            "port": printer.port,
            "retry_seconds": 0.3,
            "check_seconds": 0.3,
            "timeout_seconds": 1,
        }
    ]
    server = start_server(config_data, env={"QUEUEKIOSK_ESPEAK_NG": "/nonexistent/espeak-ng"})
    open_dashboard(page, server)

    voice = page.locator('#alerts li[data-alert="system:voice"]')
    expect(voice).to_contain_text("Giọng đọc: chỉ đọc được câu có đoạn ghi âm sẵn")
    expect(voice).to_contain_text("cài espeak-ng (apt-get install espeak-ng)")
    expect(voice).to_contain_text("(the espeak-ng program is not installed")

    printer.set_state("hang")
    assert server.session().post("/api/v1/tickets", json={"service": "HT", "kiosk": "kiosk-1"}).status_code == 201
    item = page.locator('#printers li[data-printer="kiosk-1"]')
    expect(item).to_have_attribute("data-state", "offline", timeout=10_000)
    expect(item.locator(".detail")).to_have_text(
        "not responding: it stopped taking the ticket part-way (no answer within 1 s)"
    )
    expect(page.locator('#alerts li[data-alert="printer:kiosk-1"]')).to_have_text("Máy in kiosk-1: Mất kết nối máy in.")
    box, section = item.bounding_box(), page.locator("section.printers").bounding_box()
    assert section["y"] < box["y"] < section["y"] + section["height"], "the printer is drawn in its own section"
    shot(page, "dashboard-system")

    printer.set_state("ready")
    expect(item).to_have_attribute("data-state", "ready", timeout=10_000)
    expect(item.locator(".detail")).to_have_count(0)
    expect(voice).to_be_visible()  # the voice note stays: nothing changed there
