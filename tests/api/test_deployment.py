"""The deployment files work: gunicorn with deploy/gunicorn.conf.py serves pages, API and Socket.IO."""

from __future__ import annotations

import os
import re
import shlex
import time

import gunicorn_fork
import pytest
import requests
from api_helpers import GUNICORN, GUNICORN_START_TIMEOUT, REPO, start_gunicorn
from conftest import SioClient
from ports import free_port
from server_db import seed


@pytest.fixture(scope="module")
def gunicorn_server(tmp_path_factory, server_zygote):
    """One gunicorn for the tests that only use it (serving, its log): a gunicorn start is 4-8 s."""
    tmp_path = tmp_path_factory.mktemp("gunicorn")
    port = free_port()
    proc, env = start_gunicorn(tmp_path, port, zygote=server_zygote)
    url = f"http://127.0.0.1:{port}"
    try:
        yield url, tmp_path, env
    finally:
        proc.terminate()
        proc.wait(15)


def test_gunicorn_serves_the_centre(gunicorn_server, server_zygote):
    url, folder, env = gunicorn_server
    display = SioClient(url).connect(transports=["websocket"])
    try:
        assert display.subscribe({"display": "lobby"}) == {"ok": True}
        ticket = requests.post(url + "/api/v1/tickets", json={"service": "HT", "kiosk": "kiosk-1"}, timeout=10).json()
        made = server_zygote.run(  # a fork of the commands' zygote: the same entry point
            [str(GUNICORN.parent / "queuekiosk"), "token", "create", "--role", "counter", "--counter", "1"], env, folder
        )
        assert made.returncode == 0, made.stderr
        token = made.stdout.strip()
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
    # gunicorn runs behind nginx: what phones reach is nginx's address, not --host or this port
    assert (
        "--host" not in warning[0] and "set QUEUEKIOSK_TRACKING_URL to the address phones reach the proxy" in warning[0]
    )


def test_gunicorn_on_every_card_puts_a_reachable_address_on_tickets(tmp_path, sqlite_template, server_zygote):
    """Bound to 0.0.0.0 (the machine's every card), a ticket's QR code must name an address a phone can
    open, as `serve --host 0.0.0.0` does: never http://0.0.0.0:…"""
    port = free_port()
    proc, _env = start_gunicorn(
        tmp_path, port, template=sqlite_template, zygote=server_zygote, QUEUEKIOSK_BIND=f"0.0.0.0:{port}"
    )
    try:
        ticket = requests.post(f"http://127.0.0.1:{port}/api/v1/tickets", json={"service": "HT"}, timeout=10).json()
    finally:
        proc.terminate()
        proc.wait(15)
    host = ticket["track_url"].split("/")[2].rsplit(":", 1)[0]
    assert host not in ("0.0.0.0", "[::]") and ticket["track_url"].endswith(f":{port}/t/{ticket['id']}"), ticket


def _unit_command(unit: str, instance: str, env_file: dict) -> tuple[list[str], dict]:
    """What systemd runs for ``queuekiosk@{instance}``: the unit's Environment= lines, then its
    EnvironmentFile='s (which override them, systemd.exec(5)), ``${VAR}`` and ``%i`` in ExecStart."""
    env: dict[str, str] = {}
    command = ""
    for line in unit.splitlines():
        key, _, value = line.partition("=")
        if key == "Environment":
            name, _, setting = value.partition("=")
            env[name] = setting
        elif key == "ExecStart":
            command = value
    env.update(env_file)
    command = command.replace("%i", instance)
    command = re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), command)
    command = command.replace("/opt/queuekiosk/.venv/bin/gunicorn", str(GUNICORN))
    command = command.replace("/opt/queuekiosk/", f"{REPO}/")
    return shlex.split(command), env


def test_two_instances_of_the_unit_each_listen_on_their_own_port(tmp_path, sqlite_template, server_zygote):
    """QA D1: an env file holding an address (QUEUEKIOSK_BIND, as section 4 once showed) must not put
    queuekiosk@8001 and queuekiosk@8002 on one port."""
    if not GUNICORN.exists():
        pytest.skip("gunicorn is not installed (pip install -e .[deploy])")
    # their one database a copy of the migrated template, made before they start: the ports are checked
    # here, not a first start on a new file (a child process of its own in each, ~1 s of CPU)
    seed(sqlite_template, f"sqlite:///{tmp_path / 'instance' / 'queuekiosk.db'}")
    unit = (REPO / "deploy" / "systemd" / "queuekiosk@.service").read_text(encoding="utf-8")
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    first, second = free_port(), free_port()
    env_file = {  # /etc/queuekiosk/env of section 4, with an address in it
        "QUEUEKIOSK_HOST": "127.0.0.1",
        "QUEUEKIOSK_BIND": f"127.0.0.1:{first}",
        "QUEUEKIOSK_CONFIG": str(tmp_path / "config.yaml"),
        "QUEUEKIOSK_INSTANCE": str(tmp_path / "instance"),
        "QUEUEKIOSK_IGNORE_HOURS": "1",
    }
    base = {k: v for k, v in os.environ.items() if not k.startswith("QUEUEKIOSK_")}
    procs = []
    try:
        for port in (first, second):
            command, env = _unit_command(unit, str(port), env_file)
            procs.append(
                gunicorn_fork.start(server_zygote, command, {**base, **env}, tmp_path, tmp_path / f"unit-{port}.log")
            )
        for port in (first, second):
            deadline = time.monotonic() + GUNICORN_START_TIMEOUT
            while True:
                try:
                    assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
                    break
                except requests.RequestException:  # not listening yet, or making the new database
                    logs = "".join(p.read_text(errors="replace") for p in tmp_path.glob("unit-*.log"))
                    assert time.monotonic() < deadline, logs
                    assert all(proc.poll() is None for proc in procs), logs  # "Address already in use"
                    time.sleep(0.1)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(15)
