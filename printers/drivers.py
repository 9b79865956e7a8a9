"""Printer drivers: every kind of printer behind the same two verbs, ``status()`` and ``print()``.

The ESC/POS transports come from python-escpos (network, USB, serial, a device file, CUPS
through ``lp`` without a shell). ``file`` is the demo's printer: it writes what would be
printed to a folder, with a PNG picture of the ticket beside it. ``driver_for`` picks one by
the printer's config; tests use the real network driver against a TCP printer on 127.0.0.1.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from typing import TYPE_CHECKING

from escpos.constants import RT_STATUS_ONLINE
from escpos.exceptions import Error as EscposError  # light: the transports load only when used

from ..server.core.config import Printer

if TYPE_CHECKING:
    from escpos.escpos import Escpos
    from PIL import Image

log = logging.getLogger(__name__)

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
    data: bytes                          # the ESC/POS bytes
    name: str                            # e.g. "HT-1001-job42": a file name, a CUPS job title
    preview: Callable[[], "Image.Image"]  # the ticket as a picture, drawn only if a driver wants it


class PrinterDriver:
    # True when the driver's calls block the whole process (USB, serial, lp): the spooler then
    # runs them in a thread so the server keeps answering
    blocking = False

    def status(self) -> Status:
        raise NotImplementedError

    def print(self, task: PrintTask) -> None:
        raise NotImplementedError


class EscposDriver(PrinterDriver):
    """A printer reached through a python-escpos transport, opened for each job and closed after."""

    def __init__(self, make: Callable[[], "Escpos"], can_ask: bool, blocking: bool,
                 confirm_seconds: float | None = None):
        self._make = make
        self._can_ask = can_ask  # the transport reads answers back (DLE EOT status)
        self.blocking = blocking
        # network printers: a job counts as printed only once the printer answers a status query
        # sent after it. The OS takes a whole ticket into its buffers at once, so a printer that
        # stops reading part-way would otherwise look as if it had printed
        self._confirm_seconds = confirm_seconds

    def _open(self):
        device = self._make()
        device.open()
        return device

    def status(self) -> Status:
        try:
            device = self._open()
        except (EscposError, OSError) as error:
            return Status(OFFLINE, _reason(error))
        try:
            if not self._can_ask:
                return Status(UNKNOWN)
            if not device.is_online():
                # a printer out of paper also reports itself offline: ask the paper sensor why
                if device.paper_status() == 0:
                    return Status(PAPER_OUT)
                return Status(OFFLINE, "the printer reports itself offline (cover open?)")
            paper = device.paper_status()
            return Status({0: PAPER_OUT, 1: PAPER_NEAR_END}.get(paper, READY))
        except (EscposError, OSError) as error:
            return Status(OFFLINE, _reason(error))
        finally:
            _close(device)

    def print(self, task: PrintTask) -> None:
        try:
            device = self._open()
        except (EscposError, OSError) as error:
            raise PrintFailed(_reason(error)) from error
        try:
            device._raw(task.data)  # the bytes are complete ESC/POS already (printers/ticket.py)
            if self._confirm_seconds is not None and not device.query_status(RT_STATUS_ONLINE):
                raise PrintFailed("the printer closed the connection before it answered")
        except TimeoutError as error:  # a network printer that took the connection, then stopped reading
            waited = f" (no answer within {self._confirm_seconds:g} s)" if self._confirm_seconds else ""
            raise PrintFailed(f"not responding: it stopped taking the ticket part-way{waited}") from error
        except (EscposError, OSError) as error:
            raise PrintFailed(_reason(error)) from error
        finally:
            _close(device)


class FileDriver(PrinterDriver):
    """The demo printer: ``<name>.bin`` holds the ESC/POS bytes, ``<name>.png`` shows the ticket."""

    def __init__(self, folder: Path):
        self.folder = folder

    def status(self) -> Status:
        if self.folder.is_dir() and os.access(self.folder, os.W_OK):
            return Status(READY)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            return Status(READY)
        except OSError as error:
            return Status(OFFLINE, f"cannot write to {self.folder}: {error.strerror}")

    def print(self, task: PrintTask) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            partial = self.folder / f"{task.name}.bin.part"
            partial.write_bytes(task.data)
            task.preview().save(self.folder / f"{task.name}.png")
            partial.replace(self.folder / f"{task.name}.bin")  # a .bin file is always whole
        except OSError as error:
            raise PrintFailed(f"cannot write to {self.folder}: {error.strerror}") from error


def call(driver: PrinterDriver, method, *args):
    """``method(*args)`` of ``driver``; USB, serial and lp block the OS thread, so under gevent
    they run in its thread pool and the server (or the agent's connection) keeps going."""
    if driver.blocking:
        import gevent

        return gevent.get_hub().threadpool.apply(method, args)
    return method(*args)


def driver_for(printer: Printer, base: Path) -> PrinterDriver | None:
    """The driver of a printer in config; ``None`` for ``agent`` printers (a kiosk PC prints those).

    ``base`` is the folder relative paths in config start from (the config file's folder).
    """
    if printer.driver == "agent":
        return None
    if printer.driver == "file":
        return FileDriver(base / printer.path)
    from escpos import printer as escpos_printers

    profile = printer.profile
    if printer.driver == "network":
        return EscposDriver(lambda: escpos_printers.Network(printer.host, printer.port, printer.timeout_seconds,
                                                            profile=profile), can_ask=True, blocking=False,
                            confirm_seconds=printer.timeout_seconds)
    if printer.driver == "usb":
        return EscposDriver(lambda: escpos_printers.Usb(printer.vendor_id, printer.product_id, timeout=int(
            printer.timeout_seconds * 1000), profile=profile), can_ask=True, blocking=True)
    if printer.driver == "serial":
        return EscposDriver(lambda: escpos_printers.Serial(printer.device, baudrate=printer.baudrate,
                                                           timeout=printer.timeout_seconds, profile=profile),
                            can_ask=True, blocking=True)
    if printer.driver == "device":
        return EscposDriver(lambda: escpos_printers.File(printer.device, profile=profile), can_ask=False,
                            blocking=True)
    return EscposDriver(lambda: escpos_printers.LP(printer.queue, profile=profile), can_ask=False, blocking=True)


def _reason(error: BaseException) -> str:
    return str(error).strip().replace("\n", " ") or type(error).__name__


def _close(device) -> None:
    try:
        device.close()
    except (EscposError, OSError) as error:
        log.debug("closing the printer failed: %s", error)
