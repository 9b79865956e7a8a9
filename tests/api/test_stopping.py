"""A server stops promptly on SIGTERM, as systemd stops and restarts it (docs/deployment.md, "Stopping
and restarting"): `queuekiosk serve`, and gunicorn with the deployment's config (its master and its
worker), with Socket.IO displays connected, exit well within gunicorn's 10 s graceful timeout,
with exit status 0. The displays' connections are closed (they reconnect to the next process), and a
ticket whose request was on its way when the signal came is issued and answered: nothing acknowledged
is lost (`serve` used to end at once, dropping it; gunicorn's worker waited for the displays to leave
until its master killed it). The stop is said in the log, when it begins and when it ends."""

from __future__ import annotations

import json
import socket
import subprocess
import time

import requests
from api_helpers import start_gunicorn
from conftest import SioClient
from ports import free_port

DISPLAYS = 6
STOP_BOUND = 5.0  # seconds: well under gunicorn's graceful_timeout (10 s), which a stop used to wait in full


def _connect_displays(url: str) -> list[SioClient]:
    """Displays connected the way browsers connect: long-polling, most upgraded to a WebSocket."""
    displays = []
    for n in range(DISPLAYS):
        transports = ["polling"] if n % 3 == 0 else None  # some stay on long-polling
        display = SioClient(url).connect(transports=transports)  # reconnecting as screens do
        assert display.subscribe({"display": "lobby"}).get("ok", True) is not False
        displays.append(display)
    return displays


class TicketOnItsWay:
    """A kiosk's POST /api/v1/tickets whose headers are sent, its body not yet (a slow network)."""

    BODY = json.dumps({"service": "HT"}).encode()

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.sendall(
            b"POST /api/v1/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(self.BODY)
        )
        time.sleep(0.3)  # the server has read the headers: the request is in flight

    def finish(self) -> tuple[int, dict]:
        """The body sent; the answer's status and JSON body (0, {} if the connection was dropped)."""
        answer = b""
        try:
            self.sock.sendall(self.BODY)
            while b"\r\n\r\n" not in answer or len(answer.partition(b"\r\n\r\n")[2]) < self._length(answer):
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except OSError:
            pass
        finally:
            self.sock.close()
        if not answer.startswith(b"HTTP/1.1 "):
            return 0, {}
        head, _, body = answer.partition(b"\r\n\r\n")
        return int(head.split()[1]), json.loads(body or b"{}")

    @staticmethod
    def _length(answer: bytes) -> int:
        for line in answer.partition(b"\r\n\r\n")[0].split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                return int(line.split(b":")[1])
        return 0


def _stopped_within(proc: subprocess.Popen, bound: float, port: int) -> tuple[int | None, float, tuple[int, dict]]:
    """SIGTERM with a ticket's request in flight, its body sent just after: the exit status (None if
    still running after ``bound`` seconds), the seconds taken, and the ticket's answer."""
    ticket = TicketOnItsWay(port)
    started = time.monotonic()
    proc.terminate()
    time.sleep(0.3)  # the stop has begun
    answer = ticket.finish()
    try:
        code = proc.wait(bound)
    except subprocess.TimeoutExpired:
        code = None
    return code, time.monotonic() - started, answer


def _assert_stop_said(log: str, pid: int) -> None:
    """The journal's lines of the stop, in order: it began, with the displays' connections it ended, and
    it ended (there was no line of either: an IT person could not tell a stop from a crash); each names the
    process that stops (a worker of several, or one a reload replaces, could not be told apart)."""
    stopping = log.find(f"stopping (SIGTERM, pid {pid}): {DISPLAYS} Socket.IO connection(s) ended")
    stopped = log.find(f"stopped (SIGTERM, pid {pid}) ", max(stopping, 0))
    assert -1 < stopping < stopped, log[-3000:]
    assert log.count("stopping (SIGTERM,") == 1, log[-3000:]


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_serve_with_displays_connected_stops_promptly_on_sigterm(live_server):
    # a real `serve`, not a fork of the tests' zygote (tests/server_fork.py), which does not end as `serve`
    # does: there the old stop passed
    srv = live_server(env={"QK_TEST_REAL_PROCESS": "1"}, start=False)
    srv.start(timeout=60)
    displays = _connect_displays(srv.url)
    try:
        code, took, (status, ticket) = _stopped_within(srv.proc, STOP_BOUND, srv.port)
        assert code == 0, f"serve: exit {code} after {took:.1f} s; the end of its log:\n{srv.log()[-3000:]}"
        assert status == 201, f"the ticket on its way: {status} {ticket}; the end of the log:\n{srv.log()[-3000:]}"
        assert "Traceback" not in srv.log(), srv.log()[-3000:]
        _assert_stop_said(srv.log(), srv.proc.pid)
        srv.start(timeout=60)  # the next process: it has the ticket answered, and the displays come back to it
        assert srv.session().get(f"/api/v1/tickets/{ticket['id']}").json()["number"] == ticket["number"]
        for display in displays:
            display.wait_connects(2)
    finally:
        for display in displays:
            display.close()


def test_gunicorn_with_displays_connected_stops_promptly_on_sigterm(tmp_path, sqlite_template, server_zygote):
    port = free_port()
    proc, _env = start_gunicorn(tmp_path, port, template=sqlite_template, zygote=server_zygote)
    displays = []
    try:
        worker = int(subprocess.check_output(["pgrep", "-P", str(proc.pid)], text=True).split()[0])
        displays = _connect_displays(f"http://127.0.0.1:{port}")
        code, took, (status, ticket) = _stopped_within(proc, STOP_BOUND, port)
        log = (tmp_path / "gunicorn.log").read_text()
        assert code == 0, f"gunicorn: exit {code} after {took:.1f} s; its log:\n{log[-3000:]}"
        assert status == 201, f"the ticket on its way: {status} {ticket}; its log:\n{log[-3000:]}"
        assert _gone(worker), "the worker outlived its master"
        assert "Worker exiting" in log, log[-3000:]  # the worker ended by itself, not killed by the master
        assert "Traceback" not in log, log[-3000:]
        _assert_stop_said(log, worker)

        # systemd's restart: the displays come back to it
        proc, _env = start_gunicorn(tmp_path, port, zygote=server_zygote)
        assert (
            requests.get(f"http://127.0.0.1:{port}/api/v1/tickets/{ticket['id']}").json()["number"] == ticket["number"]
        )
        for display in displays:
            display.wait_connects(2)
    finally:
        for display in displays:
            display.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_a_long_polling_screen_posting_after_sigterm_is_refused_not_a_traceback(
    tmp_path, sqlite_template, server_zygote
):
    """gunicorn's worker goes on accepting for up to a second after SIGTERM, its Socket.IO sessions
    already ended: a long-polling screen's next POST on its ended session is told 400 (Engine.IO's
    "invalid session", as after a process's end) and connects again; it was a 500, a KeyError
    ('Session is disconnected') from inside python-engineio with its traceback in the log."""
    port = free_port()
    proc, _env = start_gunicorn(tmp_path, port, template=sqlite_template, zygote=server_zygote)
    polling = f"http://127.0.0.1:{port}/socket.io/?EIO=4&transport=polling"
    try:
        sid = json.loads(requests.get(polling, timeout=5).text[1:])["sid"]
        session = f"{polling}&sid={sid}"
        assert requests.post(session, data="40", timeout=5).status_code == 200  # Socket.IO's connect
        proc.terminate()
        after = []  # the answers to the screen's POSTs after the signal, until the worker stops accepting
        deadline = time.monotonic() + STOP_BOUND
        while time.monotonic() < deadline:
            try:
                after.append(requests.post(session, data="3", timeout=5).status_code)  # a pong
            except requests.ConnectionError:
                break
            time.sleep(0.01)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    log = (tmp_path / "gunicorn.log").read_text()
    assert set(after) <= {200, 400}, f"{after}; its log:\n{log[-3000:]}"
    assert "Traceback" not in log, log[-3000:]


def test_gunicorn_says_a_request_it_could_not_finish_before_its_master_ends_it(
    tmp_path, sqlite_template, server_zygote
):
    """A request still running at gunicorn's graceful_timeout (3 s here, 10 s by default) is ended by the
    master's kill: the worker says it first, a second short of it ("still busy" came at the same moment as
    the kill, which usually won: the journal showed the stop's first line only)."""
    port = free_port()
    proc, _env = start_gunicorn(
        tmp_path, port, template=sqlite_template, zygote=server_zygote, GUNICORN_CMD_ARGS="--graceful-timeout 3"
    )
    try:
        worker = int(subprocess.check_output(["pgrep", "-P", str(proc.pid)], text=True).split()[0])
        stuck = TicketOnItsWay(port)  # its body never comes
        proc.terminate()
        proc.wait(10)
        stuck.sock.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    log = (tmp_path / "gunicorn.log").read_text()
    assert f"stopping (SIGTERM, pid {worker}): 1 connection(s) still busy after " in log, log[-3000:]
    assert "requests in flight get up to 2 s to finish" in log, log[-3000:]
    assert "still busy after 2 s are ended" in log, log[-3000:]
