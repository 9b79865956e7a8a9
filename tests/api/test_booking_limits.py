"""Bookings held back, through the real server (docs/bookings.md): the limits of one address (its
bookings a day, its refused attempts a minute; an integration's token exempt) and the one-time code by
SMS a centre may ask for to confirm a citizen's phone (its guesses bounded, its pending signed by the
server, a centre without an SMS channel told so).

The repo's config.yaml: HT takes bookings and remote numbers.
"""

from __future__ import annotations

import json
import secrets
import sqlite3

import pytest
from api_helpers import assert_error
from booking_api_helpers import book, remote
from sms_parts_helpers import sms_parts
from webhook_receiver import Receiver


def test_bookings_from_one_address_are_limited(live_server, config_variant):
    config = config_variant()
    config["limits"] = {"exempt_addresses": []}
    srv = live_server(config)
    http = srv.session()
    answers = [remote(http, f"091100000{i}").status_code for i in range(6)]
    assert answers == [201] * 5 + [429]
    error = assert_error(remote(http, "0911000009"), 429, "too_many_bookings")
    assert "giây" in error["message"]
    integration = {"Authorization": f"Bearer {srv.token('integration')}"}  # the city's app books for many people
    assert (
        http.post(
            "/api/v1/bookings",
            headers=integration,
            json={"service": "HT", "remote": True, "name": "Qua ứng dụng", "phone": "0911000010"},
        ).status_code
        == 201
    )


def test_only_accepted_bookings_use_up_an_addresss_day_and_the_wait_is_said_in_hours(live_server, config_variant):
    """A commune behind one NAT address: citizens' typos and refusals do not lock it out for the day
    (QA C3), and the wait reads "khoảng 24 giờ", not 86156 seconds."""
    config = config_variant()
    config["limits"] = {"exempt_addresses": [], "bookings_per_address": "3/day"}
    http = live_server(config).session()
    for i in range(10):  # a phone number one digit short, again and again
        assert_error(remote(http, f"09110000{i}"), 422, "invalid_phone", "phone")
    assert remote(http, "0911000001").status_code == 201
    assert_error(remote(http, "0911000001"), 409, "already_holds_number")
    assert [remote(http, f"091100000{i}").status_code for i in (2, 3)] == [201, 201]
    full = remote(http, "0911000004")
    error = assert_error(full, 429, "too_many_bookings")
    assert 86000 < int(full.headers["Retry-After"]) <= 86400
    assert error["message"].endswith("vui lòng thử lại sau khoảng 24 giờ."), error
    assert error["translations"]["en"]["message"].endswith("Please try again in about 24 hours."), error


def test_refused_booking_attempts_have_their_own_limit_a_minute(live_server, config_variant):
    config = config_variant()
    config["limits"] = {"exempt_addresses": []}
    http = live_server(config).session()
    for i in range(20):
        assert_error(book(http, "2099-01-01", "08:00", f"0911{i:06d}"), 422, "invalid_booking_date", "date")
    guessed = remote(http, "0911000001")  # right or wrong, the 21st in the minute waits
    error = assert_error(guessed, 429, "too_many_bookings")
    assert 0 < int(guessed.headers["Retry-After"]) <= 60
    assert "giây" in error["message"], error


@pytest.fixture
def sms_gateway():
    """The project's recording SMS gateway on 127.0.0.1 (tests/webhook_receiver.py)."""
    gateway = Receiver()
    yield gateway
    gateway.close()


def with_sms_code(config: dict, gateway: Receiver) -> dict:
    """``config`` with HT confirming phones by a code sent by SMS through ``gateway``."""
    config["services"][0]["booking"]["sms_code"] = True  # HT
    config["notifications"] = {"sms": {"url": gateway.url, "timeout_seconds": 2}}
    return config


def code_received(gateway: Receiver) -> str:
    """The code in the last SMS the gateway received."""
    return json.loads(gateway.received[-1].body)["text"].split(": ")[1][:6]


def another_code(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_a_one_time_code_by_sms_confirms_the_phone_when_the_centre_asks_for_it(
    live_server, config_variant, sms_gateway
):
    gateway = sms_gateway
    srv = live_server(with_sms_code(config_variant(), gateway))
    http = srv.session()
    body = {"service": "HT", "remote": True, "name": "Lê Thị Cúc", "phone": "0912 000 777"}
    sent = http.post("/api/v1/bookings", json=body)
    assert sent.status_code == 202 and sent.json()["phone"] == "091****777", sent.text
    assert json.loads(gateway.received[-1].body)["to"] == "84912000777"
    code = code_received(gateway)
    assert code.isdigit() and code not in sent.text  # the code goes to the phone only
    pending = sent.json()["pending"]
    assert_error(
        http.post("/api/v1/bookings", json={**body, "sms_code": another_code(code), "pending": pending}),
        422,
        "sms_code_wrong",
        "sms_code",
    )
    other_phone = {**body, "phone": "0912000778", "sms_code": code, "pending": pending}
    assert_error(http.post("/api/v1/bookings", json=other_phone), 422, "sms_code_wrong", "sms_code")
    booked = http.post("/api/v1/bookings", json={**body, "sms_code": code, "pending": pending})
    assert booked.status_code == 201 and booked.json()["number"], booked.text
    assert_error(http.post("/api/v1/bookings", json={**body, "phone": "12"}), 422, "invalid_phone", "phone")
    assert len(gateway.received) == 1  # nothing was sent for a wrong number
    integration = {"Authorization": f"Bearer {srv.token('integration')}"}  # the app checked its user itself
    assert http.post("/api/v1/bookings", headers=integration, json={**body, "phone": "0912000779"}).status_code == 201


def test_a_one_time_code_of_a_site_with_a_long_name_comes_in_two_parts_and_books(
    live_server, config_variant, sms_gateway
):
    """The site's name cut at a word ("...") while the SMS is over two parts; the code and its minutes whole."""
    config = with_sms_code(config_variant(), sms_gateway)
    config["site"]["name"] = (
        "Bộ phận Tiếp nhận và Trả kết quả thủ tục hành chính - Trung tâm Phục vụ hành chính công phường Phúc La"
    )
    http = live_server(config).session()
    body = {"service": "HT", "remote": True, "name": "Lê Thị Cúc", "phone": "0912 000 777"}
    sent = http.post("/api/v1/bookings", json=body)
    assert sent.status_code == 202, sent.text
    text = json.loads(sms_gateway.received[-1].body)["text"]
    code = code_received(sms_gateway)
    assert sms_parts(text) <= 2, (len(text), text)
    assert text.startswith("Mã xác nhận đặt lịch tại Bộ phận Tiếp nhận") and "...: " in text, text
    assert text.endswith(f"...: {code} (hiệu lực 10 phút)."), text
    booked = http.post("/api/v1/bookings", json={**body, "sms_code": code, "pending": sent.json()["pending"]})
    assert booked.status_code == 201, booked.text


def test_five_wrong_sms_codes_void_the_code_even_typed_right_and_a_new_one_books(
    live_server, config_variant, sms_gateway
):
    """Guessing one code of a million is bounded by the code itself, not only by the address's
    limits: the fifth wrong code voids it, the right one is then refused too (also with ``pending``
    spelt otherwise), and the citizen is told to ask for a new one, which books; four wrong codes
    before the right one do not void it."""
    http = live_server(with_sms_code(config_variant(), sms_gateway)).session()
    body = {"service": "HT", "remote": True, "name": "Lê Thị Cúc", "phone": "0912 000 777"}

    def code_sent() -> tuple[str, str]:
        sent = http.post("/api/v1/bookings", json=body)
        assert sent.status_code == 202, sent.text
        return code_received(sms_gateway), sent.json()["pending"]

    def confirm(code: str, pending: str):
        return http.post("/api/v1/bookings", json={**body, "sms_code": code, "pending": pending})

    code, pending = code_sent()
    for tries_left in (4, 3, 2, 1):
        wrong = assert_error(confirm(another_code(code), pending), 422, "sms_code_wrong", "sms_code")
        assert wrong["message"].startswith(f"Mã xác nhận không đúng (còn {tries_left} lần thử). "), wrong
        assert f"(tries left: {tries_left})" in wrong["translations"]["en"]["message"], wrong
    void = assert_error(confirm(another_code(code), pending), 422, "sms_code_void", "sms_code")
    assert "nhập sai 5 lần" in void["message"] and "không còn hiệu lực" in void["message"], void
    assert "bấm “Xác nhận” lần nữa" in void["message"] and "mã mới" in void["message"], void
    english = void["translations"]["en"]["message"]
    assert "typed wrong 5 times" in english and "no longer valid" in english and "new code" in english
    assert_error(confirm(code, pending), 422, "sms_code_void", "sms_code")  # right, but too late
    assert_error(confirm(code, "0" + pending), 422, "sms_code_void", "sms_code")  # the same code
    made_up = assert_error(confirm(code, "²" + pending), 422, "sms_code_wrong", "sms_code")  # (was a 500)
    assert made_up["message"].startswith("Mã xác nhận không đúng. "), made_up  # not counted: no tries said

    code, pending = code_sent()  # a new code, asked for as the refusal says: the request without one
    for _ in range(4):
        assert_error(confirm(another_code(code), pending), 422, "sms_code_wrong", "sms_code")
    booked = confirm(code, pending)
    assert booked.status_code == 201 and booked.json()["number"], booked.text


def test_a_pending_the_server_did_not_send_is_refused_without_a_write(live_server, config_variant, sms_gateway):
    """Only codes the server sent are counted: 20 made-up pendings (a time, any proof, with or without
    a signature) are each a wrong code and write nothing; a wrong code for the pending sent is counted."""
    srv = live_server(with_sms_code(config_variant(), sms_gateway))
    http = srv.session()
    body = {"service": "HT", "remote": True, "name": "Lê Thị Cúc", "phone": "0912 000 777"}
    sent = http.post("/api/v1/bookings", json=body)
    assert sent.status_code == 202, sent.text
    code, pending = code_received(sms_gateway), sent.json()["pending"]
    issued, proof, _tag = pending.split(".")

    def guesses() -> int:
        with sqlite3.connect(srv.database_url.removeprefix("sqlite:///")) as db:
            return db.execute("SELECT count(*) FROM sms_code_guesses").fetchone()[0]

    forged = [f"{issued}.{secrets.token_hex(32)}" for _ in range(10)]
    forged += [f"{issued}.{secrets.token_hex(32)}.{secrets.token_hex(16)}" for _ in range(9)]
    forged.append(f"{issued}.{proof}.{'0' * 32}")  # the real proof, not signed
    for made_up in forged:
        refused = http.post("/api/v1/bookings", json={**body, "sms_code": code, "pending": made_up})
        assert_error(refused, 422, "sms_code_wrong", "sms_code")
    assert guesses() == 0
    wrong = http.post("/api/v1/bookings", json={**body, "sms_code": another_code(code), "pending": pending})
    assert_error(wrong, 422, "sms_code_wrong", "sms_code")
    assert guesses() == 1


def test_a_booking_confirmed_by_sms_code_counts_once_and_off_means_no_limit(live_server, config_variant, sms_gateway):
    """The step that sends the code is not a booking: with 2 bookings a day an address, two citizens
    behind it each get theirs, code then booking. And a limit switched off is off: only refused
    attempts are held to their own fixed limit."""
    config = with_sms_code(config_variant(), sms_gateway)
    config["limits"] = {"exempt_addresses": [], "bookings_per_address": "10/minute;2/day"}
    srv = live_server(config)
    http = srv.session()
    for phone in ("0912000771", "0912000772"):
        body = {"service": "HT", "remote": True, "name": "Lê Thị Cúc", "phone": phone}
        sent = http.post("/api/v1/bookings", json=body)
        assert sent.status_code == 202, sent.text
        code = code_received(sms_gateway)
        booked = http.post("/api/v1/bookings", json={**body, "sms_code": code, "pending": sent.json()["pending"]})
        assert booked.status_code == 201, booked.text
    third = http.post("/api/v1/bookings", json={**body, "phone": "0912000773"})
    assert_error(third, 429, "too_many_bookings")  # the day's two bookings, not four requests

    config = config_variant()
    config["limits"] = {"exempt_addresses": [], "bookings_per_address": "off"}
    http = live_server(config).session()
    assert [remote(http, f"0911{i:06d}").status_code for i in range(25)] == [201] * 25


def test_a_centre_asking_for_sms_codes_without_an_sms_channel_says_so(live_server, config_variant):
    config = config_variant()
    config["services"][0]["booking"]["sms_code"] = True
    http = live_server(config).session()
    assert_error(
        http.post("/api/v1/bookings", json={"service": "HT", "remote": True, "name": "A", "phone": "0912000777"}),
        503,
        "sms_unavailable",
    )
