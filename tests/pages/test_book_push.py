"""Web Push from the booking page, in a real Chromium on a phone: a citizen takes a number for
today on /book, taps "Thông báo trên điện thoại này" on its confirmation, checks in at the kiosk,
and a local push service on 127.0.0.1 receives "còn 2 số nữa" encrypted for that browser only.

Headless Chromium here has no way to its own push service (no internet), so the one browser call
that would reach it, PushManager.subscribe, answers with a subscription to the local push service
and a key pair this test holds (what a browser makes); the rest is the page's own: the permission,
the service worker registered for the booking's page (/book/sw.js, scope /book/<code>), the opt-in
sent to the server, kept with the booking until check-in, then the ticket's."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import http_ece
import pytest
import requests
import yaml
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from playwright.sync_api import expect
from webhook_receiver import Receiver

pytestmark = pytest.mark.browser
REPO_CONFIG = Path(__file__).resolve().parents[2] / "config.yaml"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def push_config(push_service: Receiver | None) -> dict:
    config = yaml.safe_load(REPO_CONFIG.read_text(encoding="utf-8"))
    lab = "http://" + push_service.url.split("/")[2] if push_service else "http://127.0.0.1:9"
    config["notifications"] = {"ahead": 2, "channels": ["push"], "push": {"services": [lab]}}
    return config


def take_remote_number(phone, server) -> None:
    phone.goto(server.url + "/book")
    phone.get_by_role("button", name="Tư pháp - Hộ tịch").click()
    phone.get_by_role("button", name="Lấy số hôm nay").click()
    phone.fill("#name", "Đỗ Thị Hoa")
    phone.fill("#phone", "0912 345 678")
    phone.get_by_role("button", name="Xác nhận").click()
    phone.wait_for_function("() => document.getElementById('code').textContent.length === 8")


def test_a_citizen_asks_for_push_on_the_booking_page_and_hears_when_near(start_server_on_a_working_morning, phone):
    push_service = Receiver()
    try:
        server = start_server_on_a_working_morning(push_config(push_service))
        http = requests.Session()
        for _ in range(3):  # three walk-ins before the citizen arrives
            assert http.post(server.url + "/api/v1/tickets", json={"service": "HT"}, timeout=10).status_code == 201

        private = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        keys = {
            "p256dh": b64(private.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)),
            "auth": b64(auth),
        }
        endpoint = push_service.url + "/push/phone-1"
        subscription = json.dumps({"endpoint": endpoint, "expirationTime": None, "keys": keys})
        phone.context.add_init_script(
            f"PushManager.prototype.subscribe = function () {{ const json = {subscription};"
            " return Promise.resolve({toJSON: function () { return json; }}); };"
        )
        phone.context.grant_permissions(["notifications"], origin=server.url)

        take_remote_number(phone, server)  # 127.0.0.1: a secure context, as https is
        code = phone.locator("#code").inner_text()
        number = phone.locator("#number").inner_text()
        box = phone.locator("#push-box")
        expect(box).to_be_visible()
        expect(box.locator("#push-hint")).to_contain_text("khi còn 2 số nữa đến lượt Ông/Bà")
        box.get_by_role("button", name="Thông báo trên điện thoại này").click()
        expect(box.locator("#push-hint")).to_contain_text("Đã đăng ký")
        expect(box.get_by_role("button")).to_be_hidden()
        assert phone.evaluate(
            "code => navigator.serviceWorker.getRegistration('/book/' + code).then(r => !!r && r.scope)", code
        ).endswith("/book/" + code)
        push_service.stays_at(0, seconds=1)  # not checked in: nothing to tell yet

        checked = http.post(server.url + "/api/v1/check-in", json={"code": code, "kiosk": "kiosk-1"}, timeout=10)
        assert checked.status_code == 201, checked.text
        push_service.stays_at(0, seconds=1)  # three ahead
        counter = {"Authorization": f"Bearer {server.token('counter', 1)}"}
        assert http.post(server.url + "/api/v1/counters/1/next", headers=counter).status_code == 200
        [near] = push_service.wait_for(1)  # two ahead now
        assert near.path.endswith("/push/phone-1") and near.headers["Content-Encoding"] == "aes128gcm"
        message = json.loads(http_ece.decrypt(near.body, private_key=private, auth_secret=auth, version="aes128gcm"))
        assert message["title"] == f"Sắp đến lượt Ông/Bà – số {number}"
        assert message["body"].endswith(f"còn 2 số nữa đến lượt Ông/Bà (số {number}). Mời Ông/Bà quay lại khu vực chờ.")

        phone.goto(f"{server.url}/book/{code}")  # checked in: the tracking page is where to follow it now
        expect(phone.locator("#track")).to_be_visible()
        expect(phone.locator("#push-box")).to_be_hidden()
    finally:
        push_service.close()


def test_a_refused_permission_is_explained_and_the_button_stays(start_server, phone):
    server = start_server(push_config(None))
    phone.context.grant_permissions([], origin=server.url)
    phone.add_init_script("Notification.requestPermission = () => Promise.resolve('denied');")
    take_remote_number(phone, server)
    phone.get_by_role("button", name="Thông báo trên điện thoại này").click()
    expect(phone.locator("#push-error")).to_contain_text("chưa cho phép trang này gửi thông báo")
    expect(phone.get_by_role("button", name="Thông báo trên điện thoại này")).to_be_visible()


def test_without_web_push_the_booking_page_does_not_offer_it(server, phone):
    take_remote_number(phone, server)
    assert phone.locator("#push-box").count() == 0
