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

socketio = SocketIO(
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
