"""Drivers of printers attached to the PC, on real files and a real serial line (a pseudo-terminal):
the ticket's bytes arrive whole, through python-escpos's public transports. In a process monkey-patched
by gevent, as the server and the kiosk agent are, a blocking driver's calls import nothing in the pool's
thread, and a CUPS queue prints (tests/printer_transports_first.py)."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import tty
from pathlib import Path

from queuekiosk.printers.drivers import UNKNOWN, PrintTask
from queuekiosk.printers.registry import driver_for
from queuekiosk.server.core.config import Printer

TICKET_SENT = "\x1b@ticket 1001\n\x1dVA\x00"  # tests/printer_transports_first.py's (latin-1)
FIRST_CALLS = Path(__file__).resolve().parent / "printer_transports_first.py"

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


def test_under_gevent_a_process_s_first_printer_calls_import_nothing_in_the_pool_s_thread(tmp_path: Path):
    """A device file's, a serial line's, a USB printer's (none attached) and a CUPS queue's first status
    query and ticket in a process patched as ``queuekiosk serve`` is: each as without gevent, and nothing
    imported off the loop meanwhile. Before, the pool's thread imported python-escpos's printers (with
    PIL, qrcode, pyusb, pyserial) and pyusb's backends, 104 to 121 modules, while the loop could import
    the same packages; and a CUPS queue never printed: python-escpos's ``lpstat`` and ``lp`` ran in that
    thread, where gevent's subprocess fails ("child watchers are only available on the default loop").
    A CUPS status query starts no ``lp`` job (python-escpos's ``LP`` sent one, a blank line, at each), and
    a job ``lp`` refuses (exit status 1, whether it read the ticket, not, or after a pause) is not printed
    (it counted as printed); three USB printers asked at once prepare the driver once (it ran 3 times)."""
    done = subprocess.run(
        [sys.executable, str(FIRST_CALLS), str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    outcome = json.loads(done.stdout)
    usb = outcome.pop("usb")  # no such printer here (nor libusb, maybe): its reason is the machine's
    assert outcome == {
        "device": {"errors": [], "status": UNKNOWN, "received": True},
        "serial": {"errors": [], "status": "offline", "received": True},  # the pseudo-terminal does not answer
        "cups": {"errors": [], "status": UNKNOWN, "status again": UNKNOWN},
        "cups jobs": [TICKET_SENT],  # the ticket as it was sent, and no job for a status query
        "cups Refusing": {
            "errors": ['PrintFailed: lp: Destination "Refusing" is not accepting jobs.'],
            "status": UNKNOWN,
        },
        "cups Gone": {"errors": ["PrintFailed: lp exited with status 1"], "status": UNKNOWN},
        "cups Slow": {"errors": ["PrintFailed: lp: Error - unable to queue"], "status": UNKNOWN},
        "cups Missing": {
            "errors": ["PrintFailed: lp: The printer or class does not exist."],
            "status": "offline",
        },
        "usb prepared": 1,  # three USB printers asked at once: pyusb's backend chosen once
        "imported off the loop": [],
    }, done.stdout
    assert usb.get("status") == "offline" and [e.split(":")[0] for e in usb["errors"]] == ["PrintFailed"], usb
