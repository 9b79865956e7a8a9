"""At the kiosk, a citizen without the booking's QR code and with no scanner at hand types the ID
card's 12-digit number on the on-screen keys (QA C1): it finds the number taken from the phone, as
the card's scan would; a card number with no booking takes a walk-in number for the card, and the
same number typed again says at once which number the card holds (QA C8)."""

from __future__ import annotations

import datetime as dt
import os

import pytest

if os.environ.get("CI", "").lower() != "true":  # under CI a missing Playwright fails, never skips
    pytest.importorskip("playwright", reason="Playwright for Python is not installed")
from faked_clock import FakedClock, next_working_morning  # noqa: E402
from kiosk_helpers import TYPED_NO_BOOKING, taking_taps, type_on_keys  # noqa: E402
from morning_helpers import morning_date  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser

BOOKED_ID = "079203004567"  # born 2003 in Hồ Chí Minh City: every digit from 0 to 9 but 1 and 8
WALK_IN_ID = "001188000123"  # born 1988 in Hà Nội: has the 1s and 8s


def test_a_citizen_types_the_id_card_number_on_the_kiosk_keys(start_server_on_a_working_morning, page):
    # a working morning (a forked server: a clock of the test's own made it a process of its own, ~1 s of CPU)
    srv = start_server_on_a_working_morning()
    http = srv.session()
    taken = http.post(
        "/api/v1/bookings",
        json={"service": "HT", "remote": True, "name": "Lê Văn Cường", "phone": "0987654321", "id_number": BOOKED_ID},
    )
    assert taken.status_code == 201, taken.text

    page.goto(srv.url + f"/kiosk/kiosk-1#token={srv.token('kiosk')}")  # paired: told what the card holds
    expect(page.locator("#screen-checkin .hint")).to_be_attached()
    type_on_keys(page, BOOKED_ID)
    page.locator("#result").wait_for()
    assert page.locator("#result-number").inner_text() == str(taken.json()["number"])
    assert page.locator("#result-booked").inner_text() == "Số lấy từ xa — đã xác nhận có mặt"
    assert http.get(f"/api/v1/bookings/{taken.json()['code']}").json()["status"] == "checked_in"
    page.locator("#result .done").click()

    # a number with no booking today: the citizen chooses the service, and the number is the card's
    type_on_keys(page, WALK_IN_ID)
    expect(page.locator(".card-note")).to_have_text(TYPED_NO_BOOKING)
    page.click('#service-grid button[data-service="CT"]')
    page.locator("button.no-priority").click()
    page.locator("#result").wait_for()
    walk_in = page.locator("#result-number").inner_text()
    page.locator("#result .done").click()

    # the same number again: the screen says at once which number it holds, before any choice
    type_on_keys(page, WALK_IN_ID)
    expect(page.locator(".card-note")).to_have_text(
        f"Hôm nay Ông/Bà chưa có lịch hẹn; thẻ căn cước này đang giữ số {walk_in} của dịch vụ “Chứng thực”."
        " Nếu cần làm thủ tục khác, mời chọn dịch vụ để lấy thêm số."
    )
    page.click('#service-grid button[data-service="CT"]')
    page.locator("button.no-priority").click()
    expect(page.locator("#problem-text")).to_contain_text(f"Ông/Bà đã có số {walk_in}")

    # booking codes as typed: all digits (the alphabet's 2-9) on the keys, and lower case with a space
    # from a keyboard; each a code, not a card's number mistyped
    for code, typed, phone in (("23456789", None, "0912345061"), ("ABCDEFGH", "abcd efgh", "0912345062")):
        number = booked_with_code(srv, http, code, phone)
        page.goto(srv.url + "/kiosk/kiosk-1")
        if typed is None:
            type_on_keys(page, code)
        else:
            page.locator(".checkin-open:visible").click()
            taking_taps(page)  # the screen as a citizen finds it: settled (keys are taken at once)
            page.fill("#checkin-code", typed)
            page.keyboard.press("Enter")
        expect(page.locator("#result-number")).to_have_text(str(number))
        assert http.get(f"/api/v1/bookings/{code}").json()["status"] == "checked_in"


def booked_with_code(srv, http, code: str, phone: str) -> int:
    """A remote number whose booking code is ``code`` (codes are drawn at random); its number."""
    from sqlalchemy import text

    from queuekiosk.server.core.db import create_db_engine

    taken = http.post("/api/v1/bookings", json={"service": "HT", "remote": True, "name": "Trần Văn An", "phone": phone})
    assert taken.status_code == 201, taken.text
    engine = create_db_engine(srv.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE bookings SET code = :new WHERE code = :old"), {"new": code, "old": taken.json()["code"]}
            )
    finally:
        engine.dispose()
    return taken.json()["number"]


def test_a_citizen_a_day_early_is_told_the_day_only_when_the_card_is_scanned(start_server_on_a_working_morning, page):
    """The card scanned: its holder is here, and is told the booking's day and time (and may still take a
    number today). The same number typed (anyone can type anyone's) is told only where to look."""
    srv = start_server_on_a_working_morning()
    http = srv.session()
    today = morning_date(srv)
    for ahead in range(1, 7):  # the first later day with slots (not a Sunday)
        day = today + dt.timedelta(days=ahead)
        slots = http.get("/api/v1/services/HT/slots", params={"date": day.isoformat()}).json()
        free = [slot["start"] for slot in slots if slot["free"]]
        if free:
            break
    booked = http.post(
        "/api/v1/bookings",
        json={
            "service": "HT",
            "date": day.isoformat(),
            "start": free[0],
            "name": "Lê Văn Cường",
            "phone": "0987654321",
            "id_number": BOOKED_ID,
        },
    )
    assert booked.status_code == 201, booked.text

    page.goto(srv.url + f"/kiosk/kiosk-1#token={srv.token('kiosk')}")  # paired: told what the card holds
    page.locator(".checkin-open:visible").click()
    taking_taps(page)  # the screen as a citizen finds it: settled (keys are taken at once)
    # the scanner types the card's QR text into the check-in field, and Enter
    page.fill("#checkin-code", f"{BOOKED_ID}|123456789|Lê Văn Cường|01012003|Nam|Quận 1, TP Hồ Chí Minh|15082021")
    page.keyboard.press("Enter")
    note = page.locator(".card-note")
    expect(note).to_contain_text(
        f"Lịch hẹn của Ông/Bà (dịch vụ “Tư pháp - Hộ tịch”) là lúc {free[0]} ngày {day:%d/%m/%Y}, không phải hôm nay."
    )
    expect(page.locator("#screen-services")).to_be_visible()  # a number for today all the same, if needed
    page.goto(srv.url + "/kiosk/kiosk-1")
    type_on_keys(page, BOOKED_ID)
    expect(note).to_have_text(TYPED_NO_BOOKING)
    assert free[0] not in note.inner_text() and f"{day:%d/%m}" not in note.inner_text()
    assert http.get(f"/api/v1/bookings/{booked.json()['code']}").json()["status"] == "booked"


def test_a_made_up_id_number_typed_at_the_kiosk_is_refused_naming_the_field(server, page):
    page.goto(server.url + "/kiosk/kiosk-1")
    type_on_keys(page, "000000000000")
    expect(page.locator("#problem-text")).to_contain_text("3 chữ số đầu phải là mã tỉnh")
    # a digit too few, or a letter among the digits: told what /book says, not "booking code not found"
    for typed in ("00108501234", "00108501234A"):
        page.goto(server.url + "/kiosk/kiosk-1")
        type_on_keys(page, typed)
        expect(page.locator("#problem-text")).to_have_text("Số căn cước công dân phải gồm đúng 12 chữ số.")
    assert server.waiting("HT") == 0 and server.waiting("CT") == 0


def test_a_booked_citizen_checks_in_before_opening_and_walk_ins_wait_for_it(start_server, tmp_path, page):
    """QA C7: at 07:20, before the 07:30 opening, the kiosk's closed screen offers check-in to the
    07:30 booking's citizen, and the ticket is due at 07:30; a walk-in number still waits for
    opening, and so does a check-in more than 30 minutes early."""
    clock = FakedClock(tmp_path / "clock", next_working_morning("07:20"))
    srv = start_server(ignore_hours=False, env=clock.env())  # the site's own hours: 07:30-17:00
    http = srv.session()
    day = clock.start.date().isoformat()
    body = {"service": "HT", "date": day, "start": "07:30", "name": "Lê Văn Cường", "phone": "0987654321"}
    booked = http.post("/api/v1/bookings", json=body)
    assert booked.status_code == 201, booked.text
    assert http.post("/api/v1/tickets", json={"service": "HT"}).status_code == 409  # closed for walk-ins

    page.goto(srv.url + "/kiosk/kiosk-1")
    closed = page.locator("#closed")
    expect(closed).to_contain_text("Ông/Bà đã đặt lịch hôm nay? Mời nhận số ngay, trước giờ mở cửa:")
    taking_taps(page)  # a new screen ignores taps for a moment
    closed.locator(".checkin-open").click()
    expect(closed).to_be_hidden()
    taking_taps(page)
    for key in booked.json()["code"]:
        page.click(f'#checkin-keys button[data-key="{key}"]')
    page.get_by_role("button", name="Nhận số").click()
    expect(page.locator("#result-booked")).to_have_text("Đã đặt lịch — Ông/Bà được gọi từ 07:30")
    page.locator("#result .done").click()
    expect(closed).to_be_visible()  # the start screen stays closed for walk-ins

    # 06:50: too early, the notice offers nothing and the server refuses
    clock.set(clock.start - dt.timedelta(minutes=30))
    body["start"] = "07:45"
    early = http.post("/api/v1/bookings", json={**body, "phone": "0987654322"})
    assert early.status_code == 201, early.text
    refused = http.post("/api/v1/check-in", json={"code": early.json()["code"]})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "closed", refused.text
    page.reload()
    expect(closed).to_be_visible()
    expect(closed.locator(".checkin-open")).to_be_hidden()
