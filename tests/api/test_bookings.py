"""Bookings, remote numbers and check-in through the real server (docs/bookings.md).

The repo's config.yaml: HT takes bookings (15-minute slots, 2 places, 6 days ahead) and remote
numbers; counter 1 serves HT only. The server ignores opening hours (--ignore-hours) for issuing;
slots still follow the site's hours, so a test books on the first day that has a free slot.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from api_helpers import assert_error, drain, print_jobs
from booking_api_helpers import book, open_day, remote
from config_helpers import site_today
from conftest import SioClient
from faked_clock import FakedClock, next_working_morning
from icalendar import Calendar

ID = "001099012345"
ADDRESS = "Số 7 ngõ 12 phố Phúc La"
CARD = f"{ID}|123456789|Nguyễn Văn An|01011990|Nam|{ADDRESS}, Hà Đông, Hà Nội|15082021"
PHONE = "0912345678"
FOOTER = "Sự hài lòng của người dân là thước đo chất lượng phục vụ"  # config.yaml ticket.footer


def test_a_citizen_books_and_gets_a_code_a_qr_code_a_calendar_file_and_a_link_to_cancel(http):
    day, slots = open_day(http)
    start = slots[0]
    answer = book(http, day, start["start"], "+84 912 345 001", ID)
    assert answer.status_code == 201, answer.text
    booking = answer.json()
    assert (booking["date"], booking["start"], booking["end"], booking["status"]) == (
        day,
        start["start"],
        start["end"],
        "booked",
    )
    assert (booking["phone"], booking["id_number"]) == ("091****001", "0010******45")
    assert booking["manage_url"].endswith(f"/book/{booking['code']}")
    free = {s["start"]: s["free"] for s in http.get("/api/v1/services/HT/slots", params={"date": day}).json()}
    assert free[start["start"]] == start["free"] - 1

    qr = http.get(booking["qr_url"])
    assert qr.status_code == 200 and qr.headers["Content-Type"] == "image/svg+xml" and b"<svg" in qr.content
    ics = http.get(booking["ics_url"])
    assert ics.status_code == 200 and ics.headers["Content-Type"].startswith("text/calendar")
    event = next(c for c in Calendar.from_ical(ics.content).walk() if c.name == "VEVENT")
    starts = dt.datetime.combine(
        dt.date.fromisoformat(day), dt.time.fromisoformat(start["start"]), dt.timezone(dt.timedelta(hours=7))
    )
    assert event.decoded("dtstart") == starts and event.decoded("dtend") - starts == dt.timedelta(minutes=15)
    assert booking["code"] in str(event.get("description")) and ID not in ics.text

    assert http.get(f"/api/v1/bookings/{booking['code']}").json()["status"] == "booked"
    # its code typed at the kiosk today: told the day, and the next step (as a scanned card is)
    early = assert_error(http.post("/api/v1/check-in", json={"code": booking["code"]}), 409, "booking_other_day")
    assert early["message"] == (
        f"Lịch hẹn “{booking['code']}” là của ngày {dt.date.fromisoformat(day):%d/%m/%Y}, không phải hôm nay."
        " Nếu cần làm thủ tục hôm nay, mời chọn dịch vụ để lấy số."
    ), early
    cancelled = http.delete(f"/api/v1/bookings/{booking['code'].lower()}")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    free = {s["start"]: s["free"] for s in http.get("/api/v1/services/HT/slots", params={"date": day}).json()}
    assert free[start["start"]] == start["free"]
    assert_error(http.get("/api/v1/bookings/NOSUCH22"), 404, "booking_not_found")


def test_one_number_per_person_a_second_is_refused_naming_the_first(http):
    day, slots = open_day(http)
    first = book(http, day, slots[0]["start"], "0912345002", "001099000002")
    assert first.status_code == 201, first.text
    error = assert_error(book(http, day, slots[1]["start"], "0988888888", "001099000002"), 409, "already_booked")
    assert slots[0]["start"] in error["message"]

    number = remote(http, "0912345003").json()["number"]
    error = assert_error(remote(http, "0912 345 003"), 409, "already_holds_number")
    assert str(number) in error["message"]

    walk_in = http.post("/api/v1/check-in", json={"cccd_qr": CARD.replace(ID, "001099000004"), "service": "CT"})
    assert walk_in.status_code == 201, walk_in.text
    error = assert_error(
        http.post(
            "/api/v1/check-in", json={"id_number": "001099000004", "service": "CT"}, headers={"Accept-Language": "en"}
        ),
        409,
        "already_holds_number",
    )
    assert str(walk_in.json()["number"]) in error["message"] and "already hold" in error["message"]


def test_a_remote_number_is_called_only_once_its_citizen_checked_in_at_the_kiosk(server, http):
    admin = {"Authorization": f"Bearer {server.token('admin')}"}
    drain(server, server.token("admin"), [1, 2, 6])
    before = _arrived_remote(http, server)
    taken = remote(http, "0912345004")
    assert taken.status_code == 201, taken.text
    number = taken.json()
    assert number["kind"] == "remote" and number["deadline"] and number["number"]
    assert http.post("/api/v1/counters/1/next", headers=admin).status_code == 204  # not here yet

    scanned = f"http://phone.example/book/{number['code']}\n"  # the scanner reads the manage link's QR code
    ticket = http.post("/api/v1/check-in", json={"code": scanned, "kiosk": "kiosk-1"})
    assert ticket.status_code == 201, ticket.text
    ticket = ticket.json()
    assert (ticket["number"], ticket["origin"], ticket["status"]) == (number["number"], "remote", "waiting")
    assert ticket["track_url"].endswith(f"/t/{ticket['id']}")
    assert print_jobs(http, ticket["id"]), "the kiosk prints the checked-in ticket"
    called = http.post("/api/v1/counters/1/next", headers=admin)
    assert called.status_code == 200 and called.json()["number"] == number["number"]
    assert_error(http.post("/api/v1/check-in", json={"code": number["code"]}), 409, "booking_checked_in")
    for step in ("start", "finish"):
        assert http.post(f"/api/v1/counters/1/{step}", headers=admin).status_code == 200
    # checked in before its deadline (later it lapses and cannot check in): counted as arrived on time
    after = _arrived_remote(http, server)
    assert after == {"remote": before["remote"] + 1, "on_time": before["on_time"] + 1, "late": before["late"]}


def _arrived_remote(http, server) -> dict:
    supervisor = {"Authorization": f"Bearer {server.token('supervisor')}"}
    today = site_today().isoformat()
    report = http.get("/api/v1/reports/bookings", headers=supervisor, params={"from": today, "to": today})
    assert report.status_code == 200, report.text
    row = next((r for r in report.json()["days"] if r["service"] == "HT"), {"remote": 0, "on_time": 0, "late": 0})
    return {name: row[name] for name in ("remote", "on_time", "late")}


def test_a_cancelled_remote_numbers_page_hears_it_without_the_bookings_code(server, http):
    """Whoever holds the tracking link is in the ticket's room: told that the number was cancelled, so
    its page redraws, but not the booking (its code, the holder's masked numbers)."""
    taken = remote(http, "0912345006")
    assert taken.status_code == 201, taken.text
    page = SioClient(server.url).connect(transports=["websocket"])
    try:
        ticket_id = taken.json()["track_url"].rsplit("/", 1)[1]
        assert page.subscribe({"ticket": ticket_id}) == {"ok": True}
        assert http.delete(f"/api/v1/bookings/{taken.json()['code']}").status_code == 200
        assert page.wait_for("booking.cancelled") == {}
    finally:
        page.close()


def test_an_id_number_typed_again_never_learns_the_bookings_code(http):
    """The code cancels a booking: whoever types someone's ID number at the kiosk (no card needed)
    is told the booking is checked in, naming only the code's last two characters."""
    taken = remote(http, "0912345005", id_number="001099000005")
    assert taken.status_code == 201, taken.text
    code = taken.json()["code"]
    checked_in = http.post("/api/v1/check-in", json={"id_number": "001099000005"})
    assert checked_in.status_code == 201, checked_in.text
    said = checked_in.json()["booking"]
    assert "name" not in said and said["code"] == "•" * (len(code) - 2) + code[-2:], said
    assert code not in checked_in.text, "nor anywhere else in the answer"
    error = assert_error(http.post("/api/v1/check-in", json={"id_number": "001099000005"}), 409, "booking_checked_in")
    said = error["message"] + error["translations"]["en"]["message"]
    assert code not in said and code[:-2] not in said, error
    assert "•" * (len(code) - 2) + code[-2:] in error["message"], error
    by_code = assert_error(http.post("/api/v1/check-in", json={"code": code}), 409, "booking_checked_in")
    assert code in by_code["message"], "who gave the code is told it back"


@pytest.mark.parametrize(
    "body, status, code, field",
    [
        (
            {"service": "HT", "date": "2026-13-01", "start": "08:00", "name": "A", "phone": PHONE},
            422,
            "invalid_date",
            "date",
        ),
        (
            {"service": "HT", "date": "2020-01-02", "start": "08:00", "name": "A", "phone": PHONE},
            422,
            "invalid_booking_date",
            "date",
        ),
        ({"service": "HT", "remote": True, "name": "A", "phone": "12345"}, 422, "invalid_phone", "phone"),
        (
            {"service": "HT", "remote": True, "name": "A", "phone": PHONE, "id_number": "0010990123"},
            422,
            "invalid_id_number",
            "id_number",
        ),
        (  # made up: no province has the code 000 (C11)
            {"service": "HT", "remote": True, "name": "A", "phone": PHONE, "id_number": "000000000000"},
            422,
            "invalid_id_province",
            "id_number",
        ),
        (  # a man born in 2099
            {"service": "HT", "remote": True, "name": "A", "phone": PHONE, "id_number": "001299012345"},
            422,
            "invalid_id_birth_year",
            "id_number",
        ),
        (
            {"service": "HT", "remote": True, "date": "2026-12-01", "name": "A", "phone": PHONE},
            422,
            "remote_takes_no_slot",
            "date",
        ),
        ({"service": "HT", "remote": True, "name": "   ", "phone": PHONE}, 422, "invalid_field", "name"),
        ({"service": "HT", "remote": True, "name": "A", "phone": PHONE, "admin": True}, 422, "invalid_field", "admin"),
        ({"service": "DC", "remote": True, "name": "A", "phone": PHONE}, 409, "booking_not_offered", None),
        ({"service": "XX", "remote": True, "name": "A", "phone": PHONE}, 404, "unknown_service", None),
    ],
)
def test_a_wrong_booking_is_refused_naming_the_field_and_nothing_is_kept(server, http, body, status, code, field):
    staff = {"Authorization": f"Bearer {server.token('supervisor')}"}
    before = http.get("/api/v1/bookings", headers=staff).json()["bookings"]
    assert_error(http.post("/api/v1/bookings", json=body), status, code, field)
    assert http.get("/api/v1/bookings", headers=staff).json()["bookings"] == before


def test_a_refusal_carries_its_sentence_in_every_language_for_a_page_that_switches(http):
    """The booking page says a refusal again in the language the citizen switches to: the answer has it
    in Vietnamese and English (``translations``), a field's problem too, whatever Accept-Language asked."""
    day, slots = open_day(http)
    body = {"service": "HT", "date": day, "start": slots[0]["start"], "name": "", "phone": PHONE}
    empty = assert_error(
        http.post("/api/v1/bookings", json=body, headers={"Accept-Language": "en"}), 422, "invalid_field"
    )
    assert (empty["field"], empty["problem"]) == ("name", "must not be empty"), empty
    assert empty["translations"]["vi"]["problem"] == "không được để trống", empty
    assert empty["translations"]["en"] == {"message": empty["message"], "problem": "must not be empty"}, empty
    blank = assert_error(http.post("/api/v1/bookings", json={**body, "name": "  "}), 422, "invalid_field")
    assert blank["translations"]["en"]["problem"] == "must not be empty", blank  # (checked past pydantic)
    taken = remote(http, PHONE)
    assert taken.status_code == 201, taken.text
    again = assert_error(remote(http, PHONE), 409, "already_holds_number")
    assert again["message"] == again["translations"]["vi"]["message"], again
    assert again["translations"]["en"]["message"].startswith("You already hold"), again
    assert "problem" not in again["translations"]["en"], again


def test_a_slot_not_offered_is_refused_naming_start(http):
    day, _slots = open_day(http)
    off_grid = assert_error(book(http, day, "03:00", "0912345005"), 422, "invalid_slot", "start")
    assert dt.date.fromisoformat(day).strftime("ngày %d/%m/%Y") in off_grid["message"], off_grid
    body = {"service": "HT", "date": day, "name": "Trần Thị B", "phone": "0987654321"}  # no start
    missing = assert_error(http.post("/api/v1/bookings", json=body), 422, "invalid_field", "start")
    assert missing["message"] == "Trường “start”: bắt buộc phải có", missing


def test_an_empty_booking_form_is_told_every_missing_field_at_once(http):
    """As /admin names its fields: the name and the phone together, not the phone after the name is fixed."""
    day, slots = open_day(http)
    body = {"service": "HT", "date": day, "start": slots[0]["start"], "name": " ", "phone": ""}
    error = assert_error(http.post("/api/v1/bookings", json=body), 422, "invalid_field", "name")
    assert [(other["field"], other["problem"]) for other in error.get("others", [])] == [
        ("phone", "không được để trống")
    ], error


def test_an_empty_name_a_short_phone_and_a_made_up_cccd_come_in_one_answer(http):
    """The province tester's /book: an empty name, phone 12345 and CCCD 123456789012 were told one at a
    time, three round trips on a phone; each is named in one answer, a wrong phone and CCCD with their own
    sentences. One alone keeps its own code."""
    day, slots = open_day(http)
    for body in (
        {"service": "HT", "remote": True, "name": "", "phone": "12345", "id_number": "123456789012"},
        {
            "service": "HT",
            "date": day,
            "start": slots[0]["start"],
            "name": " ",
            "phone": "12345",
            "id_number": "123456789012",
        },
    ):
        error = assert_error(http.post("/api/v1/bookings", json=body), 422, "invalid_field", "name")
        assert [other["field"] for other in error["others"]] == ["phone", "id_number"], error
        phone, id_number = error["others"]
        assert phone["message"].startswith("Số điện thoại không hợp lệ"), phone
        assert phone["translations"]["en"]["message"].startswith("Not a phone number"), phone
        assert id_number["message"].startswith("Số căn cước công dân không hợp lệ: 3 chữ số đầu"), id_number
    named = {"service": "HT", "remote": True, "name": "Trần Thị B", "phone": "12345", "id_number": "123456789012"}
    error = assert_error(http.post("/api/v1/bookings", json=named), 422, "invalid_field", "phone")
    assert [other["field"] for other in error["others"]] == ["id_number"], error
    assert_error(
        http.post("/api/v1/bookings", json={**named, "id_number": "001099012345"}), 422, "invalid_phone", "phone"
    )
    for shape in ("", "[]", '"text"', '{"phone": 12345, "name": ""}', "{"):  # (the body is looked at again)
        answer = http.post("/api/v1/bookings", data=shape, headers={"Content-Type": "application/json"})
        assert answer.status_code in (415, 422), (shape, answer.status_code, answer.text)


def test_a_body_of_a_thousand_unknown_keys_gets_a_short_answer(http):
    """Every unknown key folds into one entry naming a few: the answer stays small whatever the body holds."""
    day, slots = open_day(http)
    body = {"service": "HT", "date": day, "start": slots[0]["start"], "name": " ", "phone": "0987654321"}
    answer = http.post("/api/v1/bookings", json={**body, **{f"x{n}": 1 for n in range(1000)}})
    error = assert_error(answer, 422, "invalid_field", "name")
    assert [other["field"] for other in error["others"]] == ["x0, x1, x2, x3, x4, … (1000)"], error
    assert error["others"][0]["problem"] == "không được nhận (kiểm tra chính tả)", error
    assert len(answer.content) < 4000, len(answer.content)
    long_key = "k" * 60_000  # echoed cut short, in the field, the message and both translations
    answer = http.post("/api/v1/bookings", json={**body, long_key: 1})
    [other] = assert_error(answer, 422, "invalid_field", "name")["others"]
    assert other["field"] == "k" * 39 + "…", other["field"][:100]
    assert len(answer.content) < 4000, len(answer.content)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"cccd_qr": "001099012345|123"}, "cccd_qr"),
        ({"cccd_qr": "'; DROP TABLE bookings; --|||||"}, "cccd_qr"),
        ({"cccd_qr": "001099012345|123456789|An|31021990|Nam|HN|15082021"}, "cccd_qr"),
        ({"cccd_qr": "x" * 700}, "cccd_qr"),
        ({"cccd_qr": "001099012345|\u0000|An|01011990|Nam|HN|15082021"}, "cccd_qr"),
        ({"code": "ABCDEFGH", "id_number": ID}, "code"),
        ({}, "code"),
        ({"id_number": "12ab"}, "id_number"),
        ({"id_number": "999999999999"}, "id_number"),
    ],
)
def test_a_malformed_or_hostile_check_in_is_refused_and_stores_nothing(http, body, field):
    before = http.get("/api/v1/queue").json()["services"]
    answer = http.post("/api/v1/check-in", json=body)
    assert answer.status_code == 422 and answer.json()["error"].get("field") == field, answer.text
    assert "DROP" not in answer.text and "31021990" not in answer.text  # the card's text is not repeated
    assert http.get("/api/v1/queue").json()["services"] == before


def _database_text(url: str) -> str:
    """Every row of every table, as text (SQLite or PostgreSQL)."""
    from sqlalchemy import inspect, text

    from queuekiosk.server.core.db import create_db_engine

    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            return "\n".join(
                f"{table}: {row!r}"
                for table in inspect(conn).get_table_names()
                for row in conn.execute(text(f'SELECT * FROM "{table}"'))
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_no_full_id_number_phone_or_address_reaches_the_database_the_log_or_an_export(live_server, database, request):
    env = {"QUEUEKIOSK_DATABASE_URL": request.getfixturevalue("migrated_pg_url")} if database == "postgresql" else {}
    srv = live_server(env=env)
    http = srv.session()
    day, slots = open_day(http)
    answers = [
        book(http, day, slots[0]["start"], PHONE, ID),
        remote(http, "0987654321", id_number="079203004567"),
        http.post("/api/v1/check-in", json={"cccd_qr": CARD, "service": "CT", "kiosk": "kiosk-1"}),
        http.post("/api/v1/check-in", json={"id_number": "079203004567"}),
    ]
    assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
    refused = http.post("/api/v1/check-in", json={"cccd_qr": "079203004567|x"})
    assert refused.status_code == 422
    answers += [refused, http.get(f"/api/v1/bookings/{answers[0].json()['code']}")]
    answers.append(http.get(f"/api/v1/tickets/{answers[2].json()['id']}"))

    supervisor = {"Authorization": f"Bearer {srv.token('supervisor')}"}
    listed = http.get("/api/v1/bookings", headers=supervisor, params={"date": day})
    export = http.get(
        "/api/v1/reports/summary",
        headers=supervisor,
        params={"from": site_today().isoformat(), "to": day, "format": "csv"},
    )
    report = http.get(
        "/api/v1/reports/bookings", headers=supervisor, params={"from": site_today().isoformat(), "to": day}
    )
    assert listed.status_code == 200 and export.status_code == 200 and report.status_code == 200, export.text
    srv.stop()
    dump = _database_text(srv.database_url if database == "sqlite" else env["QUEUEKIOSK_DATABASE_URL"])
    texts = {
        "database": dump,
        "log": srv.log(),
        "bookings list": listed.text,
        "export": export.text,
        "bookings report": report.text,
        **{f"answer {i} ({a.request.method} {a.request.path_url})": a.text for i, a in enumerate(answers)},
    }
    for secret in (ID, "079203004567", PHONE, "0987654321", ADDRESS, "01011990"):
        leaked = [where for where, text in texts.items() if secret in text]
        assert not leaked, f"{secret} is in the {leaked}"
    assert "0010******45" in dump and "091****678" in listed.text  # what is kept instead


def _book_the_same_slot_at_once(srv, clients: int = 16) -> list[int]:
    http = srv.session()
    day, slots = open_day(http)
    start = slots[-1]["start"]
    barrier = Barrier(clients)

    def client(i: int) -> int:
        with srv.session() as own:
            barrier.wait(30)
            return book(own, day, start, f"09{i:08d}").status_code

    with ThreadPoolExecutor(clients) as pool:
        statuses = sorted(pool.map(client, range(clients)))
    free = {s["start"]: s["free"] for s in http.get("/api/v1/services/HT/slots", params={"date": day}).json()}
    assert free[start] == 0
    return statuses


def test_many_clients_booking_the_last_places_at_once_over_http(server):
    assert _book_the_same_slot_at_once(server) == [201, 201] + [409] * 14


@pytest.mark.postgres
def test_many_clients_booking_the_last_places_at_once_over_http_on_postgresql(live_server, migrated_pg_url):
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url})
    assert _book_the_same_slot_at_once(srv) == [201, 201] + [409] * 14


def test_an_integration_books_and_cancels_staff_list_the_day(server, http):
    integration = {"Authorization": f"Bearer {server.token('integration')}"}
    day, slots = open_day(http, after=2)
    made = http.post(
        "/api/v1/bookings",
        headers=integration,
        json={
            "service": "HT",
            "date": day,
            "start": slots[0]["start"],
            "name": "Cổng dịch vụ công",
            "phone": "0911222333",
        },
    )
    assert made.status_code == 201, made.text
    listed = http.get(
        "/api/v1/bookings",
        params={"date": day, "service": "HT"},
        headers={"Authorization": f"Bearer {server.token('supervisor')}"},
    ).json()["bookings"]
    assert made.json()["code"] in [b["code"] for b in listed]
    assert_error(http.get("/api/v1/bookings", headers=integration), 403, "forbidden_role")
    assert http.delete(f"/api/v1/bookings/{made.json()['code']}", headers=integration).json()["status"] == "cancelled"


def test_booking_settings_are_edited_live_and_checked_like_the_config_file(live_server):
    srv = live_server()
    http = srv.session()
    admin = {"Authorization": f"Bearer {srv.token('admin')}"}
    changed = http.patch(
        "/api/v1/admin/services/CT",
        headers=admin,
        json={"booking": {"slot_minutes": 30, "per_slot": 1, "days_ahead": 3}},
    )
    assert changed.status_code == 200, changed.text
    day, slots = open_day(http, "CT")
    assert (slots[0]["end"] > slots[0]["start"], slots[0]["free"]) == (True, 1)
    assert len(http.get("/api/v1/services/CT/slots", params={"date": day}).json()) <= 19  # half hours
    assert_error(
        http.patch("/api/v1/admin/services/CT", headers=admin, json={"booking": {"per_slot": 0}}),
        422,
        "invalid_field",
        "booking.per_slot",
    )
    assert http.patch("/api/v1/admin/services/CT", headers=admin, json={"booking": None}).status_code == 200
    refused = assert_error(http.get("/api/v1/services/CT/slots", params={"date": day}), 409, "booking_not_offered")
    assert "“Chứng thực”" in refused["message"], refused  # by its name, not its code
    assert "“Certification”" in refused["translations"]["en"]["message"], refused

    # a holiday saved after the citizen's page listed the day: the booking names the holiday, not "no slot"
    day, slots = open_day(http)
    assert http.patch("/api/v1/admin/site", headers=admin, json={"holidays": [day]}).status_code == 200
    holiday = assert_error(book(http, day, slots[0]["start"], PHONE), 422, "booking_holiday", "date")
    shown = dt.date.fromisoformat(day).strftime("%d/%m/%Y")
    assert holiday["message"].startswith(f"Ngày {shown} là ngày nghỉ"), holiday
    # ... and a day that is no working day names the working days (config.yaml: Monday to Saturday)
    sunday = next(d for d in (site_today() + dt.timedelta(days=n) for n in range(7)) if d.weekday() == 6)
    closed = assert_error(book(http, sunday.isoformat(), "08:00", PHONE), 422, "booking_closed_day", "date")
    assert closed["message"].startswith(f"Ngày {sunday:%d/%m/%Y} không phải ngày làm việc"), closed
    assert "Thứ Hai đến Thứ Bảy" in closed["message"], closed


def test_the_bookings_report_counts_per_service_and_day(server, http):
    day, slots = open_day(http, after=3)
    assert book(http, day, slots[0]["start"], "0911333444").status_code == 201
    supervisor = {"Authorization": f"Bearer {server.token('supervisor')}"}
    today = site_today().isoformat()
    report = http.get("/api/v1/reports/bookings", headers=supervisor, params={"from": today, "to": day})
    assert report.status_code == 200, report.text
    row = next(r for r in report.json()["days"] if r["date"] == day and r["service"] == "HT")
    assert row["booked"] >= 1 and row["no_show"] == 0
    assert {"no_show_rate", "punctuality", "booked_share"} <= report.json()["totals"].keys()
    assert_error(
        http.get("/api/v1/reports/bookings", headers=supervisor, params={"from": day, "to": today}),
        422,
        "invalid_field",
        "to",
    )
    assert_error(http.get("/api/v1/reports/bookings", params={"from": today, "to": day}), 401, "unauthorized")
    assert_error(  # no file form yet: refused naming the field, not answered as JSON
        http.get("/api/v1/reports/bookings", headers=supervisor, params={"from": today, "to": day, "format": "csv"}),
        422,
        "invalid_field",
        "format",
    )
    assert_error(
        http.get(
            "/api/v1/reports/bookings",
            params={"from": today, "to": day},
            headers={"Authorization": f"Bearer {server.token('integration')}"},
        ),
        403,
        "forbidden_role",
    )


def test_the_printed_ticket_of_a_check_in_says_it_is_a_booking(live_server, config_variant, sio_client):
    """The mark on its own line; a kiosk agent fetching the job gets its content as every agent reads it,
    one older than the mark too (which stops on a key it does not know): the mark in the footer."""
    config = config_variant()
    config["printers"] = [{"id": "kiosk-1", "driver": "agent"}]  # (the jobs wait for the agent below)
    srv = live_server(config)
    http = srv.session()
    taken = remote(http, "0912345010").json()
    ticket = http.post("/api/v1/check-in", json={"code": taken["code"], "kiosk": "kiosk-1"}).json()
    walk_in = http.post("/api/v1/tickets", json={"service": "HT", "kiosk": "kiosk-1"}).json()
    agent = sio_client(srv, auth={"token": srv.token("admin")})
    assert agent.sio.call("agent.hello", {"kiosk": "kiosk-1"}, timeout=5)["printer"] == "kiosk-1"
    fetched = [job["content"] for job in agent.sio.call("print.fetch", None, timeout=5)["jobs"]]
    assert [content["number"] for content in fetched] == [ticket["display"], walk_in["display"]], fetched
    assert "mark" not in fetched[0], fetched[0]
    assert fetched[0]["footer"] == f"Số lấy từ xa — đã xác nhận có mặt. {FOOTER}", fetched[0]
    assert fetched[1]["footer"] == FOOTER, fetched[1]
    srv.stop()
    with sqlite3.connect(srv.database_url.removeprefix("sqlite:///")) as db:
        footers = dict(db.execute("SELECT t.number, p.content FROM print_jobs p JOIN tickets t ON t.id = p.ticket_id"))
    printed = json.loads(footers[ticket["number"]])  # the mark on its own line, above the centre's footer
    assert (printed["mark"], printed["footer"]) == ("Số lấy từ xa — đã xác nhận có mặt", FOOTER), printed
    walk_in_job = json.loads(footers[walk_in["number"]])  # no mark key: what a kiosk agent older than the mark prints
    assert "mark" not in walk_in_job and walk_in_job["footer"] == FOOTER, walk_in_job


# --- the people ahead and the clerk's list, as "next" calls -----------------------------------


def test_a_booked_citizen_whose_slot_has_begun_is_told_nobody_is_ahead_and_heads_the_clerks_list(live_server, tmp_path):
    """A tester's case: at 09:16 the 09:15 booking is "next" ahead of the walk-in who came at 09:00. The
    check-in and its ticket's page say nobody is ahead (not 1), the walk-in's says 1, and the counter's
    waiting list (what the clerk's console shows) puts the booking first; "next" then calls it."""
    clock = FakedClock(tmp_path / "clock", next_working_morning("09:00"))
    srv = live_server(env=clock.env())
    http = srv.session()
    booked = book(http, clock.start.date().isoformat(), "09:15", "0912345020")
    assert booked.status_code == 201, booked.text
    walk_in = http.post("/api/v1/tickets", json={"service": "HT"}).json()
    assert walk_in["waiting_ahead"] == 0
    clock.set(clock.start + dt.timedelta(minutes=16))

    checked_in = http.post("/api/v1/check-in", json={"code": booked.json()["code"]})
    assert checked_in.status_code == 201, checked_in.text
    ticket = checked_in.json()
    assert ticket["due_at"] is not None and ticket["waiting_ahead"] == 0
    assert http.get(f"/api/v1/tickets/{ticket['id']}").json()["waiting_ahead"] == 0
    assert http.get(f"/api/v1/tickets/{walk_in['id']}").json()["waiting_ahead"] == 1

    admin = {"Authorization": f"Bearer {srv.token('admin')}"}
    listed = http.get("/api/v1/counters/1", headers=admin).json()["queue"]
    assert [t["number"] for t in listed] == [ticket["number"], walk_in["number"]]
    assert http.post("/api/v1/counters/1/next", headers=admin).json()["number"] == ticket["number"]
