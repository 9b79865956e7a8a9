"""/admin's "Nhắn tin cho công dân / Citizen notifications" in a real Chromium: an admin sets up an
SMS gateway (address, header, N ahead) and offers it; a channel offered without its settings is
refused next to the form; once saved, /book offers the opt-in and a citizen who opts in on the
tracking page gets "còn 2 số nữa" at the fake gateway on 127.0.0.1."""

from __future__ import annotations

import json

import pytest
import requests
from playwright.sync_api import expect
from webhook_receiver import Receiver

pytestmark = pytest.mark.browser
PASSWORD = "quan-tri-2026"


def _field(tab, path):
    return tab.locator(f'form[data-form="notifications"] .field[data-field="{path}"]')


def test_an_admin_sets_up_sms_notifications_at_admin(new_tab, start_server):
    sms = Receiver()
    try:
        server = start_server()
        server.add_user("quantri", PASSWORD, "admin")
        admin = new_tab(viewport={"width": 1366, "height": 768})
        admin.goto(server.url + "/admin")
        admin.fill("#username", "quantri")
        admin.fill("#password", PASSWORD)
        admin.click("#login-button")
        expect(admin.locator("body")).to_have_attribute("data-ready", "1")
        admin.get_by_role("tab", name="Nhắn tin cho công dân").click()

        # e-mail offered but not set up: refused, and said so in the form
        _field(admin, "notifications.channels").get_by_label("E-mail").check()
        admin.locator('form[data-form="notifications"] button.save').click()
        expect(
            admin.locator(
                'form[data-form="notifications"] .field-error:visible, form[data-form="notifications"] .form-error:visible'
            ).first
        ).to_contain_text("email")

        # a sender that is no address: said under it; then SMS ticked without its gateway, e-mail set up: said
        # under the gateway's address (it was under "Nhắn khi còn bao nhiêu số", naming a config key)
        _field(admin, "notifications.email.host").locator("input").fill("127.0.0.1")
        _field(admin, "notifications.email.sender").locator("input").fill("khong tra loi")
        admin.locator('form[data-form="notifications"] button.save').click()
        sender_error = _field(admin, "notifications.email.sender").locator(".field-error")
        expect(sender_error).to_contain_text("phải là một địa chỉ e-mail")
        _field(admin, "notifications.email.sender").locator("input").fill("motcua@xa.gov.vn")
        _field(admin, "notifications.channels").get_by_label("Tin nhắn SMS").check()
        admin.locator('form[data-form="notifications"] button.save').click()
        gateway_error = _field(admin, "notifications.sms.url").locator(".field-error")
        expect(gateway_error).to_contain_text("SMS: địa chỉ cổng gửi tin")
        expect(gateway_error).to_contain_text("hãy điền địa chỉ cổng gửi tin SMS")
        expect(_field(admin, "notifications.ahead").locator(".field-error")).to_be_hidden()
        expect(sender_error).to_be_hidden()
        for path in ("notifications.email.host", "notifications.email.sender"):
            _field(admin, path).locator("input").fill("")
        _field(admin, "notifications.channels").get_by_label("E-mail").uncheck()

        _field(admin, "notifications.channels").get_by_label("Tin nhắn SMS").check()
        _field(admin, "notifications.ahead").locator("input").fill("2")
        _field(admin, "notifications.sms.url").locator("input").fill(sms.url)
        _field(admin, "notifications.sms.headers").locator("textarea").fill("Authorization: Bearer sms-key-7")
        _field(admin, "notifications.sms.phone_format").locator("select").select_option("0")
        admin.locator('form[data-form="notifications"] button.save').click()
        expect(admin.locator('form[data-form="notifications"] .saved')).to_have_text("Đã lưu")

        site = requests.get(
            server.url + "/api/v1/admin/site", headers={"Authorization": f"Bearer {server.token('admin')}"}, timeout=10
        ).json()
        told = site["notifications"]
        assert (told["ahead"], told["channels"]) == (2, ["sms"])
        assert (told["sms"]["url"], told["sms"]["headers"], told["sms"]["phone_format"]) == (
            sms.url,
            {"Authorization": "Bearer sms-key-7"},
            "0",
        )
        assert told["email"] is None

        admin.reload()  # what was saved is what the form shows
        expect(admin.locator("body")).to_have_attribute("data-ready", "1")
        admin.get_by_role("tab", name="Nhắn tin cho công dân").click()
        expect(_field(admin, "notifications.sms.url").locator("input")).to_have_value(sms.url)
        expect(_field(admin, "notifications.sms.headers").locator("textarea")).to_have_value(
            "Authorization: Bearer sms-key-7"
        )

        # the booking page offers the opt-in now, and a citizen's opt-in reaches the gateway
        phone = new_tab(viewport={"width": 360, "height": 740})
        phone.goto(server.url + "/book")
        phone.get_by_role("button", name="Tư pháp - Hộ tịch").click()
        phone.get_by_role("button", name="Lấy số hôm nay").click()
        expect(phone.get_by_label("Nhắn cho tôi khi sắp đến lượt")).to_be_visible()

        http = requests.Session()
        tickets = [
            http.post(server.url + "/api/v1/tickets", json={"service": "HT"}, timeout=10).json() for _ in range(3)
        ]
        opted = http.post(
            f"{server.url}/api/v1/tickets/{tickets[2]['id']}/notifications",
            json={"channel": "sms", "address": "0912 345 678"},
            timeout=10,
        )
        assert opted.status_code == 201, opted.text  # two ahead: told at once
        [near] = sms.wait_for(1)
        assert near.headers["Authorization"] == "Bearer sms-key-7"
        assert json.loads(near.body)["to"] == "0912345678"
        assert "còn 2 số nữa đến lượt Ông/Bà" in json.loads(near.body)["text"]
    finally:
        sms.close()
