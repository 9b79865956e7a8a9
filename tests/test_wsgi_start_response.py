"""The server's start_response (server/wsgi_server.py, issue 21) leaves the handler as gevent's own
does, for headers seen before (kept) and never seen alike, and refuses what gevent refuses."""

from __future__ import annotations

import pytest
from gevent import pywsgi

from queuekiosk.server import wsgi_server
from queuekiosk.server.wsgi_server import SmallBufferHandler

SECURITY = [("X-Frame-Options", "DENY"), ("X-Content-Type-Options", "nosniff")]
CASES = [
    ("201 CREATED", [("Content-Type", "application/json"), ("Content-Length", "480"), *SECURITY]),
    ("200 OK", [("Content-Type", "text/html"), ("Connection", "close"), ("Date", "Fri, 04 Dec 2026 21:00:00 GMT")]),
    ("200 OK", [("content-length", "3"), ("CONTENT-LENGTH", "4")]),  # the last one counts, as in gevent
    ("204 NO CONTENT", [("Content-Length", "0")]),
    ("204 NO CONTENT", [("Content-Length", "5")]),  # refused
    ("304 NOT MODIFIED", []),
    ("200 OK", [["Content-Type", "text/plain"]]),  # a list, not a tuple: gevent's way each time
    ("200 OK", [("X-Bad", "a\r\nInjected: yes")]),  # refused
    ("200 OK", [("X-Bad", "caf\u00e9 \u20ac")]),  # not Latin-1: refused
    ("200 OK", [("X-Bad", b"bytes")]),  # refused
    ("200\r\nX: y", [("A", "b")]),  # refused
    (b"200 OK", [("A", "b")]),  # refused
]
STATE = (
    "status",
    "_orig_status",
    "response_headers",
    "code",
    "provided_date",
    "provided_content_length",
    "close_connection",
)


def _handler(cls, version: str):
    handler = cls.__new__(cls)
    handler.request_version = version
    handler.close_connection = False
    handler.headers_sent = False
    handler.status = handler._orig_status = handler.code = None
    handler.response_headers = None
    return handler


def _outcome(cls, version, status, headers):
    handler = _handler(cls, version)
    try:
        handler.start_response(status, list(headers))
    except Exception as error:  # noqa: BLE001 - the same refusal either way
        return type(error).__name__, str(error)
    return {name: getattr(handler, name) for name in STATE}


@pytest.mark.parametrize("version", ["HTTP/1.1", "HTTP/1.0"])
def test_start_response_leaves_the_handler_as_gevents_does(version, monkeypatch):
    monkeypatch.setattr(wsgi_server, "_ENCODED_HEADERS", {})
    monkeypatch.setattr(wsgi_server, "_ENCODED_STATUSES", {})
    for _again in range(3):  # the first time gevent's way and kept, then from what was kept
        for status, headers in CASES:
            assert _outcome(SmallBufferHandler, version, status, headers) == _outcome(
                pywsgi.WSGIHandler, version, status, headers
            ), (status, headers)
    assert wsgi_server._ENCODED_HEADERS  # something was kept


def test_what_is_kept_is_bounded(monkeypatch):
    monkeypatch.setattr(wsgi_server, "_ENCODED_HEADERS", {})
    for length in range(3 * wsgi_server.ENCODED_KEPT):
        handler = _handler(SmallBufferHandler, "HTTP/1.1")
        handler.start_response("200 OK", [("Content-Length", str(length))])
        assert handler.provided_content_length == str(length)
    assert len(wsgi_server._ENCODED_HEADERS) <= wsgi_server.ENCODED_KEPT


def test_a_session_cookie_or_an_address_is_not_kept(monkeypatch):
    monkeypatch.setattr(wsgi_server, "_ENCODED_HEADERS", {})
    cookie = ("Set-Cookie", "session=signed.login.value; HttpOnly")
    headers = [("Content-Type", "text/html"), cookie, ("Location", "/counter/3?next=x")]
    for _again in range(2):
        handler = _handler(SmallBufferHandler, "HTTP/1.1")
        handler.start_response("302 FOUND", list(headers))
        assert (b"Set-Cookie", cookie[1].encode()) in handler.response_headers
    assert list(wsgi_server._ENCODED_HEADERS) == [("Content-Type", "text/html")]
