"""A change of the opening hours, working days or holidays that would leave citizens holding bookings at a
closed door (docs/admin.md, "Hours and holidays"): refused naming the field and the bookings' days unless the
request says it knows ("confirm"), as a change leaving a service unserved; confirmed, the centre cancels them
with the reason, which their page, their webhook event and the bookings report say. On a real server over
HTTP, its clock at 09:00 of a working day.

The repo's config.yaml: open 07:30-17:00 Monday to Saturday; HT takes bookings (15-minute slots, 6 days ahead).
"""

from __future__ import annotations

import datetime as dt

import pytest
from api_helpers import assert_error, issue
from faked_clock import on_a_working_morning
from webhook_receiver import Receiver


@pytest.fixture
def staff(live_server, tmp_path):
    """An admin and a supervisor on a server whose clock reads 09:00 on a working day."""
    server = live_server(env=on_a_working_morning(tmp_path))
    admin, supervisor = server.session(), server.session()
    admin.headers["Authorization"] = f"Bearer {server.token('admin')}"
    supervisor.headers["Authorization"] = f"Bearer {server.token('supervisor')}"
    yield server, admin, supervisor
    admin.close()
    supervisor.close()


def _today(http) -> dt.date:
    return dt.date.fromisoformat(issue(http, "CT")["business_day"])


def _book(http, day: dt.date, start: str, phone: str) -> dict:
    body = {"service": "HT", "date": day.isoformat(), "start": start, "name": "Nguyễn Văn An", "phone": phone}
    booked = http.post("/api/v1/bookings", json=body)
    assert booked.status_code == 201, booked.text
    return booked.json()


def _working_day(today: dt.date, after: int) -> dt.date:
    day = today + dt.timedelta(days=after)
    return day if day.weekday() != 6 else day + dt.timedelta(days=1)  # (Sunday: closed already)


def _status(http, code: str) -> tuple:
    booking = http.get(f"/api/v1/bookings/{code}").json()
    return booking["status"], booking["cancel_reason"]


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.close()


def test_a_holiday_on_a_booked_day_asks_first_then_cancels_those_bookings_with_the_reason(staff, receiver):
    """The tester's finding: a holiday added on a day with bookings saved with "Đã lưu", and the bookings
    still told their citizens to come on a day the centre is closed."""
    _server, admin, supervisor = staff
    hook = admin.post("/api/v1/admin/webhooks", json={"url": receiver.url, "events": ["booking.cancelled"]})
    assert hook.status_code == 201, hook.text
    today = _today(admin)
    day, kept_day = _working_day(today, 2), _working_day(today, 4)
    first = _book(admin, day, "08:00", "0912000001")
    second = _book(admin, day, "10:00", "0912000002")
    kept = _book(admin, kept_day, "08:00", "0912000003")
    remote = admin.post(
        "/api/v1/bookings", json={"service": "HT", "remote": True, "name": "Trần Thị Bình", "phone": "0912000004"}
    )
    assert remote.status_code == 201, remote.text
    holidays = admin.get("/api/v1/admin/site").json()["holidays"]

    wanted = {"holidays": [*holidays, today.isoformat(), day.isoformat()]}
    error = assert_error(
        supervisor.patch("/api/v1/admin/site", json=wanted), 409, "setup_bookings_stranded", "hours.holidays"
    )
    shown = f"{day.day:02d}/{day.month:02d}/{day.year}"
    # read in one go: the field as /admin labels it, no API path, no brackets inside brackets
    message, english = error["message"], error["translations"]["en"]["message"]
    assert message.startswith("Chưa lưu “Ngày nghỉ”: thay đổi này làm 3 lịch hẹn đã đặt rơi vào lúc"), error
    assert f"2 lịch vào ngày {shown}, nay là ngày nghỉ" in message, error
    assert "hãy xác nhận" in message, error
    assert english.startswith("“Holidays” is not saved: this change leaves 3 bookings at a time"), error
    assert f"2 bookings on {shown}, now a day off" in english, error
    assert not any(mark in text for text in (message, english) for mark in ("(", "hours.", "holidays”:")), error
    assert admin.get("/api/v1/admin/site").json()["holidays"] == holidays, "nothing was saved"
    assert _status(admin, first["code"]) == ("booked", None)

    done = supervisor.patch("/api/v1/admin/site", json={**wanted, "confirm": True})
    assert done.status_code == 200, done.text
    assert day.isoformat() in done.json()["holidays"] and "confirm" not in done.json()
    for booking in (first, second, remote.json()):
        assert _status(admin, booking["code"]) == ("cancelled", "closed_day"), booking
    assert _status(admin, kept["code"]) == ("booked", None), "a booking on a day still open stays"
    # its remote number is no longer held for its citizen
    ticket = admin.get(f"/api/v1/tickets/{remote.json()['ticket']}").json()
    assert ticket["status"] == "expired", ticket
    # an integration hears each, with the reason (the code that would cancel it is never sent)
    told = receiver.wait_for(3)
    assert {(r.event, r.json["data"]["booking"]["cancel_reason"]) for r in told} == {
        ("booking.cancelled", "closed_day")
    }
    assert not any(first["code"] in r.body.decode() for r in told)
    # who decided it, in the audit log
    events = [e for e in admin.get("/api/v1/audit").json()["events"] if e["kind"] == "setup_changed"]
    assert events[0]["detail"]["bookings_cancelled"] == {
        "count": 3,
        "days": sorted([today.isoformat(), day.isoformat()]),
    }
    # the bookings report counts them cancelled, and cancelled by the centre
    report = admin.get("/api/v1/reports/bookings", params={"from": day.isoformat(), "to": day.isoformat()}).json()
    assert (report["totals"]["cancelled"], report["totals"]["cancelled_by_centre"]) == (2, 2), report["totals"]


def test_shorter_hours_cancel_only_the_slots_outside_them_once_confirmed(staff):
    _server, admin, _supervisor = staff
    day = _working_day(_today(admin), 1)
    early = _book(admin, day, "07:30", "0912000011")
    noon = _book(admin, day, "11:00", "0912000012")
    late = _book(admin, day, "16:30", "0912000013")

    error = assert_error(
        admin.patch("/api/v1/admin/site", json={"hours": {"open": "08:00", "close": "16:30"}}),
        409,
        "setup_bookings_stranded",
        "hours.open",
    )
    shown = f"{day.day:02d}/{day.month:02d}/{day.year}"
    assert error["message"].startswith("Chưa lưu “Giờ mở cửa”, “Giờ đóng cửa”:"), error  # both it changes
    assert "trung tâm sẽ hủy 2 lịch hẹn đó" in error["message"], error
    assert f"2 lịch vào ngày {shown}, ngoài giờ làm việc mới" in error["message"], error
    assert f"2 bookings on {shown}, outside the new hours" in error["translations"]["en"]["message"], error
    assert admin.get("/api/v1/admin/site").json()["hours"]["open"] == "07:30:00", "nothing was saved"

    done = admin.patch("/api/v1/admin/site", json={"hours": {"open": "08:00", "close": "16:30"}, "confirm": True})
    assert done.status_code == 200, done.text
    assert _status(admin, early["code"]) == ("cancelled", "hours_changed")
    assert _status(admin, late["code"]) == ("cancelled", "hours_changed")
    assert _status(admin, noon["code"]) == ("booked", None)
    # the freed places are bookable? no: the new hours offer no slot there; the kept one is still taken
    slots = {
        s["start"]: s["free"] for s in admin.get("/api/v1/services/HT/slots", params={"date": day.isoformat()}).json()
    }
    assert "07:30" not in slots and "16:30" not in slots and slots["11:00"] == 1, slots


def test_a_change_that_strands_nobody_is_saved_at_once(staff):
    _server, admin, supervisor = staff
    day = _working_day(_today(admin), 3)
    _book(admin, day, "09:00", "0912000021")
    other = _working_day(_today(admin), 5)
    if other == day:
        other += dt.timedelta(days=1)
    assert supervisor.patch("/api/v1/admin/site", json={"holidays": [other.isoformat()]}).status_code == 200
    assert admin.patch("/api/v1/admin/site", json={"hours": {"close": "16:00"}}).status_code == 200


def test_a_supervisor_changes_hours_holidays_and_a_field_of_the_admins_is_refused_by_its_name(staff):
    """The tester's finding (low): a supervisor's PATCH of hours.holidays was refused without naming a field."""
    _server, admin, supervisor = staff
    day = _working_day(_today(admin), 6)
    done = supervisor.patch("/api/v1/admin/site", json={"hours": {"holidays": [day.isoformat()]}})
    assert done.status_code == 200, done.text
    assert admin.get("/api/v1/admin/site").json()["holidays"] == [day.isoformat()]
    assert_error(
        supervisor.patch("/api/v1/admin/site", json={"hours": {"open": "08:00"}}), 403, "forbidden_role", "hours.open"
    )
    assert_error(
        supervisor.patch("/api/v1/admin/site", json={"hours": {"holidays": [], "close": "16:00"}}),
        403,
        "forbidden_role",
        "hours.close",
    )
    # the field named is the one the supervisor may not change, whatever its place in the alphabet
    assert_error(
        supervisor.patch("/api/v1/admin/site", json={"hours": {"open": "08:00", "holidays": [day.isoformat()]}}),
        403,
        "forbidden_role",
        "hours.open",
    )
    assert_error(supervisor.patch("/api/v1/admin/site", json={"name": "x"}), 403, "forbidden_role", "name")
    refused = assert_error(
        supervisor.patch("/api/v1/admin/site", json={"hours": {"holidays": ["2027-02-31"]}}), 422, "invalid_field"
    )
    assert "holidays" in refused["field"], refused


def test_a_confirm_that_is_not_true_or_false_is_refused_by_its_name(staff):
    _server, admin, _supervisor = staff
    for path, body in (("/api/v1/admin/site", {"hours": {"close": "16:00"}}), ("/api/v1/admin/counters/4", {})):
        refused = assert_error(admin.patch(path, json={**body, "confirm": {}}), 422, "invalid_field", "confirm")
        assert "true hoặc false" in refused["message"], refused
    assert admin.get("/api/v1/admin/site").json()["hours"]["close"] == "17:00:00", "nothing was saved"


def test_the_installation_s_sites_tab_asks_the_same_and_tells_the_dashboard(staff, sio_client):
    """PATCH /admin/sites/{id} (the installation's Điểm phục vụ tab) changes a site's hours too: asked the same
    way, and once confirmed the dashboard hears each booking cancelled."""
    server, admin, _supervisor = staff
    day = _working_day(_today(admin), 1)
    late = _book(admin, day, "16:45", "0912000041")
    assert_error(
        admin.patch("/api/v1/admin/sites/phuc-la", json={"hours": {"close": "16:30"}}),
        409,
        "setup_bookings_stranded",
        "hours.close",
    )
    dashboard = sio_client(server, auth={"token": server.token("supervisor")})
    assert dashboard.subscribe({"dashboard": True}) == {"ok": True}
    done = admin.patch("/api/v1/admin/sites/phuc-la", json={"hours": {"close": "16:30"}, "confirm": True})
    assert done.status_code == 200, done.text
    assert _status(admin, late["code"]) == ("cancelled", "hours_changed")
    heard = dashboard.wait_for("booking.cancelled")
    assert heard["booking"]["cancel_reason"] == "hours_changed" and heard["booking"]["start"] == "16:45", heard


def test_a_config_import_over_booked_days_asks_for_confirm_and_then_cancels_them(staff, tmp_path):
    """The import asks every question at once (here: HT left with no counter, and its booking on a new
    holiday), so --confirm confirms only what was said; once confirmed it says which bookings it cancelled."""
    import yaml

    server, admin, _supervisor = staff
    day = _working_day(_today(admin), 2)
    booked = _book(admin, day, "08:00", "0912000051")
    data = yaml.safe_load(server.cli("config", "export").stdout)
    data["site"]["hours"]["holidays"] = [day.isoformat()]
    for counter in data["counters"]:
        counter["services"] = [code for code in counter["services"] if code != "HT"] or ["CT"]
    path = tmp_path / "holiday.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    refused = server.cli("config", "import", str(path), check=False)
    assert refused.returncode == 1, refused.stderr
    date = f"{day.day:02d}/{day.month:02d}/{day.year}"
    assert "không quầy nào phục vụ" in refused.stderr, refused.stderr
    assert f"1 lịch vào ngày {date}, nay là ngày nghỉ" in refused.stderr, refused.stderr
    assert _status(admin, booked["code"]) == ("booked", None)
    done = server.cli("config", "import", str(path), "--confirm")
    assert _status(admin, booked["code"]) == ("cancelled", "closed_day")
    assert "1 lịch hẹn" in done.stderr and date in done.stderr, done.stderr
