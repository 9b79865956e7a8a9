"""The "told when N numbers are ahead" hints in English, in a real Chromium on a phone: a centre that
tells at 1 number ahead says "1 number is", one that tells at 2 says "2 numbers are" (never "1
numbers"), on the tracking page (/t/<id>) and on /book (the SMS box, its confirmation and the Web
Push box). Vietnamese has one form ("còn 1 số nữa", "còn 2 số nữa")."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import yaml
from playwright.sync_api import expect

pytestmark = pytest.mark.browser
REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"
SAID = {1: "1 number is", 2: "2 numbers are"}


def told_at(ahead: int) -> dict:
    config = yaml.safe_load(REPO_CONFIG.read_text(encoding="utf-8"))
    config["notifications"] = {  # nothing is sent here: the gateway and push service are never reached
        "ahead": ahead,
        "channels": ["sms", "push"],
        "sms": {"url": "http://127.0.0.1:9/sms", "body": '{"to": "{phone}", "text": "{text}"}'},
        "push": {"services": ["http://127.0.0.1:9"]},
    }
    return config


@pytest.mark.parametrize("ahead", [1, 2])
def test_the_hints_count_the_numbers_ahead_in_english_words(start_server, phone, ahead):
    server = start_server(told_at(ahead))
    ticket = requests.post(server.url + "/api/v1/tickets", json={"service": "HT"}, timeout=10).json()

    phone.goto(f"{server.url}/t/{ticket['id']}")  # Vietnamese, with the English below it
    hint = phone.locator("#notify-hint")
    expect(hint.locator(".vi")).to_contain_text(f"khi còn {ahead} số nữa đến lượt Ông/Bà")
    expect(hint.locator(".en")).to_contain_text(f"we will tell you when {SAID[ahead]} left before yours")

    phone.goto(server.url + "/book?lang=en")
    phone.click('#services button[data-service="HT"]')
    phone.click("#take-remote")
    phone.fill("#name", "John Smith")
    phone.fill("#phone", "0912 345 678")
    expect(phone.locator("#notify-hint")).to_contain_text(f"when {SAID[ahead]} ahead of you and when")
    phone.check("#notify")
    phone.get_by_role("button", name="Confirm").click()
    expect(phone.locator("#done-notify")).to_have_text(f"We will message 091****678 when {SAID[ahead]} ahead of you.")
    expect(phone.locator("#push-hint")).to_contain_text(f"This phone shows a notification when {SAID[ahead]} ahead")
