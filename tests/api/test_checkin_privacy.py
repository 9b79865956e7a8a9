"""What a check-in refusal says of a person to a caller who may not be that person (docs/bookings.md,
Decree 13/2023). A card's QR text is only text, and an ID number can be typed by anyone who knows it:
only a kiosk of the installation (its token) is told when the card's holder is booked on a later day
here (or today at another centre: tests/api/test_booking_sites.py). One number per person still names
the number or time held, to every caller (SPEC.md; tests/api/test_bookings.py).

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
