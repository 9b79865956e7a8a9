"""What the log says of a database fault (server/core/faults.py report): a lost COMMIT PostgreSQL could not
tell of is said at every occurrence as "it may have been written", never as "nothing was written", also
within the minute in which a busy database is said only once."""

from __future__ import annotations

import logging

import psycopg
from sqlalchemy.exc import OperationalError

from queuekiosk.server.core import faults


def lost(message: str, outcome_unknown: bool = False) -> OperationalError:
    error = OperationalError("COMMIT", {}, psycopg.OperationalError(message))
    if outcome_unknown:
        error.outcome_unknown = True  # (as pg_writer marks its batch's error: faults.outcome_unknown)
    return error


def test_a_lost_commit_is_said_as_it_may_have_been_written_every_time(caplog):
    caplog.set_level(logging.INFO, logger="queuekiosk.database")
    reporter = faults._Reporter()  # a process's, as it starts (the module's own may have said "busy" already)
    reporter.report(lost("server closed the connection unexpectedly"), "POST /api/v1/tickets")
    assert "Nothing was written (POST /api/v1/tickets" in caplog.text  # (busy, said once a minute)
    caplog.clear()
    for where in ("POST /api/v1/tickets", "printer kiosk-1 state"):
        kind, news = reporter.report(lost("consuming input failed", outcome_unknown=True), where)
        assert (kind, news) == (faults.OUTCOME_UNKNOWN, False)
    told = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Database outcome unknown")]
    assert len(told) == 2, caplog.text
    assert "It may have been written (printer kiosk-1 state: " in told[1] and "consuming input failed" in told[1]
    assert "Nothing was written" not in caplog.text


def test_each_of_the_server_s_own_loops_says_a_busy_database_once_a_minute_beside_the_requests(caplog):
    caplog.set_level(logging.INFO, logger="queuekiosk.database")
    reporter = faults._Reporter()
    for where in ("POST /api/v1/tickets", "GET /api/v1/queue"):  # requests: one line a minute between them
        reporter.report(lost("server closed the connection unexpectedly"), where)
    loops = [("delivery worker", "phuc-la"), ("remote numbers lapsing", "phuc-la"), ("remote numbers lapsing", "xa-an")]
    for _ in range(2):  # each loop of each site once a minute, whichever failed first
        for where, site in loops:
            reporter.report(lost("server closed the connection unexpectedly"), where, loop_at=site)
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 4, caplog.text
    for where, times in (("POST /api/v1/tickets", 1), ("delivery worker", 1), ("remote numbers lapsing", 2)):
        assert sum(f"Nothing was written ({where}: " in line for line in said) == times, caplog.text


def test_a_look_is_said_as_nothing_read_and_the_minute_s_count_holds_reads_and_writes(caplog, monkeypatch):
    caplog.set_level(logging.INFO, logger="queuekiosk.database")
    reporter = faults._Reporter()
    now = [1000.0]
    monkeypatch.setattr(faults.time, "monotonic", lambda: now[0])
    reporter.report(lost("server closed the connection unexpectedly"), "GET /api/v1/queue", reading=True)
    reporter.report(lost("server closed the connection unexpectedly"), "POST /api/v1/tickets")
    reporter.report(lost("server closed the connection unexpectedly"), "GET /api/v1/queue", reading=True)
    now[0] += faults.REPEAT_LOG_SECONDS
    reporter.report(lost("server closed the connection unexpectedly"), "POST /api/v1/tickets")
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 2, caplog.text
    assert "Nothing could be read (GET /api/v1/queue: " in said[0] and "more" not in said[0]
    assert "Nothing was written (POST /api/v1/tickets: " in said[1]
    assert said[1].endswith(" 2 more failed the same way since the last report."), said[1]
