"""A service's waiting count and a walk-in's people ahead on PostgreSQL while another server process
calls the number sent to one counter (a transfer) at the same moment: the count the lobby is told and
the ticket's "người đang chờ trước" are the queue's, never one fewer and never negative
(numbering.py: the numbers sent to one counter are counted on the queue's row, under its lock)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import text

from queuekiosk.server.core import engine as q

pytestmark = pytest.mark.postgres

NOW = dt.datetime(2026, 11, 23, 3, 0)  # 10:00 in Hà Nội, a Monday


def _at(minutes: int) -> dt.datetime:
    return NOW + dt.timedelta(minutes=minutes)


def _sent_to_counter_5(queue, waiting_after: int) -> None:
    """DC's first number called at counter 4 and sent to counter 5 alone; ``waiting_after`` more issued."""
    site = queue.site
    with queue.Session.begin() as session:
        q.issue(session, site, "DC", now=NOW, check_hours=False)
        for _ in range(waiting_after):
            q.issue(session, site, "DC", now=NOW, check_hours=False)
    with queue.Session.begin() as session:
        q.call_next(session, site, 4, now=_at(1))
    with queue.Session.begin() as session:
        q.transfer(session, site, 4, now=_at(2), to_counter=5)


def _while_counter_5_calls_its_number(queue, action):
    """Counter 5 calls the number sent to it (one process, not committed yet) while ``action`` runs in
    another (it waits for DC's row); then counter 5 commits. ``action``'s outcome."""
    calling = queue.Session()
    calling.begin()
    q.call_next(calling, queue.site, 5, now=_at(3))
    done: dict = {}

    def other_process():
        with queue.Session.begin() as session:
            done["outcome"] = action(session)

    thread = threading.Thread(target=other_process)
    thread.start()
    try:
        with queue.engine.connect() as conn:  # the other process waits for the row counter 5 holds
            deadline = time.monotonic() + 10
            waiting_for_lock = text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            while not conn.execute(waiting_for_lock).scalar() and time.monotonic() < deadline:
                conn.rollback()
                time.sleep(0.02)
        assert "outcome" not in done, "the other process did not wait for DC's row"
    finally:
        calling.commit()
        calling.close()
        thread.join(10)
    return done["outcome"]


def _dc_waiting(outcome) -> dict:
    changed = [event for event in outcome.happened if event.kind == "queue.changed"]
    return changed[-1].detail["waiting"]["DC"]


def test_a_walk_in_while_the_number_sent_to_a_counter_is_called_is_told_the_queue_s_count(
    make_queue, config, migrated_pg_url
):
    queue = make_queue(config, migrated_pg_url)
    _sent_to_counter_5(queue, waiting_after=0)  # DC's queue is empty: its one number waits for counter 5
    issued = _while_counter_5_calls_its_number(
        queue, lambda session: q.issue(session, queue.site, "DC", now=_at(3), check_hours=False)
    )
    assert issued.ticket["waiting_ahead"] == 0  # was -1: "Số người đang chờ trước Ông/Bà: -1"
    assert _dc_waiting(issued) == {"waiting": 1, "priority": 0}  # the lobby said 0
    with queue.Session() as session:
        assert q.waiting_counts(session, queue.site, _at(4))["DC"] == {"waiting": 1, "priority": 0}


def test_a_call_from_the_queue_while_the_number_sent_to_a_counter_is_called_tells_the_lobby_the_queue_s_count(
    make_queue, config, migrated_pg_url
):
    queue = make_queue(config, migrated_pg_url)
    _sent_to_counter_5(queue, waiting_after=2)  # DC's queue: 2 (the third number waits for counter 5)
    called = _while_counter_5_calls_its_number(queue, lambda session: q.call_next(session, queue.site, 4, now=_at(3)))
    assert called.ticket is not None
    assert _dc_waiting(called) == {"waiting": 1, "priority": 0}  # the lobby said 0
    with queue.Session() as session:
        assert q.waiting_counts(session, queue.site, _at(4))["DC"] == {"waiting": 1, "priority": 0}
