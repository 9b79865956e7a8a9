"""Calls nobody is to answer any more, against a real server over HTTP and Socket.IO: a number sent back
to wait (transferred, or requeued when its counter closed) no longer shows as called to that counter in
the latest calls ("Số vừa gọi") of the lobby screens and the dashboard, live and in the snapshot a screen
(re)loaded later gets; called again, it shows with its new counter. And the dashboard says who is signed
in at a counter that is closed, live and in its snapshot.
"""

from __future__ import annotations

from api_helpers import PASSWORD, SUPERVISOR, issue, log_in
from faked_clock import on_a_working_morning
from ops_helpers import press, subscribed


def calls(snapshot: dict) -> list[tuple[int, int]]:
    """(number, counter) of each call in a snapshot's history, newest first."""
    return [(call["number"], call["called_by"]) for call in snapshot["history"]]


def fresh(sio_client, srv, room: dict, token: str | None = None) -> dict:
    """The snapshot a screen (re)loaded now gets."""
    return subscribed(sio_client, srv, room, token).received("state")[0]


def dashboard_counters(sio_client, srv) -> dict[int, dict]:
    """Each counter of the dashboard's snapshot (its ``overview``), by number."""
    snapshot = fresh(sio_client, srv, {"dashboard": True}, srv.token("admin"))
    return {counter["number"]: counter for counter in snapshot["overview"]["counters"]}


def test_a_number_sent_back_to_wait_leaves_the_latest_calls_until_it_is_called_again(live_server, sio_client, tmp_path):
    # at 09:00 on a working day: the day's calls are one day's whatever the hour (the site's midnight: 17:00 UTC)
    srv = live_server(env=on_a_working_morning(tmp_path))
    srv.add_user(SUPERVISOR, PASSWORD, "supervisor")
    keypads = {number: srv.token("counter", number) for number in (1, 2)}  # counters 1 and 2 serve HT
    admin = srv.token("admin")
    http = srv.session()
    first, second, third = issue(http, "HT"), issue(http, "HT"), issue(http, "HT")
    assert press(http, 1, "next", keypads[1])["id"] == first["id"]
    press(http, 1, "finish", keypads[1])  # served: its call stays in the history
    assert press(http, 2, "next", keypads[2])["id"] == second["id"]
    lobby = subscribed(sio_client, srv, {"display": "lobby"})
    mark = lobby.mark()

    # counter 2's clerk sends 1002 back to the queue (a transfer to its own service)
    back = http.post(
        "/api/v1/counters/2/transfer", json={"service": "HT"}, headers={"Authorization": f"Bearer {keypads[2]}"}
    )
    assert back.status_code == 200, back.text
    lobby.wait_for("ticket.transferred", lambda e: e["ticket"]["id"] == second["id"], since=mark)
    assert calls(fresh(sio_client, srv, {"display": "lobby"})) == [(first["number"], 1)]
    assert calls(fresh(sio_client, srv, {"dashboard": True}, admin)) == [(first["number"], 1)]

    # called again at counter 1: it shows there, and not at counter 2 any more
    assert press(http, 1, "next", keypads[1])["id"] == second["id"]
    assert calls(fresh(sio_client, srv, {"display": "lobby"})) == [(second["number"], 1), (first["number"], 1)]

    # counter 1 closes under it (the supervisor sends it back to wait): the lobby hears which number
    mark = lobby.mark()
    closed = log_in(srv, SUPERVISOR).post("/api/v1/counters/1/close", json={"requeue": second["number"]})
    assert closed.status_code == 200, closed.text
    requeued = lobby.wait_for("ticket.requeued", since=mark)
    assert (requeued["ticket"]["id"], requeued["counter"]) == (second["id"], 1)
    assert set(requeued["ticket"]) == {"id", "number", "display", "service", "priority", "status", "counter", "origin"}
    lobby.wait_for("counter.changed", lambda e: (e["counter"], e["state"]) == (1, "closed"), since=mark)
    assert calls(fresh(sio_client, srv, {"display": "lobby"})) == [(first["number"], 1)]
    assert calls(fresh(sio_client, srv, {"dashboard": True}, admin)) == [(first["number"], 1)]

    # a recall is a call still standing; a no-show's call is kept (the number was called there, and ended)
    assert press(http, 2, "next", keypads[2])["id"] == second["id"]
    press(http, 2, "recall", keypads[2])
    assert press(http, 1, "next", keypads[1])["id"] == third["id"]  # (opens counter 1 again)
    press(http, 1, "no-show", keypads[1])
    history = fresh(sio_client, srv, {"display": "lobby"})["history"]
    assert [(call["number"], call["called_by"], call["recall"]) for call in history] == [
        (third["number"], 1, False),
        (second["number"], 2, True),
        (second["number"], 2, False),
        (first["number"], 1, False),
    ]


def test_a_number_sent_back_from_a_counter_it_was_only_sent_to_is_not_told_to_the_lobby(
    live_server, sio_client, tmp_path
):
    """Counter 3 sends its number to counter 6 alone, and counter 6 closes: the number waits in its queue
    again (ticket.requeued, saying ``transferred_to``), but it was never called at counter 6, so the
    lobby, told of the transfer already, is sent nothing more than the new counts."""
    srv = live_server(env=on_a_working_morning(tmp_path))
    admin = srv.token("admin")
    http = srv.session()
    sent = issue(http, "CT")
    assert press(http, 3, "next", admin)["id"] == sent["id"]
    moved = http.post("/api/v1/counters/3/transfer", json={"counter": 6}, headers={"Authorization": f"Bearer {admin}"})
    assert moved.status_code == 200, moved.text
    lobby = subscribed(sio_client, srv, {"display": "lobby"})
    dashboard = subscribed(sio_client, srv, {"dashboard": True}, admin)
    marks = lobby.mark(), dashboard.mark()

    press(http, 6, "close", admin)  # counter 6 was closed: the close sends the number back all the same
    back = dashboard.wait_for("ticket.requeued", since=marks[1])
    assert (back["ticket"]["id"], back["counter"], back["transferred_to"]) == (sent["id"], 6, 6)
    lobby.wait_for("queue.changed", since=marks[0])
    dashboard.wait_for("queue.changed", since=marks[1])  # (sent after the requeue: all has been told)
    assert lobby.received("ticket.requeued", since=marks[0]) == []


def test_the_dashboard_says_who_is_signed_in_at_a_closed_counter(live_server, sio_client, tmp_path):
    """A clerk signed in at counter 2 is there until a supervisor closes the counter (a close ends a
    session's hold on its counter, as docs/admin.md says: the clerk may have gone home with the console
    open); signing in and out is heard at once. An admin signed in at a closed counter is said to be there:
    only a clerk's sign-in opens a counter."""
    srv = live_server(env=on_a_working_morning(tmp_path))
    srv.add_user(SUPERVISOR, PASSWORD, "supervisor")
    srv.add_user("canbo2", PASSWORD, "clerk", 2)
    dashboard = subscribed(sio_client, srv, {"dashboard": True}, srv.token("admin"))

    mark = dashboard.mark()
    clerk = log_in(srv, "canbo2")  # signing in opens counter 2
    assert dashboard.wait_for("counter.signed_in", since=mark) == {"counter": 2}
    counters = dashboard_counters(sio_client, srv)
    assert (counters[2]["activity"], counters[2]["signed_in"]) == ("idle", ["canbo2"])
    assert counters[1]["signed_in"] == [], "nobody signed in there (the supervisor's login names no counter)"

    mark = dashboard.mark()
    assert clerk.post("/api/v1/auth/logout").status_code == 204
    assert dashboard.wait_for("counter.signed_out", since=mark) == {"counter": 2}
    assert dashboard_counters(sio_client, srv)[2]["signed_in"] == []
    log_in(srv, "canbo2")
    mark = dashboard.mark()
    assert log_in(srv, SUPERVISOR).post("/api/v1/counters/2/close", json={}).status_code == 200
    dashboard.wait_for("counter.changed", lambda e: (e["counter"], e["state"]) == (2, "closed"), since=mark)
    counters = dashboard_counters(sio_client, srv)
    assert (counters[2]["activity"], counters[2]["signed_in"]) == ("closed", []), "the close ended its hold"

    # an admin working a counter: signing in there does not open it (only a clerk's sign-in does)
    srv.add_user("quantri", PASSWORD, "admin")
    mark = dashboard.mark()
    log_in(srv, "quantri", counter=3)
    assert dashboard.wait_for("counter.signed_in", since=mark) == {"counter": 3}
    counters = dashboard_counters(sio_client, srv)
    assert (counters[3]["activity"], counters[3]["signed_in"]) == ("closed", ["quantri"])


def test_a_number_served_when_its_counter_closes_stays_unless_the_close_sends_it_back(
    live_server, sio_client, tmp_path
):
    """The dashboard closes a counter under a number being served. Finished by the close (its citizen was
    served), its call stays in the latest calls, as any number served. Sent back to wait instead (the
    dialog's other choice), it leaves them, live (``withdrawn_calls``: its call) and on reload: it waits
    again, and nobody is to go to that counter, now closed, for it."""
    srv = live_server(env=on_a_working_morning(tmp_path))
    srv.add_user(SUPERVISOR, PASSWORD, "supervisor")
    keypads = {number: srv.token("counter", number) for number in (1, 2)}  # counters 1 and 2 serve HT
    http, supervisor = srv.session(), log_in(srv, SUPERVISOR)
    finished, sent_back = issue(http, "HT"), issue(http, "HT")
    lobby = subscribed(sio_client, srv, {"display": "lobby"})
    assert press(http, 1, "next", keypads[1])["id"] == finished["id"]
    press(http, 1, "start", keypads[1])
    assert supervisor.post("/api/v1/counters/1/close", json={"finish": finished["number"]}).status_code == 200
    assert calls(fresh(sio_client, srv, {"display": "lobby"})) == [(finished["number"], 1)]

    assert press(http, 2, "next", keypads[2])["id"] == sent_back["id"]
    press(http, 2, "start", keypads[2])
    assert calls(fresh(sio_client, srv, {"display": "lobby"})) == [(sent_back["number"], 2), (finished["number"], 1)]
    mark = lobby.mark()
    closed = supervisor.post("/api/v1/counters/2/close", json={"requeue": sent_back["number"]})
    assert closed.status_code == 200, closed.text
    requeued = lobby.wait_for("ticket.requeued", since=mark)
    assert (requeued["ticket"]["id"], requeued["counter"], requeued["withdrawn_calls"]) == (sent_back["id"], 2, 1)
    assert requeued["ticket"]["status"] == "waiting"
    assert calls(fresh(sio_client, srv, {"display": "lobby"})) == [(finished["number"], 1)]
    assert calls(fresh(sio_client, srv, {"dashboard": True}, srv.token("admin"))) == [(finished["number"], 1)]
