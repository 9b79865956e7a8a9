"""Bookings through the real server: retried requests (Idempotency-Key), check-in by integrations
when kiosks need a token, and remote numbers lapsing at their deadline by themselves.

The repo's config.yaml: HT takes bookings (15-minute slots, 2 places, 6 days ahead) and remote
numbers. Servers run with --ignore-hours.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
import uuid

import pytest
from api_helpers import assert_error, wait_until_lapsed
from booking_api_helpers import open_day
from conftest import SioClient
from faked_clock import FakedClock, next_working_morning

ID = "001099055555"
NAME = "Lê Thị Cúc"


def free_places(http, day: str, start: str) -> int:
    return {s["start"]: s["free"] for s in http.get("/api/v1/services/HT/slots", params={"date": day}).json()}[start]


# --- Idempotency-Key --------------------------------------------------------------------------


def test_a_retried_booking_with_the_same_key_answers_the_same_booking_and_keeps_no_plain_hash(live_server):
    srv = live_server()
    http = srv.session()
    day, slots = open_day(http)
    start = slots[0]["start"]
    before = free_places(http, day, start)
    body = {"service": "HT", "date": day, "start": start, "name": NAME, "phone": "0912000111", "id_number": ID}
    key = {"Idempotency-Key": str(uuid.uuid4())}

    first = http.post("/api/v1/bookings", json=body, headers=key)
    assert first.status_code == 201, first.text
    again = http.post("/api/v1/bookings", json=body, headers=key)  # the phone lost the answer and sends again
    assert again.status_code == 201, again.text
    assert again.json() == first.json() and again.headers.get("Idempotent-Replayed") == "true"
    assert free_places(http, day, start) == before - 1, "the retry took no second place"

    changed = {**body, "start": slots[1]["start"]}
    error = assert_error(
        http.post("/api/v1/bookings", json=changed, headers=key), 422, "idempotency_key_reused", field="Idempotency-Key"
    )
    assert "Idempotency-Key" in error["message"]
    assert free_places(http, day, slots[1]["start"]) == slots[1]["free"], "the refused request booked nothing"
    assert_error(
        http.post("/api/v1/bookings", json=body, headers={"Idempotency-Key": "has space"}),
        422,
        "invalid_field",
        field="Idempotency-Key",
    )

    # a same-day remote number the same way
    remote = {"service": "HT", "remote": True, "name": NAME, "phone": "0912000222"}
    remote_key = {"Idempotency-Key": str(uuid.uuid4())}
    taken = http.post("/api/v1/bookings", json=remote, headers=remote_key)
    retried = http.post("/api/v1/bookings", json=remote, headers=remote_key)
    assert taken.status_code == retried.status_code == 201, retried.text
    assert retried.json()["number"] == taken.json()["number"] and retried.json()["code"] == taken.json()["code"]
    # without a key, the same request is a second number for the same person: refused, naming the first
    error = assert_error(http.post("/api/v1/bookings", json=remote), 409, "already_holds_number")
    assert str(taken.json()["number"]) in error["message"]

    srv.stop()
    with sqlite3.connect(srv.database_url.removeprefix("sqlite:///")) as db:
        kept = [row[0] for row in db.execute("SELECT fingerprint FROM idempotency_keys")]
        dump = "\n".join(db.iterdump())
    assert len(kept) == 2
    plain = hashlib.sha256()
    for part in (b"POST", b"/api/v1/bookings", first.request.body):
        plain.update(part + b"\0")
    assert plain.hexdigest() not in kept, "a plain hash of the body (with the CCCD number) can be tested by guessing"
    assert ID not in dump and "0912000111" not in dump


# --- check-in by integrations -----------------------------------------------------------------


@pytest.mark.parametrize("kiosk_token_required", [False, True], ids=["open", "kiosk-token-required"])
def test_check_in_accepts_the_same_callers_with_or_without_kiosk_tokens(
    live_server, config_variant, kiosk_token_required
):
    cfg = config_variant()
    cfg["limits"] = {"require_kiosk_token": kiosk_token_required}
    srv = live_server(cfg)
    http = srv.session()
    integration = {"Authorization": f"Bearer {srv.token('integration')}"}
    kiosk = {"Authorization": f"Bearer {srv.kiosk_token('kiosk-1')}"}

    def remote(phone: str) -> dict:
        answer = http.post(
            "/api/v1/bookings",
            json={"service": "HT", "remote": True, "name": NAME, "phone": phone},
            headers=integration,  # the city's app takes the number for the citizen
        )
        assert answer.status_code == 201, answer.text
        return answer.json()

    # the city's app checks its citizen in (the centre's own gate reader, a portal)
    first = remote("0912000301")
    checked = http.post("/api/v1/check-in", json={"code": first["code"]}, headers=integration)
    assert checked.status_code == 201, checked.text
    assert (checked.json()["number"], checked.json()["status"]) == (first["number"], "waiting")

    # a paired kiosk, as ever
    second = remote("0912000302")
    at_kiosk = http.post("/api/v1/check-in", json={"code": second["code"]}, headers=kiosk)
    assert at_kiosk.status_code == 201 and at_kiosk.json()["status"] == "waiting", at_kiosk.text

    # a display's token may not stand in for a kiosk; an unknown token never
    third = remote("0912000303")
    display = {"Authorization": f"Bearer {srv.token('display')}"}
    refused = http.post("/api/v1/check-in", json={"code": third["code"]}, headers=display)
    if kiosk_token_required:
        assert_error(refused, 403, "forbidden_role")
        assert_error(http.post("/api/v1/check-in", json={"code": third["code"]}), 401, "kiosk_token_required")
        assert http.get(f"/api/v1/bookings/{third['code']}").json()["status"] == "booked", "refused: not checked in"
    else:
        assert refused.status_code == 201, refused.text  # anyone may check in when kiosks need no token
    assert_error(
        http.post("/api/v1/check-in", json={"code": third["code"]}, headers={"Authorization": "Bearer qk_nope"}),
        401,
        "bad_token",
    )
    # and issuing a walk-in number stays for kiosks and staff: an integration books, it does not take numbers
    walk_in = http.post("/api/v1/tickets", json={"service": "CT"}, headers=integration)
    if kiosk_token_required:
        assert_error(walk_in, 403, "forbidden_role")
    else:
        assert walk_in.status_code == 201, walk_in.text


# --- remote numbers lapse by themselves -------------------------------------------------------


def test_a_remote_number_not_checked_in_by_its_deadline_lapses_by_itself(live_server, config_variant, tmp_path):
    """The server's clock (libfaketime, read from a file the test rewrites) starts at 09:00 on a
    working day and jumps past the deadline; nobody asks the server anything until the number has
    lapsed on its own. (On the real clock, a jump of ten minutes from 23:55 lands on the next
    business day, where the same person may take a new number.)"""
    clock = FakedClock(tmp_path / "faketime", next_working_morning("09:00"))
    cfg = config_variant()
    service = next(s for s in cfg["services"] if s["code"] == "HT")
    service["booking"] = {**service["booking"], "remote_checkin_minutes": 5}
    # the server looks every second, not every 30 s
    srv = live_server(cfg, env={**clock.env(), "QUEUEKIOSK_LAPSE_SECONDS": "1"})
    http = srv.session()
    taken = http.post("/api/v1/bookings", json={"service": "HT", "remote": True, "name": NAME, "phone": "0912000401"})
    assert taken.status_code == 201, taken.text
    number = taken.json()
    assert number["deadline"] and number["status"] == "booked"
    assert number["date"] == clock.start.date().isoformat(), "not the faked clock"
    waiting = next(s for s in http.get("/api/v1/queue").json()["services"] if s["code"] == "HT")["waiting"]
    # whoever holds the tracking link is in the ticket's room: told that it lapsed, not the booking (its code)
    page = SioClient(srv.url).connect(transports=["websocket"])
    try:
        assert page.subscribe({"ticket": number["ticket"]}) == {"ok": True}
        clock.set(clock.start + dt.timedelta(minutes=15))  # the citizen never came: past the deadline
        lapsed = wait_until_lapsed(http, number["code"])
        assert page.wait_for("booking.lapsed") == {}
    finally:
        page.close()
    assert lapsed["number"] == number["number"]
    tickets = [t for t in http.get("/api/v1/queue").json()["services"] if t["code"] == "HT"]
    assert tickets[0]["waiting"] == waiting, "a lapsed number never joins the queue"
    error = assert_error(http.post("/api/v1/check-in", json={"code": number["code"]}), 409, "booking_lapsed")
    assert number["deadline"] in error["message"]
    # the person keeps the day's number: no second one, and is told it lapsed (not "you have number N")
    again = http.post("/api/v1/bookings", json={"service": "HT", "remote": True, "name": NAME, "phone": "0912000401"})
    error = assert_error(again, 409, "held_number_ended")
    assert f"Số {number['number']} của Ông/Bà" in error["message"], error
    assert f"đã hết hiệu lực lúc {number['deadline']}" in error["message"], error


# --- the opt-in made when booking -------------------------------------------------------------


def test_an_opt_in_without_a_phone_channel_is_refused_naming_notify_and_books_nothing(http):
    body = {"service": "HT", "remote": True, "name": NAME, "phone": "0912000601", "notify": True}
    error = assert_error(http.post("/api/v1/bookings", json=body), 422, "notify_phone_unavailable", field="notify")
    assert "notify" in error["message"]
    taken = http.post("/api/v1/bookings", json={**body, "notify": False})  # the refused one held no number
    assert taken.status_code == 201, taken.text
    assert "notify" not in taken.json()


def test_a_retried_booking_from_an_ipv6_phone_on_postgresql(live_server, migrated_pg_url):
    """Keys without a login are kept per address: a long IPv6 address (behind the centre's proxy)
    still fits the key's scope, and the retry answers the same number."""
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url, "QUEUEKIOSK_PROXIES": "1"})
    http = srv.session()
    phone = {"X-Forwarded-For": "2001:db8:85a3:1234:5678:8a2e:370:7334", "Idempotency-Key": str(uuid.uuid4())}
    body = {"service": "HT", "remote": True, "name": NAME, "phone": "0912000701"}
    first = http.post("/api/v1/bookings", json=body, headers=phone)
    assert first.status_code == 201, first.text
    again = http.post("/api/v1/bookings", json=body, headers=phone)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true", again.text
    assert again.json()["number"] == first.json()["number"]
    other = {**phone, "X-Forwarded-For": "2001:db8:85a3:1234:5678:8a2e:370:7335"}  # another phone, same key
    assert_error(http.post("/api/v1/bookings", json=body, headers=other), 409, "already_holds_number")
