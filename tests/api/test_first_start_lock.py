"""A server's first start on a SQLite file with no setup yet (its schema made, as by `queuekiosk migrate`
or a copy of a migrated file) checks config.yaml in a child process before saving it as the setup. On a
slow machine that child takes seconds; SQLite's write lock must not be held meanwhile, or a second
server started on the same file (two units of deploy/systemd, each waiting 3 s for the lock) fails to
start with "database is locked" (tests/api/test_deployment.py saw it on a loaded machine)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import requests
from conftest import QUEUEKIOSK, REPO_CONFIG
from ports import free_port
from server_db import seed

START_TIMEOUT = 60.0


def _below(pid: int) -> list[int]:
    """The processes below ``pid``, its children's children too."""
    found, parents = [], [pid]
    while parents:
        parent = parents.pop()
        for task in Path(f"/proc/{parent}/task").iterdir():
            children = (task / "children").read_text().split()
            found += [int(child) for child in children]
            parents += [int(child) for child in children]
    return found


def _checking_config(pid: int) -> bool:
    """True once the server's child that reads and checks config.yaml runs."""
    for child in _below(pid):
        try:
            if b"check_for_parent" in Path(f"/proc/{child}/cmdline").read_bytes():
                return True
        except OSError:  # ended meanwhile
            continue
    return False


def test_a_first_start_checking_config_yaml_leaves_sqlite_s_write_lock_to_other_starts(tmp_path, sqlite_template):
    instance = tmp_path / "instance"
    database = instance / "queuekiosk.db"
    seed(sqlite_template, f"sqlite:///{database}")  # the schema made, no setup yet
    # config.yaml a named pipe: the child that reads it waits there until this test writes the file
    config = tmp_path / "config.yaml"
    os.mkfifo(config)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUEUEKIOSK_")}
    env["QUEUEKIOSK_INSTANCE"] = str(instance)
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [QUEUEKIOSK, "serve", "--config", str(config), "--port", str(port), "--ignore-hours"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its child too is ended at the end, even one still waiting on the pipe
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _checking_config(server.pid):
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, f"no child checking config.yaml:\n{log.read_text()}"
            time.sleep(0.05)
        # another server's start takes the write lock now (the server waits 3 s for it: 1 s here)
        other = sqlite3.connect(database, timeout=1, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        finally:
            other.close()
        with open(config, "w", encoding="utf-8") as pipe:  # the child reads config.yaml now
            pipe.write(REPO_CONFIG.read_text(encoding="utf-8"))
        while True:
            assert server.poll() is None, log.read_text()
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, f"the server did not answer /healthz:\n{log.read_text()}"
            time.sleep(0.1)
        assert requests.get(f"http://127.0.0.1:{port}/api/v1/queue", timeout=5).status_code == 200
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)
