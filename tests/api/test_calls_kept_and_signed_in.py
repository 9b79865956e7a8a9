"""Against a real server over HTTP and Socket.IO: which calls the lobby's "Số vừa gọi" keeps when a number
is sent on (answered calls stay, a number sent back to wait before being served leaves), what a
counter-top screen's snapshot carries, and who the dashboard says is signed in at a counter (the rule of
docs/admin.md "Who works at a counter": a close ends a session's hold; one person is at one counter; a
sign-in on the dashboard is at no counter).
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


def signed_in(sio_client, srv) -> dict[int, tuple[str, list[str]]]:
    """Each counter of the dashboard's snapshot: (activity, who is signed in there), by number."""
    snapshot = fresh(sio_client, srv, {"dashboard": True}, srv.token("admin"))
    return {c["number"]: (c["activity"], c["signed_in"]) for c in snapshot["overview"]["counters"]}


def test_a_call_answered_before_its_number_was_sent_on_stays_in_the_latest_calls(
    live_server, sio_client, tmp_path, config_variant
):
    """1002 is served at counter 1 and sent on to "Trả kết quả" (counter 6): the citizen did go to
    counter 1, so that call stays, live (``withdrawn_calls`` 0) and on reload. Counter 6 calls it and
    sends it back to wait before serving it: that call and its recall leave (``withdrawn_calls`` 2). A counter-top
    screen shows no history, and its snapshot brings none."""
    config = config_variant()
    config["displays"].append({"id": "quay-1", "mode": "counter", "counter": 1})
    srv = live_server(config, env=on_a_working_morning(tmp_path))
    keypads = {number: srv.token("counter", number) for number in (1, 6)}
    http = srv.session()
    first, ticket = issue(http, "HT"), issue(http, "HT")
    lobby = subscribed(sio_client, srv, {"display": "lobby"})
    assert press(http, 1, "next", keypads[1])["id"] == first["id"]
    press(http, 1, "finish", keypads[1])
    assert press(http, 1, "next", keypads[1])["id"] == ticket["id"]
    press(http, 1, "start", keypads[1])
    mark = lobby.mark()
    press(http, 1, "transfer", keypads[1], service="TK")
    sent = lobby.wait_for("ticket.transferred", since=mark)
    assert (sent["counter"], sent["withdrawn_calls"]) == (1, 0)
    assert calls(fresh(sio_client, srv, {"display": "lobby"})) == [(ticket["number"], 1), (first["number"], 1)]
    assert fresh(sio_client, srv, {"display": "quay-1"})["history"] == []

    assert press(http, 6, "next", keypads[6])["id"] == ticket["id"]
    press(http, 6, "recall", keypads[6])
    mark = lobby.mark()
    press(http, 6, "transfer", keypads[6], service="HT")  # back to wait, never served at counter 6
    sent = lobby.wait_for("ticket.transferred", since=mark)
    assert (sent["counter"], sent["withdrawn_calls"]) == (6, 2), "its call and its recall"
    assert calls(fresh(sio_client, srv, {"display": "lobby"})) == [(ticket["number"], 1), (first["number"], 1)]


def test_the_dashboard_names_only_who_is_at_a_counter(live_server, sio_client, tmp_path):
    """A clerk who went home without signing out, whose counter the supervisor then closed, is not
    "signed in" there any more (the close ends the hold); a clerk signed in at 2 and then at 4 is at 4
    only; a supervisor whose account has counter 3 and who signs in on the dashboard (its form says it is
    not at a counter) is at no counter; an admin signing in at counter 5 is there, closed until they call,
    as is one whose account has counter 6 signing in at the console with its counter's box left empty."""
    srv = live_server(env=on_a_working_morning(tmp_path))
    srv.add_user("canbo2", PASSWORD, "clerk", 2)
    srv.add_user("canbo", PASSWORD, "clerk")
    srv.add_user("totruong", PASSWORD, "supervisor", 3)
    srv.add_user(SUPERVISOR, PASSWORD, "supervisor")
    srv.add_user("quantri", PASSWORD, "admin")
    srv.add_user("quantri6", PASSWORD, "admin", 6)

    log_in(srv, "canbo2")  # opens counter 2; the browser is then closed without signing out
    assert log_in(srv, SUPERVISOR).post("/api/v1/counters/2/close", json={}).status_code == 200
    assert signed_in(sio_client, srv)[2] == ("closed", [])

    log_in(srv, "canbo", counter=1)
    log_in(srv, "canbo", counter=4)
    log_in(srv, "totruong", at_counter=False)  # (as /dashboard's form signs in)
    log_in(srv, "quantri", counter=5)
    log_in(srv, "quantri6")  # (as the console signs in, "leave it empty if the account has a counter")
    counters = signed_in(sio_client, srv)
    assert (counters[1][1], counters[4][1]) == ([], ["canbo"])
    assert counters[3] == ("closed", [])
    assert counters[5] == ("closed", ["quantri"])
    assert counters[6] == ("closed", ["quantri6"])
