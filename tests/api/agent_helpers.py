"""`queuekiosk kiosk-agent` as the tests run it: its own process with a kiosk token, printing to a network
test printer on 127.0.0.1 (test_kiosk_agent.py, test_several_processes.py)."""

from __future__ import annotations

import os
import subprocess

from conftest import QUEUEKIOSK
from printer_sim import PrinterSim

# the agent's waits between tries to connect, short (by default up to 30 s): it is back within a second of
# a server restart, a refused hello or a busy database (a site the server does not have is still asked
# for every 30 s only)
BACKOFF = "0.2,0.5,1"


class Agent:
    def __init__(
        self,
        srv,
        printer: PrinterSim,
        tmp_path,
        token: str | None = None,
        site: str | None = None,
        backoff: str = BACKOFF,
    ):
        self.srv = srv
        self.url = srv.url + (f"/s/{site}" if site else "")  # a site's address, as its pages have it
        self.printer = printer
        self.token = token or srv.kiosk_token()
        self.state_file = tmp_path / "agent-state.json"
        self.log_path = tmp_path / "agent.log"
        self.backoff = backoff  # QUEUEKIOSK_AGENT_BACKOFF_SECONDS
        self.proc = None  # a subprocess.Popen, or tests/server_fork.py's ForkedServer (the same calls)

    def start(self) -> Agent:
        """The agent as a process of its own: a fork of the tests' commands zygote when it can be one
        (tests/server_fork.py ``Zygote.start``: the same entry point, about 0.45 s of CPU less a start),
        else a fresh ``queuekiosk``; either way a real process the test can signal and wait for."""
        args = [
            "kiosk-agent",
            "--server",
            self.url,
            "--token",
            self.token,
            "--printer",
            f"network:127.0.0.1:{self.printer.port}",
            "--state-file",
            str(self.state_file),
        ]
        env = {**self.srv.env, "QUEUEKIOSK_AGENT_BACKOFF_SECONDS": self.backoff}
        zygote = getattr(self.srv, "zygote", None)
        self.proc = zygote.start(args, env, os.getcwd(), self.log_path) if zygote is not None else None
        if self.proc is None:
            with open(self.log_path, "ab") as log:
                self.proc = subprocess.Popen([QUEUEKIOSK, *args], stdout=log, stderr=subprocess.STDOUT, env=env)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")
