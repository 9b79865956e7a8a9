"""What the server's WebSocket writes (server/web/extensions.py GeventWebSocket), on real sockets under
gevent: frames whole and never interleaved, whichever greenlet writes them.

A connection is written by engine.io's writer greenlet (its messages), by the greenlet that reads it
(a pong, the answer to a close) and by a broadcast (``write_now``: a call to every display, written
from the broadcasting greenlet when nothing of that client is queued or part way out). A display
that reads slowly takes a frame only part at a time: whatever else is written to it must wait for the
frame's end, or the client reads garbage.
"""

from __future__ import annotations

import contextlib
import socket
import tracemalloc

import gevent
import gevent.event
import gevent.socket
import pytest
from engineio import Server as EngineIOServer
from engineio.packet import MESSAGE
from engineio.packet import Packet as EngineIOPacket
from engineio.socket import Socket as EngineIOSocket
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, Ping, TextMessage
from wsproto.frame_protocol import FrameProtocol

from queuekiosk.server.web.extensions import GeventWebSocket, frame_of, send_eio_packet, server_frame

BIG = 2_000_000  # characters: far more than the two sockets' buffers hold


def connected_pair(server_buffer: int = 4096, client_buffer: int = 4096):
    """A server socket (gevent's) and a client socket with small buffers, connected over TCP."""
    listener = gevent.socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    client = gevent.socket.socket()
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, client_buffer)
    client.connect(listener.getsockname())
    server, _ = listener.accept()
    listener.close()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, server_buffer)
    server.settimeout(30)
    return server, client


def websocket_on(sock, eio_server=None) -> GeventWebSocket:
    """A GeventWebSocket past its handshake on ``sock`` (what its WSGI call sets up)."""
    ws = GeventWebSocket(None, eio_server or EngineIOServer(async_mode="gevent"))
    ws.sock, ws.frames, ws.connected = sock, Connection(ConnectionType.SERVER), True
    return ws


def read_events(client, until, timeout: float = 30) -> list:
    """What the client reads (wsproto's client side parses every frame) until ``until(events)``."""
    reader = FrameProtocol(client=True, extensions=[])
    events: list = []
    with gevent.Timeout(timeout):
        while not until(events):
            data = client.recv(65536)
            assert data, "the server closed the connection"
            reader.receive_bytes(data)
            events.extend(reader.received_frames())
    return events


def messages(frames) -> list[str]:
    """Text messages of frames (wsproto's frame protocol: parts joined)."""
    out, part = [], []
    for frame in frames:
        if frame.opcode.name in ("TEXT", "CONTINUATION"):
            part.append(frame.payload)
            if frame.frame_finished and frame.message_finished:
                out.append("".join(part))
                part = []
    return out


def test_a_server_frame_is_what_wsproto_writes():
    wsproto_side = Connection(ConnectionType.SERVER)
    for message in ("", "4", "x" * 125, "y" * 126, "é" * 40_000, "z" * 70_000, b"\x00\x01", b"b" * 300):
        event = TextMessage(data=message) if isinstance(message, str) else BytesMessage(data=message)
        assert server_frame(message) == wsproto_side.send(event)


def test_a_pong_waits_for_a_large_message_part_way_out():
    """The reading greenlet answers a client's ping while the writer greenlet's 2 MB message is part way
    out (the client reads slowly): the pong comes after the message, not inside it."""
    server, client = connected_pair()
    ws = websocket_on(server)
    writer = gevent.spawn(ws.send, "m" * BIG)
    gevent.sleep(0.05)  # the message is part way out: the socket holds only some of it
    assert ws.busy is not None
    pinger = Connection(ConnectionType.CLIENT)
    client.sendall(pinger.send(Ping(payload=b"there?")))
    reader = gevent.spawn(ws.wait)  # reads the ping, answers it
    frames = read_events(client, lambda got: any(f.opcode.name == "PONG" for f in got))
    writer.get(timeout=10)
    assert messages(frames) == ["m" * BIG]
    assert frames[-1].opcode.name == "PONG" and frames[-1].payload == b"there?"
    reader.kill()
    server.close()
    client.close()


def engineio_connection(eio_server, ws) -> EngineIOSocket:
    """An engine.io socket upgraded to ``ws``, its writer greenlet running (engine.io's own loop)."""
    connection = EngineIOSocket(eio_server, "sid-1")
    connection.connected = connection.upgraded = True
    connection.websocket = ws
    eio_server.sockets["sid-1"] = connection

    def writer():  # engine.io's _websocket_handler's writer, as it is
        while True:
            packets = connection.poll()
            if not packets:
                break
            try:
                for pkt in packets:
                    ws.send(pkt.encode())
            except Exception:  # noqa: BLE001 - as engine.io's
                break
        ws.close()

    return connection, gevent.spawn(writer)


class _SocketIOServer:
    """What send_eio_packet reads of python-socketio's server: its engine.io server."""

    def __init__(self, eio):
        self.eio = eio


@pytest.mark.parametrize("client_reads_late", [True, False])
def test_broadcasts_to_a_slow_display_arrive_whole_and_in_order(client_reads_late):
    """Broadcasts written at once (``write_now``) until the socket is full; the rest of a frame is then
    finished by the writer greenlet, later packets queue behind it, and a ping answered meanwhile waits
    for its end: the client reads every message whole, in the order sent, and the pong."""
    eio_server = EngineIOServer(async_mode="gevent", ping_timeout=60, ping_interval=60)
    server, client = connected_pair()
    ws = websocket_on(server, eio_server)
    connection, writer = engineio_connection(eio_server, ws)
    sio = _SocketIOServer(eio_server)
    sent = [f"4{i:05d}" + "p" * 3000 for i in range(400)]  # 1.2 MB: most go part way or queued
    for i, text in enumerate(sent):
        packet = EngineIOPacket(MESSAGE, text[1:])
        if i == 200:  # a packet of this client's own (an answer) between the broadcasts
            connection.send(packet)
        else:
            send_eio_packet(sio, "sid-1", packet)
        if i == 300:  # the client pings meanwhile; the reading greenlet answers
            pinger = Connection(ConnectionType.CLIENT)
            client.sendall(pinger.send(Ping(payload=b"ping")))
            reader = gevent.spawn(ws.wait)
            gevent.sleep(0)
    assert connection.queue.qsize() or ws.busy is not None  # the socket did fill up
    if client_reads_late:
        gevent.sleep(0.2)
    frames = read_events(
        client, lambda got: len(messages(got)) == len(sent) and any(f.opcode.name == "PONG" for f in got)
    )
    assert messages(frames) == sent
    connection.queue.put(None)
    writer.join(timeout=10)
    reader.kill()
    server.close()
    client.close()


def test_a_frame_is_made_once_per_packet():
    packet = EngineIOPacket(MESSAGE, '2["ticket.called",{}]')
    assert frame_of(packet) is frame_of(packet)
    assert frame_of(packet) == server_frame('42["ticket.called",{}]')


@contextlib.contextmanager
def _writer_waiting_on_a_pong():
    """(the Socket.IO server, the client's socket) of a connection whose writer greenlet has taken
    packet "A" from engine.io's queue and waits in ``_write`` for the reading greenlet's pong, which
    the socket took only part of (``busy``, set here by hand as ``_write`` sets it); then the pong ends
    (as ``_write``'s ``finally``): the writer is woken, but has not run yet. On leaving, the writer is
    told to end, and must."""
    eio_server = EngineIOServer(async_mode="gevent", ping_timeout=60, ping_interval=60)
    server, client = connected_pair()
    try:
        ws = websocket_on(server, eio_server)
        connection, writer = engineio_connection(eio_server, ws)
        pong = gevent.event.Event()
        ws.busy = pong
        connection.send(EngineIOPacket(MESSAGE, "A"))
        gevent.sleep(0.01)  # the writer takes A and waits for the pong's end
        assert connection.queue.qsize() == 0 and not writer.dead
        ws.busy = None
        pong.set()
        yield _SocketIOServer(eio_server), client
        connection.queue.put(None)
        writer.join(timeout=10)
        assert writer.dead
    finally:
        server.close()
        client.close()


def test_a_broadcast_does_not_overtake_a_packet_the_writer_waits_to_send():
    """A broadcast that comes between the pong's end and the writer's next turn is not written at once
    (the writer holds an earlier packet): the client reads A, then B."""
    with _writer_waiting_on_a_pong() as (sio, client):
        send_eio_packet(sio, "sid-1", EngineIOPacket(MESSAGE, "B"))
        frames = read_events(client, lambda got: len(messages(got)) == 2, timeout=10)
        assert messages(frames) == ["4A", "4B"]


def test_a_large_broadcast_then_does_not_stop_the_writer():
    """The same with a broadcast of 2 MB (the socket would take only part of it): the writer does not
    wait for ever on a frame of the broadcast's, and the client reads A, B whole, then C."""
    with _writer_waiting_on_a_pong() as (sio, client):
        send_eio_packet(sio, "sid-1", EngineIOPacket(MESSAGE, "B" * BIG))
        send_eio_packet(sio, "sid-1", EngineIOPacket(MESSAGE, "C"))
        frames = read_events(client, lambda got: len(messages(got)) == 3, timeout=10)
        assert messages(frames) == ["4A", "4" + "B" * BIG, "4C"]


def test_the_rest_of_a_broadcast_to_slow_displays_is_not_copied():
    """A 2 MB broadcast to 8 displays that read slowly: what is left to write of it for each is the
    one shared frame (an offset into it), not a copy per display (memory traced by tracemalloc while
    the rests wait in the displays' queues)."""
    eio_server = EngineIOServer(async_mode="gevent", ping_timeout=60, ping_interval=60)
    sio = _SocketIOServer(eio_server)
    displays = []
    for i in range(8):
        server, client = connected_pair()
        ws = websocket_on(server, eio_server)
        connection = EngineIOSocket(eio_server, f"sid-{i}")
        connection.connected = connection.upgraded = True
        connection.websocket = ws
        eio_server.sockets[f"sid-{i}"] = connection
        displays.append((server, client, ws, connection))
    packet = EngineIOPacket(MESSAGE, "B" * BIG)
    frame_of(packet)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(8):
            send_eio_packet(sio, f"sid-{i}", packet)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    for _server, _client, ws, connection in displays:
        assert ws.busy is not None and connection.queue.qsize() == 1  # each took part of it
    assert held < BIG // 4, f"{held} bytes held for 8 rests of a {BIG} byte frame"
    for server, client, _ws, _connection in displays:
        server.close()
        client.close()
