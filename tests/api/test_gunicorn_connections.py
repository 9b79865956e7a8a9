"""Under the documented deployment (gunicorn with deploy/gunicorn.conf.py), clients that stop reading or
answering are disconnected and their sockets closed (issue 20, point 11), as under `queuekiosk serve`
(tests/api/test_reliability_socketio.py), while a live display stays connected.

gunicorn's own gevent worker sets no timeout on a connection: 40 silent clients held 80 file handles
for as long as the process ran. A real gunicorn process, raw sockets and a python-socketio client; what
the server holds is read from the worker's open files (/proc).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

import pytest
import requests
import websocket
from api_helpers import start_gunicorn
from conftest import SioClient
from connection_helpers import closed_by_server, sockets_of
from ports import free_port

PING = 2  # QUEUEKIOSK_PING_SECONDS: a connection idle for 2 x 2 + 5 = 9 s is closed (25 s by default); a live
# display must answer within PING, which a machine at load 10 missed at 1 s (the fresh-clone run of 13:42)


@pytest.fixture
def gunicorn_quick_pings(tmp_path, sqlite_template, server_zygote):
    """gunicorn with the deployment's config on a free port, pinging every second; yields (url, worker pid)."""
    port = free_port()
    proc, _env = start_gunicorn(
        tmp_path, port, template=sqlite_template, zygote=server_zygote, QUEUEKIOSK_PING_SECONDS=str(PING)
    )
    url = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "gunicorn.log"
    workers: list[str] = []
    try:
        workers = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        assert len(workers) == 1, workers
        yield url, int(workers[0])
    finally:
        for pid in [proc.pid, *map(int, workers)]:  # not terminate: a graceful stop waits for the connections
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(15)
        log = log_path.read_text()
        assert "Traceback" not in log, log  # a closed connection is not an error in the log


def test_under_gunicorn_clients_that_stop_reading_or_answering_lose_their_sockets(gunicorn_quick_pings):
    url, worker = gunicorn_quick_pings
    port = int(url.rsplit(":", 1)[1])
    # a display that answers its pings, connected before and all through: it must stay
    display = SioClient(url, reconnection=False).connect(transports=["websocket"])
    assert display.subscribe({"display": "lobby"}) == {"ok": True}
    before = sockets_of(worker)

    silent: list[socket.socket] = []
    # a long-polling client that took its session, then went silent on its keep-alive connection
    polling = socket.create_connection(("127.0.0.1", port))
    polling.sendall(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
    assert polling.recv(65536).startswith(b"HTTP/1.1 200")
    silent.append(polling)
    # WebSocket clients that joined the lobby display, then neither read nor answer a ping
    for _ in range(5):
        ws = websocket.create_connection(url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket")
        assert ws.recv().startswith("0")
        ws.send("40")
        ws.send("42" + json.dumps(["subscribe", {"display": "lobby"}]))
        silent.append(ws.sock)
    # clients that ask for far more than they read: 60 pipelined requests for the 100 KB API document,
    # on a small receive buffer, and nothing read (the server's sends wait once the buffers are full)
    for _ in range(2):
        greedy = socket.socket()
        greedy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        greedy.connect(("127.0.0.1", port))
        greedy.sendall(b"GET /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n" * 60)
        silent.append(greedy)
    deadline = time.monotonic() + 10  # the worker has accepted every one of them
    while sockets_of(worker) < before + len(silent):
        assert time.monotonic() < deadline, "the worker did not take the connections"
        time.sleep(0.1)

    started = time.monotonic()
    while sockets_of(worker) > before and time.monotonic() - started < 30:
        time.sleep(0.5)
    assert sockets_of(worker) <= before, "the server still holds sockets of clients that stopped reading"
    for sock in silent:  # and each client sees its connection closed
        assert closed_by_server(sock, 5), "a client that stopped reading was kept"
        sock.close()

    # the display that answered its pings is still there, on the same connection, and still hears calls
    assert display.connects == 1 and display.disconnects == 0
    since = display.mark()
    ticket = requests.post(url + "/api/v1/tickets", json={"service": "HT", "kiosk": "kiosk-1"}, timeout=10)
    assert ticket.status_code == 201, ticket.text
    display.wait_for("queue.changed", lambda d: "HT" in d["waiting"], since=since)
    display.close()
