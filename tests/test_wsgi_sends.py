"""The server's answers on a real socket (server/wsgi_server.py): a body larger than the socket
takes in one send arrives whole and in order, to a client that reads slowly; a chunked body too;
and the Date header, formatted once a second, is the time of the answer."""

from __future__ import annotations

import email.utils
import time

import gevent
import gevent.socket
import pytest

from queuekiosk.server.wsgi_server import NoDelayWSGIServer

BIG = bytes(range(256)) * 64_000  # 16 MB: more than the socket buffers of both ends hold


def _app(environ, start_response):
    if environ["PATH_INFO"] == "/big":
        start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(BIG)))])
        return [BIG]
    if environ["PATH_INFO"] == "/chunked":  # no length: gevent sends it chunked
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b"first ", BIG[:100_000], b" last"])
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


@pytest.fixture
def server():
    server = NoDelayWSGIServer(("127.0.0.1", 0), _app, log=None)
    server.start()
    yield server
    server.stop(timeout=1)


def _ask(server, path: str, slow: bool = False) -> tuple[bytes, bytes]:
    """(head, body) of one request; if ``slow``, the client waits before reading, so the server's
    first send meets full socket buffers and the rest must wait for the client."""
    # gevent's socket: the server runs in this process's hub
    with gevent.socket.create_connection(("127.0.0.1", server.server_port)) as client:
        client.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        if slow:
            gevent.sleep(0.3)
        received = bytearray()
        while chunk := client.recv(1 << 20):
            received += chunk
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    return head, body


def test_a_body_larger_than_one_send_arrives_whole_to_a_slow_reader(server):
    head, body = _ask(server, "/big", slow=True)
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert len(body) == len(BIG) and body == BIG


def test_a_chunked_body_arrives_whole(server):
    head, body = _ask(server, "/chunked", slow=True)
    assert b"Transfer-Encoding: chunked" in head
    decoded, rest = bytearray(), body
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        decoded += rest[:size]
        rest = rest[size + 2 :]
    assert bytes(decoded) == b"first " + BIG[:100_000] + b" last"


def test_the_date_header_is_the_time_of_the_answer(server):
    for _ in range(3):  # across a second's change: the date formatted once a second moves on
        before = int(time.time())
        head, body = _ask(server, "/")
        after = time.time()
        assert body == b"ok"
        [date] = [line.split(b": ", 1)[1] for line in head.split(b"\r\n") if line.startswith(b"Date: ")]
        assert before <= email.utils.parsedate_to_datetime(date.decode()).timestamp() <= after
        gevent.sleep(0.6)
