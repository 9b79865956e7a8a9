"""The booking page's opt-in, in a real Chromium on a phone: a citizen takes a number for today on
/book with "Nhắn cho tôi khi sắp đến lượt" ticked, checks in at the kiosk, and a fake SMS gateway on
127.0.0.1 gets "còn 2 số nữa" once two are ahead, then "Mời Ông/Bà đến quầy 1", once each.
Without a phone channel the box is not offered."""

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


def take_remote_number(phone, server, tick: bool) -> None:
    phone.goto(server.url + "/book")
    phone.get_by_role("button", name="Tư pháp - Hộ tịch").click()
    phone.get_by_role("button", name="Lấy số hôm nay").click()
    phone.fill("#name", "Đỗ Thị Hoa")
    phone.fill("#phone", "0912 345 678")
    if tick:
        box = phone.get_by_label("Nhắn cho tôi khi sắp đến lượt")
        expect(phone.locator("#notify-hint")).to_contain_text("khi còn 2 số nữa đến lượt Ông/Bà")
        box.check()
    phone.get_by_role("button", name="Xác nhận").click()
    phone.wait_for_function("() => document.getElementById('code').textContent.length === 8")


def test_a_citizen_ticks_the_box_when_booking_and_is_told_when_near_and_when_called(
    start_server_on_a_working_morning, phone
):
    sms = Receiver()
    try:
        config = yaml.safe_load(REPO_CONFIG.read_text(encoding="utf-8"))
        config["notifications"] = {
            "ahead": 2,
            "channels": ["email", "sms"],  # the first channel that reaches a phone is used
            "sms": {"url": sms.url, "body": '{"to": "{phone}", "text": "{text}"}'},
            "email": {"host": "127.0.0.1", "port": 9, "security": "none", "sender": "motcua@example.vn"},
        }
        server = start_server_on_a_working_morning(config)
        http = requests.Session()
        for _ in range(3):  # three walk-ins before the citizen arrives
            assert http.post(server.url + "/api/v1/tickets", json={"service": "HT"}, timeout=10).status_code == 201

        take_remote_number(phone, server, tick=True)
        expect(phone.locator("#done-notify")).to_contain_text("Sẽ nhắn đến 091****678 khi còn 2 số nữa")
        code = phone.locator("#code").inner_text()
        number = phone.locator("#number").inner_text()
        sms.stays_at(0, seconds=1)  # not checked in: nothing to tell yet

        checked = http.post(server.url + "/api/v1/check-in", json={"code": code, "kiosk": "kiosk-1"}, timeout=10)
        assert checked.status_code == 201, checked.text
        sms.stays_at(0, seconds=1)  # three ahead
        token = server.token("counter", 1)
        counter = {"Authorization": f"Bearer {token}"}
        assert http.post(server.url + "/api/v1/counters/1/next", headers=counter).status_code == 200
        [near] = sms.wait_for(1)  # two ahead now
        assert json.loads(near.body)["to"] == "84912345678"
        assert json.loads(near.body)["text"].endswith(
            f"còn 2 số nữa đến lượt Ông/Bà (số {number}). Mời Ông/Bà quay lại khu vực chờ."
        )
        for _ in range(3):  # one ahead, none ahead (told already), then called
            assert http.post(server.url + "/api/v1/counters/1/next", headers=counter).status_code == 200
        called = sms.wait_for(2)[1]
        assert json.loads(called.body)["text"].endswith(f"Mời Ông/Bà đến quầy 1 (số {number}).")
        sms.stays_at(2, seconds=1)
    finally:
        sms.close()


def test_without_a_phone_channel_the_box_is_not_offered(server, phone):
    take_remote_number(phone, server, tick=False)
    phone.goto(server.url + "/book")
    phone.get_by_role("button", name="Tư pháp - Hộ tịch").click()
    phone.get_by_role("button", name="Lấy số hôm nay").click()
    expect(phone.locator("#name")).to_be_visible()
    expect(phone.get_by_label("Nhắn cho tôi khi sắp đến lượt")).to_have_count(0)
