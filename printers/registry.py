"""Printer drivers by the config's driver name (``printers[].driver``).

The names are the core's plain data (server/core/config.py ``PRINTER_DRIVERS``: the core
imports nothing from here); tests/test_printer_config.py checks that every name has its entry.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from ..server.core.config import Printer
from .drivers import PrinterDriver

# (module, class) of each driver, imported at the first printer that uses it: a centre printing
# to files or through agents never loads python-escpos's transports (issue 21, idle memory)
DRIVERS: dict[str, tuple[str, str] | None] = {
    "network": ("escpos_drivers", "NetworkDriver"),
    "usb": ("escpos_drivers", "UsbDriver"),
    "serial": ("escpos_drivers", "SerialDriver"),
    "device": ("escpos_drivers", "DeviceFileDriver"),
    "cups": ("escpos_drivers", "CupsDriver"),
    "file": ("file_driver", "FileDriver"),
    "agent": None,  # a kiosk PC prints it (kiosk/agent.py); the server only hands it the jobs
}


def driver_class(name: str) -> type[PrinterDriver] | None:
    """The driver class of a driver name; ``None`` for ``agent``."""
    where = DRIVERS[name]
    if where is None:
        return None
    module, cls = where
    return getattr(importlib.import_module(f".{module}", __package__), cls)


def driver_for(printer: Printer, base: Path) -> PrinterDriver | None:
    """The driver of a printer in config; ``None`` for ``agent`` printers.

    ``base`` is the folder relative paths in config start from (the config file's folder).
    """
    kind = driver_class(printer.driver)
    return kind(printer, base) if kind is not None else None
