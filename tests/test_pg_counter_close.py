"""A counter's close racing a transfer to it on PostgreSQL (engine counter_actions._send_back_transferred,
records._COUNTER_ROW): the close waits for the transfer under way and then sends that number back to
its queue, instead of closing past it and leaving it waiting for a counter nobody works at."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

from queuekiosk.server.core import engine as q
from queuekiosk.server.core import models as m

pytestmark = pytest.mark.postgres


def test_a_close_waits_for_a_transfer_to_the_counter_and_sends_the_number_back(make_queue, config, migrated_pg_url):
    queue = make_queue(config, migrated_pg_url)
    site = queue.site
    now = dt.datetime(2026, 11, 23, 3, 0)
    with queue.Session.begin() as session:
        sent = q.issue(session, site, "HT", now=now, check_hours=False).ticket
        q.open_counter(session, site, 2, now=now)
    with queue.Session.begin() as session:
        q.call_next(session, site, 1, now=now + dt.timedelta(minutes=1))
    transferring = queue.Session()  # counter 1's clerk sends the number to counter 2: not committed yet
    transferring.begin()
    q.transfer(transferring, site, 1, now=now + dt.timedelta(minutes=2), to_counter=2)
    closed = threading.Event()

    def close():
        with queue.Session.begin() as session:
            q.close_counter(session, site, 2, now=now + dt.timedelta(minutes=2))
        closed.set()

    closing = threading.Thread(target=close)
    closing.start()
    assert not closed.wait(1), "the close did not wait for the transfer under way"
    transferring.commit()
    transferring.close()
    closing.join(10)
    assert closed.is_set()
    with queue.engine.connect() as conn:
        ticket = conn.execute(
            select(m.tickets.c.status, m.tickets.c.target_counter_id).where(m.tickets.c.public_id == sent["id"])
        ).one()
    assert tuple(ticket) == ("waiting", None), "left waiting for the closed counter 2"
