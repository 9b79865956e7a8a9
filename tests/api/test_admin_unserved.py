"""A change of the counters that leaves a service nobody serves while citizens wait for it or hold bookings
of it (docs/admin.md): refused unless the request says it knows ("confirm"), on a real server over HTTP.

The repo's config.yaml: DC is served by counter 4 alone, HT by counters 1 and 2 (and takes bookings).
"""

from __future__ import annotations

import datetime as dt

import pytest
from api_helpers import assert_error, issue
from faked_clock import on_a_working_morning


@pytest.fixture
def admin(live_server, tmp_path):
    """An admin on a server whose clock reads 09:00 on a working day: today's numbers stay today's."""
    server = live_server(env=on_a_working_morning(tmp_path))
    http = server.session()
    http.headers["Authorization"] = f"Bearer {server.token('admin')}"
    yield server, http
    http.close()


def _served_by(http, number: int):
    return next(c for c in http.get("/api/v1/admin/counters").json() if c["number"] == number)["services"]


def test_unticking_the_last_counter_of_a_service_with_citizens_waiting_asks_first(admin):
    """Counter 4's DC unticked with two numbers waiting: DC became unserved, its new numbers refused and
    the two waiting called by nobody, without a word to the supervisor."""
    _server, http = admin
    issue(http, "DC")
    issue(http, "DC")
    error = assert_error(
        http.patch("/api/v1/admin/counters/4", json={"services": []}), 409, "setup_service_left_unserved", "services"
    )
    said = "không quầy nào phục vụ dịch vụ “Địa chính - Đô thị - Xây dựng” (DC), còn 2 số đang chờ và 0 lịch hẹn"
    assert said in error["message"], error
    english = "“Land - Urban affairs - Construction” (DC), for which 2 numbers are waiting and 0 bookings"
    assert english in error["translations"]["en"]["message"], error
    assert _served_by(http, 4) == ["DC"], "nothing was saved"
    issue(http, "DC")  # the kiosk still gives DC numbers

    assert_error(http.delete("/api/v1/admin/counters/4"), 409, "setup_service_left_unserved")
    done = http.patch("/api/v1/admin/counters/4", json={"services": [], "confirm": True})
    assert done.status_code == 200, done.text
    assert done.json()["services"] == [] and "confirm" not in done.json()
    refused = http.post("/api/v1/tickets", json={"service": "DC"})
    assert_error(refused, 409, "service_unserved")
    # who stopped DC with three waiting: in the audit log
    events = [e for e in http.get("/api/v1/audit").json()["events"] if e["kind"] == "setup_changed"]
    assert events[0]["detail"]["left_unserved"] == {"services": ["DC"], "waiting": 3, "booked": 0}, events[0]


def test_a_service_whose_bookings_would_arrive_to_nobody_asks_and_a_service_still_served_does_not(admin):
    _server, http = admin
    # HT keeps counter 2: nothing asked, even with a citizen waiting for it
    today = dt.date.fromisoformat(issue(http, "HT")["business_day"])
    assert http.patch("/api/v1/admin/counters/1", json={"services": ["CT"]}).status_code == 200
    for ahead in range(1, 7):
        day = (today + dt.timedelta(days=ahead)).isoformat()
        free = [s for s in http.get("/api/v1/services/HT/slots", params={"date": day}).json() if s["free"]]
        if free:
            break
    assert free, "no free HT slot in the next 6 days"
    body = {"service": "HT", "date": day, "start": free[0]["start"], "name": "Nguyễn Văn An", "phone": "0912345678"}
    booked = http.post("/api/v1/bookings", json=body)
    assert booked.status_code == 201, booked.text
    error = assert_error(
        http.patch("/api/v1/admin/counters/2", json={"services": ["CT"]}), 409, "setup_service_left_unserved"
    )
    assert "(HT), còn 1 số đang chờ và 1 lịch hẹn từ hôm nay trở đi" in error["message"], error
    # the same change removing the counter is asked too, and saved when the request says it knows
    assert_error(http.delete("/api/v1/admin/counters/2"), 409, "setup_service_left_unserved")
    assert http.delete("/api/v1/admin/counters/2", params={"confirm": "true"}).status_code == 200
    assert "HT" not in {code for c in http.get("/api/v1/admin/counters").json() for code in c["services"]}
