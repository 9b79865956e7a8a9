"""Issuing and following tickets through the REST API of a real server (SPEC "REST API").

What a kiosk and a citizen's phone see: the ticket they get, its place in the line, the
queue overview, and every refusal with its status, error code and a readable message.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from zoneinfo import ZoneInfo

import pytest
from api_helpers import assert_error, issue
from config_helpers import WEEKDAYS, closed_now
from faked_clock import FakedClock, next_working_morning

SPEC_FIELDS = {
    "id",
    "number",
    "display",
    "service",
    "priority",
    "status",
    "issued_at",
    "waiting_ahead",
    "eta_minutes",
    "track_url",
}
VIETNAMESE_LETTERS = re.compile("[ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ]", re.IGNORECASE)


def open_every_counter(server) -> None:
    """As when each clerk has signed in: counters start the day closed, and only open ones make a wait."""
    with server.session() as http:
        http.headers["Authorization"] = f"Bearer {server.token('admin')}"
        for number in range(1, 7):
            assert http.post(f"/api/v1/counters/{number}/open").json()["state"] == "open"


@pytest.fixture(scope="module")
def staffed(server):
    open_every_counter(server)
    return server


def waiting_total(http) -> dict[str, int]:
    response = http.get("/api/v1/queue")
    assert response.status_code == 200
    return {s["code"]: s["waiting"] for s in response.json()["services"]}


# --- issuing ----------------------------------------------------------------------------------


def test_issue_returns_the_ticket_a_kiosk_prints(staffed, http):
    before = dt.datetime.now(dt.UTC)
    response = http.post("/api/v1/tickets", json={"service": "CT"})
    after = dt.datetime.now(dt.UTC)

    assert response.status_code == 201, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    ticket = response.json()
    assert SPEC_FIELDS <= ticket.keys(), SPEC_FIELDS - ticket.keys()
    assert isinstance(ticket["id"], str) and ticket["id"]
    assert isinstance(ticket["number"], int) and 2001 <= ticket["number"] <= 2999
    assert ticket["display"] == str(ticket["number"])
    assert ticket["service"] == "CT"
    assert ticket["priority"] is None
    assert ticket["status"] == "waiting"
    issued = dt.datetime.fromisoformat(ticket["issued_at"].replace("Z", "+00:00"))
    assert issued.tzinfo is not None, "issued_at must say its time zone"
    assert before - dt.timedelta(seconds=1) <= issued <= after + dt.timedelta(seconds=1)
    assert isinstance(ticket["waiting_ahead"], int) and ticket["waiting_ahead"] >= 0
    assert isinstance(ticket["eta_minutes"], int) and ticket["eta_minutes"] >= 0
    # the QR code on the ticket leads to this server and this ticket
    assert ticket["track_url"].startswith(("http://127.0.0.1:", "http://localhost:"))
    assert ticket["track_url"].endswith(ticket["id"])


def test_numbers_increase_per_service_from_the_start_of_its_range(live_server):
    server = live_server()  # a fresh centre: nothing issued today yet
    open_every_counter(server)
    http = server.session()

    first = issue(http, "HT")
    second = issue(http, "HT")
    other = issue(http, "CT")
    third = issue(http, "HT")

    assert [first["number"], second["number"], third["number"]] == [1001, 1002, 1003]
    assert other["number"] == 2001
    assert [t["display"] for t in (first, second, other, third)] == ["1001", "1002", "2001", "1003"]
    assert len({t["id"] for t in (first, second, other, third)}) == 4
    # people ahead count the same service only; the estimate grows with them
    assert [first["waiting_ahead"], second["waiting_ahead"], third["waiting_ahead"]] == [0, 1, 2]
    assert other["waiting_ahead"] == 0
    assert first["eta_minutes"] == 0 == other["eta_minutes"]
    assert 0 < second["eta_minutes"] <= third["eta_minutes"]


def test_track_url_opens_the_ticket_page(http):
    """The QR code printed on the ticket: the citizen's phone opens it to follow the queue."""
    ticket = issue(http, "VH")
    page = http.get(ticket["track_url"])
    assert page.status_code == 200, f"{ticket['track_url']} answered {page.status_code}"
    assert page.headers["Content-Type"].startswith("text/html")
    assert str(ticket["number"]) in page.text


def test_priority_and_kiosk_are_kept_on_the_ticket(http):
    ticket = issue(http, "TK", priority="elderly", kiosk="kiosk-1")
    assert ticket["priority"] == "elderly"
    assert ticket["service"] == "TK"

    again = http.get(f"/api/v1/tickets/{ticket['id']}").json()
    assert again["priority"] == "elderly"
    assert again["number"] == ticket["number"]


def test_get_ticket_follows_its_position_and_estimate(staffed, http):
    server = staffed
    """The citizen's phone: position and estimated wait shrink when people ahead are called."""
    # DC is issued by no other test of this module, and only counter 4 serves it
    tickets = [issue(http, "DC") for _ in range(3)]
    last = http.get(f"/api/v1/tickets/{tickets[2]['id']}").json()
    assert last["status"] == "waiting"
    assert last["waiting_ahead"] == 2
    assert last["eta_minutes"] > 0
    assert SPEC_FIELDS <= last.keys()

    admin = server.token("admin")
    called = http.post("/api/v1/counters/4/next", headers={"Authorization": f"Bearer {admin}"})
    assert called.status_code == 200, called.text
    assert called.json()["id"] == tickets[0]["id"]

    first = http.get(f"/api/v1/tickets/{tickets[0]['id']}").json()
    assert first["status"] == "called"
    assert first["counter"] == 4
    assert first["waiting_ahead"] == 0
    moved = http.get(f"/api/v1/tickets/{tickets[2]['id']}").json()
    assert moved["waiting_ahead"] == 1
    assert 0 < moved["eta_minutes"] <= last["eta_minutes"]


def test_get_unknown_ticket_is_404(http):
    assert_error(http.get("/api/v1/tickets/no-such-ticket"), 404, "unknown_ticket")


def test_queue_shows_waiting_per_service_and_every_counter(staffed, http):
    before = waiting_total(http)
    issue(http, "LD")
    issue(http, "LD", priority="pregnant")

    response = http.get("/api/v1/queue")
    assert response.status_code == 200
    body = response.json()
    services = {s["code"]: s for s in body["services"]}
    assert set(services) == {"HT", "CT", "DC", "LD", "VH", "TK"}
    assert services["LD"]["waiting"] == before["LD"] + 2
    assert services["LD"]["priority"] >= 1
    assert services["LD"]["name"] == "Lao động - Thương binh và Xã hội"
    counters = {c["number"]: c for c in body["counters"]}
    assert set(counters) == {1, 2, 3, 4, 5, 6}
    assert counters[5]["services"] == ["LD", "VH"]
    assert counters[5]["state"] == "open"
    assert body["site"]["id"] == "phuc-la"


# --- refusals ---------------------------------------------------------------------------------

REFUSALS = [
    pytest.param({"json": {"service": "XX"}}, 404, "unknown_service", None, id="unknown-service"),
    pytest.param({"json": {"service": "HT", "priority": "vip"}}, 404, "unknown_priority", None, id="unknown-priority"),
    pytest.param({"json": {"service": "HT", "kiosk": "kiosk-99"}}, 404, "unknown_kiosk", None, id="unknown-kiosk"),
    pytest.param(
        {"data": '{"service": "HT"', "headers": {"Content-Type": "application/json"}},
        422,
        "bad_json",
        None,
        id="malformed-json",
    ),
    pytest.param(
        {"data": "service=HT", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
        422,
        "bad_json",
        None,
        id="form-body",
    ),
    pytest.param({"json": {}}, 422, "invalid_field", "service", id="missing-service"),
    pytest.param({}, 422, "invalid_field", "service", id="empty-body"),
    pytest.param({"json": {"service": 5}}, 422, "invalid_field", "service", id="service-not-a-string"),
    pytest.param({"json": {"service": ""}}, 422, "invalid_field", "service", id="service-empty"),
    pytest.param(
        {"json": {"service": "HT", "priority": 1}}, 422, "invalid_field", "priority", id="priority-not-a-string"
    ),
    pytest.param({"json": {"service": "HT", "colour": "red"}}, 422, "invalid_field", "colour", id="extra-field"),
    pytest.param({"json": ["HT"]}, 422, "invalid_field", "(body)", id="body-is-a-list"),
    pytest.param({"json": "HT"}, 422, "invalid_field", "(body)", id="body-is-a-string"),
]


@pytest.mark.parametrize("request_kwargs, status, code, field", REFUSALS)
def test_issue_refusals_name_the_problem_and_write_nothing(http, request_kwargs, status, code, field):
    before = waiting_total(http)
    response = http.post("/api/v1/tickets", **request_kwargs)
    assert_error(response, status, code, field)
    assert waiting_total(http) == before, "a refused ticket must not be counted as waiting"


def test_messages_are_vietnamese_by_default_and_english_on_request(server, http):
    default = assert_error(http.post("/api/v1/tickets", json={"service": "XX"}), 404, "unknown_service")
    assert "XX" in default["message"]
    assert VIETNAMESE_LETTERS.search(default["message"]), default["message"]
    assert "Không có dịch vụ" in default["message"]

    english = server.session(language="en-GB,en;q=0.9")
    en = assert_error(english.post("/api/v1/tickets", json={"service": "XX"}), 404, "unknown_service")
    assert "XX" in en["message"]
    assert "no service" in en["message"]
    assert not VIETNAMESE_LETTERS.search(en["message"]), en["message"]

    # a refused field is explained in the asked language too
    vi_field = assert_error(http.post("/api/v1/tickets", json={}), 422, "invalid_field", "service")
    en_field = assert_error(english.post("/api/v1/tickets", json={}), 422, "invalid_field", "service")
    assert "bắt buộc" in vi_field["message"]
    assert "required" in en_field["message"]


def test_unknown_route_is_a_json_404(http):
    for path in ("/api/v1/nothing-here", "/no/such/page"):
        error = assert_error(http.get(path), 404, "not_found")
        assert path in error["message"]


def test_wrong_method_is_a_json_405(http):
    assert_error(http.delete("/api/v1/tickets"), 405, "method_not_allowed")
    assert_error(http.get("/api/v1/counters/1/next"), 405, "method_not_allowed")
    assert_error(http.put("/api/v1/queue", json={}), 405, "method_not_allowed")


def test_closed_hours_refuse_tickets(live_server, config_variant):
    cfg = closed_now(config_variant())
    cfg["site"]["hours"]["holidays"] = []  # not a working weekday, and no holiday
    closed = live_server(cfg, flags=())  # opening hours enforced
    http = closed.session()

    # at any hour: today is no working day, said as such with the working days (not "outside 07:30–17:00")
    error = assert_error(http.post("/api/v1/tickets", json={"service": "HT"}), 409, "closed_day")
    assert error["message"].startswith("Hôm nay không phải ngày làm việc, Trung tâm không cấp số."), error
    assert " (07:30–17:00). Xin mời Ông/Bà quay lại" in error["message"], error  # the hours after the days
    names = dict(zip(WEEKDAYS, ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật"]))
    working = cfg["site"]["hours"]["days"]
    assert names[working[0]] in error["message"] and names[working[-1]] in error["message"], error
    assert not any(names[day] in error["message"] for day in WEEKDAYS if day not in working), error
    en = assert_error(closed.session("en").post("/api/v1/tickets", json={"service": "HT"}), 409, "closed_day")
    assert en["message"].startswith("Today is not a working day"), en
    assert " (07:30–17:00). Please come back" in en["message"], en
    # reading still works while closed, and nothing was issued
    assert all(count == 0 for count in waiting_total(http).values())


def test_a_holiday_refusal_says_it_is_a_holiday(live_server, config_variant):
    """Not only the hours, which would send the citizen back at 07:30 (the kiosk's screen says it too)."""
    holiday = live_server(closed_now(config_variant()), flags=())  # today is a holiday
    error = assert_error(holiday.session().post("/api/v1/tickets", json={"service": "HT"}), 409, "closed_holiday")
    assert error["message"].startswith("Hôm nay là ngày nghỉ, Trung tâm không cấp số.")
    assert "07:30–17:00" in error["message"]
    assert error["translations"]["en"]["message"].startswith("Today is a holiday")
    assert all(count == 0 for count in waiting_total(holiday.session()).values())


def test_a_service_no_counter_serves_gives_no_number_and_no_booking(live_server, config_variant):
    """Nobody would ever call it: 409 naming the service (in each language), at the API, the kiosk's
    page data and the booking page; once a counter serves it, it is offered again."""
    srv = live_server(config_variant())
    http = srv.session()
    admin = {"Authorization": f"Bearer {srv.token('admin')}"}
    added = http.post(  # /admin saves a new service before any counter is ticked for it
        "/api/v1/admin/services",
        json={
            "code": "XL",
            "name": {"vi": "Xây dựng", "en": "Construction"},
            "numbers": {"start": 9001, "end": 9999},
            "booking": {"slot_minutes": 15, "per_slot": 2, "days_ahead": 6},
        },
        headers=admin,
    )
    assert added.status_code == 201, added.text

    refused = assert_error(http.post("/api/v1/tickets", json={"service": "XL"}), 409, "service_unserved")
    assert "Chưa có quầy nào phục vụ dịch vụ “Xây dựng”" in refused["message"], refused
    assert "“Construction”" in refused["translations"]["en"]["message"], refused
    remote = {"service": "XL", "remote": True, "name": "Trần Thị Bình", "phone": "0912345678"}
    assert_error(http.post("/api/v1/bookings", json=remote), 409, "service_unserved")
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    assert_error(http.get("/api/v1/services/XL/slots", params={"date": tomorrow}), 409, "service_unserved")
    assert all(count == 0 for count in waiting_total(http).values()), "nothing was issued"
    assert "XL" not in _offered(http)
    assert "XL" not in [s["code"] for s in http.get("/book/page.json").json()["services"]]

    served = http.patch("/api/v1/admin/counters/4", json={"services": ["DC", "XL"]}, headers=admin)
    assert served.status_code == 200, served.text
    assert http.post("/api/v1/tickets", json={"service": "XL"}).status_code == 201
    assert "XL" in _offered(http)
    assert "XL" in [s["code"] for s in http.get("/book/page.json").json()["services"]]


def test_a_booking_made_before_its_service_lost_its_counters_still_checks_in_but_no_transfer_goes_there(
    live_server, config_variant, tmp_path
):
    """A slot booked or a remote number taken while a counter served HT is owed its number after /admin
    unticks HT at every counter; a new walk-in number for HT, and a clerk's transfer into HT, are refused
    (409 service_unserved, each with its own sentence). A transfer to one counter is still taken."""
    clock = FakedClock(tmp_path / "clock", next_working_morning("09:00"))  # today's 11:00 is still ahead
    srv = live_server(config_variant(), env=clock.env())
    http = srv.session()
    admin = {"Authorization": f"Bearer {srv.token('admin')}"}
    today = clock.start.date().isoformat()
    booking = {"service": "HT", "date": today, "start": "11:00", "name": "Nguyễn Văn An", "phone": "0912345678"}
    slot = http.post("/api/v1/bookings", json={**booking, "id_number": "001099012345"})
    assert slot.status_code == 201, slot.text
    remote = http.post(
        "/api/v1/bookings", json={"service": "HT", "remote": True, "name": "Trần Thị Bình", "phone": "0912345679"}
    )
    assert remote.status_code == 201, remote.text
    for counter in (1, 2):  # HT's counters serve something else from now on (the last asked: "confirm")
        body = {"services": ["CT"], **({"confirm": True} if counter == 2 else {})}
        untick = http.patch(f"/api/v1/admin/counters/{counter}", json=body, headers=admin)
        assert untick.status_code == 200, untick.text

    walk_in = assert_error(http.post("/api/v1/tickets", json={"service": "HT"}), 409, "service_unserved")
    assert "chưa thể lấy số hay đặt lịch" in walk_in["message"], walk_in
    for code, origin in ((slot.json()["code"], "booked"), (remote.json()["code"], "remote")):
        ticket = http.post("/api/v1/check-in", json={"code": code, "kiosk": "kiosk-1"})
        assert ticket.status_code == 201, ticket.text
        assert (ticket.json()["origin"], ticket.json()["status"]) == (origin, "waiting")
    assert waiting_total(http)["HT"] == 2

    assert http.post("/api/v1/counters/3/open", headers=admin).json()["state"] == "open"
    assert http.post("/api/v1/tickets", json={"service": "CT"}).status_code == 201
    called = http.post("/api/v1/counters/3/next", headers=admin)
    assert called.status_code == 200, called.text
    refused = assert_error(
        http.post("/api/v1/counters/3/transfer", json={"service": "HT"}, headers=admin), 409, "service_unserved"
    )
    assert refused["message"].startswith("Chưa có quầy nào phục vụ dịch vụ “Tư pháp - Hộ tịch”: không chuyển số")
    assert "Transfer it to another counter or service" in refused["translations"]["en"]["message"], refused
    assert "lấy số" not in refused["message"], "a clerk is not told that numbers cannot be taken"
    assert waiting_total(http)["HT"] == 2, "the number stayed at counter 3"
    moved = http.post("/api/v1/counters/3/transfer", json={"counter": 4}, headers=admin)
    assert moved.status_code == 200, moved.text


def _offered(http) -> list[str]:
    """The services kiosk-1's page offers (its page data, embedded in the page)."""
    page = re.search(r'<script id="qk-page" type="application/json">(.*?)</script>', http.get("/kiosk/kiosk-1").text)
    return json.loads(page.group(1))["service_order"]


def test_exhausted_range_refuses_the_next_number_and_keeps_the_queue_whole(live_server, config_variant):
    cfg = config_variant()
    cfg["services"][0]["numbers"] = {"start": 1001, "end": 1002}  # HT: two numbers a day
    http = live_server(cfg).session()

    assert [issue(http, "HT")["number"] for _ in range(2)] == [1001, 1002]
    error = assert_error(http.post("/api/v1/tickets", json={"service": "HT"}), 409, "range_exhausted")
    assert "1002" in error["message"]
    assert_error(http.post("/api/v1/tickets", json={"service": "HT"}), 409, "range_exhausted")

    assert waiting_total(http)["HT"] == 2
    # the other services go on
    assert issue(http, "CT")["number"] == 2001


def test_daily_limit_answers_429_with_the_time_until_the_next_opening(live_server, config_variant):
    cfg = config_variant()
    cfg["services"][0]["daily_limit"] = 2  # HT: the clerks take in two files a day
    http = live_server(cfg).session()
    assert [issue(http, "HT")["number"] for _ in range(2)] == [1001, 1002]

    response = http.post("/api/v1/tickets", json={"service": "HT"})
    error = assert_error(response, 429, "daily_limit_reached")
    assert "2" in error["message"] and "HT" in error["message"]
    # Retry-After leads to the opening time of a later working day
    hours = cfg["site"]["hours"]
    reopens = dt.datetime.now(ZoneInfo(cfg["site"]["timezone"])) + dt.timedelta(
        seconds=int(response.headers["Retry-After"])
    )
    assert reopens.strftime("%H:%M") == hours["open"], reopens
    assert reopens.strftime("%a").lower() in hours["days"] and reopens.date().isoformat() not in hours["holidays"]
    assert reopens.date() > dt.datetime.now(ZoneInfo(cfg["site"]["timezone"])).date()
    assert waiting_total(http)["HT"] == 2 and issue(http, "CT")["number"] == 2001


def test_required_kiosk_token_keeps_other_devices_from_issuing(live_server, config_variant):
    cfg = config_variant()
    cfg["limits"] = {"require_kiosk_token": True}
    server = live_server(cfg)
    http = server.session()
    error = assert_error(
        http.post("/api/v1/tickets", json={"service": "HT", "kiosk": "kiosk-1"}), 401, "kiosk_token_required"
    )
    assert "queuekiosk token create --role kiosk" in error["message"]
    assert_error(
        http.post("/api/v1/tickets", json={"service": "HT"}, headers={"Authorization": "Bearer qk_nope"}),
        401,
        "bad_token",
    )
    assert_error(
        http.post(
            "/api/v1/tickets", json={"service": "HT"}, headers={"Authorization": f"Bearer {server.token('display')}"}
        ),
        403,
        "forbidden_role",
    )
    assert waiting_total(http)["HT"] == 0, "a refused request issued nothing"

    kiosk = {"Authorization": f"Bearer {server.token('kiosk')}"}
    ticket = http.post("/api/v1/tickets", json={"service": "HT", "kiosk": "kiosk-1"}, headers=kiosk)
    assert ticket.status_code == 201 and ticket.json()["number"] == 1001, ticket.text
    assert http.get(f"/api/v1/tickets/{ticket.json()['id']}").status_code == 200, "following a ticket stays public"


def test_a_kiosk_token_bound_to_one_kiosk_acts_as_that_kiosk_only(live_server, config_variant, tmp_path):
    cfg = config_variant()
    cfg["printers"] = [{"id": p, "driver": "file", "path": str(tmp_path / p)} for p in ("p1", "p2")]
    cfg["kiosks"] = [{"id": "kiosk-1", "printer": "p1"}, {"id": "kiosk-2", "printer": "p2"}]
    server = live_server(cfg)
    http = server.session()
    kiosk_1 = {"Authorization": f"Bearer {server.kiosk_token('kiosk-1')}"}

    ticket = http.post("/api/v1/tickets", json={"service": "HT"}, headers=kiosk_1)
    assert ticket.status_code == 201 and ticket.json()["kiosk"] == "kiosk-1", ticket.text  # its kiosk by default
    error = assert_error(
        http.post("/api/v1/tickets", json={"service": "HT", "kiosk": "kiosk-2"}, headers=kiosk_1),
        403,
        "forbidden_kiosk",
    )
    assert "kiosk-1" in error["message"] and "kiosk-2" in error["message"]

    other = issue(http, "HT", kiosk="kiosk-2")
    again = http.post(f"/api/v1/tickets/{other['id']}/reprint", json={}, headers=kiosk_1)
    assert again.status_code == 202 and again.json()["printer"] == "p1", "a kiosk reprints on its own printer"
    assert_error(
        http.post(f"/api/v1/tickets/{other['id']}/reprint", json={"printer": "p2"}, headers=kiosk_1),
        403,
        "forbidden_printer",
    )
    unbound = {"Authorization": f"Bearer {server.token('kiosk')}"}
    assert_error(
        http.post(f"/api/v1/tickets/{other['id']}/reprint", json={}, headers=unbound), 403, "kiosk_token_unbound"
    )
    assert waiting_total(http)["HT"] == 2, "the refused requests issued nothing"


# --- the API's own description ------------------------------------------------------------------

SPEC_OPERATIONS = [
    ("post", "/tickets"),
    ("get", "/tickets/{}"),
    ("get", "/queue"),
    ("post", "/counters/{}/next"),
    ("post", "/counters/{}/recall"),
    ("post", "/counters/{}/start"),
    ("post", "/counters/{}/finish"),
    ("post", "/counters/{}/no-show"),
    ("post", "/counters/{}/pause"),
    ("post", "/counters/{}/resume"),
    ("post", "/counters/{}/transfer"),
]


def _resolve(doc: dict, ref: str):
    assert ref.startswith("#/"), f"only local references are expected: {ref}"
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"$ref {ref} does not resolve"
        node = node[part]
    return node


def _refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_openapi_document_describes_the_api(http):
    response = http.get("/api/v1/openapi.json")
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    doc = response.json()

    assert str(doc.get("openapi", "")).startswith("3."), doc.get("openapi")
    assert doc["info"]["title"] and doc["info"]["version"]
    assert isinstance(doc.get("paths"), dict) and doc["paths"]
    for ref in _refs(doc):
        _resolve(doc, ref)

    # paths may be written in full (/api/v1/...) or under a server URL ending in /api/v1
    def normalise(path: str) -> str:
        path = path.removeprefix("/api/v1")
        return re.sub(r"\{[^}]+\}", "{}", path)

    operations = {}
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                assert operation.get("responses"), f"{method.upper()} {path} lists no responses"
                operations[(method, normalise(path))] = operation
    missing = [op for op in SPEC_OPERATIONS if op not in operations]
    assert not missing, f"the OpenAPI document does not describe {missing}"
    assert "201" in operations[("post", "/tickets")]["responses"]

    try:  # the full validator, where it is installed
        from openapi_spec_validator import validate
    except ImportError:
        return
    validate(doc)


def test_a_retried_issue_with_the_same_idempotency_key_gives_the_same_ticket(http):
    key = {"Idempotency-Key": "tap-6f1c2a9e"}
    first = http.post("/api/v1/tickets", json={"service": "VH", "kiosk": "kiosk-1"}, headers=key)
    again = http.post("/api/v1/tickets", json={"service": "VH", "kiosk": "kiosk-1"}, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    following = http.post("/api/v1/tickets", json={"service": "VH"}).json()
    assert following["number"] == first.json()["number"] + 1  # the retry took no number
    other_body = http.post("/api/v1/tickets", json={"service": "HT", "kiosk": "kiosk-1"}, headers=key)
    assert_error(other_body, 422, "idempotency_key_reused")


def test_no_wait_is_promised_until_a_counter_for_the_service_opens(live_server, sio_client):
    """Counters are closed until someone opens them: the kiosk gets no estimate (null), and the queue
    overview says which counters are closed; opening counter 4 (the only one for DC) gives one.
    A number sent to a closed counter is promised no wait while that counter stays closed, even though an
    open counter serves its service; its people ahead are that counter's queue. Its page is told when
    that counter (of other services) opens or pauses; the counter removed, the number goes back to its queue."""
    server = live_server()
    http = server.session()
    assert {c["state"] for c in http.get("/api/v1/queue").json()["counters"]} == {"closed"}
    before = issue(http, "LD")  # counter 5's
    first, second = issue(http, "DC"), issue(http, "DC")
    assert (first["eta_minutes"], second["eta_minutes"]) == (None, None)
    assert http.get(f"/api/v1/tickets/{second['id']}").json()["eta_minutes"] is None

    device = server.session()
    device.headers["Authorization"] = f"Bearer {server.token('counter', 4)}"
    assert device.post("/api/v1/counters/4/open").json()["state"] == "open"
    assert http.get(f"/api/v1/tickets/{second['id']}").json()["eta_minutes"] == 10
    assert issue(http, "DC")["eta_minutes"] == 20  # (a third DC walk-in)
    assert_error(device.post("/api/v1/counters/3/open"), 403, "forbidden_counter")
    assert device.post("/api/v1/counters/4/close").json()["state"] == "closed"
    assert http.get(f"/api/v1/tickets/{second['id']}").json()["eta_minutes"] is None

    assert device.post("/api/v1/counters/4/open").json()["state"] == "open"
    assert device.post("/api/v1/counters/4/next").json()["id"] == first["id"]
    moved = device.post("/api/v1/counters/4/transfer", json={"counter": 5})
    assert moved.status_code == 200 and moved.json()["target_counter"] == 5, moved.text
    sent = http.get(f"/api/v1/tickets/{first['id']}").json()
    assert (sent["eta_minutes"], sent["eta_range"]) == (None, None), sent  # counter 5 is closed
    assert sent["waiting_ahead"] == 1, f"{before['number']}, counter 5's, is called first: {sent}"
    # counter 4 calls the other DC walk-in next: the number sent to counter 5 is not ahead of it
    assert http.get(f"/api/v1/tickets/{second['id']}").json()["waiting_ahead"] == 0
    # nor of a walk-in issued now: what the kiosk shows and prints is what its page says a second later
    walk_in = issue(http, "DC")
    status = http.get(f"/api/v1/tickets/{walk_in['id']}").json()
    assert (walk_in["waiting_ahead"], walk_in["eta_minutes"]) == (status["waiting_ahead"], status["eta_minutes"])
    assert walk_in["waiting_ahead"] == 2, walk_in  # the two DC walk-ins before it, not the number sent away

    phone = sio_client(server)  # the tracking page of the number sent to counter 5 (LD, VH: not DC's)
    assert phone.subscribe({"ticket": first["id"]}) == {"ok": True}
    admin = {"Authorization": f"Bearer {server.token('admin')}"}
    mark = phone.mark()
    assert http.post("/api/v1/counters/5/open", headers=admin).json()["state"] == "open"
    phone.wait_for("counter.changed", lambda data: data["counter"] == 5 and data["state"] == "open", since=mark)
    sent = http.get(f"/api/v1/tickets/{first['id']}").json()
    # the LD citizen ahead takes LD's time (7 min by default), not the DC number's own (10)
    assert (sent["eta_minutes"], sent["eta_range"], sent["waiting_ahead"]) == (7, [7, 7], 1), sent
    mark = phone.mark()
    assert http.post("/api/v1/counters/5/pause", headers=admin, json={}).json()["state"] == "paused"
    phone.wait_for("counter.changed", lambda data: data["counter"] == 5 and data["state"] == "paused", since=mark)
    sent = http.get(f"/api/v1/tickets/{first['id']}").json()
    assert (sent["eta_minutes"], sent["eta_range"], sent["waiting_ahead"]) == (None, None, 1), sent

    # counter 5 removed in /admin (LD and VH left unserved: confirmed): as a close, the number goes back to DC
    mark = phone.mark()
    removed = http.delete("/api/v1/admin/counters/5", headers=admin, params={"confirm": "1"})
    assert removed.status_code == 200, removed.text
    requeued = phone.wait_for("ticket.requeued", lambda data: data["ticket"]["id"] == first["id"], since=mark)
    assert requeued["ticket"]["target_counter"] is None, requeued
    back = http.get(f"/api/v1/tickets/{first['id']}")
    assert back.status_code == 200 and back.json()["target_counter"] is None, back.text
    assert back.json()["eta_minutes"] is not None, back.json()  # counter 4, open, calls it again
    assert http.get(f"/t/{first['id']}").status_code == 200
    assert phone.subscribe({"ticket": first["id"]}) == {"ok": True}
    with sqlite3.connect(server.database_url.removeprefix("sqlite:///")) as db:  # the event log, as a close's
        logged = db.execute(
            "SELECT e.kind, e.detail FROM events e JOIN counters c ON c.id = e.counter_id WHERE c.number = 5 ORDER BY e.id"
        ).fetchall()
    assert [kind for kind, _ in logged[-2:]] == ["requeued", "closed"] and "removed" in logged[-1][1], logged
