"""The interface of a ticket printer driver: two verbs, ``status()`` and ``print()``, and the
states a printer can be in.

Drivers implement ``read_status()`` and ``send()``; callers (the spooler, the kiosk agent) use
``status()`` and ``print()``, which run a blocking driver in gevent's thread pool. The drivers
themselves are in printers/escpos_drivers.py and printers/file_driver.py, chosen by the
config's driver name in printers/registry.py.
"""

from __future__ import annotations

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
    # True when the driver's calls block the whole process (USB, serial, lp): they then run in
    # gevent's thread pool, so the server (or the agent's connection) keeps answering meanwhile
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

    def _run(self, method, *args):
        if self.blocking:
            import gevent

            return gevent.get_hub().threadpool.apply(method, args)
        return method(*args)
