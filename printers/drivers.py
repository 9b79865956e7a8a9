"""The interface of a ticket printer driver: two verbs, ``status()`` and ``print()``, and the
states a printer can be in.

Drivers implement ``read_status()`` and ``send()``; callers (the spooler, the kiosk agent) use
``status()`` and ``print()``, which run a blocking driver in gevent's thread pool. The drivers
themselves are in printers/escpos_drivers.py and printers/file_driver.py, chosen by the
config's driver name in printers/registry.py.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

READY, PAPER_NEAR_END, PAPER_OUT, OFFLINE, UNKNOWN = "ready", "paper_near_end", "paper_out", "offline", "unknown"
PRINTER_STATES = (READY, PAPER_NEAR_END, PAPER_OUT, OFFLINE, UNKNOWN)
PRINTABLE = (READY, PAPER_NEAR_END, UNKNOWN)  # unknown: the driver cannot ask, so it tries


@dataclass(frozen=True)
class Status:
    state: str
    detail: str | None = None

    @property
    def can_print(self) -> bool:
        return self.state in PRINTABLE


class PrintFailed(Exception):
    """The bytes did not reach the printer; the message says why (shown to the supervisor)."""


@dataclass(frozen=True)
class PrintTask:
    data: bytes  # the ESC/POS bytes
    name: str  # e.g. "HT-1001-job42": a file name, a CUPS job title
    preview: Callable[[], Image.Image]  # the ticket as a picture, drawn only if a driver wants it


class PrinterDriver(ABC):
    # True when the driver's calls block the whole process (USB, serial, a device file): they then run
    # in gevent's thread pool, so the server (or the agent's connection) keeps answering meanwhile
    blocking = False

    def status(self) -> Status:
        """What the printer says now (online? paper?); never raises."""
        return self._run(self.read_status)

    def print(self, task: PrintTask) -> None:
        """Put ``task`` on paper, or raise PrintFailed with the reason."""
        self._run(self.send, task)

    @abstractmethod
    def read_status(self) -> Status:
        """``status()`` as the driver does it, in the calling thread."""

    @abstractmethod
    def send(self, task: PrintTask) -> None:
        """``print()`` as the driver does it, in the calling thread."""

    def prepare(self) -> None:  # noqa: B027  (optional: the drivers that import nothing have nothing to do)
        """Imports, in the calling thread, what the driver's calls import the first time (a blocking
        driver's transport, and what that imports only once it is opened). ``_run`` calls it on the
        gevent loop, once a process for each driver class, before the first call goes to the pool's
        thread: gevent's monkey patching replaces the locks Python's imports take, which then no longer
        keep an import in that thread apart from one of the same package on the loop (a network
        printer's first ticket), and either could meet the other's half-made module ("cannot import
        name ... from partially initialized module"). Not at the server's start (its idle memory).
        tests/test_printer_drivers.py checks that the thread then imports nothing."""

    def _run(self, method, *args):
        if self.blocking:
            from ..server.core.pool import in_pool

            with _preparing:  # (prepare yields: USB's waits on ldconfig; the next printer waits for it)
                if type(self) not in _prepared:
                    self.prepare()
                    _prepared.add(type(self))
            return in_pool(method, *args)
        return method(*args)


_preparing = threading.Lock()  # gevent's, once monkey-patched (as the server and the kiosk agent are)
_prepared: set[type[PrinterDriver]] = set()  # the driver classes whose prepare() has run in this process
