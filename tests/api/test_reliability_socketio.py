"""What one anonymous Socket.IO connection may do is bounded (issue 20, points 2 and 11): a flood
of packets is cut off and does not hold up issuing; a client that stops answering pings is
disconnected and its socket closed. Raw WebSocket clients against the real server.
"""

from __future__ import annotations

import json
import socket
import time

import pytest
import websocket
from api_helpers import issue
from connection_helpers import closed_by_server


def raw_socketio(url: str, timeout: float = 5) -> websocket.WebSocket:
    """An Engine.IO v4 WebSocket joined to the default namespace, speaking the wire format by hand."""
    ws = websocket.create_connection(
        url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket", timeout=timeout
    )
    assert ws.recv().startswith("0")  # open
    ws.send("40")
    assert ws.recv().startswith("40")  # namespace joined
    return ws


def told_to_close(ws: websocket.WebSocket, within: float) -> bool:
    """Whether the server closes the connection or ends the session within ``within`` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            ws.settimeout(1)
            frame = ws.recv()
        except websocket.WebSocketTimeoutException:
            continue
        except (OSError, websocket.WebSocketException):
            return True
        if frame in ("", None) or frame.startswith(("1", "41")):  # closed, Engine.IO close, Socket.IO disconnect
            return True
    return False


def test_a_subscribe_flood_is_cut_off_and_issuing_does_not_wait(server):
    http = server.session()
    issue(http, "HT")
    ws = raw_socketio(server.url)
    # each packet asks for an answer (an ack id), as a page's subscribe does: the answers received
    # show how much of the flood the server worked through
    try:
        for i in range(20_000):
            ws.send(f"42{i}" + json.dumps(["subscribe", {"ticket": "khong-co-ve-nay"}]))
    except (OSError, websocket.WebSocketException):
        pass  # the server closed the connection mid-flood
    # the next citizen gets a number at once: nothing of the flood is ahead of the ticket
    assert issue(http, "HT")["number"] == 1002
    # the flooding connection got answers for its first burst only, then was dropped: the server
    # did not work through the other 19,960 packets (before the bound, each was answered with a
    # snapshot lookup, and the ticket waited 45 s behind them)
    answers, closed = 0, False
    ws.settimeout(10)
    while not closed:
        try:
            frame = ws.recv()
        except websocket.WebSocketTimeoutException:
            pytest.fail("the flooding connection is still open")
        except (OSError, websocket.WebSocketException):
            break  # closed by the server
        if frame.startswith("43"):
            answers += 1
        closed = frame in ("", None) or frame.startswith(("1", "41"))  # closed, Engine.IO close, disconnect
    # a burst of 40 (EVENTS_BURST) and 5 more a second while it lasted: a few dozen, not thousands
    assert answers <= 200, f"the server answered {answers} packets of the flood"
    assert "Socket.IO client" in server.log() and "disconnected" in server.log()


def test_a_connect_flood_on_one_connection_is_cut_off(server):
    """Connect packets run the connect handler (a token looked up) before any event is counted:
    20,000 of them, each with a wrong token, held the next ticket up 45 s and were all answered."""
    ws = websocket.create_connection(
        server.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket", timeout=5
    )
    assert ws.recv().startswith("0")  # open; the namespace not joined
    try:
        for _ in range(20_000):
            ws.send("40" + json.dumps({"token": "qk_khong-phai-ma-that-cua-thiet-bi-nao"}))
    except (OSError, websocket.WebSocketException):
        pass  # the server closed the connection mid-flood
    assert issue(server.session(), "HT")["number"] > 0  # the next citizen gets a number
    refusals = 0
    ws.settimeout(10)
    while True:
        try:
            frame = ws.recv()
        except websocket.WebSocketTimeoutException:
            pytest.fail(f"the flooding connection is still open after {refusals} refused connects")
        except (OSError, websocket.WebSocketException):
            break
        if not frame:
            break
        refusals += frame.startswith("44")
    assert refusals <= 10, f"the server worked through {refusals} connects of the flood"
    log = server.log()
    assert "asked to connect more than 5 times" in log and "Traceback" not in log, log[-3000:]


def test_malformed_packets_close_the_connection_with_one_warning(server):
    """Each malformed packet made python-socketio log an 18-line traceback and go on: 20,000 from one
    connection wrote a million lines and held the next ticket up 13 s. A binary packet announcing
    millions of attachments made it keep every one (64 KB each) until they all came."""
    floods = {
        "bad JSON": lambda ws: ws.send('42["subscribe", {'),
        "unknown packet type": lambda ws: ws.send("49garbage"),
        "an attachment nobody announced": lambda ws: ws.send_binary(b"\x00" * 1000),
    }
    for name, send in floods.items():
        ws = raw_socketio(server.url)
        try:
            for _ in range(2_000):
                send(ws)
        except (OSError, websocket.WebSocketException):
            pass  # the server closed the connection mid-flood
        assert told_to_close(ws, 10), f"a connection sending {name} was kept"
    ws = raw_socketio(server.url)
    ws.send('459999999-["subscribe",{"_placeholder":true,"num":0}]')
    try:
        for _ in range(100):
            ws.send_binary(b"\x00" * 60_000)
    except (OSError, websocket.WebSocketException):
        pass
    assert told_to_close(ws, 10), "a packet announcing 9,999,999 attachments was taken"
    assert issue(server.session(), "HT")["number"] > 0  # the server goes on
    log = server.log()
    assert log.count("sent a malformed packet") == 4, log[-3000:]
    assert "Traceback" not in log, log[-3000:]


def test_too_many_subscriptions_on_one_connection_are_refused(server):
    http = server.session()
    tickets = [issue(http, "CT")["id"] for _ in range(40)]
    ws = raw_socketio(server.url)
    answers = []
    for i, ticket in enumerate(tickets):
        ws.send("42" + str(i) + json.dumps(["subscribe", {"ticket": ticket}]))
        time.sleep(0.12)  # slow enough for the rate limit: only the number of rooms is at stake
    ws.settimeout(5)
    while len(answers) < 40:
        frame = ws.recv()
        if frame.startswith("43"):
            answers.append(frame)
    assert sum('"ok":true' in a for a in answers) == 20, answers
    assert sum("too_many_subscriptions" in a for a in answers) == 20, answers
    ws.close()


@pytest.fixture
def quick_pings(live_server):
    """A server pinging every second (QUEUEKIOSK_PING_SECONDS): a dead client is found in 2 s instead
    of 20, and an idle connection closed after 7 s instead of 25, well within the bounds below."""
    return live_server(env={"QUEUEKIOSK_PING_SECONDS": "1"})


def test_clients_that_never_answer_or_stop_reading_are_disconnected(quick_pings):
    server = quick_pings
    host, port = server.url.removeprefix("http://").split(":")
    # a long-polling client that took its session and then went silent, keeping the connection
    polling = socket.create_connection((host, int(port)))
    polling.sendall(
        f"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n\r\n".encode()
    )
    assert polling.recv(65536).startswith(b"HTTP/1.1 200")
    # WebSocket clients that joined a display and then neither read nor answer a ping
    silent = []
    for _ in range(5):
        ws = raw_socketio(server.url)
        ws.send("42" + json.dumps(["subscribe", {"display": "lobby"}]))
        silent.append(ws)
    started = time.monotonic()
    assert closed_by_server(polling, 40), "a silent keep-alive connection was kept open"
    for ws in silent:  # told at once after a missed ping (2 s), the connection closed once idle (7 s)
        assert closed_by_server(ws.sock, 65 - (time.monotonic() - started)), "a client that never answers was kept"


def test_an_oversized_message_closes_the_connection(server):
    ws = raw_socketio(server.url)
    ws.send("42" + json.dumps(["subscribe", {"ticket": "x" * 100_000}]))  # 64 KB is the most one message may hold
    assert told_to_close(ws, 10), "a 100 KB message was taken"
    assert issue(server.session(), "HT")["number"] > 0  # the server goes on


def test_a_flood_of_bad_polling_requests_logs_one_traceback_a_minute(live_server):
    """python-engineio logged 24 lines for each long-polling POST of more than 16 packets: one
    anonymous client wrote 48,000 lines in 2.5 s, enough to fill the disk the database is on."""
    srv = live_server()
    http = srv.session()
    opened = http.get("/socket.io/?EIO=4&transport=polling").text
    sid = json.loads(opened[opened.index("{") :])["sid"]
    for _ in range(500):
        http.post(f"/socket.io/?EIO=4&transport=polling&sid={sid}", data="\x1e".join(["3"] * 17))
    assert issue(http, "HT")["number"] > 0
    log = srv.log()
    # one record let through (written by engineio's own handler and by the server's), the rest counted
    assert 1 <= log.count("ValueError: Too many packets in payload") <= 4, log.count("Too many packets")


def test_an_event_without_data_or_with_too_much_is_answered(server):
    """An event sent with no data (or with two arguments) got no answer and logged a TypeError."""
    ws = raw_socketio(server.url)
    ws.send("421" + json.dumps(["subscribe"]))
    ws.send("422" + json.dumps(["subscribe", {"display": "lobby"}, "thua"]))
    answers = {}
    ws.settimeout(10)
    while len(answers) < 2:
        frame = ws.recv()
        if frame.startswith("43"):
            answers[frame[2]] = json.loads(frame[3:])[0]
    assert answers["1"]["error"]["code"] == "invalid_field", answers
    assert answers["2"] == {"ok": True}, answers
    # a ticket id that is no text (a number past 64 bits reached SQLite: OverflowError, no answer)
    for i, key in enumerate((2**70, ["x"], {"a": 1}, 12, "x" * 1000), start=3):
        ws.send(f"42{i}" + json.dumps(["subscribe", {"ticket": key}]))
    while len(answers) < 7:
        frame = ws.recv()
        if frame.startswith("43"):
            answers[frame[2]] = json.loads(frame[3:])[0]
    assert {answers[str(i)]["error"]["code"] for i in range(3, 8)} == {"unknown_ticket"}, answers
    ws.close()
    log = server.log()
    assert "TypeError" not in log and "OverflowError" not in log, log[-3000:]
