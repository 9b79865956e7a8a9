"""The deployment files work: gunicorn with deploy/gunicorn.conf.py serves pages, API and Socket.IO."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from conftest import REPO, SioClient, free_port

GUNICORN = Path(sys.executable).parent / "gunicorn"


@pytest.fixture
def gunicorn_server(tmp_path):
    if not GUNICORN.exists():
        pytest.skip("gunicorn is not installed (pip install -e .[deploy])")
    port = free_port()
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUEUEKIOSK_")}
    env.update(
        QUEUEKIOSK_CONFIG=str(tmp_path / "config.yaml"),
        QUEUEKIOSK_BIND=f"127.0.0.1:{port}",
        QUEUEKIOSK_IGNORE_HOURS="1",
    )
    with open(tmp_path / "gunicorn.log", "wb") as log:
        proc = subprocess.Popen(
            [str(GUNICORN), "--config", str(REPO / "deploy" / "gunicorn.conf.py"), "queuekiosk.server.wsgi:app"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(url + "/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
            time.sleep(0.1)
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
