"""What python-engineio and python-socketio log, filtered before it reaches the server's log
(server/web/realtime.py imports this once)."""

from __future__ import annotations

import logging
import re
import time


class _OncePerMinute(logging.Filter):
    """python-engineio and python-socketio log a traceback for each request or packet a client got
    wrong (a polling POST of more than 16 packets: 24 lines each, 48,000 lines in 2.5 s from one
    anonymous client, enough to fill a disk). Each of their messages is let through, traceback and
    all, once a minute; the rest are counted and the count said with the next one let through."""

    def __init__(self, seconds: float = 60.0):
        super().__init__()
        self.seconds = seconds
        self.last: dict[str, float] = {}
        self.held: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key, now = str(record.msg), time.monotonic()
        if key in self.last and now - self.last[key] < self.seconds:
            self.held[key] = self.held.get(key, 0) + 1
            return False
        self.last[key] = now
        held = self.held.pop(key, 0)
        if held:
            record.msg = f"{record.msg} ({held} more like it in the last minute were not logged)"
        return True


class _ClosedByItsClient:
    """python-engineio logs ``'Session is disconnected' <sid>`` or ``Invalid session <sid>`` through
    ``_log_error_once(message, 'bad-sid')``: at ERROR the first time in a process, then at INFO (not
    written: its logger is at ERROR). A request that arrives for a session closed here a moment before
    is nothing wrong at the server: a page refused at connect (its site removed: ``site_unknown``)
    closes its Engine.IO session while its polling request or WebSocket upgrade is still on the way,
    and is answered 400. That one is said at INFO without using up python-engineio's once: an unknown
    session never closed here (a device sent to another process: nginx not sticky) is still an ERROR,
    once per process, as python-engineio says it."""

    LINE = re.compile(r"^(?:'Session is disconnected'|Invalid session|Socket for session) (\S+)")
    SECONDS = 60.0
    KEPT = 5000

    def __init__(self):
        self.closed: dict[str, float] = {}  # Engine.IO sessions closed in this process lately -> when

    def remember(self, eio_sid: str) -> None:
        if len(self.closed) >= self.KEPT:
            self.closed.pop(next(iter(self.closed), None), None)
        self.closed[eio_sid] = time.monotonic()

    def closed_here(self, message: str) -> bool:
        said = self.LINE.match(str(message))
        closed = said and self.closed.get(said.group(1))
        return closed is not None and time.monotonic() - closed < self.SECONDS

    def guard(self, eio_server) -> None:
        """Wrap ``eio_server._log_error_once``: a session closed here is said at INFO, its key not used up."""
        log_once = eio_server._log_error_once

        def log_error_once(message, message_key):
            if self.closed_here(message):
                eio_server.logger.info(message)
                return
            log_once(message, message_key)

        eio_server._log_error_once = log_error_once


closed_sessions = _ClosedByItsClient()
_library_lines = _OncePerMinute()
for _name in ("engineio.server", "socketio.server"):
    logging.getLogger(_name).addFilter(_library_lines)
