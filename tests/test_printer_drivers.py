"""Drivers of printers attached to the PC, on real files and a real serial line (a pseudo-terminal):
the ticket's bytes arrive whole, through python-escpos's public transports."""

from __future__ import annotations

import os
import pty
import tty
from pathlib import Path

from queuekiosk.printers.drivers import UNKNOWN, PrintTask
from queuekiosk.printers.registry import driver_for
from queuekiosk.server.core.config import Printer

TICKET = PrintTask(
    data=b"\x1b@ticket 1001\n" + bytes(range(256)) * 8 + b"\x1dVA\x00", name="HT-1001-job1", preview=lambda: None
)


def test_a_device_file_receives_the_whole_ticket(tmp_path: Path):
    device = tmp_path / "lp0"
    device.touch()
    driver = driver_for(Printer(id="p", driver="device", device=str(device)), tmp_path)
    assert driver.status().state == UNKNOWN  # a device file cannot say whether it has paper: print anyway
    driver.print(TICKET)
    assert device.read_bytes() == TICKET.data


def test_a_serial_printer_receives_the_whole_ticket(tmp_path: Path):
    controller, line = pty.openpty()
    tty.setraw(line)  # a serial line passes every byte as it is
    try:
        driver = driver_for(Printer(id="p", driver="serial", device=os.ttyname(line), timeout_seconds=2), tmp_path)
        driver.print(TICKET)
        received = b""
        while len(received) < len(TICKET.data):
            received += os.read(controller, 65536)
        assert received == TICKET.data
    finally:
        os.close(controller)
        os.close(line)
