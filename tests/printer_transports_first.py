"""A process's first status queries and tickets through the printer drivers that run in gevent's pool
(printers/drivers.py ``PrinterDriver._run``), in a process monkey-patched by gevent as ``queuekiosk serve``
and ``queuekiosk kiosk-agent`` are: tests/test_printer_drivers.py.

    python tests/printer_transports_first.py FOLDER

Drivers that can run here, in this order: a device file (FOLDER/lp0), a serial line (a pseudo-terminal,
which answers no status query), USB (no such printer attached, and maybe no libusb) and CUPS (through a
fake ``lpstat`` and ``lp``: ``fake_cups``). The first status query runs while a greenlet on the loop
imports the ticket's layout (printers/ticket.py, which imports python-escpos's printers too, as a
network printer's first ticket does) once python-escpos's printers are seen being imported (in
``sys.modules``). Prints a JSON object: each driver's status and what its printer received (or the
errors), and the modules imported off the loop meanwhile (tests/off_loop_imports.py).
"""

from gevent import monkey

monkey.patch_all()  # as server/cli.py, before anything else

import json  # noqa: E402
import os  # noqa: E402
import pty  # noqa: E402
import sys  # noqa: E402
import tty  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
from off_loop_imports import recorded  # noqa: E402

from queuekiosk.printers.drivers import PrintTask  # noqa: E402
from queuekiosk.printers.registry import driver_for  # noqa: E402
from queuekiosk.server.core.config import Printer  # noqa: E402

TICKET = PrintTask(data=b"\x1b@ticket 1001\n\x1dVA\x00", name="HT-1001-job1", preview=lambda: None)


def loop_imports_the_ticket() -> None:
    while "escpos.printer" not in sys.modules:
        gevent.sleep(0)
    from queuekiosk.printers import ticket  # noqa: F401


def status_and_print(printer: Printer, folder: Path, beside: bool = False) -> dict:
    """The driver's status, and its ticket printed: each the outcome, or the error's type and message."""
    driver = driver_for(printer, folder)
    jobs = [gevent.spawn(driver.status)] + ([gevent.spawn(loop_imports_the_ticket)] if beside else [])
    gevent.joinall(jobs)
    outcome = {"errors": [f"{type(job.exception).__name__}: {job.exception}" for job in jobs if job.exception]}
    if jobs[0].successful():
        outcome["status"] = jobs[0].value.state
    try:
        driver.print(TICKET)
    except Exception as error:  # (PrintFailed: the USB printer is not here)
        outcome["errors"].append(f"{type(error).__name__}: {error}")
    return outcome


def prepares(printer: Printer, folder: Path) -> int:
    """How many times three printers of one driver class, asked at once, ran its ``prepare`` (which
    yields to the loop: pyusb's ``find_library`` waits on ``ldconfig``)."""
    kind = type(driver_for(printer, folder))
    prepare, runs = kind.prepare, []

    def counted(driver) -> None:
        runs.append(driver)
        prepare(driver)

    kind.prepare = counted
    gevent.joinall([gevent.spawn(driver_for(printer, folder).status) for _ in range(3)], raise_error=True)
    kind.prepare = prepare
    return len(runs)


def fake_cups(folder: Path) -> None:
    """CUPS' ``lpstat`` and ``lp`` on PATH. Queue TM-T20 keeps each job in a file of its own in
    FOLDER/cups-jobs; the others refuse them, each its way: ``Refusing`` reads the ticket, says why and
    exits 1; ``Gone`` exits 1 at once, saying nothing; ``Slow`` exits 1 after a pause."""
    jobs = folder / "cups-jobs"
    jobs.mkdir()
    (folder / "bin").mkdir()
    queues = "TM-T20 Refusing Gone Slow"
    lpstat = f'for q in {queues}; do case "$1" in -e) echo $q;; -v) echo "device for $q: usb://EPSON/$q";; esac; done\n'
    lp = (
        'case "$2" in\n'
        f'  TM-T20) cat > "$(mktemp -p {jobs})";;\n'
        "  Refusing) cat > /dev/null; echo 'lp: Destination \"Refusing\" is not accepting jobs.' >&2; exit 1;;\n"
        "  Gone) exit 1;;\n"
        "  Slow) sleep 0.3; echo 'lp: Error - unable to queue' >&2; exit 1;;\n"
        "  *) echo 'lp: The printer or class does not exist.' >&2; exit 1;;\n"
        "esac\n"
    )
    for name, script in (("lpstat", lpstat), ("lp", lp)):
        (folder / "bin" / name).write_text("#!/bin/sh\n" + script)
        (folder / "bin" / name).chmod(0o755)
    os.environ["PATH"] = f"{folder / 'bin'}{os.pathsep}{os.environ['PATH']}"


def main(folder: Path) -> None:
    off_loop = recorded()
    outcome = {}
    device = folder / "lp0"
    device.touch()
    outcome["device"] = status_and_print(Printer(id="p", driver="device", device=str(device)), folder, beside=True)
    outcome["device"]["received"] = device.read_bytes() == TICKET.data
    controller, line = pty.openpty()
    tty.setraw(line)
    serial = Printer(id="s", driver="serial", device=os.ttyname(line), timeout_seconds=0.2)
    outcome["serial"] = status_and_print(serial, folder)
    received = b""  # the status queries, then the ticket
    while not outcome["serial"]["errors"] and not received.endswith(TICKET.data):
        received += os.read(controller, 65536)
    outcome["serial"]["received"] = received.endswith(TICKET.data)
    usb = Printer(id="u", driver="usb", vendor_id=0x04B8, product_id=0x0202)
    outcome["usb prepared"] = prepares(usb, folder)
    outcome["usb"] = status_and_print(usb, folder)
    fake_cups(folder)
    cups = Printer(id="c", driver="cups", queue="TM-T20")
    outcome["cups"] = status_and_print(cups, folder)
    outcome["cups"]["status again"] = driver_for(cups, folder).status().state
    outcome["cups jobs"] = [job.read_bytes().decode("latin-1") for job in (folder / "cups-jobs").iterdir()]
    for queue in ("Refusing", "Gone", "Slow", "Missing"):
        outcome[f"cups {queue}"] = status_and_print(Printer(id="c", driver="cups", queue=queue), folder)
    outcome["imported off the loop"] = off_loop
    print(json.dumps(outcome))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
