"""What the server (server/wsgi_server.py) does with an application's result on a real socket: a list
is sent as it is, and anything with a ``close`` is closed once, after its body is sent or when
sending it fails, as PEP 3333 asks (gevent's own handler is skipped only for lists)."""

from __future__ import annotations

import gevent
import gevent.socket
import pytest

from queuekiosk.server.wsgi_server import NoDelayWSGIServer


class Body:
    """An iterable result with a ``close``, as a streamed file or a generator of a framework is."""

    def __init__(self, parts, fail_after: int | None = None):
        self.parts, self.fail_after, self.closed = parts, fail_after, 0

    def __iter__(self):
        for index, part in enumerate(self.parts):
            if self.fail_after is not None and index >= self.fail_after:
                raise RuntimeError("the body failed half-way")
            yield part

    def close(self):
        self.closed += 1


results = {}


def _app(environ, start_response):
    path = environ["PATH_INFO"]
    start_response("200 OK", [("Content-Type", "text/plain")] + ([("Content-Length", "2")] if path == "/list" else []))
    if path == "/list":
        return [b"ok"]
    results[path] = Body([b"one ", b"two"], fail_after=1 if path == "/fails" else None)
    return results[path]


@pytest.fixture
def server():
    server = NoDelayWSGIServer(("127.0.0.1", 0), _app, log=None)
    server.start()
    yield server
    server.stop(timeout=1)


def _ask(server, path: str) -> bytes:
    with gevent.socket.create_connection(("127.0.0.1", server.server_port)) as client:
        client.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        received = bytearray()
        while chunk := client.recv(65536):
            received += chunk
    return bytes(received)


def test_a_list_is_sent_as_it_is(server):
    answer = _ask(server, "/list")
    assert answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(b"\r\n\r\nok")


def test_a_result_with_close_is_closed_once_after_its_body(server):
    answer = _ask(server, "/streamed")
    assert answer.startswith(b"HTTP/1.1 200 OK")
    assert b"one " in answer and b"two" in answer  # chunked: no Content-Length given
    assert results["/streamed"].closed == 1


def test_a_result_that_fails_half_way_is_closed_too(server):
    _ask(server, "/fails")
    assert results["/fails"].closed == 1
