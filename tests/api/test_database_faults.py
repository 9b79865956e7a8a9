"""The database refusing writes, through the real server (issue 7, reliability): a full disk and a
write lock held by another program; and a query the database refuses as wrong, which is a fault of the
server (500, its traceback in the log), not a busy database. The caller gets 503 with a message a person can act on
(Vietnamese, or English on request) and Retry-After; the log says it once and the supervisor's
dashboard until a write goes through; nothing is half written; once the database takes writes
again, issuing goes on where it stopped.

The full disk is a real one: a 4 MB tmpfs holding the server's SQLite file (``small_disk``,
tests/conftest.py), filled with a file the test removes.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
import threading
import time

import psycopg
import pytest
import requests
import sqlalchemy.exc
from api_helpers import assert_error, issue
from database_helpers import damage_table
from one_day_helpers import within_one_day
from sqlalchemy.exc import OperationalError

from queuekiosk.server.core import faults


def database_notes(dashboard) -> list[tuple]:
    """What a fresh dashboard snapshot says about the database."""
    mark = dashboard.mark()
    assert dashboard.subscribe({"dashboard": True}) == {"ok": True}
    return [
        (n["message"], n["message_en"])
        for n in dashboard.wait_for("state", since=mark)["system"]
        if n["item"] == "database"
    ]


def test_a_full_disk_refuses_clearly_loses_nothing_and_issuing_resumes(
    live_server, small_disk, sio_client, sqlite_template
):
    within_one_day(60)  # the numbers are one day's, gap-free, whatever the hour the test runs at
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": small_disk.sqlite_url(sqlite_template)})
    http = srv.session()
    dashboard = sio_client(srv, auth={"token": srv.token("supervisor")})
    assert database_notes(dashboard) == []
    acknowledged = [issue(http, "HT") for _ in range(3)]
    small_disk.fill()

    refused: list[requests.Response] = []
    lock = threading.Lock()

    def issuer():
        session = srv.session()
        for _ in range(15):
            response = session.post("/api/v1/tickets", json={"service": "HT"})
            with lock:
                (acknowledged.append(response.json()) if response.status_code == 201 else refused.append(response))

    threads = [threading.Thread(target=issuer) for _ in range(8)]  # several requests in each batch
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    # (some batches still fit after the fill, in room SQLite had already: those are acknowledged, and kept)
    assert len(refused) >= 30, f"only {len(refused)} of 120 were refused: the disk was not full"
    for response in refused:
        error = assert_error(response, 503, "database_full")
        assert response.headers["Retry-After"] == "30"
    assert "Ổ đĩa chứa cơ sở dữ liệu đã đầy" in error["message"]
    assert "giải phóng dung lượng ổ đĩa" in error["message"]
    english = assert_error(srv.session("en").post("/api/v1/tickets", json={"service": "HT"}), 503, "database_full")
    assert english["message"].startswith("The disk holding the database is full; nothing was done or changed.")
    # reading still works, and the supervisor's dashboard is told
    assert http.get("/api/v1/queue").status_code == 200
    dashboard.wait_for("system.changed")
    assert database_notes(dashboard) == [(error["message"], english["message"])]

    log = srv.log()
    assert log.count("Database full: the disk holding the database is full") == 1, log[-3000:]
    assert "Free disk space" in log and "Traceback" not in log

    small_disk.free()  # room again: the next ticket is issued, numbers go on gap-free
    after = issue(http, "HT")
    numbers = sorted(t["number"] for t in acknowledged)
    assert numbers == list(range(1001, 1001 + len(numbers)))
    assert after["number"] == 1001 + len(numbers)
    assert database_notes(dashboard) == []
    with sqlite3.connect(small_disk.path / "queuekiosk.db") as db:
        stored = [n for (n,) in db.execute("SELECT number FROM tickets ORDER BY number")]
    assert stored == [*numbers, after["number"]]  # every acknowledged ticket is there, and nothing else


def test_a_read_the_damaged_database_refuses_is_logged_as_a_read_not_a_write(live_server):
    """A lobby screen's or a phone's look (a GET) on a damaged database: the IT person's log line says that
    nothing could be read by that request, not that "nothing was written" (it wrote nothing to begin with)."""
    within_one_day(60)
    srv = live_server()
    http = srv.session()
    first = issue(http, "HT")
    damage_table(srv.instance / "queuekiosk.db")
    assert_error(http.get(f"/api/v1/tickets/{first['id']}"), 503, "database_damaged")
    log = srv.log()
    assert f"Nothing could be read (GET /api/v1/tickets/{first['id']}: " in log, log[-3000:]
    assert "Nothing was written" not in log


@pytest.mark.parametrize("lock", ["IMMEDIATE", "EXCLUSIVE"])
def test_a_write_lock_held_by_another_program_is_busy_and_a_retry_works(live_server, lock):
    within_one_day(60)  # the first ticket waits out the lock, whatever the hour
    srv = live_server()
    http = srv.session()
    first = issue(http, "HT")
    other = sqlite3.connect(srv.instance / "queuekiosk.db", isolation_level=None)
    other.execute(f"BEGIN {lock}")  # e.g. an sqlite3 shell left in a transaction
    try:
        started = time.monotonic()
        response = http.post("/api/v1/tickets", json={"service": "HT"})
        waited = time.monotonic() - started
        # what only reads goes on: the queue's counts, a ticket's page
        queue = http.get("/api/v1/queue")
        ticket = http.get(f"/api/v1/tickets/{first['id']}")
    finally:
        other.execute("ROLLBACK")
        other.close()
    error = assert_error(response, 503, "database_busy")
    assert response.headers["Retry-After"] == "2"
    assert error["message"] == "Cơ sở dữ liệu đang bận; thao tác không được thực hiện. Xin thử lại sau giây lát."
    assert waited > faults.SERVER_BUSY_SECONDS - 0.5  # it waited for the lock before giving up
    assert "Database busy: the database did not take the write in time" in srv.log()
    assert "Traceback" not in srv.log()  # not a fault of the server
    assert queue.status_code == 200
    assert next(s for s in queue.json()["services"] if s["code"] == "HT")["waiting"] == 1
    assert ticket.status_code == 200 and ticket.json()["status"] == "waiting"
    assert issue(http, "HT")["number"] == first["number"] + 1  # the retry: the refused request used no number


def _alter(url: str, statement: str) -> None:
    """``statement`` run by another program on the server's database (e.g. an IT person in a shell)."""
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None) as db:
            db.execute(statement)
    else:
        with psycopg.connect(url, autocommit=True) as db:
            db.execute(statement)


@contextlib.contextmanager
def _changed_by_hand(url: str, change: str, undo: str):
    """The tickets table altered by ``change`` meanwhile, ``undo`` after."""
    _alter(url, f"ALTER TABLE tickets {change}")
    try:
        yield
    finally:
        _alter(url, f"ALTER TABLE tickets {undo}")


def test_a_query_the_database_refuses_as_wrong_is_a_fault_of_the_server(live_server, migrated_db_url):
    """A column the requests read renamed under the running server (a schema not the code's): not a busy
    database to retry for ever, but 500 with a sentence sending the IT person to the log, which holds the
    traceback of each one, without the statement's values. The column back: served again. (On a database
    already migrated, a copy of the session's: the server's start has no schema to make.)"""
    db_url = migrated_db_url
    within_one_day(60)  # the next number is the first's next, whatever the hour
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": db_url})
    http = srv.session()
    first = issue(http, "HT")
    with _changed_by_hand(db_url, "RENAME COLUMN kiosk_id TO kiosk_gone", "RENAME COLUMN kiosk_gone TO kiosk_id"):
        issuing = http.post("/api/v1/tickets", json={"service": "HT"})
        reading = srv.session("en").get(f"/api/v1/tickets/{first['id']}")
    error = assert_error(issuing, 500, "internal")
    assert "Retry-After" not in issuing.headers  # trying again does not help
    assert error["message"] == (
        "Máy chủ gặp lỗi không mong muốn; thao tác có thể chưa được thực hiện. "
        "Cán bộ kỹ thuật xem chi tiết trong nhật ký (log) của máy chủ."
    )
    english = assert_error(reading, 500, "internal")
    assert english["message"].endswith("IT staff: see the details in the server's log.")
    log = srv.log()
    assert "Database busy" not in log
    assert log.count("ERROR queuekiosk.database") == 2, log[-5000:]  # each one, with its traceback
    assert log.count("A fault of the server, not of the database (POST /api/v1/tickets); see the traceback") == 1
    assert "Traceback (most recent call last)" in log
    assert "kiosk_id" in log  # what the database said of it
    assert "[parameters:" not in log  # and not the values the statement carried (hidden)
    assert issue(http, "HT")["number"] == first["number"] + 1  # the refused request used no number


@pytest.mark.postgres
def test_what_postgresql_quotes_of_a_row_never_reaches_the_log(live_server, migrated_pg_url):
    """A row PostgreSQL refuses (a check added by hand): its error's DETAIL quotes the whole row ("Failing
    row contains (…)", personal data under Decree 13/2023); the log keeps the primary message, the
    statement and the traceback's frames, never the DETAIL. (On a database already migrated, as above.)"""
    pg_url = migrated_pg_url
    within_one_day(60)  # the next number is the first's next, whatever the hour
    srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": pg_url})
    http = srv.session()
    first = issue(http, "HT")
    with _changed_by_hand(pg_url, "ADD CONSTRAINT by_hand CHECK (number < 0) NOT VALID", "DROP CONSTRAINT by_hand"):
        refused = http.post("/api/v1/tickets", json={"service": "HT"})
    assert_error(refused, 500, "internal")
    log = srv.log()
    assert 'new row for relation "tickets" violates check constraint "by_hand"' in log, log[-3000:]
    assert "Traceback (most recent call last)" in log and "INSERT INTO tickets" in log
    assert "Failing row contains" not in log and "DETAIL" not in log
    assert issue(http, "HT")["number"] == first["number"] + 1


def test_a_damaged_database_tells_the_it_person_to_restore_the_last_backup(live_server, sio_client):
    """The tickets table's file pages damaged under the running server (SQLITE_CORRUPT, "database disk
    image is malformed"): not a bug of the server, so not 500, but 503 database_damaged with a sentence
    sending the IT person to the last backup; the log says it once (no traceback per request); the
    supervisor's dashboard, whose snapshot needs the tickets, is told the same when it subscribes."""
    within_one_day(60)
    srv = live_server()
    http = srv.session()
    dashboard = sio_client(srv, auth={"token": srv.token("supervisor")})
    first = issue(http, "HT")
    damage_table(srv.instance / "queuekiosk.db")
    issuing = http.post("/api/v1/tickets", json={"service": "HT"})
    reading = srv.session("en").get(f"/api/v1/tickets/{first['id']}")
    error = assert_error(issuing, 503, "database_damaged")
    assert error["message"] == (
        "Cơ sở dữ liệu bị hỏng; thao tác không được thực hiện. Cán bộ kỹ thuật: dừng máy chủ và khôi phục "
        "bản sao lưu gần nhất (tài liệu docs/deployment.md, mục “Backup and restore”)."
    )
    assert issuing.headers["Retry-After"] == str(faults.RETRY_AFTER["database_damaged"])
    english = assert_error(reading, 503, "database_damaged")
    assert english["message"].startswith("The database is damaged; nothing was changed. IT staff: stop the server")
    told = dashboard.subscribe({"dashboard": True})["error"]  # (a DatabaseError: not an OperationalError)
    assert told["code"] == "database_damaged" and told["message"] == error["message"]
    log = srv.log()
    assert log.count("Database damaged: the database is damaged") == 1, log[-3000:]  # once, not per request
    assert "restore the last backup (docs/deployment.md, Backup and restore)" in log
    assert "database disk image is malformed" in log
    assert "A fault of the server" not in log and "unexpected error" not in log


@pytest.mark.postgres
def test_a_full_disk_under_postgresql_is_database_full_too(live_server, pg_url, _pg_admin, small_disk):
    """PostgreSQL's tables on the small disk (a tablespace): its disk_full (53100) is the same answer."""
    import pwd

    try:
        owner = pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("no postgres user on this machine: PostgreSQL runs elsewhere")
    os.chown(small_disk.path, owner.pw_uid, owner.pw_gid)
    database, space = pg_url.rsplit("/", 1)[1], f"qk_small_{secrets.token_hex(4)}"
    try:
        _pg_admin.execute(f"CREATE TABLESPACE {space} LOCATION '{small_disk.path}'")
    except psycopg.Error as error:
        pytest.skip(f"PostgreSQL cannot use the small disk: {error}")
    try:
        _pg_admin.execute(f'ALTER DATABASE "{database}" SET default_tablespace = {space}')  # every table there
        within_one_day(60)  # one day's numbers
        srv = live_server(env={"QUEUEKIOSK_DATABASE_URL": pg_url})
        http = srv.session()
        acknowledged = [issue(http, "HT") for _ in range(3)]
        small_disk.fill()
        for _ in range(500):  # until a table needs a new page
            response = http.post("/api/v1/tickets", json={"service": "HT"})
            if response.status_code != 201:
                break
            acknowledged.append(response.json())
        assert_error(response, 503, "database_full")
        assert "Database full: the disk holding the database is full" in srv.log()
        assert "No space left on device" in srv.log()

        small_disk.free()
        numbers = [t["number"] for t in acknowledged]
        assert numbers == list(range(1001, 1001 + len(numbers)))
        assert issue(http, "HT")["number"] == numbers[-1] + 1  # the refused one used no number
        srv.stop()
    finally:
        _pg_admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        _pg_admin.execute(f"DROP TABLESPACE IF EXISTS {space}")


def _coded(message: str, code: int) -> sqlite3.Error:
    """A SQLite error as the driver raises it, with its (extended) result code."""
    error = sqlite3.DatabaseError(message)
    error.sqlite_errorcode = code
    return error


@pytest.mark.parametrize(
    "orig, kind",
    [
        (psycopg.errors.DiskFull('could not extend file "base/16384/16390": No space left on device'), "database_full"),
        (psycopg.errors.QueryCanceled("canceling statement due to lock timeout"), "database_busy"),
        (sqlite3.OperationalError("database or disk is full"), "database_full"),
        (sqlite3.OperationalError("database is locked"), "database_busy"),
        (sqlite3.OperationalError("disk I/O error"), "database_busy"),
        (sqlite3.OperationalError("no such column: tickets.kiosk_id"), "internal"),
        (sqlite3.OperationalError('near "SELEC": syntax error'), "internal"),
        (psycopg.OperationalError("connection failed: Connection refused"), "database_busy"),
        (psycopg.errors.AdminShutdown("terminating connection due to administrator command"), "database_busy"),
        (psycopg.errors.TooManyConnections("sorry, too many clients already"), "database_busy"),
        (psycopg.errors.DeadlockDetected("deadlock detected"), "database_busy"),
        (psycopg.errors.ReadOnlySqlTransaction("cannot execute INSERT in a read-only transaction"), "database_busy"),
        (psycopg.errors.UndefinedColumn('column "kiosk_id" does not exist'), "internal"),
        (psycopg.errors.ProgramLimitExceeded("index row size exceeds maximum"), "internal"),
        (psycopg.errors.IdleInTransactionSessionTimeout("terminating connection"), "database_busy"),
        (psycopg.errors.TransactionRollback("transaction rollback"), "database_busy"),
        (psycopg.errors.TransactionIntegrityConstraintViolation("constraint"), "internal"),  # 40002
        (psycopg.errors.DataCorrupted("invalid page in block 0"), "database_damaged"),
        (psycopg.errors.IndexCorrupted("index is corrupted"), "database_damaged"),
        (_coded("abort due to ROLLBACK", 516), "database_busy"),
        (_coded("database schema has changed", 17), "database_busy"),
        (_coded("database disk image is malformed", 11), "database_damaged"),
        (_coded("file is not a database", 26), "database_damaged"),
        (_coded("no such column: x", 1), "internal"),
    ],
)
def test_postgresql_and_sqlite_faults_map_to_one_code_each(orig, kind):
    """PostgreSQL's disk_full (SQLSTATE 53100) gives the same answer as SQLite's SQLITE_FULL; an outage is
    busy under either; what the database refuses as wrong is a fault of the server."""
    assert faults.kind_of(OperationalError("INSERT INTO tickets …", {}, orig)) == kind


def test_a_pool_with_no_connection_free_in_time_is_busy_and_a_lost_connection_too():
    """SQLAlchemy's pool timeout (not a DBAPIError) and a connection it found lost (whatever its class)."""
    assert (
        faults.kind_of(sqlalchemy.exc.TimeoutError("QueuePool limit of size 1 overflow 0 reached")) == "database_busy"
    )
    lost = sqlalchemy.exc.InternalError("SELECT 1", {}, psycopg.InternalError("gone"), connection_invalidated=True)
    assert faults.kind_of(lost) == "database_busy"
