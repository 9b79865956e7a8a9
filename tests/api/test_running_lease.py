"""Every running server holds the "running" lease (server/core/installation.py, RUNNING), so that
`queuekiosk person-key change` refuses while one runs: a process hashing with the key replaced would
give the same citizen a second number. On PostgreSQL the lease is an advisory lock that goes with its
connection, silently, when PostgreSQL restarts or an administrator ends the connection; the server
notices within seconds and takes it again, and a key change meanwhile still refuses."""

from __future__ import annotations

import socket
import time

import pytest
from server_db import TEST_PERSON_KEY

from queuekiosk.server.core.db import create_db_engine
from queuekiosk.server.core.installation import fingerprint, recorded_person_key

NEW_KEY = "the-new-key-of-this-installation-0123456789"


def _wait_for(check, seconds: float):
    deadline = time.monotonic() + seconds
    while not (found := check()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return found


@pytest.mark.postgres
@pytest.mark.parametrize("ended", ["the lease's connection", "every connection of the server"])
def test_a_lease_postgresql_dropped_is_taken_again_and_no_key_change_runs_meanwhile(
    live_server, migrated_pg_url, _pg_admin, ended
):
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url})
    database = migrated_pg_url.rsplit("/", 1)[1]
    label = f"queuekiosk {socket.gethostname()} pid {srv.proc.pid}"
    which = "application_name = %s" if ended == "the lease's connection" else "application_name <> %s"
    ended_pids = _pg_admin.execute(
        f"SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND {which}",
        (database, label if which.startswith("application_name =") else "no such name"),
    ).fetchall()
    assert ended_pids, "nothing was ended"

    srv.env["QUEUEKIOSK_PERSON_KEY"] = NEW_KEY
    refused = srv.cli("person-key", "change", "--yes", check=False)  # at once, before the server looks
    said = refused.stderr
    assert refused.returncode != 0 and "Traceback" not in said, said
    assert "server processes of this installation are running (" in said and f"pid {srv.proc.pid}" in said, said
    assert "nothing was done" in said
    engine = create_db_engine(migrated_pg_url)
    try:
        assert recorded_person_key(engine) == fingerprint(TEST_PERSON_KEY.encode())  # the key is as it was
    finally:
        engine.dispose()

    assert _wait_for(lambda: "The running lease was taken again (lost for" in srv.log(), 10), srv.log()[-3000:]
    assert "The running lease (it tells `queuekiosk person-key change` that this server runs) was lost" in srv.log()
    refused = srv.cli("person-key", "change", "--yes", check=False)  # held again: seen at once, as before
    assert refused.returncode != 0 and f"pid {srv.proc.pid}" in refused.stderr, refused.stderr
    assert srv.session().get("/healthz").status_code == 200
    srv.stop()
    assert "the key is changed" in srv.cli("person-key", "change", "--yes").stderr
