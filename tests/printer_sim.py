"""A network ESC/POS printer for tests: a TCP listener on 127.0.0.1 that answers status queries
(DLE EOT 1 and 4) like an Epson printer and keeps every job it receives.

``state`` is what the printer would say: ready, near_end, paper_out, offline, ``silent`` (takes
the connection, never answers), ``off`` (refuses connections, like a switched-off printer) or
``hang`` (answers status queries as ready, but stops reading a job after its first
``HANG_AFTER`` bytes, as a printer whose firmware stalls mid-ticket: the sender's bytes pile up
in the network buffers and nothing answers) or ``slow`` (prints each job whole, but answers the
query after it only ``SLOW_SECONDS`` later, as a long ticket takes). Bytes sent while it has no paper, is offline or
hangs are kept apart in ``lost``: a real printer would print nothing, or half a ticket.

A status query right after a job's bytes, on the same connection, is answered too (once the
printer has read the whole job): drivers ask it to know the job really arrived.

``wait_for_jobs`` waits for jobs kept, ``wait_for_jobs_begun`` for the first bytes of jobs (printed,
lost or still coming: a job the printer is at), ``wait_for_queries`` for status queries answered.

``decode`` turns ESC/POS bytes back into what the paper shows: the raster images (GS v 0),
the native QR codes (GS ( k) and the printer's own text.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

from PIL import Image, ImageChops
from ports import free_port

DLE_EOT = b"\x10\x04"
# (DLE EOT 1 printer status, DLE EOT 4 paper sensor); bits 1 and 4 are always set
ANSWERS = {
    "ready": (0x12, 0x12),
    "near_end": (0x12, 0x1E),  # paper near-end sensor: bits 2 and 3
    "paper_out": (0x1A, 0x72),  # offline (bit 3), paper end: bits 5 and 6
    "offline": (0x1A, 0x12),
}
ANSWERS["hang"] = ANSWERS["ready"]  # its status looks fine: only a job shows that it hangs
ANSWERS["slow"] = ANSWERS["ready"]
HANG_AFTER = 1024
SLOW_SECONDS = 4.0  # within the drivers' 5 s wait for an answer
STATES = (*ANSWERS, "silent", "off")


class PrinterSim:
    def __init__(self, state: str = "ready"):
        self.state = state
        self.jobs: list[bytes] = []
        self.lost: list[bytes] = []
        self.queries = 0
        self.begun = 0  # jobs whose first bytes came in
        self._listener: socket.socket | None = None
        self._port = free_port()  # not the ephemeral range: the port stays its own while it is "off" (tests/ports.py)
        self._stopping = False
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # notified as a job begins or is kept, or a query answered
        self._open()

    @property
    def port(self) -> int:
        return self._port

    def set_state(self, state: str) -> None:
        assert state in STATES, state
        with self._lock:
            self.state = state
        if state == "off" and self._listener is not None:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() below; close() alone would not
            self._listener.close()
            self._listener = None
        elif state != "off" and self._listener is None:
            self._open()

    def wait_for_jobs(self, count: int, timeout: float = 10) -> list[bytes]:
        self._wait(lambda: len(self.jobs), count, timeout, "received {} job(s)")
        return list(self.jobs)

    def wait_for_jobs_begun(self, count: int, timeout: float = 10) -> None:
        """Until the first bytes of ``count`` jobs have come in: the printer is at the last of them, or past it."""
        self._wait(lambda: self.begun, count, timeout, "had the first bytes of {} job(s)")

    def wait_for_queries(self, count: int, timeout: float = 10) -> None:
        """Until ``count`` status queries have been answered (or left unanswered: ``silent``)."""
        self._wait(lambda: self.queries, count, timeout, "was asked its status {} time(s)")

    def _wait(self, seen, count: int, timeout: float, said: str) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: seen() >= count, timeout):
                raise AssertionError(f"the printer {said.format(seen())} in {timeout} s, expected {count}")

    def close(self) -> None:
        self._stopping = True
        if self._listener is not None:
            self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()

    # --- the wire ---------------------------------------------------------------------------

    def _open(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self._port))  # the same port again after being "off"
        listener.listen(8)
        self._port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while not self._stopping:
            try:
                conn, _ = listener.accept()
            except OSError:
                return  # closed: "switched off"
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        """A connection that starts with DLE EOT asks for status; any other one carries a job,
        which may end with a status query of its own."""
        received = bytearray()
        hung = begun = False
        with conn:
            conn.settimeout(30)
            while True:
                if received and self._state() == "hang" and len(received) >= HANG_AFTER:
                    hung = True
                    self._hang()
                    break
                try:
                    chunk = conn.recv(HANG_AFTER if self._state() == "hang" else 65536)
                except OSError:
                    break
                if not chunk:
                    break
                received += chunk
                while received[:2] == DLE_EOT and len(received) >= 3:
                    kind, received = received[2], received[3:]
                    self._answer(conn, kind)
                if not begun and received and not DLE_EOT.startswith(received[:2]):  # not a query still coming
                    begun = True
                    with self._changed:
                        self.begun += 1
                        self._changed.notify_all()
                if _query_after_job(received):
                    kind = received[-1]  # the job is in: a query after it
                    if self._state() == "slow":
                        time.sleep(SLOW_SECONDS)  # still printing
                    # kept before the answer, as a printer prints before it answers: the driver's
                    # next job cannot overtake this one while this thread waits for the close
                    self._keep(received[:-3], hung)
                    received, begun = bytearray(), False
                    self._answer(conn, kind)
        if received:
            self._keep(received, hung)

    def _keep(self, job: bytearray, hung: bool) -> None:
        with self._lock:
            printing = self.state in ("ready", "near_end", "slow") and not hung
            (self.jobs if printing else self.lost).append(bytes(job))
            self._changed.notify_all()

    def _state(self) -> str:
        with self._lock:
            return self.state

    def _answer(self, conn: socket.socket, kind: int) -> None:
        with self._changed:
            self.queries += 1
            self._changed.notify_all()
        state = self._state()
        if state not in ANSWERS:  # silent, or switched off during the connection
            return
        try:
            conn.sendall(bytes([ANSWERS[state][0 if kind == 1 else 1]]))
        except OSError:
            pass  # the driver gave up waiting and closed

    def _hang(self) -> None:
        """Read nothing more until the printer is set to another state (or the test ends)."""
        while self._state() == "hang" and not self._stopping:
            time.sleep(0.05)


def _query_after_job(received: bytearray) -> bool:
    """The bytes end with a status query (DLE EOT 1 or 4) after a job, not with bytes of the job's raster
    image or QR code that look like one: a chunk of a job may end anywhere (on a busy machine, inside an
    image), and a job cut there came out as two, the first without its QR code."""
    if not (len(received) > 3 and received[-3:-1] == DLE_EOT and received[-1] in (1, 4)):
        return False
    job, i = received[:-3], 0
    while i < len(job):
        if job[i : i + 3] == b"\x1dv0":
            if i + 8 > len(job):
                return False  # its header is still coming
            i += 8 + (job[i + 4] + 256 * job[i + 5]) * (job[i + 6] + 256 * job[i + 7])
        elif job[i : i + 3] == b"\x1d(k":
            i += 5 + (job[i + 3] + 256 * job[i + 4]) if i + 5 <= len(job) else len(job) + 1
        else:
            i += 1
    return i == len(job)  # past it: the query's bytes are inside an image or a QR code


@dataclass
class Paper:
    """What a job puts on paper, in order."""

    images: list[Image.Image] = field(default_factory=list)  # each GS v 0 block, black = 0
    qr_codes: list[str] = field(default_factory=list)  # native QR payloads
    text: str = ""  # the printer's own characters
    cut: bool = False
    # everything in print order: ("image", image), ("qr", payload), ("text", characters)
    items: list[tuple[str, object]] = field(default_factory=list)

    def sheets(self, width: int) -> list[Image.Image]:
        """Each run of raster blocks between the printer's own text and QR codes, as it comes out
        on paper ``width`` dots wide: the printer centres each block (the tickets' alignment)."""
        runs: list[list[Image.Image]] = []
        previous = None
        for kind, item in self.items:
            if kind == "image":
                if previous != "image":
                    runs.append([])
                runs[-1].append(item)
            previous = kind
        sheets = []
        for run in runs:
            sheet = Image.new("L", (width, sum(image.height for image in run)), 255)
            y = 0
            for image in run:
                sheet.paste(image, ((width - image.width) // 2, y))
                y += image.height
            sheets.append(sheet)
        return sheets

    def whole_image(self) -> Image.Image:
        """The raster blocks stacked as they come out of the printer."""
        width = max(image.width for image in self.images)
        sheet = Image.new("L", (width, sum(image.height for image in self.images)), 255)
        y = 0
        for image in self.images:
            sheet.paste(image, ((width - image.width) // 2, y))
            y += image.height
        return sheet


# commands with fixed-length arguments that carry no content, by their leading bytes
_SKIP = {
    b"\x1b@": 0,
    b"\x1ba": 1,
    b"\x1bE": 1,
    b"\x1b!": 1,
    b"\x1d!": 1,
    b"\x1bM": 1,
    b"\x1b-": 1,
    b"\x1bG": 1,
    b"\x1b{": 1,
    b"\x1dB": 1,
    b"\x1bt": 1,
    b"\x1bd": 1,
    b"\x1b2": 0,
    b"\x1b3": 1,
    b"\x1bV": 1,
    b"\x1d\xb6": 1,
}


def decode(data: bytes) -> Paper:
    paper = Paper()
    text = bytearray()
    i = 0
    while i < len(data):
        if data[i : i + 3] == b"\x1dv0":
            assert data[i + 3] in (0, 48), f"raster mode {data[i + 3]} (double width/height) is not decoded"
            width_bytes = data[i + 4] + 256 * data[i + 5]
            height = data[i + 6] + 256 * data[i + 7]
            bits = data[i + 8 : i + 8 + width_bytes * height]
            # ESC/POS: a set bit is a black dot; Pillow's "1" mode: a set bit is white
            image = Image.frombytes("1", (width_bytes * 8, height), bytes(b ^ 0xFF for b in bits))
            paper.images.append(image.convert("L"))
            paper.items.append(("image", paper.images[-1]))
            i += 8 + width_bytes * height
        elif data[i : i + 3] == b"\x1d(k":
            length = data[i + 3] + 256 * data[i + 4]
            cn, fn = data[i + 5], data[i + 6]
            if (cn, fn) == (49, 80):  # store the QR symbol's data
                paper.qr_codes.append(data[i + 8 : i + 5 + length].decode())
                paper.items.append(("qr", paper.qr_codes[-1]))
            i += 5 + length
        elif data[i : i + 2] == b"\x1dV":
            paper.cut = True
            i += 3 if data[i + 2] in (0, 1, 48, 49) else 4
        elif data[i : i + 2] in _SKIP:
            i += 2 + _SKIP[data[i : i + 2]]
        elif data[i] in (0x1B, 0x1D, 0x10):
            raise AssertionError(f"unexpected ESC/POS command {data[i : i + 3]!r} at byte {i}")
        else:
            text.append(data[i])
            if paper.items and paper.items[-1][0] == "text":
                paper.items[-1] = ("text", paper.items[-1][1] + chr(data[i]))
            else:
                paper.items.append(("text", chr(data[i])))
            i += 1
    paper.text = text.decode("ascii")  # the printer's own font: only ASCII is ever sent natively
    return paper


def drawn_line(text: str, width: int = 576) -> Image.Image:
    """A line of text as the ticket's layout draws it (the wait line's size, 80 mm paper)."""
    from queuekiosk.printers import ticket as layout

    return layout._text_image(text, layout._scaled(width)(22), width)


def holds_line(paper: Paper, wanted: Image.Image, width: int = 576) -> bool:
    """The paper shows the line ``wanted``, centred as the printer centres a line's raster (whole bytes)."""
    wanted = wanted.convert("L")
    x = (width - -(-wanted.width // 8) * 8) // 2
    return any(
        not ImageChops.difference(sheet.crop((x, y, x + wanted.width, y + wanted.height)), wanted).getbbox()
        for sheet in paper.sheets(width)
        for y in range(sheet.height - wanted.height + 1)
    )
