"""The queues' rows on PostgreSQL while other processes change them: counters closing at the same moment
(each with a number it held and numbers sent to it, of each other's services), counters removed from the
setup while a kiosk issues, and a day end while a clerk transfers a number held past midnight. Nobody
meets a deadlock (a clerk would wait a second more for the retry, ``queuekiosk config import`` would
fail), and every row still counts its tickets."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from pg_lock_helpers import until_one_waits_for_a_lock
from queue_row_helpers import rows_off_their_tickets

from queuekiosk.server.core import engine as q
from queuekiosk.server.core import setup_changes
from queuekiosk.server.core.engine import day_end, numbering

pytestmark = pytest.mark.postgres

NOW = dt.datetime(2026, 11, 23, 3, 0)  # 10:00 in Hà Nội, a Monday


def _at(minutes: int) -> dt.datetime:
    return NOW + dt.timedelta(minutes=minutes)


def _sent(queue, service: str, by: int, to: int, now: dt.datetime) -> dict:
    """A number of ``service`` called at counter ``by`` and sent to counter ``to`` alone."""
    ticket = queue.run(q.issue, service, now=now, check_hours=False).ticket
    queue.run(q.call_next, by, number=ticket["number"], now=now)
    queue.run(q.transfer, by, to_counter=to, now=now)
    return ticket


def _held(queue, service: str, counter: int, now: dt.datetime) -> dict:
    ticket = queue.run(q.issue, service, now=now, check_hours=False).ticket
    queue.run(q.call_next, counter, number=ticket["number"], now=now)
    return ticket


def _in_thread(results: dict, name: str, action) -> threading.Thread:
    def run():
        try:
            action()
            results[name] = "committed"
        except Exception as error:  # noqa: BLE001 (what the clerk would have met)
            results[name] = f"{type(error).__name__}: {str(error).splitlines()[0]}"

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread


def _rows_match_the_tickets(queue) -> None:
    with queue.engine.connect() as conn:
        assert rows_off_their_tickets(conn, queue.site) == []


def test_two_counters_closing_at_once_with_each_other_s_services_both_close(
    make_queue, config, migrated_pg_url, monkeypatch
):
    queue = make_queue(config, migrated_pg_url)
    _sent(queue, "DC", by=4, to=5, now=_at(1))  # counter 5 has a DC number sent to it
    _sent(queue, "LD", by=5, to=4, now=_at(2))  # counter 4 an LD number
    ld = _held(queue, "LD", 5, now=_at(3))  # counter 5 holds an LD number, counter 4 a DC number
    dc = _held(queue, "DC", 4, now=_at(3))
    # counter 5's close stops after its first queue row (locked), until counter 4's close waits for a row
    first_row_taken, go_on = threading.Event(), threading.Event()
    row_delta = numbering._row_delta

    def first_row_then_wait(*args, **kwargs):
        happened = row_delta(*args, **kwargs)
        if threading.current_thread().name == "counter 5" and not first_row_taken.is_set():
            first_row_taken.set()
            assert go_on.wait(10)
        return happened

    monkeypatch.setattr(numbering, "_row_delta", first_row_then_wait)
    results: dict = {}
    five = _in_thread(results, "counter 5", lambda: queue.run(q.close_counter, 5, requeue=ld["number"], now=_at(4)))
    assert first_row_taken.wait(10)
    four = _in_thread(results, "counter 4", lambda: queue.run(q.close_counter, 4, requeue=dc["number"], now=_at(4)))
    assert until_one_waits_for_a_lock(queue.engine), "counter 4's close did not wait for a queue's row"
    go_on.set()
    five.join(15)
    four.join(15)
    assert results == {"counter 5": "committed", "counter 4": "committed"}
    counts = queue.run(q.waiting_counts, now=_at(5))
    assert (counts["DC"]["waiting"], counts["LD"]["waiting"]) == (2, 2)  # each held number and each sent back
    _rows_match_the_tickets(queue)


def test_counters_removed_from_the_setup_while_a_kiosk_issues_both_go_through(make_queue, config, migrated_pg_url):
    queue = make_queue(config, migrated_pg_url)
    site = queue.site
    assert site.service_ids["DC"] < site.service_ids["LD"]  # (the rows' order the case needs)
    now = q.utcnow()  # (a removal sends back the numbers of the day it is)
    _sent(queue, "LD", by=5, to=4, now=now)  # counter 4's removal sends an LD number back first,
    _sent(queue, "DC", by=4, to=5, now=now)  # then counter 5's a DC number
    kiosk = queue.Session()  # a kiosk's batch holds DC's row and will want LD's, as a batch's order allows
    kiosk.begin()
    q.issue(kiosk, site, "DC", now=now, check_hours=False)
    results: dict = {}

    def remove():
        with queue.Session.begin() as session:
            setup_changes.close_removed_counters(session, site, [4, 5], None)

    removing = _in_thread(results, "removal", remove)
    try:
        assert until_one_waits_for_a_lock(queue.engine), "the removal did not wait for DC's row"
        q.issue(kiosk, site, "LD", now=now, check_hours=False)
        kiosk.commit()
        results["kiosk"] = "committed"
    except Exception as error:  # noqa: BLE001
        kiosk.rollback()
        results["kiosk"] = f"{type(error).__name__}: {str(error).splitlines()[0]}"
    finally:
        kiosk.close()
        removing.join(15)
    assert results == {"kiosk": "committed", "removal": "committed"}
    counts = queue.run(q.waiting_counts, now=now)
    assert (counts["DC"]["waiting"], counts["LD"]["waiting"]) == (2, 2)
    _rows_match_the_tickets(queue)


def test_a_number_held_past_midnight_transferred_during_the_day_end_is_still_counted(
    make_queue, config, migrated_pg_url, monkeypatch
):
    queue = make_queue(config, migrated_pg_url)
    late = dt.datetime(2026, 11, 23, 16, 50)  # 23:50 in Hà Nội
    after = dt.datetime(2026, 11, 23, 17, 0, 2)  # 00:00:02 the next day
    queue.run(q.issue, "DC", now=late, check_hours=False)  # left waiting at midnight: it expires
    held = queue.run(q.issue, "DC", now=late, check_hours=False).ticket
    queue.run(q.call_next, 4, number=held["number"], now=late)  # counter 4 holds it past midnight
    record_event = day_end.record_event
    transferred: list = []

    def expired_then_transferred(*args, **kwargs):  # another process transfers it once the expiry has run
        if not transferred:
            thread = threading.Thread(
                target=lambda: transferred.append(queue.run(q.transfer, 4, to_counter=5, now=after))
            )
            thread.start()
            thread.join(10)
        return record_event(*args, **kwargs)

    monkeypatch.setattr(day_end, "record_event", expired_then_transferred)
    outcome = queue.run(q.expire_past_days, now=after + dt.timedelta(seconds=3))
    assert q.expired_count(outcome) == 1 and transferred
    # the number waits for counter 5 (its day's row still counts it: sent to one counter, out of DC's queue)
    _rows_match_the_tickets(queue)
