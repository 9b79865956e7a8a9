"""Bookings against the centres' setups and sites, on a real server over HTTP (docs/bookings.md): the
opening time moved by less than a slot's length while bookings of the old slots stand (the new slots
overlapping them have that many places fewer: a quarter-hour never holds more bookings than its places),
a closing time moved earlier on the day of a number for today taken remotely (due by the new closing time),
and a citizen booked today at one commune centre who scans the ID card, or types its number, at another
centre's kiosk of the same installation (the card told which centre and when, or that the time has
passed; a typed number, which can be anyone's, told nothing of it: Decree 13/2023). Only a kiosk of the
installation (its token) is told: a card's QR text is only text, and one made up from a known ID number
and sent to the API by anyone is answered as a card booked nowhere.

One server per module, its clock at 09:00 on a working day in Ho Chi Minh City (tests/faked_clock.py),
with the repo's config.yaml (HT: 15-minute slots, 2 places) and two sites added as copies of it.
"""

from __future__ import annotations

import datetime as dt

import pytest
from api_helpers import assert_error
from faked_clock import FakedClock, next_working_morning, on_a_working_morning

FIRST_NAME = "UBND phường Phúc La - Bộ phận Một cửa"  # the repo's config.yaml: the booked centre
OTHER, GRID = "xa-ben-kia", "xa-luoi"  # the centre the citizen goes to by mistake; the one whose hours move
OTHER_NAME = "UBND xã Bến Kia"
ID = "079203004567"  # born 2003 in Hồ Chí Minh City
CARD = f"{ID}||Lê Văn Cường|01012003|Nam|Số 3 đường Bến Kia, Hồ Chí Minh|15082021"


@pytest.fixture(scope="module")
def srv(module_live_server, tmp_path_factory):
    server = module_live_server(env=on_a_working_morning(tmp_path_factory.mktemp("clock")))
    for site, name in ((OTHER, OTHER_NAME), (GRID, "UBND xã Lưới")):
        made = _as(server, "admin").post("/api/v1/admin/sites", json={"id": site, "name": name})
        assert made.status_code == 201, made.text
    return server


def _as(srv, role: str):
    http = srv.session()
    http.headers["Authorization"] = f"Bearer {srv.token(role)}"
    return http


def _integration(srv):
    return _as(srv, "integration")  # not held to the per-address limits


def _kiosk(srv):
    """Bến Kia's kiosk, paired: its kiosk token (the only callers told where else a card is booked)."""
    http = srv.session()
    http.headers["Authorization"] = f"Bearer {srv.kiosk_token()}"
    return http


def _book(http, site: str, day: str, start: str, phone: str, id_number: str | None = None):
    body = {"service": "HT", "date": day, "start": start, "name": "Lê Văn Cường", "phone": phone}
    if id_number:
        body["id_number"] = id_number
    return http.post(f"/api/v1/sites/{site}/bookings", json=body)


def test_the_opening_moved_by_less_than_a_slot_never_overbooks_a_quarter_hour(srv):
    """07:45 booked full the day after tomorrow; the supervisor moves the opening from 07:30 to 07:40. The
    07:45 citizens keep their time; 07:40-07:55 and 07:55-08:10 overlap it and take nobody more."""
    http = _integration(srv)
    day = (next_working_morning().date() + dt.timedelta(days=1)).isoformat()
    for phone in ("0912000001", "0912000002"):
        made = _book(http, GRID, day, "07:45", phone)
        assert made.status_code == 201, made.text
    moved = _as(srv, "admin").patch(f"/api/v1/admin/sites/{GRID}", json={"hours": {"open": "07:40"}})
    assert moved.status_code == 200, moved.text
    slots = http.get(f"/api/v1/sites/{GRID}/services/HT/slots", params={"date": day})
    assert slots.status_code == 200, slots.text
    assert [(s["start"], s["free"]) for s in slots.json()[:3]] == [("07:40", 0), ("07:55", 0), ("08:10", 2)]
    for start, phone in (("07:40", "0912000003"), ("07:55", "0912000004")):
        assert_error(_book(http, GRID, day, start, phone), 409, "slot_full")
    assert _book(http, GRID, day, "08:10", "0912000005").status_code == 201


def test_an_earlier_closing_time_saved_today_brings_today_s_remote_numbers_forward(srv):
    """At 09:00 (the server's faked clock), a number for today taken remotely is due by 10:00; the closing
    time moved to 09:30 in /admin makes it due by 09:30, the closing time, not after it."""
    site = "xa-dong-som"
    made = _as(srv, "admin").post("/api/v1/admin/sites", json={"id": site, "name": "UBND xã Đóng Sớm"})
    assert made.status_code == 201, made.text
    body = {"service": "HT", "remote": True, "name": "Trần Thị Bình", "phone": "0913099999"}
    taken = _integration(srv).post(f"/api/v1/sites/{site}/bookings", json=body)
    assert taken.status_code == 201, taken.text
    assert taken.json()["deadline"] > "09:30", taken.json()  # an hour from now
    moved = _as(srv, "admin").patch(f"/api/v1/admin/sites/{site}", json={"hours": {"close": "09:30"}})
    assert moved.status_code == 200, moved.text
    booking = srv.session().get(f"/api/v1/sites/{site}/bookings/{taken.json()['code']}")
    assert booking.status_code == 200, booking.text
    assert booking.json()["deadline"] == "09:30", booking.json()


def test_a_card_booked_today_at_another_centre_is_told_which(srv):
    """Booked at Phúc La for 09:15 today, the citizen comes to Bến Kia's kiosk. The card scanned: "booked
    today at Phúc La at 09:15"; its number typed (anyone who knows it could learn where its holder will be):
    the answer of a number with no booking at all. None says the name, the service or the code. They may
    still take a number at Bến Kia, and check in at Phúc La after."""
    http = _integration(srv)
    today = next_working_morning().date().isoformat()
    made = _book(http, "phuc-la", today, "09:15", "0912000011", ID)
    assert made.status_code == 201, made.text
    code = made.json()["code"]
    kiosk = _kiosk(srv)

    scanned = assert_error(
        kiosk.post(f"/api/v1/sites/{OTHER}/check-in", json={"cccd_qr": CARD}), 404, "booked_other_site"
    )
    assert scanned["message"] == (
        f"Ông/Bà có lịch hẹn hôm nay tại {FIRST_NAME} lúc 09:15. Mời Ông/Bà đến đó để được phục vụ theo lịch"
        " hẹn; nếu cần làm thủ tục tại đây, mời chọn dịch vụ để lấy số."
    ), scanned
    typed = assert_error(
        kiosk.post(f"/api/v1/sites/{OTHER}/check-in", json={"id_number": ID}), 404, "booking_not_found_for_card"
    )
    never_booked = kiosk.post(f"/api/v1/sites/{OTHER}/check-in", json={"id_number": "079203009999"})
    assert typed == assert_error(never_booked, 404, "booking_not_found_for_card"), typed
    assert FIRST_NAME not in typed["message"] and "Phúc La" not in typed["message"], typed
    # the booking's QR code (its manage link) scanned there: the same as the card (its holder has the code)
    by_code = assert_error(
        kiosk.post(f"/api/v1/sites/{OTHER}/check-in", json={"code": made.json()["manage_url"]}),
        404,
        "booked_other_site",
    )
    assert by_code["message"] == scanned["message"], by_code
    # the same card's QR text sent without a kiosk token: anyone may write it who knows the number
    forged = assert_error(
        srv.session().post(f"/api/v1/sites/{OTHER}/check-in", json={"cccd_qr": CARD}), 404, "booking_not_found_for_card"
    )
    never_scanned = srv.session().post(
        f"/api/v1/sites/{OTHER}/check-in", json={"cccd_qr": CARD.replace(ID, "079203009999")}
    )
    assert forged == assert_error(never_scanned, 404, "booking_not_found_for_card"), forged
    for said in (scanned, typed, by_code, forged):
        assert code not in str(said) and "Cường" not in str(said) and "Hộ tịch" not in str(said), said
    assert FIRST_NAME not in forged["message"] and "09:15" not in forged["message"], forged

    walk_in = kiosk.post(f"/api/v1/sites/{OTHER}/check-in", json={"cccd_qr": CARD, "service": "CT"})
    assert walk_in.status_code == 201 and walk_in.json()["booking"] is None, walk_in.text
    there = kiosk.post("/api/v1/check-in", json={"cccd_qr": CARD})
    assert there.status_code == 201, there.text
    assert there.json()["booking"]["start"] == "09:15"


def test_a_number_for_today_taken_at_another_centre_says_by_when_to_check_in_there(srv):
    http = _integration(srv)
    other_id, card = "079203004568", CARD.replace(ID, "079203004568")
    body = {"service": "HT", "remote": True, "name": "Lê Văn Cường", "phone": "0912000031", "id_number": other_id}
    taken = http.post("/api/v1/bookings", json=body)
    assert taken.status_code == 201, taken.text
    scanned = assert_error(
        _kiosk(srv).post(f"/api/v1/sites/{OTHER}/check-in", json={"cccd_qr": card}), 404, "booked_other_site"
    )
    assert f"tại {FIRST_NAME} (số lấy từ xa: xác nhận có mặt trước {taken.json()['deadline']})." in scanned["message"]


def test_a_card_whose_booking_at_another_centre_has_passed_is_told_so(live_server, tmp_path):
    """Booked today at Phúc La for 08:00 and at Lưới for 15:00. The card scanned at Bến Kia at 08:05 (in the
    10 minutes' grace): Phúc La at 08:00; at 14:00: Lưới at 15:00, not the missed 08:00; at 15:30, both
    missed: the latest, with "giờ hẹn đã qua", never "to be served at your booked time"."""
    start = next_working_morning("07:00")
    clock = FakedClock(tmp_path / "clock", start)
    srv = live_server(env=clock.env())
    for site, name in ((OTHER, OTHER_NAME), (GRID, "UBND xã Lưới")):
        made = _as(srv, "admin").post("/api/v1/admin/sites", json={"id": site, "name": name})
        assert made.status_code == 201, made.text
    http, today = _integration(srv), start.date().isoformat()
    for site, at, phone in (("phuc-la", "08:00", "0912000041"), (GRID, "15:00", "0912000042")):
        made = _book(http, site, today, at, phone, ID)
        assert made.status_code == 201, made.text
    kiosk = _kiosk(srv)

    def scanned_at_other(code: str = "booked_other_site") -> str:
        return assert_error(kiosk.post(f"/api/v1/sites/{OTHER}/check-in", json={"cccd_qr": CARD}), 404, code)["message"]

    clock.set(start.replace(hour=8, minute=5))
    assert scanned_at_other().startswith(f"Ông/Bà có lịch hẹn hôm nay tại {FIRST_NAME} lúc 08:00. Mời Ông/Bà")
    clock.set(start.replace(hour=14))
    assert scanned_at_other().startswith("Ông/Bà có lịch hẹn hôm nay tại UBND xã Lưới lúc 15:00. Mời Ông/Bà")
    clock.set(start.replace(hour=15, minute=30))
    assert scanned_at_other("booked_other_site_passed") == (
        "Ông/Bà có lịch hẹn hôm nay tại UBND xã Lưới lúc 15:00, nhưng giờ hẹn đã qua. Nếu cần làm thủ tục tại"
        " đây, mời chọn dịch vụ để lấy số."
    )
