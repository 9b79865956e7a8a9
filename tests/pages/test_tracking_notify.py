"""The tracking page's opt-in on a phone, in a real Chromium: a citizen asks for an SMS, a wrong
number is explained, the saved one shows masked, and a fake SMS gateway on 127.0.0.1 gets "còn
2 số nữa" and "Mời Ông/Bà đến quầy 1", once each; the form goes once the ticket is served."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
import yaml
from playwright.sync_api import expect
from webhook_receiver import Receiver

pytestmark = pytest.mark.browser
REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"


def test_a_citizen_asks_for_an_sms_and_gets_one_when_near_and_one_when_called(start_server, phone):
    sms = Receiver()
    try:
        config = yaml.safe_load(REPO_CONFIG.read_text(encoding="utf-8"))
        config["notifications"] = {
            "ahead": 2,
            "channels": ["sms", "email"],
            "sms": {"url": sms.url, "body": '{"to": "{phone}", "text": "{text}"}'},
            "email": {"host": "127.0.0.1", "port": 9, "security": "none", "sender": "motcua@example.vn"},
        }
        server = start_server(config)
        http = requests.Session()
        tickets = [
            http.post(server.url + "/api/v1/tickets", json={"service": "HT"}, timeout=10).json() for _ in range(4)
        ]
        mine = tickets[3]

        phone.goto(f"{server.url}/t/{mine['id']}")
        section = phone.locator("#notify")
        expect(section).to_be_visible()
        expect(section.locator("#notify-hint")).to_contain_text("còn 2 số nữa đến lượt Ông/Bà")
        expect(section.locator("label[for=notify-address]")).to_contain_text("Số điện thoại")
        section.locator("#notify-address").fill("12345")
        section.locator("#notify-submit").click()
        expect(section.locator("#notify-error")).to_contain_text("address")
        section.locator("#notify-address").fill("0912 345 678")
        section.locator("#notify-submit").click()
        expect(section.locator('#notify-done li[data-channel="sms"]')).to_contain_text("091****678")
        assert sms.received == []  # 3 ahead

        token = server.token("counter", 1)
        called = http.post(server.url + "/api/v1/counters/1/next", headers={"Authorization": f"Bearer {token}"})
        assert called.status_code == 200, called.text
        [near] = sms.wait_for(1)  # 2 ahead now
        assert json.loads(near.body)["text"].endswith(
            f"còn 2 số nữa đến lượt Ông/Bà (số {mine['number']}). Mời Ông/Bà quay lại khu vực chờ."
        )
        for _ in range(3):  # 1 ahead, none ahead (told already), then called
            http.post(server.url + "/api/v1/counters/1/next", headers={"Authorization": f"Bearer {token}"})
        called = sms.wait_for(2)[1]
        assert json.loads(called.body)["text"].endswith(f"Mời Ông/Bà đến quầy 1 (số {mine['number']}).")
        http.post(server.url + "/api/v1/counters/1/finish", headers={"Authorization": f"Bearer {token}"})
        expect(section).to_be_hidden()
        sms.stays_at(2, seconds=1)
    finally:
        sms.close()


def test_push_is_offered_on_a_secure_page_and_its_service_worker_registers(start_server, phone):
    """The browser side of Web Push; the server side (encryption, VAPID) is tested in tests/api."""
    config = yaml.safe_load(REPO_CONFIG.read_text(encoding="utf-8"))
    config["notifications"] = {"channels": ["push", "sms"], "push": {}, "sms": {"url": "http://127.0.0.1:9/sms"}}
    server = start_server(config)
    ticket = requests.post(server.url + "/api/v1/tickets", json={"service": "HT"}, timeout=10).json()
    phone.context.grant_permissions(["notifications"], origin=server.url)
    phone.goto(f"{server.url}/t/{ticket['id']}")  # 127.0.0.1: a secure context, as https is
    section = phone.locator("#notify")
    expect(section.locator("#notify-channels label")).to_have_count(2)
    expect(section.locator('input[value="push"]')).to_be_checked()
    expect(section.locator("#notify-address")).to_be_hidden()
    section.locator("#notify-submit").click()
    result = phone.wait_for_function(
        "() => document.querySelector('#notify-done li') ? 'subscribed'"
        " : (!document.querySelector('#notify-error').hidden ? 'refused' : null)"
    ).json_value()
    assert phone.evaluate("() => navigator.serviceWorker.getRegistration('/t/').then(r => !!r)")
    # headless Chromium with no way to its push service (no internet here) cannot subscribe, and says so;
    # where it can, the subscription is saved, shown by its push service's name only
    if result == "refused":
        expect(section.locator("#notify-error")).to_contain_text("không đăng ký nhận thông báo được")
    else:
        expect(section.locator("#notify-done li")).to_contain_text("push: ")
