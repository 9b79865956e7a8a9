"""The gevent WSGI server that `queuekiosk serve` runs."""

from __future__ import annotations

import contextlib
import email.parser
import gc
import logging
import os
import re
import signal
import socket
import time
from http import client

import gevent
from gevent import pywsgi
from gevent.pool import Pool

from .web import printing
from .web.extensions import PING_SECONDS, PROXIES, ping_seconds
from .web.message_queue_check import others_unreached

log = logging.getLogger("queuekiosk")  # a stop's lines: "INFO queuekiosk [site]: stopping (SIGTERM, pid 1234): ..."

ONE_WRITE = 64 * 1024  # a response body up to this size is sent with its headers, in one send
READ_BUFFER = 2048  # request lines and headers; a WebSocket keeps its handler (and buffer) for life
# A connection on which nothing can be read or written for this long is closed: an idle keep-alive
# connection, a client that stopped reading (a send would wait for ever), a WebSocket that no longer
# answers pings. Longer than Socket.IO's ping interval plus its timeout (server/web/extensions.py), so a
# live client, which answers every ping, never meets it: 25 s with the default pings.
IDLE_MARGIN_SECONDS = 5.0
# On SIGTERM (systemd's stop and restart), requests in flight get this long to finish; what still runs
# then is ended (docs/deployment.md, "Stopping and restarting")
STOP_SECONDS = 5.0
_stopping: list[tuple[str, float]] = []  # the signal that began the stop, and when (said once)
YOUNG_COLLECTION = 7_000  # allocations between two collections of the youngest generation (Python's: 700)


# A block of plain header lines as email.feedparser reads them: each a name of printable characters
# but ':', then ':' and a value with no CR or LF, ending in CRLF; then the empty line
_PLAIN_HEADERS = re.compile(rb"(?:[\x21-\x39\x3b-\x7e]+:[^\r\n]*\r\n)*\r\n")


class _PlainMessage(pywsgi.OldMessage):
    """The message ``read_headers`` makes of plain header lines, with ``get`` looked up in an index of
    the names (in lower case, the first of a repeated name, as email.message's ``get`` returns) instead
    of a pass over every header with ``str.lower``: gevent asks ~8 of them a request. The index holds
    positions in ``_headers`` and is used only while that list is the one it was made for and of the
    same length (``__delitem__`` makes a new list, ``__setitem__`` appends, ``replace_header`` keeps the
    position); the values need none of the policy's fetch work (decoded from Latin-1: no surrogates)."""

    def index(self, headers: list[tuple[str, str]], first: dict[str, int]) -> None:
        self._headers, self._indexed, self._count, self._first = headers, headers, len(headers), first

    def get(self, name, failobj=None):
        headers = self._headers
        if headers is not self._indexed or len(headers) != self._count:
            return super().get(name, failobj)
        position = self._first.get(name.lower())
        return failobj if position is None else headers[position][1]


def read_headers(fp):
    """A request's headers, as gevent's ``headers_factory`` reads them (``http.client.parse_headers``
    into pywsgi's ``OldMessage``) but without ``email.parser`` when every line is a plain
    ``Name: value`` line ending in CRLF and the body is not multipart or a message: about 4 % of an
    issued ticket's CPU. The message made is the same (headers, empty payload, no defects); any
    other request (folded lines, bare CR or LF, a line without a name) goes through the parser."""
    try:
        lines = client._read_headers(fp)  # the same limits: 65,536 bytes a line, 100 lines
    except client.LineTooLong:
        message = pywsgi.OldMessage()
        message.status = "Line too long"
        return message
    raw = b"".join(lines)
    if _PLAIN_HEADERS.fullmatch(raw):  # one pass over the block, then each line split once
        headers, first = [], {}
        for line in raw.decode("iso-8859-1").split("\r\n")[:-2]:
            name, _, value = line.partition(":")
            lower = name.lower()
            first.setdefault(lower, len(headers))
            headers.append((name, value.lstrip(" \t")))
            if lower == "content-type":  # what get_content_maintype reads, checked more widely
                maintype = value.partition(";")[0].strip().lower().partition("/")[0]
                if maintype in ("multipart", "message"):
                    break
        else:
            message = _PlainMessage()
            message.index(headers, first)
            message.set_payload("")
            return message
    return email.parser.Parser(_class=pywsgi.OldMessage).parsestr(raw.decode("iso-8859-1"))


class _HttpDate:
    """The ``Date`` header's value, formatted once a second instead of for every answer."""

    second = None
    value = b""

    @classmethod
    def now(cls) -> bytes:
        second = int(time.time())
        if second != cls.second:
            cls.value, cls.second = pywsgi.format_date_time(second), second
        return cls.value


# start_response's work on a header kept: (name, value) -> ((name, value) as Latin-1 bytes, which of
# Connection, Date and Content-Length it is, or None); and a status's -> (as bytes, its code)
_ENCODED_HEADERS: dict[tuple[str, str], tuple[tuple[bytes, bytes], str | None]] = {}
_ENCODED_STATUSES: dict[str, tuple[bytes, int]] = {}
ENCODED_KEPT = 512
_PROVIDED = {name: name for name in ("connection", "date", "content-length")}
# never kept: a session cookie (a signed login) or a redirect's address, one answer's own values
_NOT_KEPT = frozenset(("set-cookie", "location"))


class SmallBufferHandler(pywsgi.WSGIHandler):
    """gevent's handler with a 2 KB read buffer instead of 8 KB (6 KB less per connected display),
    request headers read by ``read_headers``, and no access-log line formatted when there is no
    access log (``serve`` without ``--access-log``)."""

    def __init__(self, sock, address, server, rfile=None):
        super().__init__(sock, address, server, rfile or sock.makefile("rb", READ_BUFFER))

    def read_requestline(self):
        # waiting for a request (a new or a kept-alive connection): closed at once by a stop (``wind_down``)
        idle = self.server.idle
        idle.add(self.socket)
        try:
            return super().read_requestline()
        finally:
            idle.discard(self.socket)

    def MessageClass(self, fp, *_args):  # noqa: N802 (gevent's name)
        return read_headers(fp)

    def _headers(self):
        """gevent's: each header as ``("HTTP_NAME", value)`` for the environ (none for a name with
        "_", nor Content-Type or Content-Length), read from the message's pairs instead of from
        lines it formats for each header and then splits again. A line of the message holds one
        header, a folded one included, so the pairs are what gevent's lines came from."""
        for name, value in self.headers._headers:
            if "_" in name:  # gevent strips such headers (one could pass for another)
                continue
            key = name.replace("-", "_").upper()
            if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                yield "HTTP_" + key, value.strip()

    def run_application(self):
        """gevent's, but a body that is a list (what queuekiosk's buffered answers are) is not asked
        for a ``close`` it cannot have: ``getattr(result, "close", None)`` on a list formats an
        AttributeError and drops it, at every answer. Anything else is closed as gevent closes it."""
        assert self.result is None
        try:
            self.result = self.application(self.environ, self.start_response)
            self.process_result()
        finally:
            result, self.result = self.result, None
            if type(result) is not list:
                close = getattr(result, "close", None)
                if close is not None:
                    close()

    def start_response(self, status, headers, exc_info=None):
        """gevent's, with what it works out for each header (checked for CR, LF and non-Latin-1
        characters, encoded, looked at for Connection, Date and Content-Length) worked out once per
        header and kept: the same headers come with nearly every answer (the security headers, the
        content type), ~50 bytecodes each. A header or status not seen before, an ``exc_info``, and
        HTTP/1.0 go gevent's way (which raises what it raises)."""
        known = _ENCODED_HEADERS.get
        encoded = []
        provided = None  # {kind: value} of the Connection, Date and Content-Length headers given
        try:
            for pair in headers:
                found = known(pair)
                if found is None:
                    break
                encoded.append(found[0])
                if found[1] is not None:
                    if provided is None:
                        provided = {}
                    provided[found[1]] = pair[1]
            else:
                status_known = _ENCODED_STATUSES.get(status)
                if status_known is not None and exc_info is None and self.request_version != "HTTP/1.0":
                    return self._start_known(status, status_known, encoded, provided or {})
        except TypeError:  # an unhashable header or status (a list): gevent's way
            pass
        write = super().start_response(status, headers, exc_info)
        if len(_ENCODED_HEADERS) >= ENCODED_KEPT:  # values vary (a Content-Length): a bounded memory
            _ENCODED_HEADERS.clear()
        for pair, pair_bytes in zip(headers, self.response_headers):
            if type(pair) is tuple and (name := pair[0].lower()) not in _NOT_KEPT:
                _ENCODED_HEADERS[pair] = (pair_bytes, _PROVIDED.get(name))
        if type(status) is str and len(_ENCODED_STATUSES) < ENCODED_KEPT:
            _ENCODED_STATUSES[status] = (self.status, self.code)
        return write

    def _start_known(self, status, status_known, encoded, provided):
        """The rest of gevent's start_response, for headers and status seen (and checked) before."""
        self.status, self.code = status_known
        self._orig_status = status
        self.response_headers = encoded
        self.provided_date = provided.get("date")
        self.provided_content_length = provided.get("content-length")
        if provided.get("connection") == "close":
            self.close_connection = True
        if self.code in (304, 204) and self.provided_content_length not in (None, "0"):
            message = f"Invalid Content-Length for {self.code} response: {self.provided_content_length!r} (must be absent or zero)"
            raise self.ApplicationError(message.encode("latin-1"))
        return self.write

    def log_request(self):
        if not isinstance(self.server.log, pywsgi._NoopLog):
            super().log_request()

    def finalize_headers(self):
        if self.provided_date is None:  # gevent's, with the date of this second formatted once
            self.provided_date = _HttpDate.now()
            self.response_headers.append((b"Date", self.provided_date))
        super().finalize_headers()

    def _sendall(self, data):
        """One ``send`` first, the rest (if any) through gevent's ``sendall``, which asks the socket
        for its send buffer's size (a ``getsockopt`` call) every time: an answer nearly always fits."""
        try:
            sent = self.socket.send(data)
        except OSError as error:  # recorded as gevent's sendall records it, for the access log
            self.status = f"socket error: {error}"
            if self.code > 0:
                self.code = -self.code
            raise
        self.response_length += sent
        if sent < len(data):
            super()._sendall(memoryview(data)[sent:])

    def _write_with_headers(self, data):
        """gevent's, but a body of up to ``ONE_WRITE`` bytes goes out with the headers in one send
        (gevent sends them apart: two system calls and two TCP segments for every answer, about a
        tenth of an issued ticket's CPU). The same bytes in the same order."""
        self.headers_sent = True
        self.finalize_headers()
        towrite = bytearray(b"HTTP/1.1 ")
        towrite += self.status
        towrite += b"\r\n"
        for header, value in self.response_headers:
            towrite += header
            towrite += b": "
            towrite += value
            towrite += b"\r\n"
        towrite += b"\r\n"
        if data and not self.response_use_chunked and len(data) <= ONE_WRITE:
            towrite += data
            self._sendall(towrite)
            return
        self._sendall(towrite)
        self._write(data)


class NoDelayWSGIServer(pywsgi.WSGIServer):
    """gevent's WSGI server with TCP_NODELAY and a timeout (``idle_seconds``) on every accepted connection.

    gevent writes headers and body separately; with Nagle's algorithm and delayed ACKs
    every request after the first on a keep-alive connection waited about 40 ms.
    """

    handler_class = SmallBufferHandler
    idle_seconds = 2 * PING_SECONDS + IDLE_MARGIN_SECONDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.idle: set = set()  # connections waiting for their next request (SmallBufferHandler)

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


def settle_collector() -> None:
    """Once the app is made (serve, and each gunicorn worker: server/gunicorn_worker.py)."""
    # What starting made (modules, the app, the setup: ~93,000 objects tracked) lives as long as the
    # process. Out of the collector's sight, a full collection walks only what came since. It walked
    # them all every ~4,000 tickets (the requests in flight when a younger generation is collected
    # survive into the oldest): 2 full collections in 10 s of 32 clients took 315 ms, 3 took 4 ms after.
    gc.freeze()
    # and the youngest generation collected every YOUNG_COLLECTION allocations instead of 700: most of a
    # request's objects are gone by then, where at 700 a collection comes every few requests and walks
    # (and moves on to the older generations) the objects of the requests in flight
    gc.set_threshold(YOUNG_COLLECTION, *gc.get_threshold()[1:])


def end_socketio_sessions() -> int:
    """Every Socket.IO connection of this process ended, as a process's end ends them: a WebSocket is
    closed, a long-poll answered with nothing (its next poll is refused). Screens, consoles and agents
    then connect again by themselves, to the next process. Not with Engine.IO's close packet: that is a
    server's "go away", after which python-socketio's clients (the counter client) do not come back.
    How many were open."""
    from .web.extensions import socketio

    eio = getattr(socketio.server, "eio", None)
    ended = 0
    for sid, connection in list(eio.sockets.items()) if eio is not None else ():
        if not connection.closing and not connection.closed:
            ended += 1
            with contextlib.suppress(Exception):  # one connection's failure stops no other's close
                connection.close(wait=False, abort=True)
        if connection.closed:
            # forgotten, as Engine.IO's own disconnect does: a long-polling client's next POST on a session
            # closed but still listed raised KeyError('Session is disconnected') inside python-engineio,
            # a 500 with a traceback (gunicorn's worker accepts for up to a second after the signal)
            eio.sockets.pop(sid, None)
    return ended


def wind_down(
    idle: set, busy, seconds: float = STOP_SECONDS, listening=lambda: False, signal_name: str = "SIGTERM"
) -> bool:
    """A stop: Socket.IO's connections ended, connections waiting for a next request closed, and
    requests in flight (a ticket being issued) left to finish, for up to ``seconds``. ``busy()``: how
    many connections are still handled; ``listening()``: whether new ones are still accepted (gunicorn's
    worker stops accepting within a second of the signal: a screen told to go may come back meanwhile,
    and is told again). True once none is handled and none accepted.

    It used to wait for every connection to end by itself: a WebSocket or a long-poll lasts until its
    client leaves, and a kept-alive connection 25 s, so gunicorn's worker waited its whole graceful
    timeout (10 s) and was killed by its master.

    Said in the log (once, at the first signal), with what it ends, and if requests still run at the end
    (they are then ended); ``say_stopped`` says the end: systemd's journal showed neither."""
    deadline = time.monotonic() + seconds
    ended = end_socketio_sessions()
    if not _stopping:
        _stopping.append((signal_name, time.monotonic()))
        log.info(
            "stopping (%s, pid %d): %d Socket.IO connection(s) ended (they connect again by themselves); "
            "requests in flight get up to %.0f s to finish",
            signal_name,
            os.getpid(),  # a worker of several, or one a reload (HUP) replaces
            ended,
            seconds,
        )
    while True:
        end_socketio_sessions()  # (again: one that connected meanwhile)
        for sock in list(idle):
            with contextlib.suppress(OSError):
                # the system's shutdown: the waiting read ends as at the client's close, and the handler
                # closes the connection (gevent's would fail that read with EBADF, a traceback in the log)
                getattr(sock, "_sock", sock).shutdown(socket.SHUT_RDWR)
        if not busy() and not listening():
            return True
        if time.monotonic() >= deadline:
            log.warning(
                "stopping (%s, pid %d): %d connection(s) still busy after %.0f s are ended",
                signal_name,
                os.getpid(),
                busy(),
                seconds,
            )
            return False
        gevent.sleep(0.05)


def say_stopped() -> None:
    """The last line of a stop that ``wind_down`` began: the process ends now."""
    if _stopping:
        signal_name, began = _stopping[0]
        log.info("stopped (%s, pid %d) %.1f s after the signal", signal_name, os.getpid(), time.monotonic() - began)


def serve(app, host: str, port: int, access_log: bool = False, on_ready=None) -> None:
    # (a pool of the handlers: a stop waits for them, ``stop_timeout``, then ends what still runs)
    server = NoDelayWSGIServer((host, port), app, log="default" if access_log else None, spawn=Pool())
    server.stop_timeout = STOP_SECONDS + 1
    server.idle_seconds = 2 * ping_seconds() + IDLE_MARGIN_SECONDS
    server.start()
    address = lan_address(host)
    app.config[printing.SERVER_URL] = f"http://{f'[{address}]' if ':' in address else address}:{server.server_port}"
    printing.warn_if_phones_cannot_reach(app, served_directly=not app.config[PROXIES])
    others_unreached(app)  # other processes running, and no message queue to reach their screens: said
    if on_ready:
        on_ready(server)
    settle_collector()

    def _stop(signal_name: str):
        # serve_forever then waits for the handlers (stop_timeout) while they wind down
        server.close()
        wind_down(server.idle, lambda: len(server.pool), signal_name=signal_name)

    gevent.signal_handler(signal.SIGTERM, _stop, "SIGTERM")
    gevent.signal_handler(signal.SIGINT, _stop, "SIGINT")
    server.serve_forever()
    say_stopped()
