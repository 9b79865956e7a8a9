"""The server's own clockwork (server/web/housekeeping.py, the delivery worker) through a database outage says
it as requests do (server/core/faults.py): one line a minute, not a traceback at every try."""

from __future__ import annotations

import sqlite3
import time

from api_helpers import issue
from webhook_receiver import Receiver

BUSY_LINE = "Database busy: the database did not take the write in time"


def test_a_locked_database_under_the_lapse_loop_is_one_line_not_a_traceback_a_try(live_server):
    srv = live_server(env={"QUEUEKIOSK_LAPSE_SECONDS": "0.5"})  # remote numbers looked at twice a second
    other = sqlite3.connect(srv.instance / "queuekiosk.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # e.g. an sqlite3 shell left in a transaction, or a restore
    try:
        srv.wait_log("(remote numbers lapsing: ", 60)  # (each write waits out its busy timeout first)
        time.sleep(3)  # a few tries more, within the minute's one line
    finally:
        other.execute("ROLLBACK")
        other.close()
    log = srv.log()
    assert "Nothing was written (remote numbers lapsing: " in log, log[-4000:]
    assert "Traceback" not in log and "lapsing the overdue remote numbers failed" not in log, log[-4000:]


def test_webhook_results_the_database_did_not_take_are_one_line_and_the_delivery_is_sent_again(live_server):
    srv = live_server(env={"QUEUEKIOSK_DELIVERY_POLL_SECONDS": "0.2", "QUEUEKIOSK_WEBHOOK_TIMEOUT": "30"})
    receiver = Receiver()
    try:
        receiver.answers = ["hang"]  # its answer held until the database is locked
        hook = srv.session().post(
            "/api/v1/admin/webhooks",
            json={"url": receiver.url, "events": ["ticket.issued"]},
            headers={"Authorization": f"Bearer {srv.token('admin')}"},
        )
        assert hook.status_code == 201, hook.text
        issue(srv.session(), "HT")
        receiver.wait_for(1)
        other = sqlite3.connect(srv.instance / "queuekiosk.db", isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        try:
            receiver.release()  # accepted: its result is to be saved now, and cannot be
            srv.wait_log("(webhook results: ", 60)
        finally:
            other.execute("ROLLBACK")
            other.close()
        got = receiver.wait_for(2, timeout=30)  # not saved as delivered: sent again (at least once)
        assert got[0].delivery == got[1].delivery
    finally:
        receiver.close()
    log = srv.log()
    assert "Nothing was written (webhook results: " in log, log[-4000:]
    assert "Traceback" not in log, log[-4000:]
