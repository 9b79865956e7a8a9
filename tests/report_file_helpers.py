"""Report files asked for in the background (tests/api, tests/pages): a long one keeps one of the two
places a process makes files in (server/web/report_files.py) while the test looks at what else happens."""

from __future__ import annotations

import threading
import time

import requests

SUMMARY = "/api/v1/reports/summary"
A_YEAR = {"period": "2025", "group_by": "day", "format": "pdf"}  # 313 working days: some 5 s of fpdf2 here


class Download:
    """A report file asked for in a thread; ``done`` is set once its whole body has arrived."""

    def __init__(self, base: str, headers: dict, params: dict):
        self.done = threading.Event()
        self.answer: requests.Response | None = None
        self._thread = threading.Thread(target=self._get, args=(base + SUMMARY, headers, params), daemon=True)
        self._thread.start()

    def _get(self, url, headers, params):
        # refused while two others were being made (wait_until_busy's small file took a place in the
        # moment this one came): asked again, as a person would, until it is being made
        deadline = time.monotonic() + 120
        try:
            while True:
                self.answer = requests.get(url, headers=headers, params=params, timeout=300)
                if self.answer.status_code != 503 or time.monotonic() > deadline:
                    return
                time.sleep(0.05)
        finally:
            self.done.set()

    def result(self) -> requests.Response:
        self._thread.join(300)
        assert self.answer is not None, "the download failed"
        return self.answer


def wait_until_busy(base: str, headers: dict, downloads: list[Download]) -> None:
    """Until the process refuses a file because ``downloads`` are being made: a small file asked for
    again and again (refused before anything is made, or made in no time), an order, not a time."""
    small = {"group_by": "service", "format": "csv"}
    while not any(download.done.is_set() for download in downloads):
        answer = requests.get(base + SUMMARY, headers=headers, params=small, timeout=60)
        if answer.status_code == 503:
            return
        assert answer.status_code == 200, answer.text
    raise AssertionError("a file came before the process was seen making two")
