"""Every display hears every call, in the order made (issue 21: a call's message is written to each
display's WebSocket at once from the broadcasting greenlet, one frame made for all: server/web/extensions.py
``send_eio_packet``).

200 real WebSocket clients (Engine.IO 4 / Socket.IO 5 spoken over wsproto's client side, one selector
for all of them, pings answered) subscribe to the lobby display; calls are made, some back to back, while
some displays subscribe again (their state snapshots, written through engine.io's queue, among the
broadcasts): each display must hear each call once, in press order, none lost.
"""

from __future__ import annotations

import json
import selectors
import socket
import subprocess
import time

import requests
from api_helpers import issue, start_gunicorn
from conftest import QUEUEKIOSK
from ports import free_port
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, CloseConnection, Ping, Request, TextMessage

DISPLAYS = 200
SUBSCRIBE = "42" + json.dumps(["subscribe", {"display": "lobby"}])


class Display:
    """One raw Socket.IO client over a WebSocket."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.setblocking(False)
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.out = self.ws.send(Request(host=f"127.0.0.1:{port}", target="/socket.io/?EIO=4&transport=websocket"))
        self.messages: list[str] = []  # text messages heard, in order
        self.acks = 0  # answers to subscribe
        self.called: list[str] = []  # ticket ids of ticket.called, in order
        self.closed = False
        self.flush()

    def send(self, text: str) -> None:
        self.out += self.ws.send(TextMessage(data=text))
        self.flush()

    def flush(self) -> None:
        while self.out:
            try:
                sent = self.sock.send(self.out)
            except BlockingIOError:
                return
            self.out = self.out[sent:]

    def readable(self) -> None:
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return
        if not data:
            self.closed = True
            return
        self.ws.receive_data(data)
        for event in self.ws.events():
            if isinstance(event, AcceptConnection):
                continue
            if isinstance(event, Ping):
                self.out += self.ws.send(event.response())
            elif isinstance(event, CloseConnection):
                self.closed = True
            elif isinstance(event, TextMessage):
                assert event.message_finished  # the server sends whole messages
                self.heard(event.data)
        self.flush()

    def heard(self, text: str) -> None:
        self.messages.append(text)
        if text.startswith("0"):  # Engine.IO open: join the namespace
            self.send("40")
        elif text.startswith("40"):
            self.send(SUBSCRIBE.replace("42", "421", 1))
        elif text == "2":  # Engine.IO ping
            self.send("3")
        elif text.startswith("43"):
            self.acks += 1
        elif text.startswith('42["ticket.called"'):
            self.called.append(json.loads(text[2:])[1]["ticket"]["id"])


def pump(displays: list[Display], until, timeout: float = 60) -> None:
    selector = selectors.DefaultSelector()
    for display in displays:
        selector.register(display.sock, selectors.EVENT_READ, display)
    deadline = time.monotonic() + timeout
    try:
        while not until():
            assert time.monotonic() < deadline, "timed out"
            for key, _ in selector.select(0.5):
                key.data.readable()
            assert not any(d.closed for d in displays), "a display's connection was closed"
    finally:
        selector.close()


def hear_every_call(port: int, call, count: int = 12) -> list[str]:
    """DISPLAYS displays on ``port`` hear ``count`` calls (``call()``: the called ticket's id), three at a
    time back to back, a tenth of them subscribing again in between: each display every call, once,
    in press order."""
    displays: list[Display] = []
    for _ in range(DISPLAYS // 50):  # in waves, as screens come up (the accept queue is not flooded)
        wave = [Display(port) for _ in range(50)]
        displays += wave
        pump(wave, lambda wave=wave: all(d.acks == 1 for d in wave))
    made: list[str] = []
    for i in range(0, count, 3):  # three calls back to back: their broadcasts overlap the answers
        made.extend(call() for _ in range(3))
        if i == 3:  # a tenth of the displays subscribe again: snapshots through the queue among the calls
            for display in displays[::10]:
                display.send(SUBSCRIBE.replace("42", "422", 1))
        pump(displays, lambda: all(len(d.called) == len(made) for d in displays))
    assert all(d.called == made for d in displays), [d.called for d in displays if d.called != made][:3]
    pump(displays, lambda: all(d.acks == 2 for d in displays[::10]))
    for display in displays:
        display.sock.close()
    return made


def test_two_hundred_displays_hear_every_call_in_order(live_server):
    server = live_server()
    http = server.session()
    admin = {"Authorization": f"Bearer {server.token('admin')}"}
    tickets = [issue(http, "HT")["id"] for _ in range(12)]

    def call() -> str:
        response = http.post("/api/v1/counters/1/next", headers=admin)
        assert response.status_code == 200, response.text
        return response.json()["id"]

    assert sorted(hear_every_call(server.port, call)) == sorted(tickets)


def test_under_gunicorn_two_hundred_displays_hear_every_call_in_order(tmp_path, server_zygote, sqlite_template):
    """The same under the documented deployment (gunicorn's gevent worker, deploy/gunicorn.conf.py)."""
    port = free_port()
    proc, env = start_gunicorn(tmp_path, port, template=sqlite_template, zygote=server_zygote)
    config, log_path = tmp_path / "config.yaml", tmp_path / "gunicorn.log"
    try:
        http = requests.Session()
        base = f"http://127.0.0.1:{port}"
        made = server_zygote.run(  # a fork of the commands' zygote: the same entry point
            [QUEUEKIOSK, "token", "create", "--role", "admin", "--config", str(config)], env, tmp_path
        )
        assert made.returncode == 0, made.stderr
        http.headers["Authorization"] = f"Bearer {made.stdout.strip()}"
        for _ in range(12):
            assert http.post(base + "/api/v1/tickets", json={"service": "HT"}).status_code == 201

        def call() -> str:
            response = http.post(base + "/api/v1/counters/1/next")
            assert response.status_code == 200, response.text
            return response.json()["id"]

        hear_every_call(port, call)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    assert "Traceback" not in log_path.read_text(), log_path.read_text()
