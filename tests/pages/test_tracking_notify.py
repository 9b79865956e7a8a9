"""The tracking page's opt-in on a phone, in a real Chromium: a citizen asks for an SMS, a wrong
number is explained, the saved one shows masked, and a fake SMS gateway on 127.0.0.1 gets "còn
2 số nữa" and "Mời Ông/Bà đến quầy 1", once each; the form goes once the ticket is served."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
import requests
import yaml
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from playwright.sync_api import expect
from webhook_receiver import Receiver

pytestmark = pytest.mark.browser
REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"


def test_a_citizen_asks_for_an_sms_and_gets_one_when_near_and_one_when_called(start_server_on_a_working_morning, phone):
    sms = Receiver()
    try:
        config = yaml.safe_load(REPO_CONFIG.read_text(encoding="utf-8"))
        config["notifications"] = {
            "ahead": 2,
            "channels": ["sms", "email"],
            "sms": {"url": sms.url, "body": '{"to": "{phone}", "text": "{text}"}'},
            "email": {"host": "127.0.0.1", "port": 9, "security": "none", "sender": "motcua@example.vn"},
        }
        server = start_server_on_a_working_morning(config)
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
        under_box = section.locator("#notify-address-error")  # said under the box, with its label
        expect(under_box).to_contain_text("Số điện thoại: chưa đúng. Xin nhập đủ 10 chữ số")
        expect(under_box).to_contain_text("Phone number: not a valid number")
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


def test_a_wrong_e_mail_address_is_said_under_its_box_in_both_languages(start_server_on_a_working_morning, phone):
    """Typed wrong ("hoa@"), the e-mail address is refused under its box with the box's own label, in
    Vietnamese and then English as the rest of the page, not as the API names its field ("address");
    the box is marked invalid, and the words go once the address is right."""
    config = yaml.safe_load(REPO_CONFIG.read_text(encoding="utf-8"))
    config["notifications"] = {
        "channels": ["sms", "email"],
        "sms": {"url": "http://127.0.0.1:9/sms", "body": '{"to": "{phone}", "text": "{text}"}'},
        "email": {"host": "127.0.0.1", "port": 9, "security": "none", "sender": "motcua@example.vn"},
    }
    server = start_server_on_a_working_morning(config)
    ticket = requests.post(server.url + "/api/v1/tickets", json={"service": "HT"}, timeout=10).json()
    phone.goto(f"{server.url}/t/{ticket['id']}")
    section = phone.locator("#notify")
    section.locator("input[name=channel][value=email]").check()
    box = section.locator("#notify-address")
    expect(section.locator("label[for=notify-address]")).to_contain_text("Địa chỉ e-mail")
    box.fill("hoa@")
    section.locator("#notify-submit").click()
    under_box = section.locator("#notify-address-error")
    expect(under_box).to_be_visible()
    expect(under_box).to_contain_text(
        "Địa chỉ e-mail: chưa đủ hoặc chưa đúng dạng. Xin nhập đầy đủ, ví dụ ten@example.vn."
    )
    expect(under_box).to_contain_text("E-mail address: incomplete or not in the right form.")
    expect(under_box).not_to_contain_text("address”")  # no field name of the API
    assert phone.evaluate(
        "() => { const box = document.getElementById('notify-address').getBoundingClientRect();"
        " const said = document.getElementById('notify-address-error').getBoundingClientRect();"
        " return said.top >= box.bottom && said.top - box.bottom < 40; }"
    ), "said right under the box"
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(section.locator("#notify-error")).to_be_hidden()

    box.fill("hoa@example.vn")
    section.locator("#notify-submit").click()
    expect(section.locator('#notify-done li[data-channel="email"]')).to_contain_text("h***@example.vn")
    expect(under_box).to_be_hidden()
    expect(box).not_to_have_attribute("aria-invalid", "true")


def test_push_is_offered_on_a_secure_page_and_its_service_worker_registers(start_server_on_a_working_morning, phone):
    """The browser side of Web Push; the server side (encryption, VAPID) is tested in tests/api."""
    config = yaml.safe_load(REPO_CONFIG.read_text(encoding="utf-8"))
    config["notifications"] = {"channels": ["push", "sms"], "push": {}, "sms": {"url": "http://127.0.0.1:9/sms"}}
    server = start_server_on_a_working_morning(config)
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


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_push_on_a_second_sites_tracking_page_stays_under_that_sites_prefix(start_server_on_a_working_morning, phone):
    """Issue 16: on /s/{site}/t/{id} the worker comes from /api/v1/sites/{site}/ and serves /s/{site}/t/,
    so a tapped notification opens that site's page, not the first site's /t/."""
    config = yaml.safe_load(REPO_CONFIG.read_text(encoding="utf-8"))
    config["notifications"] = {"channels": ["push"], "push": {"services": ["http://127.0.0.1:9"]}}
    server = start_server_on_a_working_morning(config)
    site = "xa-ben-kia"
    admin = {"Authorization": f"Bearer {server.token('admin')}"}
    made = requests.post(
        server.url + "/api/v1/admin/sites",
        json={"id": site, "name": "Xã Bến Kia", "timezone": "Asia/Bangkok"},
        headers=admin,
        timeout=10,
    )
    assert made.status_code == 201, made.text
    # a new site starts with no channels (its own to set up): push, as the first site offers
    offered = requests.patch(
        server.url + f"/api/v1/sites/{site}/admin/site",
        json={"notifications": config["notifications"]},
        headers=admin,
        timeout=10,
    )
    assert offered.status_code == 200, offered.text
    ticket = requests.post(server.url + f"/api/v1/sites/{site}/tickets", json={"service": "HT"}, timeout=10).json()
    # headless Chromium here cannot reach a push service: the page gets a subscription as a browser makes one
    public = (
        ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    )
    keys = {"p256dh": b64(public), "auth": b64(os.urandom(16))}
    subscription = json.dumps({"endpoint": "http://127.0.0.1:9/push/1", "expirationTime": None, "keys": keys})
    phone.context.add_init_script(
        f"PushManager.prototype.subscribe = function () {{ const json = {subscription};"
        " return Promise.resolve({toJSON: function () { return json; }}); };"
    )
    phone.context.grant_permissions(["notifications"], origin=server.url)
    phone.goto(f"{server.url}/s/{site}/t/{ticket['id']}")
    section = phone.locator("#notify")
    expect(section.locator('input[value="push"]')).to_be_checked()
    section.locator("#notify-submit").click()
    expect(section.locator("#notify-done li")).to_have_count(1)
    registration = phone.evaluate(
        "() => navigator.serviceWorker.getRegistration(location.href)"
        ".then(r => r && {scope: r.scope, script: (r.active || r.waiting || r.installing).scriptURL})"
    )
    assert registration == {
        "scope": f"{server.url}/s/{site}/t/",
        "script": f"{server.url}/api/v1/sites/{site}/push/sw.js",
    }
    assert phone.evaluate("() => navigator.serviceWorker.getRegistration('/t/').then(r => !!r)") is False


def test_push_from_the_tracking_page_reaches_the_phone_and_its_worker_shows_it(
    start_server_on_a_working_morning, full_phone
):
    """End to end on the tracking page: the page subscribes (headless Chromium cannot reach a real
    push service, so PushManager.subscribe answers with a local push service's endpoint and a key
    pair this test holds), the server posts "còn 1 số nữa" encrypted for that browser to the local
    push service, and the page's service worker, handed the message as a push service would
    (DevTools' ServiceWorker.deliverPushMessage), shows it as a notification (the full browser's:
    the headless shell shows none)."""
    import http_ece

    phone = full_phone

    push_service = Receiver()
    try:
        config = yaml.safe_load(REPO_CONFIG.read_text(encoding="utf-8"))
        lab = "http://" + push_service.url.split("/")[2]
        config["notifications"] = {"ahead": 1, "channels": ["push"], "push": {"services": [lab]}}
        server = start_server_on_a_working_morning(config)
        http = requests.Session()
        _first, mine = (
            http.post(server.url + "/api/v1/tickets", json={"service": "HT"}, timeout=10).json() for _ in range(2)
        )
        private = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        keys = {
            "p256dh": b64(private.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)),
            "auth": b64(auth),
        }
        subscription = json.dumps(
            {"endpoint": push_service.url + "/push/phone-2", "expirationTime": None, "keys": keys}
        )
        phone.context.add_init_script(
            f"PushManager.prototype.subscribe = function () {{ const json = {subscription};"
            " return Promise.resolve({toJSON: function () { return json; }}); };"
        )
        phone.context.grant_permissions(["notifications"], origin=server.url)
        devtools = phone.context.new_cdp_session(phone)
        registrations = []
        devtools.on(
            "ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"])
        )
        devtools.send("ServiceWorker.enable")

        phone.goto(f"{server.url}/t/{mine['id']}")
        section = phone.locator("#notify")
        expect(section.locator('input[value="push"]')).to_be_checked()
        section.locator("#notify-submit").click()
        expect(section.locator("#notify-done li")).to_contain_text("push: ")
        [near] = push_service.wait_for(1)  # one ahead already
        message = http_ece.decrypt(near.body, private_key=private, auth_secret=auth, version="aes128gcm")
        told = json.loads(message)
        assert told["title"] == f"Sắp đến lượt Ông/Bà – số {mine['number']}"

        registration = next(r for r in registrations if r["scopeURL"] == f"{server.url}/t/" and not r["isDeleted"])
        devtools.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": server.url, "registrationId": registration["registrationId"], "data": message.decode()},
        )
        shown = phone.wait_for_function(
            "() => navigator.serviceWorker.getRegistration('/t/').then(r => r.getNotifications())"
            ".then(list => list.length ? list.map(n => [n.title, n.body]) : null)"
        ).json_value()
        assert shown == [[told["title"], told["body"]]]
        assert told["body"].endswith(
            f"còn 1 số nữa đến lượt Ông/Bà (số {mine['number']}). Mời Ông/Bà quay lại khu vực chờ."
        )
    finally:
        push_service.close()
