"""Extensions created once and bound to the app in the factory."""

from . import socketio_imports  # noqa: F401  (first: Socket.IO's libraries without what a server never runs)

# isort: split

import collections
import contextlib
import functools
import json
import logging
import os
import struct
import time

import orjson
from engineio.packet import PING
from engineio.packet import Packet as EngineIOPacket
from engineio.socket import Socket as EngineIOSocket
from flask_socketio import SocketIO
from wsproto.connection import Connection, ConnectionState, ConnectionType
from wsproto.events import BytesMessage, CloseConnection, Ping, TextMessage
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import LocalProtocolError, generate_accept_token

try:  # the plain TCP socket of gevent's servers (a TLS socket's send is not its raw socket's: no direct writes)
    from gevent.socket import socket as _GeventSocket
except ImportError:  # pragma: no cover - gevent is a dependency
    _GeventSocket = None


class PacketJSON:
    """The JSON of python-socketio's and python-engineio's packets (every event told to the screens
    and consoles): their compact ``dumps`` written by orjson, several times faster than the standard
    library (issue 21). The same JSON to a parser, but text outside ASCII is sent as UTF-8 instead of
    ``\\u`` escapes (shorter frames); anything orjson would write otherwise than the standard
    library (a date, a dataclass: refused there too), or does not take (an int past 64 bits, a key
    not a str, a lone surrogate), goes the standard library's way as before."""

    @staticmethod
    def dumps(obj, **kwargs) -> str:
        if kwargs == {"separators": (",", ":")}:
            try:
                return orjson.dumps(
                    obj, option=orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
                ).decode()
            except orjson.JSONEncodeError:
                pass
        return json.dumps(obj, **kwargs)

    loads = staticmethod(json.loads)


# a client that does not answer a ping within 10 s of it is disconnected (one sent every 10 s)
PING_SECONDS = 10.0
# how many reverse proxies stand in front (1 behind nginx): the environment variable, and app.config's key
PROXIES = "QUEUEKIOSK_PROXIES"


class GeventWebSocket:
    """A WebSocket for python-engineio under gevent (``serve``'s pywsgi and gunicorn's gevent worker),
    in place of simple-websocket's (issue 21: memory at 1,000 connected screens).

    simple-websocket reads each connection in a background greenlet of its own and hands messages over
    through an event, on a duplicate of the socket, and keeps its HTTP handshake's parser for life;
    here engine.io's handler greenlet, which waits for the next message anyway, reads the socket
    itself, with wsproto's frame protocol alone after a handshake of a few lines: one greenlet, one
    socket and a few objects fewer for every client (serve, 250-750 clients: see docs/performance.md).

    It declines the client's offer of per-message compression (``permessage-deflate``, which every
    browser makes): a connection that compresses keeps a zlib compressor and decompressor for life,
    about 120 KB for each display (with simple-websocket, which accepted it, a client offering it as a
    browser does cost 195-200 KB against 73-79 without). The events are a few hundred bytes to a few
    KB of JSON on a local network.

    What engine.io asks of it: ``(handler, server)``, then the WSGI call, which answers the handshake
    and runs ``handler(self)`` until the connection ends; ``wait()`` (the next message, None once
    closed), ``send(message)`` (OSError once closed) and ``close()``, both from engine.io's writer
    greenlet while the handler greenlet waits in ``wait()``.

    A broadcast (a call told to every display) does not go through engine.io's queue and writer
    greenlet: ``write_now`` writes the packet's frame, made once for every client, from the
    broadcasting greenlet when nothing of this client is queued or part way out (issue 21: 2 greenlet
    switches, a timer, a queue's get and put and a frame built by wsproto per display were ~85 % of a
    call at 200 displays; bench/callgrind_call.py, docs/performance.md). Three greenlets may write to
    one socket (the writer, the handler's pong or close, a broadcast): a frame the socket takes only
    part of is finished with ``busy`` set, and every other write waits for it or queues behind it. A
    broadcast is also queued while a greenlet waits to write (``waiting``): the writer may hold a packet
    it took from the queue, and is woken by the end of ``busy`` only at the hub's next turn."""

    def __init__(self, handler, server):
        self.handler = handler
        self.largest = server.max_http_buffer_size  # a message past it ends the connection (1009)
        self.ping_timeout = server.ping_timeout
        self.sock = None
        self.frames = None  # wsproto's frame protocol, once the handshake is answered
        self.parts: list = []  # a fragmented message's parts so far
        self.size = 0
        self.connected = False
        # set while a frame is part way out (the socket took only some of it): every other write waits
        # for it, or (a broadcast's) goes to engine.io's queue behind it (see ``write_now``)
        self.busy = None
        self.waiting = 0  # greenlets waiting in ``_write`` for ``busy``'s end: a broadcast queues behind them

    def __call__(self, environ, start_response):
        under_gunicorn = "gunicorn.socket" in environ
        # under pywsgi, its reader of the connection (a WebSocket's environ has it as it is)
        sock = environ["gunicorn.socket"] if under_gunicorn else environ["wsgi.input"].raw._sock
        key = environ.get("HTTP_SEC_WEBSOCKET_KEY", "")
        if environ.get("HTTP_SEC_WEBSOCKET_VERSION") != "13" or not key:
            start_response("400 BAD REQUEST", [("Content-Type", "text/plain"), ("Sec-WebSocket-Version", "13")])
            return [b"a WebSocket handshake needs Sec-WebSocket-Key and Sec-WebSocket-Version 13"]
        self.sock = sock
        self.frames = Connection(ConnectionType.SERVER)  # no extensions: compression is declined
        sock.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + generate_accept_token(key.encode("latin-1")) + b"\r\n\r\n"
        )
        self.connected = True
        connection = getattr(self.handler, "__self__", None)  # engine.io's socket (its _websocket_handler)
        if isinstance(connection, EngineIOSocket) and type(sock) is _GeventSocket:
            connection.websocket = self  # broadcasts may write to it at once (send_eio_packet)
        try:
            answer = self.handler(self)
        finally:
            self.connected = False
            if isinstance(connection, EngineIOSocket):
                connection.websocket = None
            if not under_gunicorn:  # pywsgi reads no request from what is left unread, and closes the socket
                environ["wsgi.input"].close()
        if under_gunicorn:
            raise StopIteration  # gunicorn closes the connection, writing no answer of its own
        return answer

    def wait(self):
        while self.connected:
            for event in self.frames.events():
                message = self._take(event)
                if message is not None:
                    return message
            if not self.connected:
                break
            try:
                data = self.sock.recv(4096)
            except OSError:  # reset, or nothing for the socket's timeout (a dead client)
                data = b""
            if not data:
                self.connected = False
                break
            try:
                self.frames.receive_data(data)
            except LocalProtocolError:  # closed meanwhile
                self.connected = False
        return None

    def _take(self, event):
        """What one event means: a whole message (returned), an answer owed, or the end."""
        if isinstance(event, (TextMessage, BytesMessage)):
            self.size += len(event.data)
            if self.size > self.largest:
                self._send(CloseConnection(CloseReason.MESSAGE_TOO_BIG, "message too big"))
                self.connected = False
                return None
            if not event.message_finished:
                self.parts.append(event.data)
                return None
            parts, self.parts, self.size = self.parts, [], 0
            return event.data if not parts else type(event.data)().join([*parts, event.data])
        if isinstance(event, Ping):
            self._send(event.response())
        elif isinstance(event, CloseConnection):
            if self.frames.state is ConnectionState.REMOTE_CLOSING:
                self._send(event.response())
            self.connected = False
        return None

    def send(self, message):
        """A message from engine.io's writer greenlet (or the rest of a broadcast's frame: ``_Rest``)."""
        if type(message) is _Rest:  # the rest of a frame write_now began: this greenlet owes it
            try:
                self.sock.sendall(memoryview(message.frame)[message.sent :])
            finally:
                busy, self.busy = self.busy, None
                if busy is not None:
                    busy.set()
            return
        if not self.connected:
            raise OSError("the WebSocket is closed")
        self._write(server_frame(message))

    def _send(self, event) -> None:
        """A control frame (pong, close), written by wsproto."""
        try:
            frame = self.frames.send(event)
        except LocalProtocolError:  # closing or closed already
            raise OSError("the WebSocket is closed") from None
        self._write(frame)

    def _write(self, frame: bytes) -> None:
        """Write ``frame`` whole, after any frame part way out (the handler greenlet's pong or close and
        the writer greenlet's messages never interleave): written at once when the socket takes it,
        else the rest with the socket's timeout while the others wait."""
        if self.busy is not None:
            self.waiting += 1
            try:
                while self.busy is not None:
                    self.busy.wait()
            finally:
                self.waiting -= 1
        sock = self.sock
        try:
            sent = sock._sock.send(frame) if type(sock) is _GeventSocket else 0
        except BlockingIOError:
            sent = 0
        if sent == len(frame):
            return
        busy = self.busy = _event()
        try:
            sock.sendall(memoryview(frame)[sent:])
        finally:
            self.busy = None
            busy.set()

    def write_now(self, packet, connection) -> bool:
        """A broadcast's engine.io packet written to this client at once, from the broadcasting greenlet,
        instead of through engine.io's queue and this client's writer greenlet (issue 21: a call to 200
        displays). False, and nothing written, where that would not keep the order of the client's
        packets or engine.io's checks: something queued, part way out or waiting to be written (the
        writer may hold a packet it took from the queue: ``waiting``), a connection not upgraded or
        closing, a ping unanswered past its time (engine.io's send closes it). The frame is made once per
        packet for every client (``frame_of``). A frame the socket takes only part of (a display that
        reads slowly) is finished by the writer greenlet: the rest is queued, and every other write waits
        for it; the broadcast goes on to the next client."""
        if (
            self.busy is not None
            or self.waiting
            or not self.connected
            or connection.closing
            or connection.closed
            or connection.upgrading
            or not connection.upgraded
            or connection.queue.qsize()
        ):
            return False
        last_ping = connection.last_ping
        if last_ping and time.time() - last_ping > self.ping_timeout:
            return False
        frame = frame_of(packet)
        try:
            sent = self.sock._sock.send(frame)
        except BlockingIOError:
            sent = 0
        except OSError:  # reset or closed: engine.io's way finds it so
            return False
        if sent < len(frame):
            self.busy = _event()
            connection.queue.put(_Rest(frame, sent))
        return True

    def close(self):
        if self.connected and self.frames.state is ConnectionState.OPEN:
            with contextlib.suppress(OSError):
                self._send(CloseConnection(CloseReason.NORMAL_CLOSURE))
        self.connected = False


def _event():
    import gevent.event  # (gevent's async mode: loaded already)

    return gevent.event.Event()


def server_frame(message) -> bytes:
    """One unfragmented, unmasked WebSocket frame of ``message`` (str: a text frame, else binary), as a
    server sends it (RFC 6455 5.2). Written here rather than by wsproto (``Connection.send`` of a
    TextMessage: an event object, its state checks, the text encoded and the frame built in several
    steps, for each display), which is kept for control frames and reading: issue 21, cProfile of 100
    calls to 200 displays at f100fd7, wsproto's send 1.6 s of the 10 s counted in GeventWebSocket.send
    (the socket's send 7.5 s); with the frame made once a packet and written at once (``write_now``),
    callgrind_call.py: 129k -> 15k instructions a display a call (bare Flask-SocketIO 110k)."""
    if isinstance(message, str):
        payload, opcode = message.encode(), 0x81
    else:
        payload, opcode = bytes(message), 0x82
    size = len(payload)
    if size < 126:
        return bytes((opcode, size)) + payload
    if size < 65536:
        return struct.pack("!BBH", opcode, 126, size) + payload
    return struct.pack("!BBQ", opcode, 127, size) + payload


def frame_of(packet) -> bytes:
    """An engine.io packet's WebSocket frame, made once for all the clients a broadcast goes to."""
    frame = packet.__dict__.get("ws_frame")
    if frame is None:
        frame = packet.ws_frame = server_frame(packet.encode())
    return frame


class _Rest:
    """The rest of a frame ``write_now`` began, past ``sent`` bytes: what engine.io's queue holds, and
    (its ``encode()``, which the writer greenlet calls) what the writer hands to ``send``. The frame is
    the one every client's broadcast shares: no copy of it for each display that reads slowly."""

    __slots__ = ("frame", "sent")

    def __init__(self, frame: bytes, sent: int):
        self.frame = frame
        self.sent = sent

    def encode(self):
        return self


def send_eio_packet(server, eio_sid, packet) -> None:
    """python-socketio's ``Server._send_eio_packet`` (each client's packet of an emit: the same packet for
    every client of a room), written at once to a WebSocket that can take it (``GeventWebSocket.write_now``),
    else queued as before."""
    connection = server.eio.sockets.get(eio_sid)
    websocket = getattr(connection, "websocket", None)
    if websocket is None or not websocket.write_now(packet, connection):
        server.eio.send_packet(eio_sid, packet)


class SharedPings:
    """The pings of every connection of one engine.io server, sent by one greenlet (issue 21).

    engine.io starts a greenlet for each connection's next ping (``Socket._send_ping``), which sleeps the
    ping interval, sends the ping and ends; a new one starts when the pong comes: one sleeping greenlet
    per connected client, about 8 KB each (its saved stack, its frames, its objects). Here the
    connections wait in one queue instead, in the order of their pings (every wait is the same
    interval), and one greenlet sends each ping when it is due, as ``_send_ping`` would have: not to a
    connection closing or closed, and noting when it was sent (the pong's deadline). The greenlet ends
    when nobody waits."""

    def __init__(self, eio):
        self.eio = eio
        self.due: collections.deque = collections.deque()  # (monotonic time due, engine.io socket)
        self.sender = None

    def start_background_task(self, start, target, *args, **kwargs):
        """engine.io's ``start_background_task`` (``start``), a connection's next ping queued instead."""
        if getattr(target, "__func__", None) is not EngineIOSocket._send_ping:
            return start(target, *args, **kwargs)
        self.due.append((time.monotonic() + self.eio.ping_interval, target.__self__))
        if self.sender is None:
            import gevent  # (gevent's async mode: loaded already)

            self.sender = gevent.spawn(self._send_due)
        return None  # (engine.io keeps nothing of a ping's task)

    def _send_due(self):
        import gevent

        try:
            while self.due:  # (nothing else runs between this test and the end: no ping is left behind)
                at, connection = self.due[0]
                if at > time.monotonic():
                    gevent.sleep(at - time.monotonic())  # queued after, due after: the first is the next
                    continue
                self.due.popleft()
                if connection.closing or connection.closed:
                    continue
                connection.last_ping = time.time()
                try:
                    connection.send(EngineIOPacket(PING))
                except Exception:  # noqa: BLE001 - one connection's failure stops no other's pings
                    logging.getLogger(__name__).exception("a Socket.IO ping could not be sent")
        finally:
            self.sender = None


class QueuekioskSocketIO(SocketIO):
    """Flask-SocketIO, under gevent its server's WebSockets ``GeventWebSocket`` and its pings ``SharedPings``."""

    def init_app(self, app, **kwargs):
        super().init_app(app, **kwargs)
        eio = self.server.eio
        if eio.async_mode == "gevent":  # the async mode's drivers are shared: this server gets its own
            eio._async = {**eio._async, "websocket": GeventWebSocket}
            eio.start_background_task = functools.partial(
                SharedPings(eio).start_background_task, eio.start_background_task
            )
            self.server._send_eio_packet = functools.partial(send_eio_packet, self.server)


socketio = QueuekioskSocketIO(
    json=PacketJSON,
    async_handlers=False,  # one connection's events run one after another: a flood slows only itself
    max_http_buffer_size=64 * 1024,  # no client sends more than a few hundred bytes at once
    ping_interval=PING_SECONDS,
    ping_timeout=PING_SECONDS,
)


def ping_seconds() -> float:
    """The ping interval, and the time to answer one: ``QUEUEKIOSK_PING_SECONDS`` (read when the
    server starts; tests of clients that went silent set it short), else ``PING_SECONDS``."""
    value = os.environ.get("QUEUEKIOSK_PING_SECONDS")
    if not value:
        return PING_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0
    if not 0.5 <= seconds <= 300:
        raise ValueError(
            f"QUEUEKIOSK_PING_SECONDS is {value!r}; give seconds between 0.5 and 300 (docs/configuration.md)"
        )
    return seconds
