"""`queuekiosk kiosk-agent` as the tests run it: its own process with a kiosk token, printing to a network
test printer on 127.0.0.1 (test_kiosk_agent.py, test_several_processes.py)."""

from __future__ import annotations

import json
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


class Endpoint:
    """A real HTTP server on 127.0.0.1 standing where an agent looks for its server: ``answer`` answers each
    request (GET and POST); ``times`` keeps when each try to connect came (``tried``)."""

    def __init__(self):
        self.times: list[float] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                endpoint.answer(self)

            do_POST = do_GET

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, request: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError

    def tried(self) -> None:
        self.times.append(time.monotonic())

    def gaps(self) -> list[float]:
        """The seconds between one try and the next."""
        return [later - earlier for earlier, later in zip(self.times, self.times[1:])]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def send(request: BaseHTTPRequestHandler, status: int, body: str, content_type: str) -> None:
    request.send_response(status)
    request.send_header("Content-Type", content_type)
    request.send_header("Content-Length", str(len(body.encode())))
    request.end_headers()
    request.wfile.write(body.encode())


class Answering(Endpoint):
    """nginx in front of a server that is away, as an agent sees it: every request answered with ``status``
    (502: its server refused the connection; 503, 504: ...)."""

    def __init__(self, status: int):
        self.status = status
        super().__init__()

    def answer(self, request):
        self.tried()
        body = f"<html><body><center><h1>{self.status}</h1></center><hr><center>nginx</center></body></html>"
        send(request, self.status, body, "text/html")


class StopsAtHandshake(Endpoint):
    """A server stopped just as an agent reached it (a restart's SIGTERM): Engine.IO's handshake answered (a
    new session, polling only), then each later request of that session closed unanswered, as a stopped
    server's connections end."""

    def answer(self, request):
        request.close_connection = True
        if "sid=" in request.path:
            return  # gone: no answer
        self.tried()
        opened = {"sid": "stopping", "upgrades": [], "pingInterval": 10000, "pingTimeout": 10000}
        send(request, 200, "0" + json.dumps(opened), "text/plain; charset=UTF-8")
