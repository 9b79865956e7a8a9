"""A server that cannot work refuses to start with one sentence (Vietnamese, then English) that says
what to do, under `queuekiosk serve` and under gunicorn, instead of starting and answering 500 or
printing a traceback (QA D13, D8, D6, D16)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time

import pytest
from conftest import QUEUEKIOSK
from ops_helpers import process_env, refused_start, run_gunicorn, run_serve
from server_db import seed


def _unmakeable_folder(tmp_path) -> str:
    """An instance folder that cannot be made (under a file): what /var/lib/queuekiosk is to a user
    who may not create it (the tests run as root, whom permissions do not stop)."""
    (tmp_path / "a-file").write_text("")
    return str(tmp_path / "a-file" / "queuekiosk")


def test_serve_refuses_to_start_when_its_instance_folder_cannot_be_made(tmp_path, server_zygote):
    folder = _unmakeable_folder(tmp_path)
    done = run_serve(tmp_path, QUEUEKIOSK_INSTANCE=folder, zygote=server_zygote)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    assert f"không tạo hoặc không ghi được thư mục dữ liệu {folder}" in done.stderr, done.stderr
    assert f"cannot create or write the instance folder {folder}" in done.stderr
    assert f"mkdir -p {folder} && chown " in done.stderr and "nothing was started" in done.stderr
    assert "open at" not in done.stdout  # it never said it was serving


def test_a_folder_of_the_instance_that_cannot_be_written_is_named_at_start(tmp_path, server_zygote):
    """QA N4: a command run as root once made instance/announcements its own: every call then went
    unsaid, a traceback each. The server says so at start instead, naming that folder."""
    announcements = tmp_path / "instance" / "announcements"
    announcements.mkdir(parents=True)
    # immutable: nobody, root included, may write in it (what another owner is to the service's user)
    if subprocess.run(["chattr", "+i", str(announcements)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not possible on this file system")
    try:
        done = run_serve(tmp_path, QUEUEKIOSK_INSTANCE=str(tmp_path / "instance"), zygote=server_zygote)
    finally:
        subprocess.run(["chattr", "-i", str(announcements)], check=True)
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert f"cannot create or write the instance folder {announcements}" in done.stderr, done.stderr
    assert "chown " in done.stderr and "open at" not in done.stdout


def test_gunicorn_stops_with_the_same_sentence_instead_of_answering_500(tmp_path, server_zygote):
    folder = _unmakeable_folder(tmp_path)
    status, log = run_gunicorn(tmp_path, zygote=server_zygote, QUEUEKIOSK_INSTANCE=folder)
    assert status != 0  # the master stops: no worker left answering 500 to every ticket
    assert "Traceback" not in log, log
    assert f"cannot create or write the instance folder {folder}" in log and "chown" in log, log


def test_the_person_key_is_made_at_start_readable_by_the_server_only(live_server):
    srv = live_server(env={"QUEUEKIOSK_PERSON_KEY": ""})  # none in the environment: the instance folder's
    key = srv.instance / "person_key"
    assert key.is_file() and (key.stat().st_mode & 0o777) == 0o600  # before any ticket or booking


def test_a_database_file_that_is_not_one_is_one_sentence_sending_to_the_backup(tmp_path, server_zygote):
    """A SQLite file overwritten with junk (a failing disk, a wrong file copied in): the start says it
    is damaged and to restore the last backup, in one sentence, not a traceback."""
    damaged = tmp_path / "queuekiosk.db"
    damaged.write_bytes(os.urandom(65536))
    for run in ("serve", "gunicorn"):
        address = {"QUEUEKIOSK_DATABASE_URL": f"sqlite:///{damaged}", "QUEUEKIOSK_INSTANCE": str(tmp_path)}
        status, output = refused_start(run, tmp_path, server_zygote, **address)
        assert status != 0
        assert "Traceback" not in output, output
        assert f"the database sqlite:///{damaged} is damaged" in output, output
        assert "file is not a database): restore the last backup" in output, output


@pytest.mark.postgres
def test_a_wrong_database_address_is_one_sentence_not_a_traceback(tmp_path, server_zygote):
    url = "postgresql://qk_no_such_role:secret-pw@127.0.0.1:5432/qk_no_such_database"
    for run in ("serve", "gunicorn"):
        address = {"QUEUEKIOSK_DATABASE_URL": url, "QUEUEKIOSK_INSTANCE": str(tmp_path / "instance")}
        status, output = refused_start(run, tmp_path, server_zygote, **address)
        assert status != 0
        assert "Traceback" not in output, output
        assert "cannot connect to the database postgresql://qk_no_such_role:***@127.0.0.1:5432/" in output, output
        assert 'role "qk_no_such_role" does not exist' in output and "check QUEUEKIOSK_DATABASE_URL" in output
        assert "secret-pw" not in output  # the password is never shown
        assert len(output.strip().splitlines()) <= (2 if run == "serve" else 12), output


@pytest.mark.postgres
def test_a_process_with_another_person_key_is_refused_on_a_shared_database(
    live_server, migrated_pg_url, tmp_path, server_zygote
):
    machine_a = {"QUEUEKIOSK_DATABASE_URL": migrated_pg_url, "QUEUEKIOSK_PERSON_KEY": "key-of-machine-a" * 2}
    first = live_server(env=machine_a)
    same = live_server(env=machine_a)
    assert same.session().get("/healthz").status_code == 200  # another machine with the same key
    other = tmp_path / "machine-b"
    other.mkdir()
    address = {"QUEUEKIOSK_DATABASE_URL": migrated_pg_url, "QUEUEKIOSK_INSTANCE": str(other / "instance")}
    done = run_serve(other, zygote=server_zygote, **address)
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert "is not the one this database was used with, so one person would get two numbers" in done.stderr
    assert (
        f"{other / 'instance' / 'person_key'}" in done.stderr and "khác khóa cơ sở dữ liệu này đã dùng" in done.stderr
    )
    assert first.session().get("/healthz").status_code == 200  # the first goes on


@contextlib.contextmanager
def _busy_port():
    """A port another program listens on."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield busy.getsockname()[1]


def test_serve_on_a_port_in_use_says_so_in_one_sentence(tmp_path, server_zygote, sqlite_template):
    seed(sqlite_template, f"sqlite:///{tmp_path / 'instance' / 'queuekiosk.db'}")  # (not a first start's child)
    with _busy_port() as port:
        started = time.monotonic()
        env = process_env(tmp_path, QUEUEKIOSK_INSTANCE=str(tmp_path / "instance"))
        done = server_zygote.run([QUEUEKIOSK, "serve", "--port", str(port)], env, tmp_path, None, 60)  # a fork
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    assert f"port {port} on 127.0.0.1 is already in use (another queuekiosk?)" in done.stderr, done.stderr
    assert f"cổng {port} trên 127.0.0.1 đang được chương trình khác dùng" in done.stderr
    assert time.monotonic() - started < 30  # it ends, background work and all


def test_gunicorn_on_a_port_in_use_says_so_in_the_same_sentence(tmp_path, server_zygote):
    """Not gunicorn's five tries a second apart and twelve lines of its own (deploy/gunicorn.conf.py's
    on_starting): a systemd unit started on a port in use says it as `serve` does."""
    with _busy_port() as port:
        status, log = run_gunicorn(tmp_path, port, server_zygote, QUEUEKIOSK_INSTANCE=str(tmp_path / "instance"))
    assert status != 0 and "Traceback" not in log, log
    assert f"port {port} on 127.0.0.1 is already in use (another queuekiosk?): stop that program or give" in log, log
    assert "another port (queuekiosk@PORT, or --bind); nothing was started" in log
    assert f"cổng {port} trên 127.0.0.1 đang được chương trình khác dùng" in log
    # said once, at once, and gunicorn stops: not its own "Connection in use" five times over five seconds
    assert log.count("is already in use (another queuekiosk?)") == 1 and "Connection in use" not in log, log
    assert "Booting worker" not in log and "Retrying in 1 second" not in log, log
