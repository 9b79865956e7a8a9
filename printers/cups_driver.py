"""A CUPS queue (``driver: cups``): each ticket is one ``lp -d QUEUE -o raw`` job, no shell.

It runs on the loop, not in gevent's pool: under gevent's monkey patching ``lpstat`` and ``lp`` are
gevent's subprocesses, which wait without blocking the loop (and fail in the pool's thread, "child
watchers are only available on the default loop"). Not through python-escpos's ``LP``: it starts ``lp``
as soon as it is opened (a status query would send a job: a blank line), throws ``lp``'s errors away
and never reads its exit status, so a job CUPS refused would count as printed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from ..server.core.config import Printer
from .drivers import OFFLINE, UNKNOWN, PrinterDriver, PrintFailed, PrintTask, Status


class CupsDriver(PrinterDriver):
    def __init__(self, printer: Printer, base: Path):
        self.printer = printer

    def read_status(self) -> Status:
        """Whether CUPS has the queue (``lpstat -e``, no job); whether it has paper, CUPS cannot say."""
        try:
            done = self._run_cups(["lpstat", "-e"])
        except (OSError, subprocess.SubprocessError) as error:
            return Status(OFFLINE, _reason(error))
        if done.returncode != 0:  # e.g. "lpstat: Unable to connect to server"
            return Status(OFFLINE, _said(done))
        if self.printer.queue not in done.stdout.decode(errors="replace").split():
            return Status(OFFLINE, f"CUPS has no queue {self.printer.queue}")
        return Status(UNKNOWN)

    def send(self, task: PrintTask) -> None:
        try:
            done = self._run_cups(["lp", "-d", self.printer.queue, "-t", task.name, "-o", "raw"], task.data)
        except (OSError, subprocess.SubprocessError) as error:
            raise PrintFailed(_reason(error)) from error
        if done.returncode != 0:  # e.g. 'lp: Destination "TM-T20" is not accepting jobs.'
            raise PrintFailed(_said(done))

    def _run_cups(self, command: list[str], data: bytes = b"") -> subprocess.CompletedProcess:
        return subprocess.run(command, input=data, capture_output=True, timeout=self.printer.timeout_seconds)


def _said(done: subprocess.CompletedProcess) -> str:
    """The first line the command wrote on stderr, else its exit status."""
    said = done.stderr.decode(errors="replace").strip().splitlines()
    return said[0] if said else f"{done.args[0]} exited with status {done.returncode}"


def _reason(error: BaseException) -> str:
    if isinstance(error, subprocess.TimeoutExpired):
        return f"{error.cmd[0]} did not finish within {error.timeout:g} s"
    if isinstance(error, FileNotFoundError):
        return f"{error.filename} not found (is CUPS installed?)"
    return str(error).strip() or type(error).__name__
