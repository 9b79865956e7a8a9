"""The gevent WSGI server that `queuekiosk serve` runs."""

from __future__ import annotations

import signal
import socket

import gevent
from gevent import pywsgi

from .web import printing
from .web.extensions import PING_SECONDS, ping_seconds

READ_BUFFER = 2048  # request lines and headers; a WebSocket keeps its handler (and buffer) for life
# A connection on which nothing can be read or written for this long is closed: an idle keep-alive
# connection, a client that stopped reading (a send would wait for ever), a WebSocket that no longer
# answers pings. Longer than Socket.IO's ping interval plus its timeout (server/web/extensions.py), so a
# live client, which answers every ping, never meets it: 25 s with the default pings.
IDLE_MARGIN_SECONDS = 5.0


class SmallBufferHandler(pywsgi.WSGIHandler):
    """gevent's handler with a 2 KB read buffer instead of 8 KB: 6 KB less per connected display."""

    def __init__(self, sock, address, server, rfile=None):
        super().__init__(sock, address, server, rfile or sock.makefile("rb", READ_BUFFER))


class NoDelayWSGIServer(pywsgi.WSGIServer):
    """gevent's WSGI server with TCP_NODELAY and a timeout (``idle_seconds``) on every accepted connection.

    gevent writes headers and body separately; with Nagle's algorithm and delayed ACKs
    every request after the first on a keep-alive connection waited about 40 ms.
    """

    handler_class = SmallBufferHandler
    idle_seconds = 2 * PING_SECONDS + IDLE_MARGIN_SECONDS

    def handle(self, sock, address):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # not a TCP socket (e.g. a UNIX socket)
            pass
        sock.settimeout(self.idle_seconds)
        return super().handle(sock, address)


def lan_address(host: str) -> str:
    """The address others reach a server listening on ``host`` at: for every card (0.0.0.0), the
    address of the card with the default route (no packet is sent), else loopback."""
    if host not in ("0.0.0.0", "::", ""):
        return host
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: picks the outgoing card, sends nothing
            return probe.getsockname()[0]
        except OSError:  # no network at all
            return "127.0.0.1"


def serve(app, host: str, port: int, access_log: bool = False, on_ready=None) -> None:
    server = NoDelayWSGIServer((host, port), app, log="default" if access_log else None)
    server.idle_seconds = 2 * ping_seconds() + IDLE_MARGIN_SECONDS
    server.start()
    address = lan_address(host)
    app.config[printing.SERVER_URL] = f"http://{f'[{address}]' if ':' in address else address}:{server.server_port}"
    printing.warn_if_phones_cannot_reach(app)
    if on_ready:
        on_ready(server)

    def _stop(*_):
        server.stop(timeout=5)

    gevent.signal_handler(signal.SIGTERM, _stop)
    gevent.signal_handler(signal.SIGINT, _stop)
    server.serve_forever()
