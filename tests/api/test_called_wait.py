"""The "called" event's ``wait_seconds`` (the event log an administrator reads at /admin, GET
/api/v1/audit) is the citizen's wait in the lobby, as the reports and the clerk console count it: from
joining the queue, a remote number's check-in, not its phone request. Through the real server with its
clock set (tests/faked_clock.py)."""

from __future__ import annotations

import datetime as dt

from faked_clock import FakedClock, next_working_morning


def _at(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))


def test_the_called_event_counts_a_remote_number_s_wait_from_its_check_in(live_server, tmp_path):
    clock = FakedClock(tmp_path / "clock", next_working_morning("09:00"))
    srv = live_server(env=clock.env())
    http = srv.session()
    admin = {"Authorization": f"Bearer {srv.token('admin')}"}
    taken = http.post(  # on the phone at 09:00
        "/api/v1/bookings", json={"service": "HT", "remote": True, "name": "Trần Thị Bình", "phone": "0912345101"}
    )
    assert taken.status_code == 201, taken.text
    clock.set(clock.start + dt.timedelta(minutes=40))  # at the kiosk at 09:40
    checked_in = http.post("/api/v1/check-in", json={"code": taken.json()["code"], "kiosk": "kiosk-1"})
    assert checked_in.status_code == 201, checked_in.text
    clock.set(clock.start + dt.timedelta(minutes=45))  # called at 09:45
    called = http.post("/api/v1/counters/1/next", headers=admin)
    assert called.status_code == 200 and called.json()["number"] == taken.json()["number"], called.text
    ticket = called.json()
    waited = (_at(ticket["called_at"]) - _at(ticket["queued_at"])).total_seconds()
    assert 240 < waited <= 320, ticket  # 5 minutes in the lobby

    events = http.get("/api/v1/audit", headers=admin, params={"limit": 20}).json()["events"]
    (event,) = [e for e in events if e["kind"] == "called" and e["ticket"] == ticket["number"]]
    # what the reports and the console say (not the 45 minutes since the phone request)
    assert abs(event["detail"]["wait_seconds"] - waited) < 0.01, (event, ticket)
