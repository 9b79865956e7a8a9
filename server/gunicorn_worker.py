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
- TCP_NODELAY: gunicorn wrote headers and body apart, and Nagle's algorithm with delayed ACKs made
  every request after the first on a keep-alive connection wait about 40 ms;
- an answer's headers and a body of up to ``ONE_WRITE`` bytes go out in one send (``OneSendResponse``),
  as ``serve``'s pywsgi handler sends them: gunicorn sent them apart, two system calls and two TCP
  segments for every answer;
- a stop (SIGTERM: systemd's stop and restart) winds down as serve's does (``wsgi_server.wind_down``):
  Socket.IO's connections are ended (their clients connect again) and connections waiting for a next
  request are closed, so the worker exits once the requests in flight have finished. gunicorn's waited
  for every connection to end by itself, its whole graceful timeout (10 s), and its master then killed it.

This module is imported by gunicorn's master too (to find the class, and for ``refuse_a_busy_port``,
its ``on_starting``), before gevent patches the worker: the server's modules are imported only once a
worker handles a connection.
"""

from __future__ import annotations

import errno
import os
import socket
import sys

import gevent
from gunicorn import systemd, util
from gunicorn.http import wsgi
from gunicorn.workers.base import Worker
from gunicorn.workers.base_async import AsyncWorker
from gunicorn.workers.ggevent import GeventWorker as _GeventWorker

ONE_WRITE = 64 * 1024  # a body up to this size goes out with the headers (as server/wsgi_server.py)


class OneSendResponse(wsgi.Response):
    """gunicorn's HTTP/1 response, but its headers wait for the first piece of the body and go out
    with it in one send when the body is not chunked and that piece is at most ``ONE_WRITE`` bytes;
    otherwise (a chunked or large body, a file, no body at all) they go out first, on their own, as
    gunicorn sends them. The same bytes in the same order; ``headers_sent`` is set as gunicorn sets it,
    so an error after the headers were given still closes the connection instead of writing a 500."""

    _head = None  # the headers' bytes, not yet sent

    def send_headers(self):
        if self.headers_sent:
            return
        head = self.default_headers()
        head.extend(["%s: %s\r\n" % (k, v) for k, v in self.headers])  # noqa: UP031 (gunicorn's own form)
        self._head = ("%s\r\n" % "".join(head)).encode("latin-1")  # noqa: UP031
        self.headers_sent = True

    def _send_head(self):
        head, self._head = self._head, None
        if head is not None:
            self.sock.sendall(head)

    def _emit_body(self, data):
        head = self._head
        if head is not None and not self.chunked and len(data) <= ONE_WRITE:
            self._head = None
            self.sock.sendall(head + data)
            return
        self._send_head()
        super()._emit_body(data)

    def sendfile(self, respiter):
        self.send_headers()
        self._send_head()  # before the file's bytes, which go straight from the file to the socket
        return super().sendfile(respiter)

    def close(self):
        self.send_headers()
        self._send_head()  # no body, or none written: the headers alone
        super().close()


def refuse_a_busy_port(arbiter) -> None:
    """gunicorn's ``on_starting`` (deploy/gunicorn.conf.py), before the master binds: a port already in
    use stops it with the one sentence `serve` says (in Vietnamese, then English), where gunicorn tried
    five times over five seconds and logged twelve lines. Sockets handed over already bound (systemd's
    socket activation, a master re-executed by USR2) or shared (reuse_port) are left to gunicorn."""
    if systemd.listen_fds(unset_environment=False) or "GUNICORN_FD" in os.environ or arbiter.cfg.reuse_port:
        return
    for address in arbiter.cfg.address:
        if not isinstance(address, tuple):  # a UNIX socket or an inherited file descriptor
            continue
        host, port = address[:2]
        with socket.socket(socket.AF_INET6 if util.is_ipv6(host) else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds it
            try:
                probe.bind((host, port))
            except OSError as error:
                if error.errno != errno.EADDRINUSE:
                    continue  # gunicorn says its own (an address this machine does not have)
                from .web.first_start import start_refused

                print(f"queuekiosk: {start_refused('gunicorn_port_busy', port=port, host=host)}", file=sys.stderr)
                sys.exit(1)


LISTENING: str | None = None  # this worker's address, e.g. http://127.0.0.1:8001 (set before the app loads)


class GeventWorker(_GeventWorker):
    _idle_seconds: float | None = None
    _winding_down = False
    _ended = False  # the worker's work has ended (its app's loading included): the process is on its way out

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.idle: set = set()  # connections waiting for their next request
        self.busy: set = set()  # every connection handled

    def handle_quit(self, sig, frame):
        # gunicorn's gevent worker runs gunicorn's quick stop (SIGQUIT; its master's on Ctrl+C) in a greenlet:
        # ``alive = False``, 0.1 s, then SystemExit. One that wakes once the run loop has ended (a second
        # SIGQUIT, a loaded machine) woke in the interpreter's shutdown, and its SystemExit was printed as a
        # traceback: a clean stop that read as a crash in the journal
        gevent.spawn(self._quit, sig, frame)

    def _quit(self, sig, frame):
        try:
            Worker.handle_quit(self, sig, frame)
        except SystemExit:
            if not self._ended:
                raise

    def handle_exit(self, sig, frame):
        # gunicorn's: ``alive = False``, which its run loop notices within a second, then waits for the
        # connections to end; they are made to end now (outside the signal handler: it may block)
        super().handle_exit(sig, frame)
        if not self._winding_down:
            self._winding_down = True
            gevent.spawn(self._wind_down)

    def _wind_down(self):
        from .wsgi_server import wind_down

        def listening() -> bool:  # until gunicorn's run loop closes its servers (their sockets: fd -1)
            return any(sock.fileno() != -1 for sock in self.sockets)

        # a second short of the master's kill (graceful_timeout after its signal): what still runs is said
        # in the log before the worker is killed
        seconds = max(self.cfg.graceful_timeout - 1, self.cfg.graceful_timeout / 2)
        wind_down(self.idle, lambda: len(self.busy), seconds=seconds, listening=listening)

    def run(self):
        super().run()
        from .wsgi_server import say_stopped

        say_stopped()  # the stop's last line, as serve's

    def init_process(self):
        # gunicorn's worker makes every HTTP/1 response with wsgi.create's default class (HTTP/2's
        # names its own): in this worker process, that is OneSendResponse
        wsgi.Response = OneSendResponse
        try:
            super().init_process()  # (its app's loading, then the run loop)
        finally:
            self._ended = True  # (a quick stop's greenlet still asleep ends quietly: ``_quit``)

    def load_wsgi(self):
        global LISTENING
        from .wsgi_server import lan_address, settle_collector

        host, port = self.sockets[0].getsockname()[:2] if self.sockets else ("127.0.0.1", 8000)
        host = lan_address(host)  # bound to every card (0.0.0.0): the one others reach, as serve says it
        LISTENING = f"http://{f'[{host}]' if ':' in host else host}:{port}"  # read by server/wsgi.py
        super().load_wsgi()

        settle_collector()  # as serve does once its app is made

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
        self.busy.add(client)
        self.idle.add(client)
        try:
            # gunicorn's GeventWorker.handle makes the socket blocking (no timeout) and calls this one
            return AsyncWorker.handle(self, listener, client, addr)
        finally:
            self.idle.discard(client)
            self.busy.discard(client)

    def handle_request(self, listener_name, req, sock, addr):
        self.idle.discard(sock)  # a request read: in flight until answered
        try:
            return super().handle_request(listener_name, req, sock, addr)
        except TimeoutError:  # the client took nothing for idle_seconds: closed, without a traceback in the log
            self.log.debug("Closing a connection that took nothing for %s s: %s", self.idle_seconds, addr)
            raise StopIteration() from None
        finally:
            if sock in self.busy:  # still open: waiting for its next request
                self.idle.add(sock)
