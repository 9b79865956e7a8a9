"""The Webhooks section of /admin in a real Chromium: an admin registers a webhook for a real
receiver on 127.0.0.1, copies its secret (shown once), sees the delivery accepted in the log and
sends it again; a wrong address is explained next to its field."""

from __future__ import annotations

import hashlib
import hmac

import requests
from playwright.sync_api import expect
from webhook_receiver import Receiver

PASSWORD = "quan-tri-2026"


def _form_field(tab, path):
    return tab.locator(f'form[data-form="webhooks"] .field[data-field="{path}"]')


def test_an_admin_registers_a_webhook_and_replays_a_delivery(new_tab, start_server):
    server = start_server(env={"QUEUEKIOSK_WEBHOOK_RETRY_SECONDS": "1,86400"})
    receiver = Receiver()
    try:
        server.add_user("quantri", PASSWORD, "admin")
        admin = new_tab(viewport={"width": 1366, "height": 768})
        admin.goto(server.url + "/admin#webhooks")
        admin.fill("#username", "quantri")
        admin.fill("#password", PASSWORD)
        admin.click("#login-button")
        expect(admin.locator("body")).to_have_attribute("data-ready", "1")
        expect(admin.locator("#tab-webhooks")).to_have_text("Webhook")

        _form_field(admin, "url").locator("input").fill("ftp://127.0.0.1/nowhere")
        _form_field(admin, "events").locator('input[value="ticket.issued"]').check()
        admin.locator('form[data-form="webhooks"] button.save').click()
        expect(_form_field(admin, "url").locator(".field-error")).to_contain_text("ftp://127.0.0.1/nowhere")

        _form_field(admin, "url").locator("input").fill(receiver.url)
        admin.locator('form[data-form="webhooks"] button.save').click()
        secret_box = admin.locator("#webhook-made input")
        expect(secret_box).to_be_visible()
        secret = secret_box.input_value()
        assert secret.startswith("whsec_")
        row = admin.locator("#panel-webhooks table.webhooks tr.item").first
        expect(row).to_contain_text(receiver.url)
        expect(row).to_contain_text("…" + secret[-4:])
        assert secret not in row.inner_text()

        ticket = requests.post(server.url + "/api/v1/tickets", json={"service": "HT"}, timeout=10).json()
        [first] = receiver.wait_for(1)
        assert first.json["data"]["ticket"]["id"] == ticket["id"]
        expected = "sha256=" + hmac.new(secret.encode(), first.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(expected, first.signature)

        row.click()
        delivery = admin.locator(f'#webhook-deliveries tr.delivery[data-delivery="{first.delivery}"]')
        expect(delivery).to_contain_text("ticket.issued")
        for _ in range(20):  # the log is saved half a second after the answer at most
            if "Đã nhận" in delivery.inner_text():
                break
            row.click()
            admin.wait_for_timeout(250)
        expect(delivery).to_contain_text("Đã nhận")
        delivery.locator("button.replay").click()
        again = receiver.wait_for(2)[1]
        assert (again.delivery, again.body) == (first.delivery, first.body)
    finally:
        receiver.close()
