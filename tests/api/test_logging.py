"""Logging is set up by the app factory, so every entry point logs alike: `queuekiosk serve`,
gunicorn (server/wsgi.py, the production path) and the command line. Each line names its site."""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import subprocess
import time
from pathlib import Path

import gunicorn_fork
import pytest
from conftest import QUEUEKIOSK, REPO
from ports import free_port
from sqlalchemy.engine import make_url

from queuekiosk.server.core import logs

GUNICORN = gunicorn_fork.GUNICORN
DAY_ENDED = re.compile(r"INFO \S+ \[phuc-la\]: end of the business day: 1 waiting ticket\(s\) expired")


def _wait_for_line(path: Path, pattern: re.Pattern, proc: subprocess.Popen, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while True:
        text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        if pattern.search(text):
            return text
        assert proc.poll() is None and time.monotonic() < deadline, f"no line like {pattern.pattern!r} in:\n{text}"
        time.sleep(0.1)


def _move_tickets_to_yesterday(database_url: str) -> None:
    with sqlite3.connect(make_url(database_url).database) as db:
        moved = db.execute("UPDATE tickets SET business_day = date(business_day, '-1 day') WHERE status = 'waiting'")
        assert moved.rowcount == 1


def test_gunicorn_logs_the_end_of_the_business_day_with_its_site(live_server, server_zygote):
    """The day-end line is INFO: before the app factory set logging up, gunicorn dropped it."""
    if not GUNICORN.exists():
        pytest.skip("gunicorn is not installed (pip install -e .[deploy])")
    server = live_server()
    assert server.session().post("/api/v1/tickets", json={"service": "HT"}).status_code == 201
    server.stop()
    _move_tickets_to_yesterday(server.database_url)  # the citizen left yesterday without being called

    env = {**server.env, "QUEUEKIOSK_CONFIG": str(server.config_path), "QUEUEKIOSK_BIND": f"127.0.0.1:{free_port()}"}
    log_path = server.workdir / "gunicorn.log"
    command = [GUNICORN, "--config", REPO / "deploy" / "gunicorn.conf.py", "queuekiosk.server.wsgi:app"]
    proc = gunicorn_fork.start(server_zygote, command, env, server.workdir, log_path)
    try:
        text = _wait_for_line(log_path, DAY_ENDED, proc)
    finally:
        proc.terminate()
        proc.wait(15)
    assert text.count("end of the business day") == 1, text  # one line for the event, not one per handler


def test_the_command_line_logs_like_the_server(tmp_path):
    """A command of the command line (here a kiosk agent that cannot reach its server) logs in the same format."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUEUEKIOSK_")}
    log_path = tmp_path / "agent.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                QUEUEKIOSK,
                "kiosk-agent",
                "--server",
                f"http://127.0.0.1:{free_port()}",
                "--token",
                "qk_nothing",
                "--printer",
                f"file:{tmp_path}",
                "--state-file",
                str(tmp_path / "agent.json"),
            ],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        text = _wait_for_line(
            log_path, re.compile(r"^\S+ \S+ WARNING queuekiosk\S*agent: cannot reach http://", re.M), proc
        )
    finally:
        proc.terminate()
        proc.wait(15)
    assert "WARNING:" not in text  # python-escpos's logging.basicConfig() does not write each line twice


def test_a_line_names_the_counter_and_ticket_it_is_about(capsys):
    logs.configure_logging("phuc-la")
    logging.getLogger("queuekiosk.test").warning("recalled twice", extra=logs.event_context(counter=5, ticket="1023"))
    logging.getLogger("queuekiosk.test").warning("nothing to print")
    lines = capsys.readouterr().err.splitlines()
    assert lines[-2].endswith("WARNING queuekiosk.test [phuc-la counter=5 ticket=1023]: recalled twice"), lines
    assert lines[-1].endswith("WARNING queuekiosk.test [phuc-la]: nothing to print"), lines


def test_the_installations_own_lines_name_no_site(live_server):
    """With several sites a line of no site's work (a site's start, the message queue) carries no site tag:
    an IT person grepping one commune's lines by its tag is not sent to the first site's."""
    server = live_server()
    http = server.session()
    http.headers["Authorization"] = f"Bearer {server.token('admin')}"
    made = http.post("/api/v1/admin/sites", json={"id": "xa-my-loc", "name": "Xã Mỹ Lộc"})
    assert made.status_code == 201, made.text
    server.stop()
    server.start()  # the installation's start takes up its second site
    started = re.compile(r"^\S+ \S+ INFO (\S+): site xa-my-loc: served from now on", re.M)
    deadline = time.monotonic() + 10
    while not started.search(server.log_path.read_text(encoding="utf-8", errors="replace")):
        assert time.monotonic() < deadline, server.log_path.read_text(encoding="utf-8", errors="replace")
        time.sleep(0.1)
