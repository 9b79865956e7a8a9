"""Helpers of the tests of an installer's and a supervisor's operations, shared by several test files:
`queuekiosk serve` and gunicorn (forked from the session's zygotes when given them) run until they
stop by themselves (a start refused), their environment, a session with a bearer token, a counter's key
press, and a Socket.IO client that has had its snapshot."""

from __future__ import annotations

import os
import subprocess
from contextlib import contextmanager

import gunicorn_fork
import pytest
from api_helpers import GUNICORN, REPO
from conftest import QUEUEKIOSK, SioClient
from ports import free_port


def process_env(tmp_path, **env: str) -> dict:
    """The environment of a server process in ``tmp_path`` (a copy of config.yaml, hours ignored), with
    no QUEUEKIOSK_ variable of the test run's own, then ``env``."""
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    base = {k: v for k, v in os.environ.items() if not k.startswith("QUEUEKIOSK_")}
    return {**base, "QUEUEKIOSK_CONFIG": str(tmp_path / "config.yaml"), "QUEUEKIOSK_IGNORE_HOURS": "1", **env}


def run_serve(tmp_path, *args: str, zygote=None, **env: str) -> subprocess.CompletedProcess:
    """`queuekiosk serve` in ``tmp_path``, once it has stopped by itself (a start it refused). With
    ``zygote`` (the ``server_zygote`` fixture, tests/server_fork.py): its own process forked from one that
    has imported the server, running the very entry point without the second of CPU its imports take."""
    command = [QUEUEKIOSK, "serve", "--port", str(free_port()), *args]
    if zygote is not None:
        return zygote.run(command, process_env(tmp_path, **env), tmp_path, None, 60)
    return subprocess.run(
        command, env=process_env(tmp_path, **env), cwd=tmp_path, capture_output=True, text=True, timeout=60
    )


def run_gunicorn(tmp_path, port: int | None = None, zygote=None, **env: str) -> tuple[int, str]:
    """gunicorn with deploy/gunicorn.conf.py: its exit status and output, once it has stopped by itself.
    With ``zygote`` (``server_zygote``): its master a fork of the gunicorn zygote (tests/gunicorn_fork.py)."""
    if not GUNICORN.exists():
        pytest.skip("gunicorn is not installed (pip install -e .[deploy])")
    command = [GUNICORN, "--config", REPO / "deploy" / "gunicorn.conf.py"]
    command += ["--bind", f"127.0.0.1:{port or free_port()}", "queuekiosk.server.wsgi:app"]
    done = gunicorn_fork.run(zygote, command, process_env(tmp_path, **env), tmp_path, 60)
    return done.returncode, done.stdout + done.stderr


def refused_start(run: str, tmp_path, zygote, **env: str) -> tuple[int, str]:
    """(exit status, what it said) of a start that stops by itself: ``run`` "serve" (forked from
    ``zygote``; its stderr) or "gunicorn" (its output)."""
    if run == "serve":
        done = run_serve(tmp_path, zygote=zygote, **env)
        return done.returncode, done.stderr
    return run_gunicorn(tmp_path, zygote=zygote, **env)


def bearer(server, value: str):
    """A session of ``server`` that sends the token ``value``."""
    http = server.session()
    http.headers["Authorization"] = f"Bearer {value}"
    return http


def press(http, counter: int, action: str, token: str, **body):
    """A counter's action (next, start, finish...) with its token, which must succeed: its answer."""
    answer = http.post(
        f"/api/v1/counters/{counter}/{action}", json=body or None, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def subscribed(sio_client, srv, room: dict, token: str | None = None):
    """A client of ``room`` that has had its snapshot."""
    client = sio_client(srv, auth={"token": token} if token else None)
    assert client.subscribe(room) == {"ok": True}
    client.wait_for("state")
    return client


@contextmanager
def dashboards(srv, token: str, *sites: str | None):
    """A dashboard of each of ``sites`` (None: the first site's), connected as that site's page connects
    (under /s/{site}/), that has had its snapshot; closed at the end."""
    clients = []
    try:
        for site in sites:
            clients.append(SioClient(srv.url))
            path = f"s/{site}/socket.io" if site else "socket.io"
            clients[-1].sio.connect(srv.url, auth={"token": token}, socketio_path=path, wait_timeout=5)
            assert clients[-1].subscribe({"dashboard": True}) == {"ok": True}
            clients[-1].wait_for("state")
        yield clients
    finally:
        for client in clients:
            client.close()
