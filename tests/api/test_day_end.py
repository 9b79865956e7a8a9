"""A running server passes local midnight (issue 7, end of the business day).

The server runs under libfaketime (Debian's faketime package), its wall clock started at
23:59:45 in Ho Chi Minh City and running on from there; its monotonic clock is left alone so
that gevent's timers behave. Nothing in the server knows it is being tested.
"""

from __future__ import annotations

import time

from api_helpers import PASSWORD, SUPERVISOR, issue, log_in
from faked_clock import faketime_env


def test_waiting_tickets_expire_at_midnight_and_every_screen_starts_the_new_day(live_server, sio_client):
    # Monday night; 15 s is ample to start (2-5 s on a busy 2-core machine) and act before midnight
    srv = live_server(env=faketime_env("2026-11-23 23:59:45"))
    http = srv.session()
    first, left = issue(http, "HT"), issue(http, "HT")
    assert left["business_day"] == "2026-11-23", "not the faked clock, or the server took over 15 s to start"
    assert (
        http.post("/api/v1/counters/1/next", headers={"Authorization": f"Bearer {srv.token('admin')}"}).json()["id"]
        == first["id"]
    )
    display, phone = sio_client(srv), sio_client(srv)
    display.subscribe({"display": "lobby"})
    phone.subscribe({"ticket": left["id"]})

    # half a second after midnight (at most 15 s from the start, plus the time the server took to start)
    expired = phone.wait_for("ticket.expired", timeout=60)
    assert (expired["ticket"]["id"], expired["ticket"]["status"]) == (left["id"], "expired")
    changed = display.wait_for("queue.changed", lambda e: e["waiting"]["HT"]["waiting"] == 0, timeout=5)
    assert all(count["waiting"] == 0 for count in changed["waiting"].values()), changed

    assert http.get(f"/api/v1/tickets/{left['id']}").json()["status"] == "expired"
    # called and never started when the day ended: a no-show, not served by the next morning's first press
    assert http.get(f"/api/v1/tickets/{first['id']}").json()["status"] == "no_show"
    counters = {c["number"]: c for c in http.get("/api/v1/queue").json()["counters"]}
    assert counters[1]["state"] == "closed" and counters[1]["ticket"] is None, "the lobby shows counter 1 closed"
    new_day = issue(http, "HT")
    assert (new_day["number"], new_day["business_day"]) == (1001, "2026-11-24")
    assert "1 waiting ticket(s) expired" in srv.log()


def test_a_number_still_being_served_at_midnight_is_served_by_its_clerk_with_no_service_time(live_server, sio_client):
    """A clerk who forgot "Kết thúc": the day's end finishes the number as served by that clerk, and
    no report counts a service time for it (nobody knows when the service ended)."""
    srv = live_server(env=faketime_env("2026-11-23 23:59:45"))
    srv.add_user(SUPERVISOR, PASSWORD, "supervisor")
    srv.add_user("lan", PASSWORD, "clerk", 1)
    http, lan = srv.session(), log_in(srv, "lan")
    held = issue(http, "HT")
    assert held["business_day"] == "2026-11-23", "not the faked clock, or the server took over 15 s to start"
    assert lan.post("/api/v1/counters/1/next").json()["id"] == held["id"]
    assert lan.post("/api/v1/counters/1/start").status_code == 200
    phone = sio_client(srv)
    phone.subscribe({"ticket": held["id"]})

    finished = phone.wait_for("ticket.finished", timeout=60)["ticket"]
    assert (finished["id"], finished["status"]) == (held["id"], "done")
    day = held["business_day"]
    supervisor = log_in(srv, SUPERVISOR)
    summary = supervisor.get(f"/api/v1/reports/summary?from={day}&to={day}&group_by=clerk").json()
    served = {row["label"]: (row["called"], row["served"]) for row in summary["rows"]}
    assert served == {"lan": (1, 1)}, summary["rows"]
    assert (summary["total"]["served"], summary["total"]["service_time"]["count"]) == (1, 0), summary["total"]
    procedures = supervisor.get("/api/v1/reports/procedures", params={"from": day, "to": day}).json()
    assert [(p["served"], p["average_service_minutes"]) for p in procedures["procedures"]] == [(1, None)]
    # the new morning, Lan's console counts what she did today only: yesterday's number is not served today
    today = lan.get("/api/v1/me/today").json()
    assert (today["day"], today["served"], today["calls"]) == ("2026-11-24", 0, 0), today


def test_under_keep_a_close_the_next_day_leaves_the_number_transferred_to_the_counter_the_day_before(
    live_server, sio_client, config_variant
):
    """Under ``policy.end_of_day: keep`` a number of the day before, sent to counter 2 alone, stays as it
    was when counter 2 opens and closes the next day: no day calls another day's numbers, so its citizen
    is told nothing, and the counters hear no count of the day before."""
    config = config_variant()
    config["policy"]["end_of_day"] = "keep"
    srv = live_server(config, env=faketime_env("2026-11-23 23:59:45"))
    keypads = {number: srv.token("counter", number) for number in (2, 3)}

    def press(at: int, action: str, **body):
        headers = {"Authorization": f"Bearer {keypads[at]}"}
        answer = http.post(f"/api/v1/counters/{at}/{action}", json=body or None, headers=headers)
        assert answer.status_code == 200, answer.text

    http = srv.session()
    kept = issue(http, "CT")
    assert kept["business_day"] == "2026-11-23", "not the faked clock, or the server took over 15 s to start"
    press(3, "next")
    press(3, "transfer", counter=2)
    phone, display = sio_client(srv), sio_client(srv)
    phone.subscribe({"ticket": kept["id"]})
    display.subscribe({"display": "lobby"})
    display.wait_for("queue.changed", lambda e: e["waiting"]["CT"]["waiting"] == 0, timeout=60)  # the new day
    marks = phone.mark(), display.mark()

    press(2, "open")
    press(2, "close")

    time.sleep(1)  # anything the close sent has arrived by now
    assert phone.received("ticket.requeued", since=marks[0]) == [], "told about a number nobody will call"
    assert display.received("queue.changed", since=marks[1]) == [], "the day before's counts on the displays"
    ticket = http.get(f"/api/v1/tickets/{kept['id']}").json()
    assert (ticket["status"], ticket["target_counter"]) == ("waiting", 2), ticket
