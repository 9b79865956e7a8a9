"""Counters left open with nobody at them (README "Not yet"), against a real server over HTTP and
Socket.IO: a supervisor closes a counter that still holds a number, which goes back to the waiting
list at its place (it keeps its issue time and its first call); the lobby, the counter's console
and the citizen's phone hear it at once; every refusal names what to do. A clerk disabled, or a
device's token revoked, closes the counters only they worked at, as a supervisor would.
"""

from __future__ import annotations

import time

from api_helpers import PASSWORD, SUPERVISOR, assert_error, issue, log_in
from ops_helpers import press, subscribed


def test_a_supervisor_closes_a_counter_holding_a_number_and_the_number_waits_again(live_server, sio_client):
    srv = live_server()
    srv.add_user(SUPERVISOR, PASSWORD, "supervisor")
    keypad = srv.token("counter", 4)  # counter 4 alone serves DC
    http = srv.session()
    first, second = issue(http, "DC"), issue(http, "DC")
    called = press(http, 4, "next", keypad)  # opens the counter and calls the first
    assert called["id"] == first["id"]
    press(http, 4, "start", keypad)  # being served when the clerk went home
    lobby = subscribed(sio_client, srv, {"display": "lobby"})
    console = subscribed(sio_client, srv, {"counter": 4}, keypad)
    phone = subscribed(sio_client, srv, {"ticket": first["id"]})
    marks = lobby.mark(), console.mark(), phone.mark()

    supervisor = log_in(srv, SUPERVISOR)
    answer = supervisor.post("/api/v1/counters/4/close", json={"requeue": first["number"]})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["state"], answer.json()["ticket"]) == ("closed", None)

    # the lobby at once: counter 4 closed, DC's waiting count with the number back in it
    closed = lobby.wait_for("counter.changed", lambda e: e["counter"] == 4, since=marks[0])
    assert closed["state"] == "closed"
    counts = lobby.wait_for("queue.changed", since=marks[0])
    assert counts["waiting"]["DC"]["waiting"] == 2
    # the counter's console hears it closed, with no number held
    console.wait_for("counter.changed", lambda e: e["state"] == "closed", since=marks[1])
    assert http.get("/api/v1/counters/4", headers={"Authorization": f"Bearer {keypad}"}).json()["ticket"] is None
    # the citizen's phone: waiting again, first in line (its issue time is the oldest)
    back = phone.wait_for("ticket.requeued", since=marks[2])["ticket"]
    assert (back["status"], back["counter"], back["waiting_ahead"]) == ("waiting", None, 0)
    assert (back["eta_minutes"], back["eta_range"]) == (None, None), "no open counter serves DC: no promised wait"

    ticket = http.get(f"/api/v1/tickets/{first['id']}").json()
    assert (ticket["status"], ticket["issued_at"], ticket["called_at"]) == (
        "waiting",
        first["issued_at"],
        called["called_at"],
    ), "it keeps its issue time, and its wait ended at its first call"
    assert issue(http, "DC")["eta_minutes"] is None, "no open counter serves DC: no promised wait"

    # opened again, the counter calls it before the one issued after it, as a repeat call
    again = press(http, 4, "next", keypad)
    assert (again["id"], again["called_at"]) == (first["id"], called["called_at"])
    assert again["id"] != second["id"]
    audit = http.get("/api/v1/audit", headers={"Authorization": f"Bearer {srv.token('admin')}"}).json()["events"]
    steps = [e for e in reversed(audit) if e["ticket"] == first["number"]]
    assert [e["kind"] for e in steps] == ["issued", "called", "started", "requeued", "called"], "not a transfer"
    assert (steps[3]["by"], steps[3]["counter"]) == (SUPERVISOR, 4)


def test_closing_a_counter_holding_a_number_is_refused_in_plain_words_unless_it_names_it(live_server, sio_client):
    srv = live_server()
    srv.add_user(SUPERVISOR, PASSWORD, "supervisor")
    keypad = srv.token("counter", 5)
    http = srv.session()
    first, second = issue(http, "LD"), issue(http, "LD")
    press(http, 5, "next", keypad)
    supervisor = log_in(srv, SUPERVISOR)
    dashboard = subscribed(sio_client, srv, {"dashboard": True}, srv.token("admin"))

    # no number named: the number held, and what to do
    error = assert_error(supervisor.post("/api/v1/counters/5/close", json={}), 409, "counter_busy")
    assert str(first["number"]) in error["message"]
    # the keypad called the next meanwhile: the number the supervisor saw is no longer there
    press(http, 5, "next", keypad)
    stale = supervisor.post("/api/v1/counters/5/close", json={"requeue": first["number"]})
    error = assert_error(stale, 409, "close_requeue_moved")
    assert error["message"] == (
        f"Quầy 5 không còn giữ số {first['number']} (số đã được kết thúc hoặc chuyển, hoặc quầy đã gọi số khác): "
        "quầy chưa đóng. Hãy xem lại quầy trên bảng điều khiển rồi mới đóng."
    )
    assert "Look at the counter again" in error["translations"]["en"]["message"]
    press(http, 5, "finish", keypad)  # and a counter holding nothing any more: refused alike
    assert_error(
        supervisor.post("/api/v1/counters/5/close", json={"requeue": second["number"]}), 409, "close_requeue_moved"
    )
    for body in ({"requeue": "5001"}, {"requeue": True}, {"requeue": 0}, {"requeue": 2**31}):
        assert_error(supervisor.post("/api/v1/counters/5/close", json=body), 422, "invalid_field", field="requeue")
    assert_error(supervisor.post("/api/v1/counters/5/close", json={"number": 1}), 422, "invalid_field", field="number")
    report_program = {"Authorization": f"Bearer {srv.token('supervisor')}"}
    refused = http.post("/api/v1/counters/5/close", json={"requeue": second["number"]}, headers=report_program)
    assert_error(refused, 403, "supervisor_token_no_close")

    dashboard.assert_silent(dashboard.mark(), duration=0.3)
    told = [e for e in dashboard.received("counter.changed") if e["state"] == "closed"]
    assert not told and not dashboard.received("ticket.requeued"), "nothing refused is told"
    state = http.get("/api/v1/counters/5", headers={"Authorization": f"Bearer {keypad}"}).json()
    assert state["state"] == "open"
    assert http.get(f"/api/v1/tickets/{second['id']}").json()["status"] == "done"


def state_of(http, counter: int, admin: dict) -> str:
    return http.get(f"/api/v1/counters/{counter}", headers=admin).json()["state"]


def closed_by(http, admin: dict) -> list[tuple[int, str | None]]:
    """The counters closed so far, oldest first, and why (the ``by`` of their closed events)."""
    events = http.get("/api/v1/audit", headers=admin).json()["events"]
    return [(e["counter"], (e["detail"] or {}).get("by")) for e in reversed(events) if e["kind"] == "closed"]


def test_a_disabled_clerk_closes_the_counters_only_they_work_at(live_server, sio_client):
    srv = live_server()
    for name, counter in (("lan", 1), ("hoa", None), ("binh", None), ("an", 4), ("vu", 5)):
        srv.add_user(name, PASSWORD, "clerk", counter)
    admin = {"Authorization": f"Bearer {srv.token('admin')}"}
    http = srv.session()
    held = issue(http, "HT")
    lan = log_in(srv, "lan")  # signing in opens counter 1
    assert lan.post("/api/v1/counters/1/next").json()["id"] == held["id"]
    log_in(srv, "hoa", counter=2)
    log_in(srv, "binh", counter=2)  # a colleague at the same counter
    log_in(srv, "an")  # counter 4, whose keypad is used too
    issue(http, "DC")
    press(http, 4, "next", srv.token("counter", 4))
    press(http, 5, "open", srv.token("counter", 5))  # counter 5's keypad, this morning, then closed
    press(http, 5, "close", srv.token("counter", 5))
    log_in(srv, "vu")
    lobby = subscribed(sio_client, srv, {"display": "lobby"})
    dashboard = subscribed(sio_client, srv, {"dashboard": True}, srv.token("admin"))
    mark = lobby.mark()

    for name in ("lan", "hoa", "an", "vu"):
        answer = http.patch(f"/api/v1/admin/users/{name}", json={"active": False}, headers=admin)
        assert answer.status_code == 200, answer.text
        assert answer.json()["active"] is False

    # counter 1: only lan worked there; closed at once, its number waiting again at its place
    assert lobby.wait_for("counter.changed", lambda e: e["counter"] == 1, since=mark)["state"] == "closed"
    assert lobby.wait_for("queue.changed", since=mark)["waiting"]["HT"]["waiting"] == 1
    back = dashboard.wait_for("ticket.requeued")["ticket"]
    assert (back["id"], back["status"], back["waiting_ahead"]) == (held["id"], "waiting", 0)
    assert state_of(http, 1, admin) == "closed"
    ticket = http.get(f"/api/v1/tickets/{held['id']}").json()
    assert (ticket["status"], ticket["issued_at"]) == ("waiting", held["issued_at"])
    # counter 2: binh is still signed in there; counter 4: its keypad works there too; counter 5: its
    # keypad worked there before it closed, vu alone since
    assert [state_of(http, n, admin) for n in (2, 4, 5)] == ["open", "open", "closed"]
    assert closed_by(http, admin) == [(5, None), (1, "user_disabled"), (5, "user_disabled")]
    # a clerk disabled twice closes nothing more
    assert http.patch("/api/v1/admin/users/lan", json={"active": False}, headers=admin).status_code == 200
    assert len(closed_by(http, admin)) == 3


def test_a_clerk_who_signed_out_leaving_the_counter_open_closes_nothing_when_disabled(live_server):
    srv = live_server()
    srv.add_user("lan", PASSWORD, "clerk", 1)
    admin = {"Authorization": f"Bearer {srv.token('admin')}"}
    http = srv.session()
    lan = log_in(srv, "lan")
    assert lan.post("/api/v1/auth/logout").status_code == 204  # "Chỉ đăng xuất, quầy vẫn mở"
    assert http.patch("/api/v1/admin/users/lan", json={"active": False}, headers=admin).status_code == 200
    assert state_of(http, 1, admin) == "open", "left open on purpose: a supervisor closes it"


def test_a_revoked_device_token_closes_the_counters_only_it_works_at(live_server, sio_client):
    srv = live_server()
    srv.add_user("thu", PASSWORD, "clerk", 3)
    admin = {"Authorization": f"Bearer {srv.token('admin')}"}
    http = srv.session()
    held = issue(http, "TK")
    assert press(http, 6, "next", srv.token("counter", 6))["id"] == held["id"]  # the keypad opens 6, calls
    press(http, 6, "start", srv.token("counter", 6))
    press(http, 3, "open", srv.token("counter", 3))
    log_in(srv, "thu")  # a clerk at counter 3 as well
    press(http, 5, "open", srv.token("admin"))  # counter 5 opened by another device: its keypad never acted
    srv.token("counter", 5)
    phone = subscribed(sio_client, srv, {"ticket": held["id"]})
    lobby = subscribed(sio_client, srv, {"display": "lobby"})
    mark = lobby.mark()

    tokens = {t["counter"]: t["id"] for t in http.get("/api/v1/admin/tokens", headers=admin).json()}
    for counter in (6, 3, 5):
        answer = http.delete(f"/api/v1/admin/tokens/{tokens[counter]}", headers=admin)
        assert answer.status_code == 200, answer.text
        assert answer.json()["revoked_at"] is not None

    assert lobby.wait_for("counter.changed", lambda e: e["counter"] == 6, since=mark)["state"] == "closed"
    # being served when the device was cut off: most likely served, so it ends as served, not requeued
    done = phone.wait_for("ticket.finished")["ticket"]
    assert (done["status"], done["counter"]) == ("done", 6)
    assert not phone.received("ticket.requeued")
    assert [state_of(http, n, admin) for n in (6, 3, 5)] == ["closed", "open", "open"]
    assert closed_by(http, admin) == [(6, "token_revoked")]
    assert http.get(f"/api/v1/tickets/{held['id']}").json()["status"] == "done"


def rate(http, srv, ticket: dict, counter: int) -> None:
    """The counter's rating tablet rates ``ticket`` (its event names its token and the counter)."""
    rated = http.post(
        f"/api/v1/tickets/{ticket['id']}/rating",
        json={"level": "satisfied"},
        headers={"Authorization": f"Bearer {srv.token('rating', counter)}"},
    )
    assert rated.status_code == 201, rated.text


def test_a_counters_rating_tablet_is_nobody_at_work_there(live_server):
    srv = live_server()
    srv.add_user("lan", PASSWORD, "clerk", 1)
    srv.add_user("hoa", PASSWORD, "clerk", 2)
    admin = {"Authorization": f"Bearer {srv.token('admin')}"}
    http = srv.session()
    lan, hoa = log_in(srv, "lan"), log_in(srv, "hoa")
    for clerk, counter in ((lan, 1), (hoa, 2)):
        served = issue(http, "HT")
        assert clerk.post(f"/api/v1/counters/{counter}/next").json()["id"] == served["id"]
        assert clerk.post(f"/api/v1/counters/{counter}/finish").status_code == 200
        rate(http, srv, served, counter)
    held = issue(http, "HT")
    assert lan.post("/api/v1/counters/1/next").json()["id"] == held["id"]

    # lan alone works at counter 1 (its tablet rated there): disabling lan closes it, the number waits again
    assert http.patch("/api/v1/admin/users/lan", json={"active": False}, headers=admin).status_code == 200
    assert state_of(http, 1, admin) == "closed"
    assert http.get(f"/api/v1/tickets/{held['id']}").json()["status"] == "waiting"
    # hoa hands over ("Chỉ đăng xuất, quầy vẫn mở"); counter 2's tablet replaced: the counter stays open
    assert hoa.post("/api/v1/auth/logout").status_code == 204
    tokens = {(t["role"], t["counter"]): t["id"] for t in http.get("/api/v1/admin/tokens", headers=admin).json()}
    assert http.delete(f"/api/v1/admin/tokens/{tokens['rating', 2]}", headers=admin).status_code == 200
    assert state_of(http, 2, admin) == "open"
    assert closed_by(http, admin) == [(1, "user_disabled")]


def test_a_session_from_before_the_counter_closed_is_nobody_at_work_there(live_server):
    srv = live_server()
    srv.add_user(SUPERVISOR, PASSWORD, "supervisor")
    for name in ("lan", "binh", "an"):
        srv.add_user(name, PASSWORD, "clerk", 1)
    admin = {"Authorization": f"Bearer {srv.token('admin')}"}
    http = srv.session()
    log_in(srv, "lan")  # this morning; the browser closed without signing out
    an = log_in(srv, "an")  # also this morning, and still pressing after the close below
    supervisor = log_in(srv, SUPERVISOR)
    assert supervisor.post("/api/v1/counters/1/close", json={}).status_code == 200
    issue(http, "HT")
    assert an.post("/api/v1/counters/1/next").status_code == 200  # reopens counter 1: an works there
    log_in(srv, "binh")  # the afternoon clerk

    assert http.patch("/api/v1/admin/users/binh", json={"active": False}, headers=admin).status_code == 200
    assert state_of(http, 1, admin) == "open", "an still works there"
    assert http.patch("/api/v1/admin/users/an", json={"active": False}, headers=admin).status_code == 200
    assert state_of(http, 1, admin) == "closed", "lan's morning session ended with the close"
    assert closed_by(http, admin) == [(1, None), (1, "user_disabled")]


def test_a_number_being_served_is_finished_at_the_close_unless_the_close_requeues_it(live_server, sio_client):
    """A supervisor closes a counter whose clerk went home with a number "đang phục vụ": ``finish`` ends it
    as served (no service time learnt: it ended at the close at the latest); ``requeue`` stays explicit."""
    srv = live_server()
    srv.add_user(SUPERVISOR, PASSWORD, "supervisor")
    keypad = srv.token("counter", 4)
    http = srv.session()
    first, second = issue(http, "DC"), issue(http, "DC")
    press(http, 4, "next", keypad)
    started = press(http, 4, "start", keypad)
    phone = subscribed(sio_client, srv, {"ticket": first["id"]})
    supervisor = log_in(srv, SUPERVISOR)

    both = {"requeue": first["number"], "finish": first["number"]}
    assert_error(supervisor.post("/api/v1/counters/4/close", json=both), 422, "close_requeue_or_finish")
    stale = supervisor.post("/api/v1/counters/4/close", json={"finish": second["number"]})
    assert_error(stale, 409, "close_requeue_moved")
    assert_error(
        supervisor.post("/api/v1/counters/4/close", json={"finish": "1"}), 422, "invalid_field", field="finish"
    )
    answer = supervisor.post("/api/v1/counters/4/close", json={"finish": first["number"]})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["state"], answer.json()["ticket"]) == ("closed", None)
    done = phone.wait_for("ticket.finished")["ticket"]
    ticket = http.get(f"/api/v1/tickets/{first['id']}").json()
    assert (done["status"], ticket["status"], ticket["started_at"]) == ("done", "done", started["started_at"])
    audit = http.get("/api/v1/audit", headers={"Authorization": f"Bearer {srv.token('admin')}"}).json()["events"]
    finished = next(e for e in audit if e["kind"] == "finished")
    # served by the device that held the number; who closed is kept on the event, and closed the counter
    assert (finished["by"], finished["counter"], finished["detail"]["service_seconds"]) == (
        "counter counter 4 (counter token)",
        4,
        None,
    )
    closed = next(e for e in audit if e["kind"] == "closed")
    assert closed["by"] == SUPERVISOR and finished["detail"]["closed_by"]["token_id"] is None
    assert finished["detail"]["closed_by"]["user_id"] is not None
    assert [e["kind"] for e in audit if e["ticket"] == first["number"]][0] == "finished", "no requeue"

    # a counter where a disabled clerk alone was serving a number: finished too; only called: requeued
    srv.add_user("lan", PASSWORD, "clerk", 1)
    srv.add_user("hoa", PASSWORD, "clerk", 2)
    lan, hoa = log_in(srv, "lan"), log_in(srv, "hoa")
    served, called = issue(http, "HT"), issue(http, "HT")
    assert lan.post("/api/v1/counters/1/next").json()["id"] == served["id"]
    assert lan.post("/api/v1/counters/1/start").status_code == 200
    assert hoa.post("/api/v1/counters/2/next").json()["id"] == called["id"]
    admin = {"Authorization": f"Bearer {srv.token('admin')}"}
    for name in ("lan", "hoa"):
        assert http.patch(f"/api/v1/admin/users/{name}", json={"active": False}, headers=admin).status_code == 200
    assert http.get(f"/api/v1/tickets/{served['id']}").json()["status"] == "done"
    assert http.get(f"/api/v1/tickets/{called['id']}").json()["status"] == "waiting"
    assert [state_of(http, n, admin) for n in (1, 2)] == ["closed", "closed"]


def test_a_number_finished_at_the_close_is_served_by_its_clerk_with_no_service_time(live_server):
    """The clerk who went home serving a number served it, not the supervisor who closed the counter;
    how long it took nobody knows (the clerk left some time before the close): no service time in any report."""
    srv = live_server()
    srv.add_user(SUPERVISOR, PASSWORD, "supervisor")
    srv.add_user("lan", PASSWORD, "clerk", 1)
    http, lan = srv.session(), log_in(srv, "lan")
    held = issue(http, "HT")
    assert lan.post("/api/v1/counters/1/next").json()["id"] == held["id"]
    assert lan.post("/api/v1/counters/1/start").status_code == 200
    supervisor = log_in(srv, SUPERVISOR)
    time.sleep(1.2)  # a service time the reports would show if they counted it
    assert supervisor.post("/api/v1/counters/1/close", json={"finish": held["number"]}).status_code == 200

    day = held["business_day"]
    summary = supervisor.get(f"/api/v1/reports/summary?from={day}&to={day}&group_by=clerk").json()
    served = {row["label"]: (row["called"], row["served"]) for row in summary["rows"]}
    assert served == {"lan": (1, 1)}, summary["rows"]
    assert (summary["total"]["served"], summary["total"]["service_time"]["count"]) == (1, 0)
    by_service = supervisor.get(f"/api/v1/reports/summary?from={day}&to={day}&group_by=service").json()
    row = next(row for row in by_service["rows"] if row["served"])
    assert (row["served"], row["service_time"]["count"], row["service_time"]["avg"]) == (1, 0, None)
    procedures = supervisor.get("/api/v1/reports/procedures", params={"from": day, "to": day}).json()
    assert [(p["served"], p["average_service_minutes"]) for p in procedures["procedures"]] == [(1, None)]


def test_a_number_only_called_cannot_be_finished_at_the_close(live_server):
    """Nobody said the citizen came: the close refuses to end the number as served, and says to requeue it."""
    srv = live_server()
    srv.add_user(SUPERVISOR, PASSWORD, "supervisor")
    keypad = srv.token("counter", 4)
    http = srv.session()
    called = issue(http, "DC")
    press(http, 4, "next", keypad)
    supervisor = log_in(srv, SUPERVISOR)
    refused = supervisor.post("/api/v1/counters/4/close", json={"finish": called["number"]})
    assert_error(refused, 409, "close_finish_not_serving")
    assert "requeue" in refused.json()["error"]["message"]
    assert http.get(f"/api/v1/tickets/{called['id']}").json()["status"] == "called", "nothing changed"
    assert supervisor.post("/api/v1/counters/4/close", json={"requeue": called["number"]}).status_code == 200
    assert http.get(f"/api/v1/tickets/{called['id']}").json()["status"] == "waiting"


def test_closing_a_counter_sends_the_numbers_transferred_to_it_alone_back_to_their_queue(live_server, sio_client):
    """A number sent to counter 2 alone waits for counter 2 only: closed, counter 2 calls nobody, so the
    close puts the number back in its service's queue at its place by issue time, for any counter of
    the service to call; its phone, the counters and the lobby hear it, and its history says so."""
    srv = live_server()
    srv.add_user(SUPERVISOR, PASSWORD, "supervisor")
    keypads = {number: srv.token("counter", number) for number in (2, 3, 6)}  # all three serve CT
    http = srv.session()
    sent, later = issue(http, "CT"), issue(http, "CT")
    press(http, 2, "open", keypads[2])
    assert press(http, 3, "next", keypads[3])["id"] == sent["id"]
    sending = http.post(
        "/api/v1/counters/3/transfer", json={"counter": 2}, headers={"Authorization": f"Bearer {keypads[3]}"}
    )
    assert sending.status_code == 200, sending.text  # the clerk of counter 3 sends it to counter 2 alone
    phone = subscribed(sio_client, srv, {"ticket": sent["id"]})
    console = subscribed(sio_client, srv, {"counter": 6}, keypads[6])
    marks = phone.mark(), console.mark()

    supervisor = log_in(srv, SUPERVISOR)
    assert supervisor.post("/api/v1/counters/2/close", json={}).status_code == 200

    back = phone.wait_for("ticket.requeued", since=marks[0])["ticket"]
    assert (back["status"], back["target_counter"], back["waiting_ahead"]) == ("waiting", None, 0)
    assert console.wait_for("ticket.requeued", since=marks[1])["ticket"]["id"] == sent["id"]
    console.wait_for("queue.changed", lambda e: e["waiting"]["CT"]["waiting"] == 2, since=marks[1])
    # another counter of the service calls it, before the number issued after it
    again = press(http, 6, "next", keypads[6])
    assert (again["id"], again["counter"]) == (sent["id"], 6), "the number stayed stranded for counter 2"
    assert press(http, 6, "next", keypads[6])["id"] == later["id"]

    audit = http.get("/api/v1/audit", headers={"Authorization": f"Bearer {srv.token('admin')}"}).json()["events"]
    steps = [e for e in reversed(audit) if e["ticket"] == sent["number"]]
    kinds = [e["kind"] for e in steps]
    assert kinds[:4] == ["issued", "called", "transferred", "requeued"], kinds
    assert (steps[3]["by"], steps[3]["counter"], steps[3]["detail"]) == (SUPERVISOR, 2, {"transferred_to": 2})


def test_closing_a_closed_counter_sends_back_the_numbers_transferred_to_it_since(live_server, sio_client):
    """A clerk sent a number to counter 2 while it was closed (the console asks, and a centre may say
    yes); nobody comes: the dashboard's "Đóng quầy" on the closed counter puts the number back in its
    queue, for any counter of the service to call."""
    srv = live_server()
    srv.add_user(SUPERVISOR, PASSWORD, "supervisor")
    keypads = {number: srv.token("counter", number) for number in (3, 6)}  # counters 2, 3 and 6 serve CT
    http = srv.session()
    sent = issue(http, "CT")
    assert press(http, 3, "next", keypads[3])["id"] == sent["id"]
    sending = http.post(
        "/api/v1/counters/3/transfer", json={"counter": 2}, headers={"Authorization": f"Bearer {keypads[3]}"}
    )
    assert sending.status_code == 200, sending.text  # counter 2 is closed
    phone = subscribed(sio_client, srv, {"ticket": sent["id"]})
    mark = phone.mark()

    assert log_in(srv, SUPERVISOR).post("/api/v1/counters/2/close", json={}).status_code == 200

    back = phone.wait_for("ticket.requeued", since=mark)["ticket"]
    assert (back["status"], back["target_counter"]) == ("waiting", None)
    assert press(http, 6, "next", keypads[6])["id"] == sent["id"], "still waiting for the closed counter 2"


def test_a_close_that_puts_back_its_number_and_a_transferred_one_sends_one_queue_count(live_server, sio_client):
    """Counter 2 holds one number and another was sent to it alone: its close puts both back, and the
    other counters of the service get the service's new count once, not once per number."""
    srv = live_server()
    srv.add_user(SUPERVISOR, PASSWORD, "supervisor")
    keypads = {number: srv.token("counter", number) for number in (2, 3, 6)}
    http = srv.session()
    held, sent = issue(http, "CT"), issue(http, "CT")
    assert press(http, 2, "next", keypads[2])["id"] == held["id"]
    assert press(http, 3, "next", keypads[3])["id"] == sent["id"]
    sending = http.post(
        "/api/v1/counters/3/transfer", json={"counter": 2}, headers={"Authorization": f"Bearer {keypads[3]}"}
    )
    assert sending.status_code == 200, sending.text
    console = subscribed(sio_client, srv, {"counter": 6}, keypads[6])
    mark = console.mark()

    supervisor = log_in(srv, SUPERVISOR)
    assert supervisor.post("/api/v1/counters/2/close", json={"requeue": held["number"]}).status_code == 200

    console.wait_for("queue.changed", lambda e: e["waiting"]["CT"]["waiting"] == 2, since=mark)
    assert len(console.received("ticket.requeued", since=mark)) == 2
    time.sleep(1)  # anything else the close sent has arrived by now
    assert len(console.received("queue.changed", since=mark)) == 1, console.received("queue.changed", since=mark)
