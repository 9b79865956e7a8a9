"""Two processes racing for the same notice or booking on PostgreSQL (each a thread on its own connection):
a notice claimed ("sending") by one delivery worker is not sent by another that read it as pending, and a
citizen opting in while the centre's cancel of their booking is under way waits for it and is refused."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from pg_lock_helpers import until_one_waits_for_a_lock
from sqlalchemy import text

from queuekiosk.server.core import bookings as bk
from queuekiosk.server.core import cancel_notices, notifications
from queuekiosk.server.core.config import WEEKDAYS, Hours
from queuekiosk.server.core.db import session_factory
from queuekiosk.server.core.errors import QueueError

MON_9 = dt.datetime(2026, 11, 23, 2, 0)  # 09:00 in Ho Chi Minh City
TUE = dt.date(2026, 11, 24)
KEY = b"test person key"
SMS = {"channels": ["sms"], "sms": {"url": "http://127.0.0.1:9/x"}}


def _booked(q) -> str:
    with session_factory(q.engine).begin() as s:
        start = bk.slots(s, q.site, "HT", TUE, now=MON_9)[0]["start"]
        return bk.book(s, q.site, "HT", TUE, start, "An", "0912000001", None, KEY, now=MON_9).ticket["code"]


def _in_thread(work) -> tuple[threading.Thread, list]:
    done: list = []

    def run():
        try:
            done.append(work())
        except Exception as error:  # what it ended with, for the test to read
            done.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, done


CLAIM = cancel_notices.still_meant
DROP = lambda conn, site, notice: cancel_notices.drop(conn, site, notice, "no Zalo template")  # noqa: E731


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("first_does", "then_second", "status"),
    [(CLAIM, CLAIM, "sending"), (DROP, DROP, "dropped"), (CLAIM, DROP, "sending"), (DROP, CLAIM, "dropped")],
    ids=["claim-claim", "drop-drop", "claim-drop", "drop-claim"],
)
def test_a_notice_claimed_or_dropped_by_one_worker_is_neither_sent_nor_dropped_by_another(
    make_queue, make_config, migrated_pg_url, first_does, then_second, status
):
    """The second worker read it pending and waits for the first's claim or drop: it then neither sends it
    nor counts it among those it dropped (its log's count)."""
    q = make_queue(make_config(notifications=SMS), url=migrated_pg_url)
    code = _booked(q)
    with session_factory(q.engine).begin() as s:
        notifications.booking_subscribe(
            s.connection(), q.site, code, "sms", "0912000001", "vi", notifications.AddressBox(b"k" * 32)
        )
        closed = Hours(open=dt.time(7, 30), close=dt.time(17), days=list(WEEKDAYS[:6]), holidays=[TUE])
        bk.cancel_by_centre(s, q.site, bk.stranded(s, q.site, closed, now=MON_9), now=MON_9)
    with q.engine.connect() as db:
        [notice] = [d.notice for d in cancel_notices.due(db, {})]
    first = q.engine.connect()
    first.begin()
    assert first_does(first, q.site, notice)  # claimed or dropped, not committed yet
    second = q.engine.connect()
    second.begin()
    thread, said = _in_thread(lambda: then_second(second, q.site, notice))
    assert until_one_waits_for_a_lock(q.engine)  # the second read it pending and waits for the first
    first.commit()
    thread.join(10)
    second.commit()
    first.close()
    second.close()
    assert said == [False]
    with q.engine.connect() as db:
        assert db.execute(text("SELECT status FROM cancel_notices")).scalar() == status


@pytest.mark.postgres
def test_opting_in_while_the_centre_cancels_the_booking_is_refused(make_queue, make_config, migrated_pg_url):
    q = make_queue(make_config(notifications=SMS), url=migrated_pg_url)
    code = _booked(q)
    sessions = session_factory(q.engine)
    centre = sessions()
    centre.begin()
    closed = Hours(open=dt.time(7, 30), close=dt.time(17), days=list(WEEKDAYS[:6]), holidays=[TUE])
    bk.cancel_by_centre(centre, q.site, bk.stranded(centre, q.site, closed, now=MON_9), now=MON_9)

    def opt_in():
        with sessions.begin() as s:
            box = notifications.AddressBox(b"k" * 32)
            return notifications.booking_subscribe(s.connection(), q.site, code, "sms", "0912000001", "vi", box)

    thread, said = _in_thread(opt_in)
    assert until_one_waits_for_a_lock(q.engine)  # the opt-in waits for the cancel
    centre.commit()
    thread.join(10)
    [refused] = said
    assert isinstance(refused, QueueError) and refused.code == "notify_booking_ended"
    with q.engine.connect() as db:
        assert db.execute(text("SELECT count(*) FROM booking_opt_ins")).scalar() == 0


@pytest.mark.postgres
def test_opting_in_on_a_remote_numbers_tracking_page_while_the_centre_cancels_it_is_refused(
    make_queue, make_config, migrated_pg_url
):
    """The same for a number taken from a phone for today, opted in on its ticket's tracking page: it waits
    for the cancel and is refused, no phone left sealed for a number that ended."""
    q = make_queue(make_config(notifications=SMS), url=migrated_pg_url)
    sessions = session_factory(q.engine)
    with sessions.begin() as s:
        taken = bk.take_remote(s, q.site, "HT", "Bình", "0913099999", None, KEY, now=MON_9, check_hours=False)
    centre = sessions()
    centre.begin()
    closed = Hours(open=dt.time(7, 30), close=dt.time(17), days=list(WEEKDAYS[:6]), holidays=[MON_9.date()])
    cancelled = bk.cancel_by_centre(centre, q.site, bk.stranded(centre, q.site, closed, now=MON_9), now=MON_9)
    assert len(cancelled.happened) == 1

    def opt_in():
        with sessions.begin() as s:
            box = notifications.AddressBox(b"k" * 32)
            return notifications.subscribe(
                s.connection(), q.site, taken.ticket["ticket"], "sms", "0912000001", "vi", box
            )

    thread, said = _in_thread(opt_in)
    assert until_one_waits_for_a_lock(q.engine)  # the opt-in waits for the cancel
    centre.commit()
    thread.join(10)
    [refused] = said
    assert isinstance(refused, QueueError) and refused.code == "notify_ticket_ended", refused
    with q.engine.connect() as db:
        assert db.execute(text("SELECT count(*) FROM notification_subscriptions")).scalar() == 0
