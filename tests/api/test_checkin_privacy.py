"""What a check-in or a booking refusal says of a person to a caller who may not be that person
(docs/bookings.md, Decree 13/2023). A card's QR text is only text, and an ID or phone number can be
typed by anyone who knows it: only a kiosk of the installation (its token) is told which number the
card holds today, or when its holder is booked on a later day; the public booking form and any
other caller are told only that the person already holds a number or a booking for the service and
day they asked for, never which number or at what time. Staff and integrations keep the detail.

One server per module, its clock at 09:00 on a working day in Ho Chi Minh City (tests/faked_clock.py),
with the repo's config.yaml (HT: 15-minute slots, 2 places, remote numbers; CT walk-ins).
"""

from __future__ import annotations

import datetime as dt

import pytest
from api_helpers import assert_error
from faked_clock import next_working_morning, on_a_working_morning


@pytest.fixture(scope="module")
def srv(module_live_server, tmp_path_factory):
    return module_live_server(env=on_a_working_morning(tmp_path_factory.mktemp("clock")))


def _card(id_number: str) -> str:
    return f"{id_number}|123456789|Nguyễn Văn An|01011999|Nam|Số 7 ngõ 12 phố Phúc La, Hà Đông, Hà Nội|15082021"


def _as(srv, role: str):
    http = srv.session()
    http.headers["Authorization"] = f"Bearer {srv.token(role)}"
    return http


def _kiosk(srv):
    """A paired kiosk: its kiosk token."""
    http = srv.session()
    http.headers["Authorization"] = f"Bearer {srv.kiosk_token()}"
    return http


def _later_day(srv) -> tuple[str, list[str]]:
    """A working day after the server's today with free HT slots, and their starts."""
    today = next_working_morning().date()
    for ahead in range(1, 7):
        day = (today + dt.timedelta(days=ahead)).isoformat()
        slots = srv.session().get("/api/v1/services/HT/slots", params={"date": day}).json()
        free = [slot["start"] for slot in slots if slot["free"]]
        if len(free) >= 2:
            return day, free
    raise AssertionError("HT has no free slots in the coming days")


def _book(http, day: str, start: str, phone: str, id_number: str):
    body = {"service": "HT", "date": day, "start": start, "name": "Nguyễn Văn An", "phone": phone}
    return http.post("/api/v1/bookings", json={**body, "id_number": id_number})


def test_a_card_booked_on_a_later_day_here_is_told_when_only_at_a_kiosk(srv):
    """The card scanned at a paired kiosk a day early: "your booking is at 10:00 on ..."; the same QR text
    sent by anyone else, even staff or an integration: the answer of a card booked nowhere."""
    day, free = _later_day(srv)
    made = _book(srv.session(), day, free[0], "0912000101", "001099000101")
    assert made.status_code == 201, made.text
    scanned = assert_error(
        _kiosk(srv).post("/api/v1/check-in", json={"cccd_qr": _card("001099000101")}), 404, "card_booked_other_day"
    )
    assert free[0] in scanned["message"] and "Tư pháp - Hộ tịch" in scanned["message"], scanned

    never_booked = srv.session().post("/api/v1/check-in", json={"cccd_qr": _card("001099000109")})
    nowhere = assert_error(never_booked, 404, "booking_not_found_for_card")
    for http in (srv.session(), _as(srv, "integration"), _as(srv, "supervisor")):
        forged = http.post("/api/v1/check-in", json={"cccd_qr": _card("001099000101")})
        assert assert_error(forged, 404, "booking_not_found_for_card") == nowhere


def test_without_a_kiosk_token_a_check_in_refusal_does_not_name_the_number_held(srv):
    """A card holding number N for Chứng thực: the paired kiosk says "holds number N" (its holder is
    there); a caller without a kiosk token, typing the ID or sending a QR text, is told only that the
    card holds a number today (not which, nor for which service), and for the service asked again,
    that one is held: ask staff."""
    kiosk = _kiosk(srv)
    walk_in = kiosk.post("/api/v1/check-in", json={"cccd_qr": _card("001099000102"), "service": "CT"})
    assert walk_in.status_code == 201, walk_in.text
    number = str(walk_in.json()["number"])

    held = assert_error(kiosk.post("/api/v1/check-in", json={"id_number": "001099000102"}), 404, "card_holds_number")
    assert number in held["message"] and "Chứng thực" in held["message"], held
    again = kiosk.post("/api/v1/check-in", json={"id_number": "001099000102", "service": "CT"})
    assert number in assert_error(again, 409, "already_holds_number")["message"]

    for asked in ({"id_number": "001099000102"}, {"cccd_qr": _card("001099000102")}):
        hidden = assert_error(srv.session().post("/api/v1/check-in", json=asked), 404, "card_holds_number")
        assert hidden["message"] == (
            "Hôm nay Ông/Bà chưa có lịch hẹn; thẻ căn cước này đã có số trong hàng chờ hôm nay. Nếu cần làm thủ"
            " tục khác, mời chọn dịch vụ để lấy thêm số; cần biết lại số đã lấy, xin hỏi cán bộ."
        ), hidden
        assert number not in str(hidden) and "Chứng thực" not in str(hidden), hidden
        again = srv.session().post("/api/v1/check-in", json={**asked, "service": "CT"})
        hidden = assert_error(again, 409, "already_holds_number")
        assert number not in str(hidden) and "hỏi cán bộ" in hidden["message"], hidden
        assert "Chứng thực" in hidden["message"], hidden  # the service the caller asked for


def test_the_public_booking_form_says_a_booking_is_held_not_its_time(srv):
    """One number per person, service and day stays; the public form is told a booking is held for that
    service and day (its time and code are in the holder's confirmation), an integration the time; a
    second number for today by the same phone is refused without naming the first."""
    day, free = _later_day(srv)
    made = _book(srv.session(), day, free[0], "0912000103", "001099000103")
    assert made.status_code == 201, made.text
    again = _book(srv.session(), day, free[1], "0988000103", "001099000103")
    public = assert_error(again, 409, "already_booked")
    assert free[0] not in str(public) and made.json()["code"] not in str(public), public
    assert public["message"].startswith("Ông/Bà đã đặt lịch dịch vụ “Tư pháp - Hộ tịch” ngày "), public
    assert "giờ hẹn và mã lịch hẹn có trong xác nhận đã gửi cho Ông/Bà" in public["message"], public
    staff = assert_error(
        _book(_as(srv, "integration"), day, free[1], "0988000103", "001099000103"), 409, "already_booked"
    )
    assert free[0] in staff["message"], staff

    body = {"service": "HT", "remote": True, "name": "Trần Thị Bình", "phone": "0912000104"}
    number = srv.session().post("/api/v1/bookings", json=body)
    assert number.status_code == 201, number.text
    second = assert_error(srv.session().post("/api/v1/bookings", json=body), 409, "already_holds_number")
    assert str(number.json()["number"]) not in str(second) and "hỏi cán bộ" in second["message"], second
    by_staff = assert_error(_as(srv, "integration").post("/api/v1/bookings", json=body), 409, "already_holds_number")
    assert str(number.json()["number"]) in by_staff["message"], by_staff
