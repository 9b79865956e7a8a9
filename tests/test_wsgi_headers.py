"""The server reads a request's headers into the same message gevent's own parser makes
(server/wsgi_server.py read_headers: plain lines without email.parser, anything else through it)."""

from __future__ import annotations

import io
import random

import pytest
from gevent import pywsgi

from queuekiosk.server.wsgi_server import read_headers

PLAIN = b"Host: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 17\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n"
ODD = [
    b"X-Folded: one\r\n two\r\n\r\n",  # a folded line
    b"X-Bare-CR: a\rb\r\n\r\n",  # a bare CR splits the line for email.parser
    b"X-LF-only: a\n\n",
    b"No colon here\r\nHost: x\r\n\r\n",  # a line without a name ends the headers
    b": no name\r\n\r\n",
    b"From someone\r\nHost: x\r\n\r\n",
    b"Content-Type: multipart/form-data; boundary=x\r\n\r\n",
    b"Content-Type: message/rfc822\r\n\r\n",
    b"A:\r\nB: \t spaced \t\r\n\r\n",
    b"X: \xe9t\xe9\r\n\r\n",  # Latin-1
    b"Host: x\r\n",  # the connection closed before the blank line
    b"",
    b"X-Long: " + b"a" * 70_000 + b"\r\n\r\n",  # longer than a line may be: 'Line too long'
]


def _gevents(data: bytes):
    try:
        return pywsgi.headers_factory(io.BytesIO(data))
    except Exception as error:  # noqa: BLE001 (more than 100 headers: the same exception either way)
        return repr(error)


def _ours(data: bytes):
    try:
        return read_headers(io.BytesIO(data))
    except Exception as error:  # noqa: BLE001
        return repr(error)


_LOOKED_UP = ["host", "Content-Type", "CONTENT-LENGTH", "cookie", "x-a", "a b", "from", "\xe9x", "connection", "nope"]
_INDEX = {"_indexed", "_count", "_first"}  # the plain message's index of its names (what ``get`` answers is compared)


def _seen(message):
    """What a message holds, nested messages (message/rfc822) included, and what gevent's lookups answer."""
    if isinstance(message, list):
        return [_seen(m) for m in message]
    if not hasattr(message, "_headers"):
        return message
    held = {
        k: _seen(v) if k == "_payload" else [type(d) for d in v] if k == "defects" else v
        for k, v in vars(message).items()
        if k not in _INDEX
    }
    return held, [(message.get(name), message.getheader(name, "-")) for name in _LOOKED_UP], message.typeheader


@pytest.mark.parametrize("data", [PLAIN, *ODD, b"".join(b"H%d: v\r\n" % i for i in range(101)) + b"\r\n"])
def test_headers_read_as_gevent_reads_them(data):
    assert _seen(_ours(data)) == _seen(_gevents(data))


def test_random_header_blocks_read_as_gevent_reads_them():
    pieces = [
        b"a",
        b"B",
        b":",
        b" ",
        b"\t",
        b"\r",
        b"\n",
        b"\r\n",
        b"\x0b",
        b"\x0c",
        b"\x1c",
        b"\x85",
        b"\xe9",
        b"From ",
    ]
    pieces += [b"multipart/mixed; boundary=x", b"message/rfc822", b"text/plain", b"\x00", b"\x7f", b";"]
    names = [b"Host", b"Content-Type", b"X-A", b"a b", b"", b"From", b"\xe9x", b"x\x7f", b"Cookie"]
    rng = random.Random(21)
    for _ in range(5_000):
        lines = []
        for _ in range(rng.randint(0, 4)):
            value = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 4)))
            separator = rng.choice([b":", b": ", b":\t", b""])
            lines.append(rng.choice(names) + separator + value + rng.choice([b"\r\n", b"\r\n", b"\n"]))
        data = b"".join(lines) + rng.choice([b"\r\n", b"\r\n", b"\n", b"", b"\r\nbody"])
        assert _seen(_ours(data)) == _seen(_gevents(data)), data


def test_a_plain_message_answers_as_gevents_after_it_is_changed():
    """gevent deletes Content-Length from a chunked request's message; the index of names follows a
    message changed in any way (an element deleted, added or replaced)."""
    data = b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\nX-A: 1\r\nX-A: 2\r\n\r\n"
    ours, gevents = _ours(data), _gevents(data)
    for change in (
        lambda m: m.__delitem__("content-length"),
        lambda m: m.__setitem__("Content-Length", "9"),
        lambda m: m.replace_header("x-a", "3"),
        lambda m: m.__delitem__("X-A"),
    ):
        change(ours)
        change(gevents)
        assert _seen(ours) == _seen(gevents)
