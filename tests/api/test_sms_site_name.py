"""A site's own short name for its SMS (config site.sms_name, at most 40 characters), through the real server
and a recording SMS gateway on 127.0.0.1: the queue's SMS and a booking's one-time code begin with it when it
is set (in config.yaml, or in /admin while the server runs: the next SMS has it), and with the official name,
cut at a word to keep two parts, when it is not. E-mail and Zalo keep the official name. A name that is too long or
on two lines is refused naming the field."""

from __future__ import annotations

import json

import pytest
from api_helpers import assert_error, issue
from notify_helpers import TOKENS, call_next, opt_in, outside_servers, sms_texts
from webhook_receiver import Receiver

# 113 characters: cut at a word ("...") in a Vietnamese SMS of two parts
OFFICIAL = (
    "Bộ phận Tiếp nhận và Trả kết quả giải quyết thủ tục hành chính - Trung tâm Phục vụ hành chính công phường Phúc La"
)
SHORT = "TTHCC Phúc La"


@pytest.fixture
def outside():
    yield from outside_servers()


@pytest.fixture
def sms_gateway():
    gateway = Receiver()
    yield gateway
    gateway.close()


def test_queue_sms_begin_with_the_short_name_once_an_admin_sets_it_and_email_and_zalo_keep_the_official_name(
    live_server, config_variant, outside
):
    sms, zalo, smtp, settings = outside
    config = config_variant()
    config["site"]["name"] = OFFICIAL
    config["notifications"] = {**settings, "ahead": 1}  # SMS, e-mail and Zalo
    srv = live_server(config, env={**TOKENS, "QUEUEKIOSK_DELIVERY_POLL_SECONDS": "0.2"})
    issue(srv.session(), "HT")
    mine = issue(srv.session(), "HT")
    opt_in(srv, mine, "sms", "0912345678")  # one ahead: told at once, no short name yet
    sms.wait_for(1)
    near = f"còn 1 số nữa đến lượt Ông/Bà (số {mine['number']}). Mời Ông/Bà quay lại khu vực chờ."
    head, _, rest = sms_texts(sms)[0].partition("...: ")
    assert rest == near and OFFICIAL.startswith(head + " "), sms_texts(sms)  # the official name, cut at a word

    admin = {"Authorization": f"Bearer {srv.token('admin')}"}
    changed = srv.session().patch("/api/v1/admin/site", headers=admin, json={"sms_name": f"  {SHORT} "})
    assert changed.status_code == 200 and changed.json()["sms_name"] == SHORT, changed.text
    assert srv.session().get("/api/v1/admin/site", headers=admin).json()["sms_name"] == SHORT

    opt_in(srv, mine, "email", "an.nguyen@example.vn")  # told near too, in full, by its official name
    [mail] = smtp.wait_for(1)
    assert mail.get_content().startswith(f"{OFFICIAL}: còn 1 số nữa"), mail.get_content()
    opt_in(srv, mine, "zalo", "0987654321")  # a Zalo template's parameters: the official name, nothing added
    [zalo_near] = zalo.wait_for(1)
    template_data = json.loads(zalo_near.body)["template_data"]
    assert template_data == {"site": OFFICIAL, "number": str(mine["number"]), "ahead": "1"}, template_data
    call_next(srv)
    call_next(srv)  # called at counter 1
    sms.wait_for(2)
    assert sms_texts(sms)[1] == f"{SHORT}: Mời Ông/Bà đến quầy 1 (số {mine['number']}).", sms_texts(sms)


def _with_sms_code(config: dict, gateway: Receiver) -> dict:
    config["services"][0]["booking"]["sms_code"] = True  # HT (the repo's config.yaml takes remote numbers)
    config["notifications"] = {"sms": {"url": gateway.url, "timeout_seconds": 2}}
    config["site"]["name"] = OFFICIAL
    return config


def _code_sms(http, gateway: Receiver, phone: str) -> str:
    """The text of the one-time code SMS a remote booking from ``phone`` is sent."""
    body = {"service": "HT", "remote": True, "name": "Lê Thị Cúc", "phone": phone}
    sent = http.post("/api/v1/bookings", json=body)
    assert sent.status_code == 202, sent.text
    return json.loads(gateway.received[-1].body)["text"]


def test_a_booking_code_sms_begins_with_the_short_name_from_config_yaml_or_admin_else_the_official_name_cut(
    live_server, config_variant, sms_gateway
):
    config = _with_sms_code(config_variant(), sms_gateway)
    config["site"]["sms_name"] = SHORT
    srv = live_server(config)
    http, admin = srv.session(), {"Authorization": f"Bearer {srv.token('admin')}"}
    text = _code_sms(http, sms_gateway, "0912 000 777")
    assert text == f"Mã xác nhận đặt lịch tại {SHORT}: {text.split(': ')[1][:6]} (hiệu lực 10 phút).", text

    # cleared in /admin while the server runs: the next code SMS has the official name, cut at a word
    assert http.patch("/api/v1/admin/site", headers=admin, json={"sms_name": None}).status_code == 200
    text = _code_sms(http, sms_gateway, "0912 000 778")
    head, _, rest = text.partition("...: ")
    assert head.startswith("Mã xác nhận đặt lịch tại Bộ phận Tiếp nhận") and rest.endswith("(hiệu lực 10 phút)."), text
    assert OFFICIAL.startswith(head.removeprefix("Mã xác nhận đặt lịch tại ") + " "), text

    # and set again there: the next one has it
    assert http.patch("/api/v1/admin/site", headers=admin, json={"sms_name": "UBND P. Phúc La"}).status_code == 200
    text = _code_sms(http, sms_gateway, "0912 000 779")
    assert text.startswith("Mã xác nhận đặt lịch tại UBND P. Phúc La: "), text


def test_a_short_name_too_long_or_on_two_lines_is_refused_naming_the_field(live_server, config_variant):
    srv = live_server(config_variant())
    http, admin = srv.session(), {"Authorization": f"Bearer {srv.token('admin')}"}
    too_long = assert_error(
        http.patch("/api/v1/admin/site", headers=admin, json={"sms_name": "x" * 41}),
        422,
        "invalid_field",
        "site.sms_name",
    )
    # (the API names the field by its path, in both languages; /admin by its label: tests/pages/test_admin_sms_name.py)
    assert too_long["message"] == "Trường “site.sms_name”: quá dài: tối đa 40 ký tự", too_long
    english = too_long["translations"]["en"]["message"]
    assert english == "Field “site.sms_name”: is too long: at most 40 characters", too_long
    two_lines = http.patch("/api/v1/admin/site", headers=admin, json={"sms_name": "TTHCC\nPhúc La"})
    assert "một dòng" in assert_error(two_lines, 422, "invalid_field", "site.sms_name")["message"]
    assert http.get("/api/v1/admin/site", headers=admin).json()["sms_name"] is None  # nothing saved
    assert http.patch("/api/v1/admin/site", headers=admin, json={"sms_name": "x" * 40}).status_code == 200
    cleared = http.patch("/api/v1/admin/site", headers=admin, json={"sms_name": None})
    assert cleared.status_code == 200 and cleared.json()["sms_name"] is None, cleared.text
