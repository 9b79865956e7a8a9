"""The deployment files work: gunicorn with deploy/gunicorn.conf.py serves pages, API and Socket.IO."""

from __future__ import annotations

import subprocess
import time

import pytest
import requests
from api_helpers import GUNICORN, start_gunicorn
from conftest import SioClient, free_port


@pytest.fixture
def gunicorn_server(tmp_path):
    port = free_port()
    proc, env = start_gunicorn(tmp_path, port)
    url = f"http://127.0.0.1:{port}"
    try:
        yield url, tmp_path, env
    finally:
        proc.terminate()
        proc.wait(15)


def test_gunicorn_serves_the_centre(gunicorn_server):
    url, folder, env = gunicorn_server
    display = SioClient(url).connect(transports=["websocket"])
    try:
        assert display.subscribe({"display": "lobby"}) == {"ok": True}
        ticket = requests.post(url + "/api/v1/tickets", json={"service": "HT", "kiosk": "kiosk-1"}, timeout=10).json()
        token = subprocess.run(
            [str(GUNICORN.parent / "queuekiosk"), "token", "create", "--role", "counter", "--counter", "1"],
            env=env,
            cwd=folder,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        called = requests.post(
            url + "/api/v1/counters/1/next", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert called.status_code == 200, called.text
        assert display.wait_for("ticket.called", lambda e: e["ticket"]["id"] == ticket["id"])["counter"] == 1
    finally:
        display.close()
    assert requests.get(url + "/kiosk/kiosk-1", timeout=10).status_code == 200
    # the spooler runs under gunicorn too: the demo's file printer got the ticket
    deadline = time.monotonic() + 10
    while not list((folder / "instance" / "printed").glob(f"{ticket['display']}-job*.png")):
        assert time.monotonic() < deadline, "the ticket was not printed"
        time.sleep(0.1)


def test_the_loopback_warning_names_the_port_gunicorn_listens_on(gunicorn_server):
    url, folder, _env = gunicorn_server
    warning = [line for line in (folder / "gunicorn.log").read_text().splitlines() if "phones cannot open" in line]
    assert warning and f"point to {url}," in warning[0], warning  # not http://127.0.0.1:8000
