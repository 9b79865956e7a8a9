"""The printer spooler keeps printing through a database outage and says it as requests do
(server/core/faults.py): one line a minute for a database out of reach, locked or damaged, not a
traceback every few seconds; a traceback only for a fault of the server."""

from __future__ import annotations

import shutil
import sqlite3
import time

from api_helpers import issue
from database_helpers import damage_table

BUSY_LINE = "Database busy: the database did not take the write in time"
DAMAGED_LINE = "Database damaged: the database is damaged"


def said_then_a_few_tries_more(srv, line: str) -> None:
    """Until the spooler has said ``line`` (how soon its look comes depends on the machine's load), then a
    few of its tries more, all within the one-line-a-minute window, which must not add lines."""
    srv.wait_log(line, 45)
    time.sleep(8)


def test_a_locked_database_under_the_spooler_is_one_line_not_a_traceback_a_round(live_server):
    """A guard, not a fix's test: "database is locked" is an OperationalError, which the spooler said
    so before too (it passes without the change that made the spooler catch every database error)."""
    srv = live_server()  # the repo's config.yaml: a file printer, looked at every few seconds
    issue(srv.session(), "VH", kiosk="kiosk-1")
    other = sqlite3.connect(srv.instance / "queuekiosk.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # e.g. an sqlite3 shell left in a transaction, or a restore
    try:
        said_then_a_few_tries_more(srv, BUSY_LINE)  # (its write waits out its busy timeout first)
    finally:
        other.execute("ROLLBACK")
        other.close()
    log = srv.log()
    assert "Traceback" not in log, log[-4000:]
    assert log.count(BUSY_LINE) == 1, log[-4000:]


def test_a_damaged_print_queue_under_the_spooler_is_one_line_sending_to_the_backup(live_server):
    """The print jobs' pages damaged (a failing disk): the spooler's every look fails; the log says
    "damaged, restore the last backup" once, not a traceback each round."""
    srv = live_server()
    # the job kept waiting (its printer's folder a file: it cannot print), so every look reads its row
    # from the damaged table (a job printed before the damage, as a quick spooler may: the looks found
    # no job by the index and read no damaged page)
    folder = srv.instance / "printed"
    shutil.rmtree(folder, ignore_errors=True)
    folder.write_bytes(b"")
    issue(srv.session(), "VH", kiosk="kiosk-1")
    damage_table(srv.instance / "queuekiosk.db", "print_jobs")
    # (a fixed 10 s once ended before the spooler's first look on a loaded machine: no line at all)
    said_then_a_few_tries_more(srv, DAMAGED_LINE)
    log = srv.log()
    assert "Traceback" not in log and "the spooler hit an error" not in log, log[-4000:]
    assert log.count(DAMAGED_LINE) == 1, log[-4000:]
    assert "(printer kiosk-1: " in log
