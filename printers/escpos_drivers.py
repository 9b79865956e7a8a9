"""Printers reached through python-escpos: network, USB, serial, a device file, CUPS through
``lp`` (without a shell). Each job opens the transport, and closes it after.

python-escpos has no public call for bytes rendered already (printers/ticket.py renders them on
its ``Dummy`` printer; its own docs send them with the private ``_raw``), so each driver writes
them through the connection the transport opened, its public ``device``: a socket, a USB
device, a serial port, a file, the ``lp`` process. Tests use the network driver against a TCP
printer on 127.0.0.1 (tests/printer_sim.py).
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING

from escpos.constants import RT_STATUS_ONLINE
from escpos.exceptions import Error as EscposError  # light: the transports load only when used

from ..server.core.config import Printer
from .drivers import OFFLINE, PAPER_NEAR_END, PAPER_OUT, READY, UNKNOWN, PrinterDriver, PrintFailed, PrintTask, Status

if TYPE_CHECKING:
    from escpos.escpos import Escpos

log = logging.getLogger(__name__)


class EscposDriver(PrinterDriver):
    can_ask = True  # the transport reads answers back (DLE EOT status)
    # a job counts as printed only once the printer answers a status query sent after it (network
    # printers): the OS takes a whole ticket into its buffers at once, so a printer that stops
    # reading part-way would otherwise look as if it had printed
    confirms = False

    def __init__(self, printer: Printer, base: Path):
        self.printer = printer

    @abstractmethod
    def transport(self) -> Escpos:
        """The python-escpos printer object, not yet opened."""

    @abstractmethod
    def write(self, device: Escpos, data: bytes) -> None:
        """``data`` through the opened transport's connection (``device.device``)."""

    def _open(self) -> Escpos:
        device = self.transport()
        device.open()
        return device

    def read_status(self) -> Status:
        try:
            device = self._open()
        except (EscposError, OSError) as error:
            return Status(OFFLINE, _reason(error))
        try:
            if not self.can_ask:
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

    def send(self, task: PrintTask) -> None:
        try:
            device = self._open()
        except (EscposError, OSError) as error:
            raise PrintFailed(_reason(error)) from error
        try:
            self.write(device, task.data)  # complete ESC/POS already (printers/ticket.py)
            if self.confirms and not device.query_status(RT_STATUS_ONLINE):
                raise PrintFailed("the printer closed the connection before it answered")
        except TimeoutError as error:  # a network printer that took the connection, then stopped reading
            waited = f" (no answer within {self.printer.timeout_seconds:g} s)" if self.confirms else ""
            raise PrintFailed(f"not responding: it stopped taking the ticket part-way{waited}") from error
        except (EscposError, OSError) as error:
            raise PrintFailed(_reason(error)) from error
        finally:
            _close(device)


class NetworkDriver(EscposDriver):
    confirms = True

    def transport(self):
        from escpos.printer import Network

        p = self.printer
        return Network(p.host, p.port, p.timeout_seconds, profile=p.profile)

    def write(self, device, data: bytes) -> None:
        device.device.sendall(data)


class UsbDriver(EscposDriver):
    blocking = True

    def transport(self):
        from escpos.printer import Usb

        p = self.printer
        return Usb(p.vendor_id, p.product_id, timeout=int(p.timeout_seconds * 1000), profile=p.profile)

    def write(self, device, data: bytes) -> None:
        device.device.write(device.out_ep, data, device.timeout)


class SerialDriver(EscposDriver):
    blocking = True

    def transport(self):
        from escpos.printer import Serial

        p = self.printer
        return Serial(p.device, baudrate=p.baudrate, timeout=p.timeout_seconds, profile=p.profile)

    def write(self, device, data: bytes) -> None:
        device.device.write(data)


class DeviceFileDriver(EscposDriver):
    """A printer's device file, e.g. /dev/usb/lp0: writes only, no status."""

    blocking = True
    can_ask = False

    def transport(self):
        from escpos.printer import File

        return File(self.printer.device, profile=self.printer.profile)

    def write(self, device, data: bytes) -> None:
        device.device.write(data)
        device.flush()


class CupsDriver(EscposDriver):
    """A CUPS queue, through ``lp -o raw`` (no shell): writes only, no status."""

    blocking = True
    can_ask = False

    def transport(self):
        from escpos.printer import LP

        return LP(self.printer.queue, profile=self.printer.profile)

    def write(self, device, data: bytes) -> None:
        device.device.stdin.write(data)  # the job goes to CUPS when the transport closes


def _reason(error: BaseException) -> str:
    return str(error).strip().replace("\n", " ") or type(error).__name__


def _close(device) -> None:
    try:
        device.close()
    except (EscposError, OSError) as error:
        log.debug("closing the printer failed: %s", error)
