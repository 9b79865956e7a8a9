"""Socket.IO against a real server (SPEC "Real time").

Lobby displays, counter consoles, the supervisor's dashboard and a citizen's phone
subscribe to rooms; the server answers with a ``state`` snapshot at once and then pushes
events, only for what was committed, never for a refused action.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests
import socketio
from api_helpers import issue
from faked_clock import on_a_working_morning

SERVICES = {"HT", "CT", "DC", "LD", "VH", "TK"}
DISPLAY_TICKET_KEYS = {"id", "number", "display", "service", "priority", "status", "counter", "origin"}


@pytest.fixture(scope="module")
def server(module_live_server, config_variant):
    """config.yaml, except that VH (counter 5) has only two numbers a day (5001, 5002), and a
    second display "upstairs" shows only counters 4 and 5."""
    cfg = config_variant()
    vh = next(s for s in cfg["services"] if s["code"] == "VH")
    vh["numbers"] = {"start": 5001, "end": 5002}
    cfg["displays"].append({"id": "upstairs", "name": "Màn hình tầng 2", "counters": [4, 5]})
    srv = module_live_server(cfg)
    srv.tokens(("admin", None), ("supervisor", None), ("display", None), ("counter", 1))
    return srv


@pytest.fixture
def admin(server) -> dict:
    return {"Authorization": f"Bearer {server.token('admin')}"}


def call_next(http, counter: int, headers: dict) -> dict:
    response = http.post(f"/api/v1/counters/{counter}/next", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def drain(http, counter: int, headers: dict) -> None:
    for _ in range(1000):
        response = http.post(f"/api/v1/counters/{counter}/next", headers=headers)
        if response.status_code == 204:
            return
        assert response.status_code == 200, response.text


def error_code(ack) -> str | None:
    return (ack or {}).get("error", {}).get("code")


# --- subscribing ----------------------------------------------------------------------------------


def test_display_subscription_answers_with_ack_and_state_snapshot(sio_client):
    display = sio_client()
    ack = display.subscribe({"display": "lobby"})
    assert ack == {"ok": True}
    # the snapshot comes at once (python-socketio hands each message to its own thread, so the
    # ack may be seen a moment before the snapshot that was sent ahead of it)
    state = display.wait_for("state", timeout=2)
    assert len(display.received("state")) == 1, display.names()
    assert state["kind"] == "display"
    assert [c["number"] for c in state["counters"]] == [1, 2, 3, 4, 5, 6]
    assert all({"number", "state", "ticket"} <= c.keys() for c in state["counters"])
    assert isinstance(state["history"], list)
    assert set(state["waiting"]) == SERVICES
    assert all(isinstance(w["waiting"], int) for w in state["waiting"].values())


def test_snapshot_shows_what_is_waiting_and_called(server, http, admin, sio_client):
    drain(http, 4, admin)
    first, second = issue(http, "DC"), issue(http, "DC")
    call_next(http, 4, admin)

    display = sio_client()
    assert display.subscribe({"display": "lobby"}) == {"ok": True}
    state = display.wait_for("state")
    counter4 = next(c for c in state["counters"] if c["number"] == 4)
    assert counter4["ticket"]["id"] == first["id"]
    assert counter4["ticket"]["status"] == "called"
    assert state["history"][0]["id"] == first["id"]
    assert state["history"][0]["called_by"] == 4
    assert state["waiting"]["DC"]["waiting"] == 1
    assert second["id"] not in [h["id"] for h in state["history"]]
    # a display's room is public: its snapshot carries no more of a ticket than its live events
    assert set(counter4["ticket"]) == DISPLAY_TICKET_KEYS
    assert {key for call in state["history"] for key in call} == DISPLAY_TICKET_KEYS | {"called_by", "at", "recall"}


def test_a_counter_done_with_its_number_shows_nobody_there(server, http, admin, sio_client):
    """Finished, missed or transferred: the display hears it (its row shows "—") and a reloaded one's
    snapshot holds no ticket for the counter; a "next" that finishes and calls sends the call alone."""
    drain(http, 4, admin)
    finished, missed, moved, after = (issue(http, "DC") for _ in range(4))
    display = sio_client()
    assert display.subscribe({"display": "lobby"}) == {"ok": True}
    display.wait_for("state")

    for ticket, action, event in (
        (finished, "finish", "ticket.finished"),
        (missed, "no-show", "ticket.no_show"),
        (moved, "transfer", "ticket.transferred"),
    ):
        assert call_next(http, 4, admin)["id"] == ticket["id"]
        body = {"service": "HT"} if action == "transfer" else None
        assert http.post(f"/api/v1/counters/4/{action}", headers=admin, json=body).status_code == 200
        ended = display.wait_for(event, lambda d, t=ticket: d["ticket"]["id"] == t["id"])
        assert ended["counter"] == 4
        assert set(ended["ticket"]) <= DISPLAY_TICKET_KEYS

    reloaded = sio_client()
    assert reloaded.subscribe({"display": "lobby"}) == {"ok": True}
    counter4 = next(c for c in reloaded.wait_for("state")["counters"] if c["number"] == 4)
    assert counter4["ticket"] is None and "last_call" not in counter4

    assert call_next(http, 4, admin)["id"] == after["id"]
    mark = display.mark()
    issue(http, "DC")
    assert call_next(http, 4, admin)["id"] != after["id"]  # finishes ``after`` and calls the next
    display.wait_for("ticket.called", since=mark)
    time.sleep(0.3)
    ends = [n for n in display.names(since=mark) if n in ("ticket.finished", "ticket.no_show")]
    assert ends == [], "the new call alone replaces the number"


@pytest.mark.parametrize(
    "payload, code",
    [
        ({"display": "no-such-display"}, "not_found"),
        ({"ticket": "no-such-ticket"}, "unknown_ticket"),
        ({"counter": 99}, "unknown_counter"),
        ({"counter": "1"}, "unknown_counter"),
        ({"display": "lobby", "dashboard": True}, "invalid_field"),
        ({"tv": "lobby"}, "invalid_field"),
        ("lobby", "invalid_field"),
        ({}, "invalid_field"),
    ],
)
def test_subscription_refusals_come_back_in_the_ack(server, sio_client, payload, code):
    client = sio_client(auth={"token": server.token("admin")})
    ack = client.subscribe(payload)
    assert error_code(ack) == code, ack
    assert ack["error"]["message"].strip()
    time.sleep(0.2)
    assert client.received("state") == [], "a refused subscription gets no snapshot"


def test_counter_room_needs_the_counters_token(server, sio_client):
    anonymous = sio_client()
    assert error_code(anonymous.subscribe({"counter": 1})) == "unauthorized"

    counter1 = sio_client(auth={"token": server.token("counter", 1)})
    assert counter1.subscribe({"counter": 1}) == {"ok": True}
    state = counter1.wait_for("state")
    assert state["kind"] == "counter"
    assert state["counter"]["number"] == 1
    assert set(state["waiting"]) == {"HT"}
    assert isinstance(state["queue"], list)

    assert error_code(counter1.subscribe({"counter": 2})) == "forbidden_counter"
    assert error_code(sio_client(auth={"token": server.token("display")}).subscribe({"counter": 1})) == "forbidden_role"
    assert sio_client(auth={"token": server.token("admin")}).subscribe({"counter": 2}) == {"ok": True}


def test_counter_token_in_the_authorization_header_works_too(server, sio_client):
    client = sio_client(headers={"Authorization": f"Bearer {server.token('counter', 1)}"})
    assert client.subscribe({"counter": 1}) == {"ok": True}


def test_dashboard_needs_a_supervisor_or_admin(server, sio_client):
    assert error_code(sio_client().subscribe({"dashboard": True})) == "unauthorized"
    for role, counter in (("counter", 1), ("display", None)):
        client = sio_client(auth={"token": server.token(role, counter)})
        assert error_code(client.subscribe({"dashboard": True})) == "forbidden_role", role
    for role in ("supervisor", "admin"):
        client = sio_client(auth={"token": server.token(role)})
        assert client.subscribe({"dashboard": True}) == {"ok": True}, role
        state = client.wait_for("state")
        assert [c["number"] for c in state["counters"]] == [1, 2, 3, 4, 5, 6]
        assert set(state["waiting"]) == SERVICES
        assert isinstance(state["history"], list)


@pytest.mark.parametrize("how", ["auth", "header"])
def test_a_wrong_token_is_refused_at_connect(server, sio_client, how):
    kwargs = (
        {"auth": {"token": "qk_not-a-real-token"}}
        if how == "auth"
        else {"headers": {"Authorization": "Bearer qk_not-a-real-token"}}
    )
    with pytest.raises(socketio.exceptions.ConnectionError):
        sio_client(**kwargs)


def test_logged_in_clerk_session_opens_their_counter_room(server, sio_client):
    server.add_user("clerk3", "mật-khẩu-quầy-3", role="clerk", counter=3)
    http = server.session()
    assert http.post("/api/v1/auth/login", json={"username": "clerk3", "password": "mật-khẩu-quầy-3"}).ok
    cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
    clerk = sio_client(headers={"Cookie": cookie})
    assert clerk.subscribe({"counter": 3}) == {"ok": True}
    assert error_code(clerk.subscribe({"counter": 1})) == "forbidden_counter"


# --- events -----------------------------------------------------------------------------------


def test_issue_and_call_reach_the_lobby_display_with_the_spoken_announcement(live_server, sio_client):
    """A fresh centre: the first HT ticket is 1001, called to counter 1."""
    srv = live_server()
    http = srv.session()
    token = srv.token("counter", 1)
    counter1 = {"Authorization": f"Bearer {token}"}
    display = sio_client(srv)
    assert display.subscribe({"display": "lobby"}) == {"ok": True}
    console = sio_client(srv, auth={"token": token})
    assert console.subscribe({"counter": 1}) == {"ok": True}

    ticket = issue(http, "HT")
    assert ticket["number"] == 1001
    # the lobby screen learns the new waiting count; the console of a counter serving HT the ticket
    changed = display.wait_for("queue.changed", lambda d: "HT" in d["waiting"])
    assert changed["waiting"]["HT"]["waiting"] == 1
    issued = console.wait_for("ticket.issued", lambda d: d["ticket"]["id"] == ticket["id"])
    assert issued["ticket"]["number"] == 1001
    assert issued["ticket"]["service"] == "HT"
    assert console.wait_for("queue.changed", lambda d: "HT" in d["waiting"])["waiting"]["HT"]["waiting"] == 1

    phone = sio_client(srv)
    assert phone.subscribe({"ticket": ticket["id"]}) == {"ok": True}
    assert phone.wait_for("state")["ticket"]["status"] == "waiting"

    mark = display.mark()
    call_next(http, 1, counter1)
    called = display.wait_for("ticket.called", since=mark)
    assert called["counter"] == 1
    assert called["ticket"]["id"] == ticket["id"]
    assert called["ticket"]["number"] == 1001
    assert called["ticket"]["status"] == "called"
    text = called["announcement"]["text"]
    assert "một nghìn không trăm linh một" in text, text
    assert "quầy số một" in text, text
    assert "1001" not in text, "digits must be spoken as words"
    assert "audio_url" in called["announcement"]
    # the waiting count went down again: the call carries it, so the display needs no second message
    assert called["waiting"]["HT"]["waiting"] == 0
    display.assert_silent(mark, prefixes=("queue.",))
    # the citizen's phone hears its own call too
    own = phone.wait_for("ticket.called")
    assert (own["ticket"]["id"], own["counter"]) == (ticket["id"], 1)


def test_a_display_hears_only_the_calls_of_its_counters(server, http, admin, sio_client):
    drain(http, 1, admin)
    drain(http, 4, admin)
    upstairs = sio_client()
    assert upstairs.subscribe({"display": "upstairs"}) == {"ok": True}
    state = upstairs.wait_for("state")
    assert [c["number"] for c in state["counters"]] == [4, 5]

    downstairs_ticket, upstairs_ticket = issue(http, "HT"), issue(http, "DC")
    mark = upstairs.mark()
    call_next(http, 1, admin)
    call_next(http, 4, admin)
    called = upstairs.wait_for("ticket.called", since=mark)
    assert (called["ticket"]["id"], called["counter"]) == (upstairs_ticket["id"], 4)
    time.sleep(0.3)  # anything sent before the call at counter 4 has been handled by now
    heard = [e["ticket"]["id"] for e in upstairs.received("ticket.called", since=mark)]
    assert downstairs_ticket["id"] not in heard, "a call at counter 1 is not announced upstairs"


def test_recall_is_announced_again(server, http, admin, sio_client):
    drain(http, 4, admin)
    ticket = issue(http, "DC")
    call_next(http, 4, admin)
    display = sio_client()
    assert display.subscribe({"display": "lobby"}) == {"ok": True}
    assert http.post("/api/v1/counters/4/recall", headers=admin).status_code == 200
    recalled = display.wait_for("ticket.recalled")
    assert (recalled["ticket"]["id"], recalled["counter"]) == (ticket["id"], 4)
    assert "quầy số bốn" in recalled["announcement"]["text"]


def test_ticket_room_hears_only_its_own_ticket(server, http, admin, sio_client):
    drain(http, 3, admin)
    mine, other = issue(http, "CT"), issue(http, "CT")
    phone = sio_client()
    assert phone.subscribe({"ticket": other["id"]}) == {"ok": True}
    assert phone.wait_for("state")["ticket"]["id"] == other["id"]

    mark = phone.mark()
    assert call_next(http, 3, admin)["id"] == mine["id"]
    phone.assert_silent(mark, prefixes=("ticket.",))

    assert call_next(http, 3, admin)["id"] == other["id"]
    called = phone.wait_for("ticket.called", since=mark)
    assert (called["ticket"]["id"], called["counter"]) == (other["id"], 3)
    assert "quầy số ba" in called["announcement"]["text"]
    finished_first = [e for e in phone.received("ticket.finished", since=mark) if e["ticket"]["id"] == mine["id"]]
    assert finished_first == [], "the other ticket's events are not this phone's business"


def test_counter_changes_reach_the_display_and_the_counter(server, http, admin, sio_client):
    drain(http, 1, admin)
    display = sio_client()
    assert display.subscribe({"display": "lobby"}) == {"ok": True}
    console = sio_client(auth={"token": server.token("counter", 1)})
    assert console.subscribe({"counter": 1}) == {"ok": True}

    assert http.post("/api/v1/counters/1/pause", headers=admin, json={"reason": "họp"}).status_code == 200
    for client in (display, console):
        paused = client.wait_for("counter.changed", lambda d: d["counter"] == 1 and d["state"] == "paused")
        assert paused["reason"] == "họp"
    assert http.post("/api/v1/counters/1/resume", headers=admin).status_code == 200
    for client in (display, console):
        client.wait_for("counter.changed", lambda d: d["counter"] == 1 and d["state"] == "open")


def test_events_are_sent_only_after_the_commit(server, admin, sio_client):
    """Whoever reacts to an event at once (a phone reloading its ticket) already sees the change."""
    seen: dict[str, list] = {}
    lock = threading.Lock()
    base = server.url

    def look(event, data):
        if event in ("ticket.issued", "ticket.called", "ticket.started", "ticket.finished") and data.get("ticket"):
            response = requests.get(f"{base}/api/v1/tickets/{data['ticket']['id']}", timeout=5)
            with lock:
                seen.setdefault(event, []).append((response.status_code, response.json().get("status")))

    dashboard = sio_client(auth={"token": server.token("supervisor")})
    dashboard.hooks.append(look)
    assert dashboard.subscribe({"dashboard": True}) == {"ok": True}

    http = server.session()
    drain(http, 4, admin)
    issue(http, "DC")
    dashboard.wait_for("ticket.issued")
    call_next(http, 4, admin)
    dashboard.wait_for("ticket.called")
    assert http.post("/api/v1/counters/4/start", headers=admin).status_code == 200
    dashboard.wait_for("ticket.started")
    assert http.post("/api/v1/counters/4/finish", headers=admin).status_code == 200
    dashboard.wait_for("ticket.finished")

    with lock:
        assert seen["ticket.issued"][0] == (200, "waiting")
        assert seen["ticket.called"][0] == (200, "called")
        assert seen["ticket.started"][0] == (200, "serving")
        assert seen["ticket.finished"][0] == (200, "done")


def test_nothing_is_pushed_for_a_refused_action(server, admin, sio_client):
    http = server.session()
    counter1 = {"Authorization": f"Bearer {server.token('counter', 1)}"}
    drain(http, 4, admin)
    drain(http, 5, admin)
    # prepare: counter 4 holds a ticket; VH's two numbers of the day are used up
    issue(http, "DC")
    call_next(http, 4, admin)
    for _ in range(3):
        if http.post("/api/v1/tickets", json={"service": "VH"}).status_code == 409:
            break

    dashboard = sio_client(auth={"token": server.token("supervisor")})
    assert dashboard.subscribe({"dashboard": True}) == {"ok": True}
    display = sio_client()
    assert display.subscribe({"display": "lobby"}) == {"ok": True}
    marks = {client: client.mark() for client in (dashboard, display)}

    refused = [
        (http.post("/api/v1/counters/5/recall", headers=admin), 409),  # no current ticket
        (http.post("/api/v1/counters/4/pause", headers=admin), 409),  # counter busy
        (http.post("/api/v1/tickets", json={"service": "XX"}), 404),  # unknown service
        (http.post("/api/v1/tickets", json={"service": "VH"}), 409),  # range exhausted
        (http.post("/api/v1/tickets", data="{", headers={"Content-Type": "application/json"}), 422),
        (http.post("/api/v1/counters/2/next", headers=counter1), 403),  # not this token's counter
        (http.post("/api/v1/counters/4/next", json={"number": 3999}, headers=admin), 409),  # not waiting
        (http.post("/api/v1/counters/4/transfer", json={"service": "XX"}, headers=admin), 404),
    ]
    for response, status in refused:
        assert response.status_code == status, response.text
    for client, mark in marks.items():
        client.assert_silent(mark, duration=0.5)


def test_display_reconnects_after_a_restart_and_is_whole_again(live_server, sio_client, tmp_path):
    # at 09:00 on a working day: the call made before the restart is still the counter's after it,
    # whatever the hour (the site's midnight, 17:00 UTC, would make it a no-show and close the counter)
    srv = live_server(env=on_a_working_morning(tmp_path))
    http = srv.session()
    counter1 = {"Authorization": f"Bearer {srv.token('counter', 1)}"}
    acks: list = []

    def resubscribe(client):  # runs in the client's thread at every (re)connect
        client.sio.emit("subscribe", {"display": "lobby"}, callback=lambda *answer: acks.append(answer))

    display = sio_client(srv, on_connect=resubscribe)
    display.wait_for("state")
    ticket = issue(http, "HT")
    call_next(http, 1, counter1)
    display.wait_for("ticket.called", lambda d: d["ticket"]["id"] == ticket["id"])

    mark = display.mark()
    srv.restart()  # same instance folder: same database, same port
    display.wait_connects(2, timeout=20)
    state = display.wait_for("state", since=mark, timeout=10)
    assert acks[-1] == ({"ok": True},)
    counter = next(c for c in state["counters"] if c["number"] == 1)
    assert counter["ticket"]["id"] == ticket["id"]
    assert counter["ticket"]["status"] == "called"
    assert state["history"][0]["id"] == ticket["id"]

    # and the reconnected display goes on hearing calls
    second = issue(http, "HT")
    call_next(http, 1, counter1)
    display.wait_for("ticket.called", lambda d: d["ticket"]["id"] == second["id"], since=mark)
