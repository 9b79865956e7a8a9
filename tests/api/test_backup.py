"""`queuekiosk backup` while the server runs, and `queuekiosk restore` after a disaster."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from api_helpers import issue
from pg_link_helpers import CuttableLink
from pg_lock_helpers import pg_engine
from ports import tcp_rows
from sqlalchemy import text
from sqlalchemy.engine import make_url

from queuekiosk.server.core.backup import BackupError, backup, restore


def test_backup_and_restore_on_sqlite(live_server, tmp_path):
    """(On PostgreSQL: test_backup_pg_restore.py.)"""
    srv = live_server()
    http = srv.session()
    kept = [issue(http, "HT") for _ in range(3)]
    srv.cli("backup", str(tmp_path / "centre.backup"))  # the server is running
    issue(http, "HT")  # after the backup: not in it
    srv.stop()
    srv.cli("restore", "--yes", str(tmp_path / "centre.backup"))
    srv.start()
    http = srv.session()
    for ticket in kept:
        assert http.get(f"/api/v1/tickets/{ticket['id']}").json()["number"] == ticket["number"]
    # the day goes on from the backup's state: the next number follows the last one kept
    assert issue(http, "HT")["number"] == kept[-1]["number"] + 1


def test_restore_refuses_a_file_that_is_not_a_backup(live_server, tmp_path):
    srv = live_server()
    ticket = issue(srv.session(), "CT")
    srv.stop()
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"this is not a database" * 100)
    result = srv.cli("restore", "--yes", str(junk), check=False)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    vi, en = result.stderr.splitlines()
    assert (
        vi
        == f"Lỗi: không khôi phục được từ {junk}: đây không phải một cơ sở dữ liệu SQLite nguyên vẹn; chưa thay đổi gì"
    )
    assert en == f"could not restore from {junk}: it is not a sound SQLite database; nothing was changed"
    missing = srv.cli("restore", "--yes", str(tmp_path / "nope.backup"), check=False)
    assert missing.returncode != 0
    assert missing.stderr.splitlines()[1].endswith("nope.backup: there is no such file; nothing was changed")
    srv.start()
    assert srv.session().get(f"/api/v1/tickets/{ticket['id']}").status_code == 200  # nothing was lost


def test_a_backup_file_is_readable_by_its_owner_only(live_server, tmp_path):
    srv = live_server()
    issue(srv.session(), "HT")
    target = tmp_path / "backups" / "centre.backup"
    srv.cli("backup", str(target))
    assert target.stat().st_mode & 0o777 == 0o600  # it holds the accounts and the citizens' bookings
    assert not list(target.parent.glob("*.part"))


@pytest.mark.postgres
def test_a_backup_from_a_postgresql_host_that_never_answers_fails_with_a_sentence(live_server, tmp_path):
    """An address that takes connections and never answers (a failover to a server still starting, a cable
    pulled behind a proxy): pg_dump gives up after the connect timeout the server's connections have (5 s)
    instead of waiting for ever, and the command says why; no backup file is left half-written."""
    link = CuttableLink()
    link.silence()
    try:
        srv = live_server(
            env={"QUEUEKIOSK_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{link.port}/qk"}, start=False
        )
        target = tmp_path / "centre.backup"
        # (a hang ends in subprocess's TimeoutExpired, failing the test)
        result = srv.cli("backup", str(target), check=False, timeout=60)
        assert result.returncode != 0 and "Traceback" not in result.stderr
        # said in Vietnamese first, as the command's other refusals, the tool's own words once after
        vi, en, words = result.stderr.splitlines()
        assert f"PostgreSQL tại 127.0.0.1:{link.port} không trả lời trong 5 giây" in vi and "chưa sao lưu" in vi
        assert f"PostgreSQL at 127.0.0.1:{link.port} did not answer within 5 s" in en
        assert en.endswith("; nothing was backed up") and "timeout expired" in words, result.stderr
        assert result.stderr.count("timeout expired") == 1, result.stderr
        assert not list(tmp_path.glob("centre.backup*"))
    finally:
        link.close()


@pytest.mark.postgres
def test_a_restore_to_a_postgresql_host_that_stopped_answering_fails_with_a_sentence(pg_url, tmp_path, monkeypatch):
    """pg_restore too, and the URL's own connect_timeout (or PGCONNECT_TIMEOUT) is the one used."""
    monkeypatch.delenv("PGCONNECT_TIMEOUT", raising=False)
    dump = tmp_path / "centre.backup"
    backup(pg_url, dump)
    link = CuttableLink()
    link.silence()
    silent = f"postgresql://postgres@127.0.0.1:{link.port}/qk?connect_timeout=3"
    with ThreadPoolExecutor(1) as pool:
        tried = pool.submit(restore, silent, dump)
        try:
            with pytest.raises(BackupError) as refused:
                tried.result(timeout=60)  # (a hang ends in a TimeoutError, failing the test)
        finally:
            link.close()  # (after a hang: pg_restore's connection ends, and with it the thread)
    assert refused.value.said == ("cli_pg_no_answer", {"address": f"127.0.0.1:{link.port}", "seconds": "3"})


@pytest.mark.postgres
def test_a_backup_takes_the_host_port_and_connect_timeout_of_libpq_s_environment(tmp_path, monkeypatch):
    """A URL without host or port (PGHOST/PGPORT give them, as psql's users set them) and a PGCONNECT_TIMEOUT
    of the user's: that timeout is the one used, and the sentence names the address the tool tried."""
    link = CuttableLink()
    link.silence()
    monkeypatch.setenv("PGHOST", "127.0.0.1")
    monkeypatch.setenv("PGPORT", str(link.port))
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "3")
    with ThreadPoolExecutor(1) as pool:
        tried = pool.submit(backup, "postgresql://postgres@/qk", tmp_path / "centre.backup")
        try:
            with pytest.raises(BackupError) as refused:
                tried.result(timeout=60)  # (a hang ends in a TimeoutError, failing the test)
        finally:
            link.close()
    assert refused.value.said == ("cli_pg_no_answer", {"address": f"127.0.0.1:{link.port}", "seconds": "3"})
    assert not list(tmp_path.glob("centre.backup*"))


SEEN_BY_THE_RESTORE = """
CREATE SCHEMA seen;
CREATE TABLE seen.settings (tcp_user_timeout text, tcp_keepalives_idle text, tcp_keepalives_count text);
CREATE FUNCTION seen.note() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO seen.settings VALUES (current_setting('tcp_user_timeout'), current_setting('tcp_keepalives_idle'),
                                    current_setting('tcp_keepalives_count'));
END $$;
CREATE EVENT TRIGGER note_settings ON ddl_command_end EXECUTE FUNCTION seen.note();
"""


@pytest.mark.postgres
def test_the_restore_s_session_gets_postgresql_s_stall_limits_and_the_url_s_own_win(pg_url, tmp_path, monkeypatch):
    """A restore's one transaction holds its locks until it ends: a session whose client vanished in a
    network stall ends on PostgreSQL's side within seconds (the server's own limits, db.pg_limits), not after
    the system's ~2 hours; a value the URL's options give wins. Read in the restore's own session (psql's): an
    event trigger of the database notes the settings of each statement that drops or creates a table."""
    monkeypatch.delenv("PGOPTIONS", raising=False)
    engine = pg_engine(pg_url)
    try:
        with engine.begin() as db:
            db.execute(text("CREATE TABLE kept (id int)"))
        dump = tmp_path / "centre.backup"
        backup(pg_url, dump)
        with engine.begin() as db:
            db.execute(text(SEEN_BY_THE_RESTORE))
        restore(f"{pg_url}?options=-c%20tcp_user_timeout%3D7000", dump)
        with engine.connect() as db:
            seen = set(db.execute(text("SELECT * FROM seen.settings")).all())
    finally:
        engine.dispose()
    assert seen == {("7000", "10", "3")}, seen


def keepalive_seconds(local_port: int, remote_port: int) -> float | None:
    """The seconds left before the kernel probes the TCP connection 127.0.0.1:``local_port`` ->
    127.0.0.1:``remote_port`` from its end (its keepalive timer, /proc/net/tcp), None while another timer runs
    (data not acknowledged yet) or none."""
    for local, remote, fields in tcp_rows(["/proc/net/tcp"]):
        if fields[3] == "01" and (local, remote) == (local_port, remote_port):  # 01: ESTABLISHED
            timer, left = fields[5].split(":")  # (tr:tm->when, in clock ticks)
            return int(left, 16) / os.sysconf("SC_CLK_TCK") if timer == "02" else None
    raise AssertionError(f"no connection 127.0.0.1:{local_port} -> 127.0.0.1:{remote_port}")


def pg_dump_s_keepalives(url: str, dump: Path) -> tuple[float | None, float | None]:
    """The keepalive timers of a ``backup`` of ``url``'s pg_dump, seen from its own end and from PostgreSQL's,
    while it waits for a table the test holds locked (an idle connection: its timers run down from the
    keepalive idle time its end was given). PostgreSQL must be on 127.0.0.1 in this network namespace (as the
    test fixtures have it): the kernel's table of both ends is read."""
    server_port = make_url(url).port or 5432
    engine = pg_engine(url.split("?")[0])
    try:
        with engine.connect() as holder, engine.connect() as watch, ThreadPoolExecutor(1) as pool:
            holder.execute(text("LOCK TABLE kept IN ACCESS EXCLUSIVE MODE"))
            dumped = pool.submit(backup, url, dump)
            waiting = text(
                "SELECT client_port FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name = 'pg_dump' AND wait_event_type = 'Lock'"
            )
            deadline = time.monotonic() + 30
            while (port := watch.execute(waiting).scalar()) is None:
                if dumped.done():
                    dumped.result()  # (pg_dump's own error, if it failed)
                assert time.monotonic() < deadline and not dumped.done(), "pg_dump never waited for the table"
                watch.rollback()
                time.sleep(0.05)
            # (until its last packet is acknowledged: the kernel's retransmission timer runs meanwhile)
            while None in (seen := (keepalive_seconds(port, server_port), keepalive_seconds(server_port, port))):
                assert time.monotonic() < deadline, f"no keepalive timer on pg_dump's connection: {seen}"
                time.sleep(0.05)
            holder.rollback()  # the dump goes on and ends
            dumped.result(timeout=30)
    finally:
        engine.dispose()
    return seen


@pytest.mark.postgres
def test_pg_dump_s_connection_gets_the_stall_limits_on_both_ends_and_the_url_s_own_win(pg_url, tmp_path, monkeypatch):
    """pg_dump's session, as the server's own (db.pg_limits): its end probes a silent PostgreSQL after 2 s
    idle (libpq's keepalives_idle) and PostgreSQL's end probes a silent pg_dump after 10 s (tcp_keepalives_idle
    in its options), not after the system's 2 hours; the URL's own values win. Seen on the connection
    itself, in the kernel's keepalive timers of both its sockets."""
    monkeypatch.delenv("PGOPTIONS", raising=False)
    engine = pg_engine(pg_url)
    with engine.begin() as db:
        db.execute(text("CREATE TABLE kept (id int)"))
    engine.dispose()
    ours, theirs = pg_dump_s_keepalives(pg_url, tmp_path / "ours.backup")
    # (0 at the tick the timer runs out, before the kernel sets it again)
    assert ours is not None and 0 <= ours <= 2, ours
    assert theirs is not None and 0 <= theirs <= 10, theirs
    own = f"{pg_url}?keepalives_idle=300&options=-c%20tcp_keepalives_idle%3D400"
    ours, theirs = pg_dump_s_keepalives(own, tmp_path / "own.backup")
    assert ours is not None and 240 < ours <= 300, ours
    assert theirs is not None and 340 < theirs <= 400, theirs
