"""`queuekiosk backup` while the server runs, and `queuekiosk restore` after a disaster."""

from __future__ import annotations

import pytest
from api_helpers import issue


def restore_check(srv, tmp_path):
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


def test_backup_and_restore_on_sqlite(live_server, tmp_path):
    restore_check(live_server(), tmp_path)


@pytest.mark.postgres
def test_backup_and_restore_on_postgresql(live_server, migrated_pg_url, tmp_path):
    restore_check(live_server(env={"QUEUEKIOSK_DATABASE_URL": migrated_pg_url}), tmp_path)


def test_restore_refuses_a_file_that_is_not_a_backup(live_server, tmp_path):
    srv = live_server()
    ticket = issue(srv.session(), "CT")
    srv.stop()
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"this is not a database" * 100)
    result = srv.cli("restore", "--yes", str(junk), check=False)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "junk.backup" in result.stderr
    missing = srv.cli("restore", "--yes", str(tmp_path / "nope.backup"), check=False)
    assert missing.returncode != 0 and "there is no backup file" in missing.stderr
    srv.start()
    assert srv.session().get(f"/api/v1/tickets/{ticket['id']}").status_code == 200  # nothing was lost


def test_a_backup_file_is_readable_by_its_owner_only(live_server, tmp_path):
    srv = live_server()
    issue(srv.session(), "HT")
    target = tmp_path / "backups" / "centre.backup"
    srv.cli("backup", str(target))
    assert target.stat().st_mode & 0o777 == 0o600  # it holds the accounts and the citizens' bookings
    assert not list(target.parent.glob("*.part"))
