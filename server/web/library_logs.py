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


class _ClosedByItsClient(logging.Filter):
    """python-engineio logs ``'Session is disconnected' <sid>`` or ``Invalid session <sid>`` at ERROR (the
    first time in a process) for a request that arrives for a session closed a moment before: a page
    refused at connect (its site removed: ``site_unknown``) closes its Engine.IO session while its
    polling request or WebSocket upgrade is still on the way. Nothing is wrong at the server (the
    request is answered 400 and the page goes on): said at INFO, as python-engineio says the next
    ones. An unknown session never closed here (a device sent to another process: nginx not sticky)
    stays an ERROR."""

    LINE = re.compile(r"^(?:'Session is disconnected'|Invalid session) (\S+)")
    SECONDS = 60.0
    KEPT = 5000

    def __init__(self):
        super().__init__()
        self.closed: dict[str, float] = {}  # Engine.IO sessions closed in this process lately -> when

    def remember(self, eio_sid: str) -> None:
        if len(self.closed) >= self.KEPT:
            del self.closed[next(iter(self.closed))]
        self.closed[eio_sid] = time.monotonic()

    def filter(self, record: logging.LogRecord) -> bool:
        said = self.LINE.match(str(record.msg)) if record.levelno >= logging.ERROR else None
        closed = said and self.closed.get(said.group(1))
        if closed is not None and time.monotonic() - closed < self.SECONDS:
            record.levelno, record.levelname = logging.INFO, "INFO"
            return logging.getLogger(record.name).isEnabledFor(logging.INFO)
        return True


closed_sessions = _ClosedByItsClient()
_library_lines = _OncePerMinute()
for _name in ("engineio.server", "socketio.server"):
    logging.getLogger(_name).addFilter(_library_lines)
logging.getLogger("engineio.server").addFilter(closed_sessions)
