"""`queuekiosk kiosk-agent` as the tests run it: its own process with a kiosk token, printing to a network
test printer on 127.0.0.1 (test_kiosk_agent.py, test_several_processes.py)."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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
        url: str | None = None,
    ):
        self.srv = srv
        # a site's address, as its pages have it; ``url``: another's (Answering's, in front of none)
        self.url = url or srv.url + (f"/s/{site}" if site else "")
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

    def wait_log(self, text: str, timeout: float = 15) -> str:
        """The agent's log once it says ``text``."""
        deadline = time.monotonic() + timeout
        while text not in (log := self.log() if self.log_path.exists() else ""):
            assert time.monotonic() < deadline, f"the agent did not say {text!r} within {timeout} s:\n{log}"
            time.sleep(0.05)
        return log


class Answering:
    """nginx in front of a server that is away, as an agent sees it: a real HTTP server on 127.0.0.1 that
    answers every request with ``status`` (502: its server refused the connection; 503, 504: ...), and
    keeps when each request came."""

    def __init__(self, status: int):
        self.times: list[float] = []
        answering = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                answering.times.append(time.monotonic())
                body = f"<html><body><center><h1>{status}</h1></center><hr><center>nginx</center></body></html>"
                self.send_response(status)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

            do_POST = do_GET

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def gaps(self) -> list[float]:
        """The seconds between one try and the next."""
        return [later - earlier for earlier, later in zip(self.times, self.times[1:])]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
