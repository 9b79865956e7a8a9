"""The keypad client (``queuekiosk keypad``) on a pseudo-terminal, as test_keypad.py and
test_keypad_unstarted.py drive it (their fixtures ``keypad`` and ``drained``)."""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
import threading
import time
from pathlib import Path

from conftest import QUEUEKIOSK

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal:
    """``queuekiosk keypad`` on a pseudo-terminal: type keys, read what the screen shows now."""

    def __init__(self, args: list[str], env: dict, zygote=None, status_path: Path | None = None):
        """A fork of ``zygote`` (tests/server_fork.py ``Zygote.start``: the same entry point without the
        second of CPU its imports take; its exit status in a file beside ``status_path``) when it can
        be one, else a fresh ``queuekiosk``: either way a real process in a session of its own."""
        self.master, slave = pty.openpty()
        args = ["keypad", *args]
        self.proc = None  # a subprocess.Popen, or tests/server_fork.py's ForkedServer (the same calls)
        if zygote is not None:
            self.proc = zygote.start(args, env, os.getcwd(), status_path, terminal=os.ttyname(slave))
        self._slave = slave  # a fork opens the slave by its name, once forked: open here until then, or
        # the master reads as hung up (EIO) before the client has started; closed with the master
        if self.proc is None:
            self.proc = subprocess.Popen(
                [QUEUEKIOSK, *args], stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
            )
            os.close(slave)
            self._slave = None
        self.output = ""
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        while True:
            try:
                ready, _, _ = select.select([self.master], [], [], 0.2)
                if not ready:
                    if self.proc.poll() is not None:
                        return
                    continue
                chunk = os.read(self.master, 4096)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self.output += chunk.decode("utf-8", errors="replace")

    def press(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def screen(self) -> str:
        """The latest full screen the client drew (it clears and redraws on every change)."""
        with self._lock:
            text = self.output
        return ANSI.sub("", text.rsplit("\x1b[2J", 1)[-1])

    def wait_for(self, pattern: str, timeout: float = 15) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if re.search(pattern, screen):
                return screen
            if self.proc.poll() is not None:
                raise AssertionError(f"the keypad client exited ({self.proc.returncode}):\n{self.output[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"the screen did not show {pattern!r} within {timeout} s; it shows:\n{screen}")
            time.sleep(0.05)

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)  # Ctrl+C, as a clerk would
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        if self._slave is not None:
            os.close(self._slave)
        os.close(self.master)


def keypads(server):
    """What the ``keypad`` fixtures yield: ``start(counter, url, extra, token)`` starts a keypad client of
    ``server`` on a pseudo-terminal; each one started is closed (Ctrl+C) after the test."""
    terminals: list[Terminal] = []

    def start(counter: int = 1, url: str | None = None, extra=(), token: str | None = None) -> Terminal:
        token = token or server.token("counter", counter)
        args = ["--server", url or server.url, "--token", token, "--counter", str(counter), *extra]
        terminal = Terminal(args, server.env, server.zygote, server.workdir / f"keypad-{len(terminals)}")
        terminals.append(terminal)
        return terminal

    yield start
    for terminal in terminals:
        terminal.close()


def drain(server):
    """``server`` with every counter's queue called out (the module's server: earlier tests' tickets)."""
    admin = {"Authorization": f"Bearer {server.token('admin')}"}
    with server.session() as http:
        for counter in range(1, 7):
            while http.post(f"/api/v1/counters/{counter}/next", headers=admin).status_code == 200:
                pass
    return server


def ticket(http, ticket_id: str) -> dict:
    return http.get(f"/api/v1/tickets/{ticket_id}").json()
