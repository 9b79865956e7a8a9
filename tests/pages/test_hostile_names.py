"""Whatever a centre writes into config.yaml is shown as text, never run as code (issue 7):
a service, counter, centre or ticker with HTML and script in it, on every public page."""

from __future__ import annotations

import os

import pytest
import requests

if os.environ.get("CI", "").lower() != "true":
    pytest.importorskip("playwright", reason="Playwright for Python is not installed")
from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser

HOSTILE = '<img src=x onerror="window.pwned=1">"</span><script>window.pwned=2</script>'


def hostile_config(config_data: dict) -> dict:
    config_data["site"]["name"] = f"UBND {HOSTILE}"
    config_data["services"][0]["name"]["vi"] = f"Hộ tịch {HOSTILE}"
    config_data["counters"][0]["name"] = f"Quầy {HOSTILE}"
    config_data["displays"][0]["ticker"] = f"Tin {HOSTILE}"
    config_data["ticket"] = {"footer": f"Chân {HOSTILE}"}
    return config_data


def test_hostile_names_are_shown_as_text_on_every_page(start_server, page, config_data):
    server = start_server(hostile_config(config_data))
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    ticket = requests.post(
        f"{server.url}/api/v1/tickets", json={"service": "HT", "kiosk": "kiosk-1"}, timeout=10
    ).json()
    token = server.token("counter", 1)
    assert requests.post(
        f"{server.url}/api/v1/counters/1/next", headers={"Authorization": f"Bearer {token}"}, timeout=10
    ).ok
    for path in ("/", "/kiosk/kiosk-1", "/display/lobby", "/counter", f"/t/{ticket['id']}"):
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.pwned") is None, f"{path}: configured text ran as code"
        assert page.locator("img[src=x]").count() == 0, f"{path}: configured text became an element"
    page.goto(server.url + "/kiosk/kiosk-1")
    expect(page.locator("body")).to_contain_text("Hộ tịch <img src=x")  # the literal text, as written
    assert dialogs == []


def test_every_answer_carries_the_security_headers(start_server):
    server = start_server()
    for path in ("/", "/kiosk/kiosk-1", "/api/v1/queue", "/healthz", "/nope"):
        headers = requests.get(server.url + path, timeout=10).headers
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["X-Frame-Options"] == "DENY", path
        assert "script-src 'self'" in headers["Content-Security-Policy"], path
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
