"""The lobby's "N đang chờ" per service and the ticket's people ahead count the same queue: a number
sent to one counter (a transfer) waits for that counter alone, in that counter's own list, and is in
neither (choosing.IN_SERVICE_QUEUE). Over the real server: HTTP, and Socket.IO as the lobby display
and a counter console hear it."""

from __future__ import annotations

from api_helpers import issue


def _dc(event) -> int:
    return event["waiting"]["DC"]["waiting"]


def _dc_in_queue(http) -> int:
    """DC's waiting as GET /api/v1/queue says it."""
    return next(s["waiting"] for s in http.get("/api/v1/queue").json()["services"] if s["code"] == "DC")


def test_a_number_sent_to_one_counter_leaves_its_service_s_waiting_count_for_that_counter_s_list(
    live_server, sio_client
):
    server = live_server()
    http = server.session()
    admin = {"Authorization": f"Bearer {server.token('admin')}"}
    for counter in (4, 5):  # DC at counter 4; counter 5 serves LD and VH
        assert http.post(f"/api/v1/counters/{counter}/open", headers=admin).json()["state"] == "open"
    lobby = sio_client(server)
    assert lobby.subscribe({"display": "lobby"}) == {"ok": True}
    first, _second, _third = issue(http, "DC"), issue(http, "DC"), issue(http, "DC")
    assert http.post("/api/v1/counters/4/next", headers=admin).json()["id"] == first["id"]
    # (the lobby is told after each answer, in order: the call heard, the issues' counts are in before the mark)
    lobby.wait_for("ticket.called")
    mark = lobby.mark()
    moved = http.post("/api/v1/counters/4/transfer", headers=admin, json={"counter": 5})
    assert moved.status_code == 200 and moved.json()["target_counter"] == 5, moved.text

    # the lobby: two citizens wait for DC (the number sent to counter 5 waits there, not in DC's queue)
    changed = lobby.wait_for("queue.changed", lambda data: "DC" in data["waiting"], since=mark)
    assert _dc(changed) == 2, changed
    assert _dc_in_queue(http) == 2
    fresh = sio_client(server)
    assert fresh.subscribe({"display": "lobby"}) == {"ok": True}
    assert _dc(fresh.wait_for("state")) == 2  # a display that reconnects: the same count

    # a walk-in now: the kiosk says 2 ahead, and the lobby shows it as the third waiting
    mark = lobby.mark()
    walk_in = issue(http, "DC", kiosk="kiosk-1")
    assert walk_in["waiting_ahead"] == 2, walk_in
    assert _dc(lobby.wait_for("queue.changed", lambda data: "DC" in data["waiting"], since=mark)) == 3

    # counter 5 holds it in its own list, and calls it: DC's count does not move (it was not in it; a
    # count that took it in at the transfer, or that the call took one from, would change here)
    console = sio_client(server, auth={"token": server.token("counter", 5)})
    assert console.subscribe({"counter": 5}) == {"ok": True}
    assert [ticket["id"] for ticket in console.wait_for("state")["queue"]] == [first["id"]]
    before = _dc_in_queue(http)
    mark = lobby.mark()
    assert http.post("/api/v1/counters/5/next", headers=admin).json()["id"] == first["id"]
    called = lobby.wait_for("ticket.called", lambda data: data["ticket"]["id"] == first["id"], since=mark)
    assert (before, _dc(called), _dc_in_queue(http)) == (3, 3, 3), called
