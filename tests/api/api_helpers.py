"""Small helpers shared by the API test modules."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import gunicorn_fork
import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
GUNICORN = gunicorn_fork.GUNICORN


SUPERVISOR, PASSWORD = "giamsat", "giam-sat-2026"  # a supervisor some tests add


def log_in(srv, name: str, password: str = PASSWORD, site: str | None = None, **at):
    """A keep-alive session logged in as ``name`` (``counter=N``: at that counter; ``site``: at that
    site's, else the first site's), sending its CSRF token as the pages do."""
    http = srv.session()
    prefix = f"/api/v1/sites/{site}" if site else "/api/v1"
    answer = http.post(f"{prefix}/auth/login", json={"username": name, "password": password, **at})
    assert answer.status_code == 200, answer.text
    http.headers["X-CSRFToken"] = answer.json()["csrf_token"]
    return http


def issue(http, service: str, **extra) -> dict:
    """Take a ticket through the API; it must be accepted."""
    response = http.post("/api/v1/tickets", json={"service": service, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def business_day(ticket: dict, timezone: str = "Asia/Ho_Chi_Minh") -> str:
    """The site's day a ticket was issued on (the demo config's zone): its UTC ``issued_at`` is the
    day before from 17:00 UTC on."""
    issued = dt.datetime.fromisoformat(ticket["issued_at"].replace("Z", "+00:00"))
    return issued.astimezone(ZoneInfo(timezone)).date().isoformat()


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    """The SPEC error shape: {"error": {"code", "message"}} with this status, as JSON."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["Content-Type"].startswith("application/json"), response.headers["Content-Type"]
    error = response.json()["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"].strip(), error
    if field is not None:
        assert error.get("field") == field, error
    return error


def wait_until_lapsed(http, code: str, timeout: float = 90) -> dict:
    """The remote number ``code`` once the server lapsed it by itself (a server started with
    ``QUEUEKIOSK_LAPSE_SECONDS=1`` looks every second), as ``GET /bookings/{code}`` then answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = http.get(f"/api/v1/bookings/{code}").json()
        if view["status"] == "lapsed":
            return view
        time.sleep(1)
    pytest.fail("the remote number did not lapse by itself")


def print_jobs(http, ticket_id: str) -> list[dict]:
    response = http.get(f"/api/v1/tickets/{ticket_id}/print-jobs")
    assert response.status_code == 200, response.text
    return response.json()["jobs"]


def wait_job(http, ticket_id: str, status: str, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        jobs = print_jobs(http, ticket_id)
        if jobs and jobs[-1]["status"] == status:
            return jobs[-1]
        if time.monotonic() > deadline:
            raise AssertionError(f"the print job did not become {status!r}: {jobs}")
        time.sleep(0.05)


ALL_DAY_HOURS = {"open": "00:00", "close": "23:59", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}


# a printer's settings for tests: a failed job retried, a printer checked and a write given up quickly
FAST_PRINTER = {"retry_seconds": 0.3, "check_seconds": 0.3, "timeout_seconds": 1}


def printers(http, token: str, site: str | None = None) -> dict[str, dict]:
    where = f"/api/v1/sites/{site}/printers" if site else "/api/v1/printers"
    response = http.get(where, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return {p["printer"]: p for p in response.json()["printers"]}


def drain(server, admin_token: str, counters) -> None:
    """Call every counter's queue empty: next finishes the held ticket and resumes a paused counter."""
    with server.session() as http:
        for counter in counters:
            for _ in range(1000):
                response = http.post(
                    f"/api/v1/counters/{counter}/next", headers={"Authorization": f"Bearer {admin_token}"}
                )
                if response.status_code == 204:
                    break
                assert response.status_code == 200, response.text


# How long a real gunicorn (master and worker, each importing the server) may take to answer /healthz: 2-8 s
# on a quiet machine, 29 s once in a fresh clone's suite beside other work (load ~13). The wait polls, so a
# start that is quick ends it as soon.
GUNICORN_START_TIMEOUT = 120.0


def start_gunicorn(
    folder: Path,
    port: int,
    timeout: float = GUNICORN_START_TIMEOUT,
    template: Path | None = None,
    zygote=None,
    **settings: str,
) -> tuple[subprocess.Popen, dict]:
    """gunicorn with the deployment's config (deploy/gunicorn.conf.py) on ``port``, in ``folder`` with
    a copy of config.yaml, hours ignored and ``settings`` (QUEUEKIOSK_...), its output in
    folder/gunicorn.log; returned with its environment once /healthz answers. Skips where gunicorn is
    not installed; stopped, its log in the failure, if it ends or stays silent ``timeout`` seconds.
    ``template`` (the ``sqlite_template`` fixture): its SQLite database starts as a copy of the
    migrated template, unless it exists, as the API tests' servers do: a first start on a new file
    makes it in a child process that imports and migrates (~0.9 s of CPU, twice the wall time).
    ``zygote`` (the ``server_zygote`` fixture): its master a fork of the gunicorn zygote
    (tests/gunicorn_fork.py), without the 0.1-0.2 s of CPU a master of its own spends importing."""
    from server_db import TEST_PERSON_KEY, seed

    if not GUNICORN.exists():
        pytest.skip("gunicorn is not installed (pip install -e .[deploy])")
    (folder / "config.yaml").write_text((REPO / "config.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUEUEKIOSK_")}
    env.update(
        QUEUEKIOSK_CONFIG=str(folder / "config.yaml"),
        QUEUEKIOSK_BIND=f"127.0.0.1:{port}",
        QUEUEKIOSK_IGNORE_HOURS="1",
        QUEUEKIOSK_PERSON_KEY=TEST_PERSON_KEY,  # as every test server's (server_db.py)
    )
    env.update(settings)  # (QUEUEKIOSK_BIND="0.0.0.0:…" too)
    if template is not None and not env.get("QUEUEKIOSK_DATABASE_URL"):
        instance = env.get("QUEUEKIOSK_INSTANCE") or Path(env["QUEUEKIOSK_CONFIG"]).parent / "instance"
        seed(template, f"sqlite:///{(folder / instance).resolve() / 'queuekiosk.db'}")  # as default_database_url
    log_path = folder / "gunicorn.log"
    command = [GUNICORN, "--config", REPO / "deploy" / "gunicorn.conf.py", "queuekiosk.server.wsgi:app"]
    proc = gunicorn_fork.start(zygote, command, env, folder, log_path)
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                return proc, env
        except requests.RequestException:
            pass
        time.sleep(0.1)
    stop_gunicorn(proc)
    raise AssertionError(f"gunicorn did not answer /healthz within {timeout} s:\n{log_path.read_text()}")


def stop_gunicorn(proc: subprocess.Popen) -> None:
    """gunicorn of ``start_gunicorn`` stopped, killed if it is still running 15 s later."""
    proc.terminate()  # (not kill: the master stops its worker, which would be left running)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
