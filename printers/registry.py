"""Printer drivers by the config's driver name (``printers[].driver``).

The names are the core's plain data (server/core/config.py ``PRINTER_DRIVERS``: the core
imports nothing from here); tests/test_printer_config.py checks that every name has its entry.
"""

from __future__ import annotations

from pathlib import Path

from ..server.core.config import Printer
from .drivers import PrinterDriver
from .escpos_drivers import CupsDriver, DeviceFileDriver, NetworkDriver, SerialDriver, UsbDriver
from .file_driver import FileDriver

DRIVERS: dict[str, type[PrinterDriver] | None] = {
    "network": NetworkDriver,
    "usb": UsbDriver,
    "serial": SerialDriver,
    "device": DeviceFileDriver,
    "cups": CupsDriver,
    "file": FileDriver,
    "agent": None,  # a kiosk PC prints it (kiosk/agent.py); the server only hands it the jobs
}


def driver_for(printer: Printer, base: Path) -> PrinterDriver | None:
    """The driver of a printer in config; ``None`` for ``agent`` printers.

    ``base`` is the folder relative paths in config start from (the config file's folder).
    """
    kind = DRIVERS[printer.driver]
    return kind(printer, base) if kind is not None else None
