"""A server stops promptly on SIGTERM, as systemd stops and restarts it (docs/deployment.md, "Stopping
and restarting"): `queuekiosk serve`, and gunicorn with the deployment's config (its master and its
worker), with Socket.IO displays connected, exit well within gunicorn's 10 s graceful timeout,
with exit status 0. The displays' connections are closed (they reconnect to the next process)."""

from __future__ import annotations

import subprocess
import time

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
        display = SioClient(url, reconnection=False).connect(transports=transports)
        assert display.subscribe({"display": "lobby"}).get("ok", True) is not False
        displays.append(display)
    return displays


def _stopped_within(proc: subprocess.Popen, bound: float) -> tuple[int | None, float]:
    started = time.monotonic()
    proc.terminate()
    try:
        code = proc.wait(bound)
    except subprocess.TimeoutExpired:
        code = None
    return code, time.monotonic() - started


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_serve_with_displays_connected_stops_promptly_on_sigterm(live_server):
    srv = live_server(env={"QK_TEST_REAL_PROCESS": "1"}, start=False)
    srv.start(timeout=60)
    displays = _connect_displays(srv.url)
    try:
        code, took = _stopped_within(srv.proc, STOP_BOUND)
        assert code == 0, f"serve: exit {code} after {took:.1f} s; the end of its log:\n{srv.log()[-3000:]}"
        deadline = time.monotonic() + 5
        while any(d.sio.connected for d in displays) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(d.sio.connected for d in displays), "the displays were told nothing: still connected"
    finally:
        for display in displays:
            display.close()


def test_gunicorn_with_displays_connected_stops_promptly_on_sigterm(tmp_path):
    port = free_port()
    proc, _env = start_gunicorn(tmp_path, port)
    displays = []
    try:
        worker = int(subprocess.check_output(["pgrep", "-P", str(proc.pid)], text=True).split()[0])
        displays = _connect_displays(f"http://127.0.0.1:{port}")
        code, took = _stopped_within(proc, STOP_BOUND)
        log = (tmp_path / "gunicorn.log").read_text()
        assert code == 0, f"gunicorn: exit {code} after {took:.1f} s; its log:\n{log[-3000:]}"
        assert _gone(worker), "the worker outlived its master"
        assert "Worker exiting" in log, log[-3000:]  # the worker ended by itself, not killed by the master
    finally:
        for display in displays:
            display.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
