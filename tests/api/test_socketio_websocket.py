"""What a connected screen's WebSocket costs the server (issue 21: memory at 1,000 clients).

Browsers offer per-message compression (``permessage-deflate``) on every WebSocket; a connection that
takes it keeps a zlib compressor and decompressor for its life, about 120 KB of the server's memory
for each display. The server declines the offer, and the screen still gets everything.

Each connection is read by the greenlet that serves it, on its own socket (server/web/extensions.py
GeventWebSocket): simple-websocket read it in a greenlet of its own on a duplicate of the socket.
The WebSocket protocol is still spoken in full: fragmented messages, pings, the size limit.
"""

from __future__ import annotations

import json
import time

import websocket
from api_helpers import issue
from connection_helpers import sockets_of
from websocket import ABNF

SOCKET_IO = "/socket.io/?EIO=4&transport=websocket"

# what Chromium and Firefox send
BROWSER_OFFER = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"


def test_a_browsers_offer_of_compression_is_declined_and_the_display_gets_its_state_and_calls(server):
    ws = websocket.create_connection(
        server.url.replace("http://", "ws://") + SOCKET_IO,
        header=[BROWSER_OFFER],
        timeout=10,
    )
    try:
        accepted = {name.lower(): value for name, value in ws.getheaders().items()}
        assert "sec-websocket-extensions" not in accepted  # no extension: frames are sent as they are
        assert ws.recv().startswith("0")  # Engine.IO open
        ws.send("40")
        assert ws.recv().startswith("40")  # the namespace joined
        ws.send("421" + json.dumps(["subscribe", {"display": "lobby"}]))
        frames = [ws.recv(), ws.recv()]
        state = next(json.loads(f[2:]) for f in frames if f.startswith('42["state"'))
        assert state[1]["kind"] == "display" and state[1]["display"]["id"] == "lobby"
        assert "431[" in "".join(f[:4] for f in frames)  # the subscribe's answer
        http = server.session()
        ticket = issue(http, "HT")
        admin = {"Authorization": f"Bearer {server.token('admin')}"}
        assert http.post("/api/v1/counters/1/next", headers=admin).status_code == 200
        called = None
        while called is None:
            frame = ws.recv()
            if frame == "2":  # a ping
                ws.send("3")
            elif frame.startswith('42["ticket.called"'):
                called = json.loads(frame[2:])[1]
        assert called["ticket"]["number"] == ticket["number"]
    finally:
        ws.close()


def joined(server) -> websocket.WebSocket:
    """A raw WebSocket joined to the default namespace."""
    ws = websocket.create_connection(server.url.replace("http://", "ws://") + SOCKET_IO, timeout=10)
    assert ws.recv().startswith("0")
    ws.send("40")
    assert ws.recv().startswith("40")
    return ws


def settled_sockets_of(pid: int) -> int:
    """``sockets_of(pid)`` once it stays the same for half a second (at most 10 s)."""
    deadline, count = time.monotonic() + 10, sockets_of(pid)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        count, previous = sockets_of(pid), count
        if count == previous:
            break
    return count


def test_each_connected_screen_holds_one_socket_of_the_server(server):
    pid = server.proc.pid
    before = settled_sockets_of(pid)  # the earlier tests' connections closed
    screens = [joined(server) for _ in range(20)]
    try:
        held = sockets_of(pid) - before
        assert held <= 22, held  # simple-websocket held two each (a duplicate for its reader): 39-40
    finally:
        for ws in screens:
            ws.close()
    deadline = time.monotonic() + 10
    while sockets_of(pid) > before and time.monotonic() < deadline:  # closed with their connections
        time.sleep(0.1)
    assert sockets_of(pid) <= before


def test_a_message_in_fragments_is_taken_whole_and_pings_are_answered(server):
    ws = joined(server)
    try:
        ws.ping(b"still there?")
        ws.settimeout(10)
        opcode, data = ws.recv_data(control_frame=True)
        assert (opcode, data) == (ABNF.OPCODE_PONG, b"still there?")
        text = "421" + json.dumps(["subscribe", {"display": "lobby"}])
        parts = [text[:5], text[5:20], text[20:]]
        ws.send_frame(ABNF.create_frame(parts[0], ABNF.OPCODE_TEXT, fin=0))
        ws.send_frame(ABNF.create_frame(parts[1], ABNF.OPCODE_CONT, fin=0))
        ws.send_frame(ABNF.create_frame(parts[2], ABNF.OPCODE_CONT, fin=1))
        frames = [ws.recv(), ws.recv()]
        assert any(f.startswith('42["state",{"kind":"display"') for f in frames), frames
        assert any(f.startswith('431[{"ok":true}]') for f in frames), frames
    finally:
        ws.close()


def test_a_message_past_64_kb_in_small_fragments_closes_the_connection(server):
    """The parts of a message are counted as they come: a client cannot make the server hold more
    than the 64 KB a message may have by sending it in pieces."""
    ws = joined(server)
    ws.send_frame(ABNF.create_frame("42", ABNF.OPCODE_TEXT, fin=0))
    closed = False
    try:
        for _ in range(80):  # 80 KB in 1 KB pieces, never finished
            ws.send_frame(ABNF.create_frame("x" * 1024, ABNF.OPCODE_CONT, fin=0))
        ws.settimeout(10)
        opcode, data = ws.recv_data(control_frame=True)
        closed = opcode == ABNF.OPCODE_CLOSE and int.from_bytes(data[:2], "big") == 1009  # message too big
    except (OSError, websocket.WebSocketException):
        closed = True  # closed before all was sent
    finally:
        ws.close()
    assert closed
    assert issue(server.session(), "HT")["number"] > 0  # the server goes on


def test_every_connection_is_pinged_each_interval_and_stays_while_it_answers(live_server):
    """engine.io's pings of every connection come from one greenlet (server/web/extensions.py
    SharedPings), each one interval after the connection's previous pong, as engine.io's own."""
    server = live_server(env={"QUEUEKIOSK_PING_SECONDS": "1"})
    screens = []
    for _ in range(3):
        screens.append(joined(server))
        time.sleep(0.3)  # their pings fall due at different moments
    pings = [0] * len(screens)
    for ws in screens:
        ws.settimeout(0.05)
    until = time.monotonic() + 4.5
    while time.monotonic() < until:
        for i, ws in enumerate(screens):
            try:
                frame = ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            if frame == "2":
                pings[i] += 1
                ws.send("3")
    assert all(2 <= count <= 6 for count in pings), pings  # each pinged again and again, none flooded
    for ws in screens:  # still connected: a subscription is answered (a ping may come before it)
        ws.settimeout(10)
        ws.send("421" + json.dumps(["subscribe", {"display": "lobby"}]))
        frames = []
        while not any(f.startswith("431[") for f in frames) and len(frames) < 6:
            frames.append(ws.recv())
            if frames[-1] == "2":
                ws.send("3")
        assert any(f.startswith("431[") for f in frames), frames
        ws.close()
