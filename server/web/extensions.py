"""Extensions created once and bound to the app in the factory."""

import json
import os

import orjson
from flask_socketio import SocketIO


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


def without_compression(websocket_class):
    """``websocket_class`` (python-engineio's WebSocket for its async mode) declining the client's offer
    of per-message compression (``permessage-deflate``, which every browser makes). simple-websocket
    accepts it, and a connection that compresses keeps a zlib compressor and decompressor for life:
    about 120 KB more of the server's memory for each connected display (measured with a client
    offering it as a browser does: 195-200 KB a client against 73-79 without, issue 21). The events
    are a few hundred bytes to a few KB of JSON on a local network; they go uncompressed."""

    class WebSocketWithoutCompression(websocket_class):
        def __call__(self, environ, start_response):
            environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)  # no extension offered: none accepted
            return super().__call__(environ, start_response)

    WebSocketWithoutCompression.__qualname__ = f"{websocket_class.__qualname__}WithoutCompression"
    return WebSocketWithoutCompression


class QueuekioskSocketIO(SocketIO):
    """Flask-SocketIO, its server's WebSockets declining compression (``without_compression``)."""

    def init_app(self, app, **kwargs):
        super().init_app(app, **kwargs)
        eio = self.server.eio
        websocket_class = eio._async.get("websocket")
        if websocket_class is not None:  # the async mode's drivers are shared: this server gets its own
            eio._async = {**eio._async, "websocket": without_compression(websocket_class)}


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
