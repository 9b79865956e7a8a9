"""The delivery worker gives way to the HTTP requests in progress (server/web/delivery.py
give_way): a Socket.IO event answered meanwhile must not count one of them off. flask_socketio
pushes a request context for each event, whose end sends request_tearing_down with no
request_started before it; counted off, the request in progress looked finished and a webhook
could be posted in the middle of it. Focused: a real Flask app and flask_socketio's test client
(the in-flight count is not visible from outside a served process, and asking for it by timing
is not a test)."""

from __future__ import annotations

from flask import Flask
from flask_socketio import SocketIO

from queuekiosk.server.web.delivery import _Traffic


def test_a_socketio_event_during_a_request_leaves_that_request_in_progress():
    app = Flask(__name__)
    socketio = SocketIO(app, async_mode="threading")
    seen = {}

    @socketio.on("ping")
    def on_ping():
        return "pong"

    @app.get("/slow")
    def slow():
        seen["before"] = _Traffic.in_flight
        client = socketio.test_client(app)
        for _ in range(3):
            assert client.emit("ping", callback=True) == "pong"
        client.disconnect()
        seen["after events"] = _Traffic.in_flight
        return "done"

    _Traffic.follow(True)
    idle = _Traffic.in_flight
    try:
        assert app.test_client().get("/slow").text == "done"
    finally:
        _Traffic.follow(False)
    assert seen == {"before": idle + 1, "after events": idle + 1}, "Socket.IO events counted the request off"
    assert _Traffic.in_flight == idle  # and its own end does


def test_a_request_in_progress_while_the_worker_stops_and_starts_listening_is_not_counted_off_twice():
    """The worker listens only while it has someone to deliver to (a webhook registered, then
    removed, then another): a request begun under the earlier listening and ending under the next
    must leave the count at zero, or the worker would wait at every step for a request long gone."""
    app = Flask(__name__)
    seen = {}

    @app.get("/slow")
    def slow():
        seen["in"] = _Traffic.in_flight
        _Traffic.follow(False)  # the webhook removed
        _Traffic.follow(True)  # another registered, while this request is still being answered
        seen["relistened"] = _Traffic.in_flight
        return "done"

    _Traffic.follow(True)
    try:
        assert app.test_client().get("/slow").text == "done"
        assert seen == {"in": 1, "relistened": 0}
        assert _Traffic.in_flight == 0  # its end, counted under the first listening, counts nothing off now
        assert app.test_client().get("/slow").text == "done" and seen["in"] == 1
        assert _Traffic.in_flight == 0
    finally:
        _Traffic.follow(False)
    assert app.test_client().get("/slow").text == "done" and _Traffic.in_flight == 0
