"""The demo printer (``driver: file``): ``<name>.bin`` holds the ESC/POS bytes, ``<name>.png`` shows the ticket."""

from __future__ import annotations

import os
from pathlib import Path

from ..server.core.config import Printer
from .drivers import OFFLINE, READY, PrinterDriver, PrintFailed, PrintTask, Status


class FileDriver(PrinterDriver):
    def __init__(self, printer: Printer, base: Path):
        self.folder = base / printer.path  # relative to the config file's folder

    def read_status(self) -> Status:
        if self.folder.is_dir() and os.access(self.folder, os.W_OK):
            return Status(READY)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            return Status(READY)
        except OSError as error:
            return Status(OFFLINE, f"cannot write to {self.folder}: {error.strerror}")

    def send(self, task: PrintTask) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            partial = self.folder / f"{task.name}.bin.part"
            partial.write_bytes(task.data)
            task.preview().save(self.folder / f"{task.name}.png")
            partial.replace(self.folder / f"{task.name}.bin")  # a .bin file is always whole
        except OSError as error:
            raise PrintFailed(f"cannot write to {self.folder}: {error.strerror}") from error
