"""gunicorn's gevent worker with the connection limits of `queuekiosk serve` (server/wsgi_server.py).

deploy/gunicorn.conf.py names it: ``worker_class = "queuekiosk.server.gunicorn_worker.GeventWorker"``.
gunicorn's own worker sets no timeout on a connection, so a client that stopped reading (a send
waits for ever once its buffers are full) or stopped answering (a WebSocket whose session
Socket.IO already ended waits for its next request) kept its socket, and its greenlet, until the
process ended. Here, as under `serve`:

- every accepted socket has a timeout of twice Socket.IO's ping interval plus 5 s (25 s with the
  default pings; ``QUEUEKIOSK_PING_SECONDS``): a read or a send that waits longer fails and the
  connection is closed. A live client answers every ping, so it never waits that long;
- a connection waits as long for its next request (gunicorn's ``keepalive`` would be the wait);
- TCP_NODELAY: gevent writes headers and body apart, and Nagle's algorithm with delayed ACKs made
  every request after the first on a keep-alive connection wait about 40 ms.

This module is imported by gunicorn's master too (to find the class), before gevent patches the
worker: the server's modules are imported only once a worker handles a connection.
"""

from __future__ import annotations

import socket

import gevent
from gunicorn.workers.base_async import AsyncWorker
from gunicorn.workers.ggevent import GeventWorker as _GeventWorker


class GeventWorker(_GeventWorker):
    _idle_seconds: float | None = None

    @property
    def idle_seconds(self) -> float:
        if self._idle_seconds is None:
            from .web.extensions import ping_seconds
            from .wsgi_server import IDLE_MARGIN_SECONDS

            self._idle_seconds = 2 * ping_seconds() + IDLE_MARGIN_SECONDS
        return self._idle_seconds

    def timeout_ctx(self):
        # the wait for a connection's next request (gunicorn: ``keepalive`` seconds); False: no error
        return gevent.Timeout(self.idle_seconds, False)

    def handle(self, listener, client, addr):
        try:
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # not a TCP socket (gunicorn bound to a UNIX socket)
            pass
        client.settimeout(self.idle_seconds)
        # gunicorn's GeventWorker.handle makes the socket blocking (no timeout) and calls this one
        return AsyncWorker.handle(self, listener, client, addr)

    def handle_request(self, listener_name, req, sock, addr):
        try:
            return super().handle_request(listener_name, req, sock, addr)
        except TimeoutError:  # the client took nothing for idle_seconds: closed, without a traceback in the log
            self.log.debug("Closing a connection that took nothing for %s s: %s", self.idle_seconds, addr)
            raise StopIteration() from None
