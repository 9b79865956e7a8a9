"""How every process of queuekiosk logs: one line per event, to standard error, at INFO and above.

The app factory (so `queuekiosk serve` and gunicorn through server/wsgi.py alike) and the command
line call ``configure_logging``. A line names the site the process serves, and the counter and
ticket when the caller passes them:

    log.info("called", extra=event_context(counter=5, ticket="1023"))
    2026-12-03 08:15:02,114 INFO queuekiosk.server.web.realtime [phuc-la counter=5 ticket=1023]: called
"""

from __future__ import annotations

import logging
import os
import sys

FORMAT = "%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s"


def event_context(counter: int | None = None, ticket: str | None = None) -> dict:
    """The ``extra`` of a log call about one counter or ticket."""
    return {"counter": counter, "ticket": ticket}


_ESCPOS = f"{os.sep}escpos{os.sep}"  # python-escpos logs on the root logger (logging.info)


class _Context(logging.Filter):
    """Gives every record the process's site, and writes the context present as ``[site counter=5 ticket=1023]``."""

    def __init__(self):
        super().__init__()
        self.site: str | None = None
        self.current_site = None  # () -> the site being worked for (a request's, a loop's), or None

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING and record.name == "root" and _ESCPOS in record.pathname:
            return False  # python-escpos's "Network printer enabled", "Closing …": 2 lines a status check
        site = getattr(record, "site", None) or self.named()
        parts = [site] if site else []
        parts += [
            f"{name}={getattr(record, name)}"
            for name in ("counter", "ticket")
            if getattr(record, name, None) is not None
        ]
        record.context = f" [{' '.join(parts)}]" if parts else ""
        return True

    def named(self) -> str | None:
        """The site a line written here and now names (the work's, else the process's), if any."""
        return self._current() if self.current_site else self.site

    def _current(self) -> str | None:
        if self.current_site is None:
            return None
        try:
            return self.current_site()
        except Exception:  # a line is never lost to its context
            return None


class _Stderr(logging.StreamHandler):
    """Writes to ``sys.stderr`` as it is at each line (a test or a daemon may replace it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


_context = _Context()
_handler: _Stderr | None = None


def _is_bare_basic_config(handler: logging.Handler) -> bool:
    """The handler a bare ``logging.basicConfig()`` adds, as python-escpos does when imported: it
    would write every line a second time, in another format."""
    return (
        type(handler) is logging.StreamHandler
        and handler.stream is sys.stderr
        and handler.formatter is not None
        and handler.formatter._fmt == logging.BASIC_FORMAT
    )


def configure_logging(site: str | None = None) -> None:
    """Once per process: INFO and above to standard error. Later calls only name the site."""
    global _handler
    if _handler is None:
        _handler = _Stderr()
        _handler.setFormatter(logging.Formatter(FORMAT))
        _handler.addFilter(_context)
        root = logging.getLogger()
        for stray in [h for h in root.handlers if _is_bare_basic_config(h)]:
            root.removeHandler(stray)
        root.addHandler(_handler)
        if root.getEffectiveLevel() > logging.INFO:
            root.setLevel(logging.INFO)
        logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines narrate its own start-up
        logging.getLogger("fontTools").setLevel(logging.WARNING)  # ~150 INFO lines per PDF (fpdf2 subsetting)
    if site:
        _context.site = site


def sites_of(contexts) -> dict:
    """The ``extra`` of a line about work that others handed over (a batch of writes), each by its
    ``contextvars.copy_context()`` as it handed it over: the sites that work was for, joined by commas;
    none for the installation's own work."""
    sites = sorted({site for site in (context.run(_context.named) for context in contexts) if site})
    return {"site": ",".join(sites)} if sites else {}


def name_sites_by(current_site) -> None:
    """Several sites in one process: each line names ``current_site()`` (the site of the request or
    background loop that writes it, or none for the installation's own lines) rather than the process's
    first site."""
    _context.current_site = current_site
