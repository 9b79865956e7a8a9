"""A bare Socket.IO emit route on the same server setup as `queuekiosk serve`: the reference for a call.

    python bench/bare_socketio.py PORT

Flask-SocketIO with queuekiosk's Socket.IO options (server/web/extensions.py) on the gevent server
`serve` runs (server/wsgi_server.py's, repeated here so that queuekiosk's app is not loaded). A client sends ``subscribe`` and is answered ``state``, as
queuekiosk's lobby display is; ``POST /api/v1/counters/1/next`` emits to the lobby's room a
``ticket.called`` with the fields queuekiosk sends a display (server/web/realtime.py DISPLAY_TICKET:
the ticket as the display page reads it, the announcement's text and audio_url, the waiting counts)
and answers the whole ticket, with no database, no announcement audio and no authentication. The requests, websocket and Redis client libraries
are kept out as `serve` keeps them out without a message queue (server/cli.py), so its memory compares.
"""

import sys

for _name in ("requests", "websocket", "redis"):  # as server/cli.py _skip_client_libraries
    sys.modules.setdefault(_name, None)

from gevent import monkey  # noqa: E402

monkey.patch_all()

import datetime as dt  # noqa: E402
import itertools  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402

from flask import Flask, jsonify  # noqa: E402
from flask_socketio import SocketIO, emit, join_room  # noqa: E402
from gevent import pywsgi  # noqa: E402

app = Flask(__name__)
# queuekiosk's ping interval and timeout: 10 s, or QUEUEKIOSK_PING_SECONDS as `serve` reads it (server/web/extensions.py)
_PING = float(os.environ.get("QUEUEKIOSK_PING_SECONDS") or 10)
socketio = SocketIO(
    app,
    async_mode="gevent",
    async_handlers=False,
    max_http_buffer_size=64 * 1024,
    ping_interval=_PING,
    ping_timeout=_PING,
)
_numbers = itertools.count(1)
ROOM = "site:display:lobby"
DISPLAY_TICKET = ("id", "number", "display", "service", "priority", "status", "counter", "origin")
_DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")


def _words(number: int) -> str:
    """About as many words as the Vietnamese reading of ``number`` (a digit's word per digit, and
    "trăm"/"mươi" between): the sentence's length, not its grammar."""
    digits = [_DIGITS[int(d)] for d in str(number)]
    places = ["trăm", "mươi", ""][-len(digits) :] if len(digits) <= 3 else [""] * len(digits)
    return " ".join(f"{d} {p}".strip() for d, p in zip(digits, places))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@app.get("/healthz")
def health():
    return jsonify(status="ok")


@socketio.on("subscribe")
def subscribe(data):
    join_room(ROOM)
    emit("state", {"kind": "display", "counters": [], "history": [], "waiting": {"HT": 0}})
    return {"ok": True}


@app.post("/api/v1/counters/1/next")
def call_next():
    number = next(_numbers)
    now = _now()
    ticket = {
        "id": f"bare-{number:07d}",
        "number": number,
        "display": str(number),
        "service": "HT",
        "origin_service": "HT",
        "priority": None,
        "status": "called",
        "issued_at": now,
        "called_at": now,
        "last_called_at": now,
        "started_at": None,
        "finished_at": None,
        "counter": 1,
        "target_counter": None,
        "booking": None,
        "called_before": False,
        "origin": None,
    }
    announcement = {  # queuekiosk's sentence says the number in words (4-6 of them here)
        "text": f"Mời công dân có số thứ tự {_words(number)} đến quầy số một",
        "audio_url": f"/api/v1/announcements/{number:032x}.wav?display=lobby&number={number}&counter=1",
    }
    # a display is sent what its page reads (queuekiosk trims the ticket for displays since a8140a1:
    # a reference sending the whole ticket would cost its listeners, and itself, more than queuekiosk)
    for_display = {key: ticket[key] for key in DISPLAY_TICKET}
    socketio.emit(
        "ticket.called",
        {
            "ticket": for_display,
            "counter": 1,
            "announcement": announcement,
            "waiting": {"HT": {"waiting": 3, "priority": 0}},
        },
        to=ROOM,
    )
    return jsonify(ticket)


class Handler(pywsgi.WSGIHandler):
    """server/wsgi_server.py's SmallBufferHandler (not imported: it would load queuekiosk's app)."""

    def __init__(self, sock, address, server, rfile=None):
        super().__init__(sock, address, server, rfile or sock.makefile("rb", 2048))


class Server(pywsgi.WSGIServer):
    """server/wsgi_server.py's NoDelayWSGIServer: TCP_NODELAY and an idle timeout per connection."""

    handler_class = Handler

    def handle(self, sock, address):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.settimeout(25)
        return super().handle(sock, address)


if __name__ == "__main__":
    Server(("127.0.0.1", int(sys.argv[1])), app, log=None).serve_forever()
