"""Bookings in the core (server/core/bookings/) acted on by many clients at once, each in its own thread
and connection, on SQLite and PostgreSQL: no slot oversold, one place per person, every wrong SMS code
counted, one booking checked in, cancelled or lapsing from two places at once ends one way only.
"""

from __future__ import annotations

import collections

import pytest
from booking_helpers import CARD, KEY, MIN, MON_9, MONDAY, TUESDAY, another_code, at_once, booking_config
from sqlalchemy import select

from queuekiosk.server.core import bookings as bk
from queuekiosk.server.core import models as m
from queuekiosk.server.core.config import parse_config
from queuekiosk.server.core.db import create_db_engine, prepare_database, session_factory

B = m.Booking.__table__
T = m.Ticket.__table__
SLOTS = m.BookingSlot.__table__


# --- never oversold, one number per person: many clients at once ---------------------------------

CLIENTS = 24


@pytest.fixture
def shared_site(migrated_db_url, config_data, instance_dir):
    """A migrated database (SQLite, then PostgreSQL) with HT taking 3 places a slot; threads open their own engines."""
    config = parse_config(booking_config(config_data, per_slot=3), "bookings.yaml")
    engine = create_db_engine(migrated_db_url)
    site = prepare_database(engine, config, instance_dir)
    engine.dispose()
    return migrated_db_url, site


def test_many_clients_booking_the_last_places_never_oversell(shared_site):
    url, site = shared_site
    attempts = [
        lambda s, i=i: bk.book(
            s, site, "HT", TUESDAY, "10:00", f"Công dân {i}", f"09{i:08d}", None, KEY, now=MON_9
        ).ticket["code"]
        for i in range(CLIENTS)
    ]
    results = at_once(url, site, attempts)
    outcomes = collections.Counter("booked" if len(r) == bk.CODE_LENGTH else r for r in results)
    assert outcomes == {"booked": 3, "slot_full": CLIENTS - 3}, results
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(select(SLOTS.c.taken)).scalars().all() == [3]
            assert sorted(conn.execute(select(B.c.code)).scalars()) == sorted(
                r for r in results if len(r) == bk.CODE_LENGTH
            )
    finally:
        engine.dispose()


def test_one_person_booking_from_many_devices_at_once_gets_one_place(shared_site):
    url, site = shared_site
    starts = ["08:00", "08:30", "09:00", "09:30", "10:00", "10:30"] * 2
    attempts = [
        lambda s, start=start: bk.book(
            s, site, "HT", TUESDAY, start, "Lê Văn Cường", "0912000111", "001099012345", KEY, now=MON_9
        ).ticket["code"]
        for start in starts
    ]
    results = at_once(url, site, attempts)
    assert sum(len(r) == bk.CODE_LENGTH for r in results) == 1, results
    assert set(r for r in results if len(r) != bk.CODE_LENGTH) == {"already_booked"}, results
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(select(SLOTS.c.taken)).scalars().all() == [1]  # the refused ones took nothing
    finally:
        engine.dispose()


def test_wrong_sms_codes_typed_at_once_are_each_counted(shared_site):
    """Ten wrong codes sent at once (on PostgreSQL each in its own transaction): five are counted, the
    fifth of them voids the code, and the other five are refused as void without being checked."""
    url, site = shared_site
    request = ["HT", True, None, None, "Cúc", "0912000777", None]
    code, pending = bk.sms_challenge(KEY, request, MON_9)

    def guess(typed):
        return lambda session: bk.guess_sms_code(session, site, KEY, request, typed, pending, MON_9 + MIN).code

    results = at_once(url, site, [guess(another_code(code))] * 10)
    assert sorted(results) == ["sms_code_void"] * 6 + ["sms_code_wrong"] * 4, results
    assert at_once(url, site, [guess(code)]) == ["sms_code_void"]


# --- one booking acted on from two places at once ------------------------------------------------


def _booked(url, site, remote: bool = False) -> str:
    engine = create_db_engine(url)
    try:
        with session_factory(engine).begin() as session:
            if remote:
                made = bk.take_remote(session, site, "HT", "An", "0911000009", None, KEY, now=MON_9, check_hours=False)
            else:
                made = bk.book(session, site, "HT", MONDAY, "09:30", "An", "0911000009", None, KEY, now=MON_9)
            return made.ticket["code"]
    finally:
        engine.dispose()


def _tickets_and_status(url, code):
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            tickets = conn.execute(select(T.c.number, T.c.status)).all()
            status = conn.execute(select(B.c.status).where(B.c.code == code)).scalar_one()
            return tickets, status
    finally:
        engine.dispose()


def _check_in(site, code, at):
    return lambda s: bk.check_in(s, site, KEY, code=code, now=at, check_hours=False).ticket["number"]


def test_one_booking_checked_in_from_two_places_at_once_gives_one_ticket(shared_site):
    url, site = shared_site
    code = _booked(url, site)
    # a double scan, two kiosks, a kiosk and an integration: on PostgreSQL each in its own transaction
    results = at_once(url, site, [_check_in(site, code, MON_9 + 20 * MIN)] * 6)
    assert sum(isinstance(r, int) for r in results) == 1, results
    assert [r for r in results if not isinstance(r, int)] == ["booking_checked_in"] * 5, results
    tickets, status = _tickets_and_status(url, code)
    assert len(tickets) == 1 and status == "checked_in", (tickets, status)


def test_a_booking_cancelled_while_it_is_checked_in_is_one_or_the_other(shared_site):
    url, site = shared_site
    code = _booked(url, site)

    def cancel(session):
        return bk.cancel(session, site, code, now=MON_9 + 20 * MIN).ticket["status"]

    results = at_once(url, site, [_check_in(site, code, MON_9 + 20 * MIN), cancel] * 3)
    tickets, status = _tickets_and_status(url, code)
    if status == "checked_in":
        assert len(tickets) == 1 and tickets[0].status == "waiting", (results, tickets)
    else:
        assert status == "cancelled" and tickets == [], (results, tickets)


def test_a_remote_number_checked_in_as_it_lapses_is_one_or_the_other(shared_site):
    url, site = shared_site
    code = _booked(url, site, remote=True)

    def lapse(session):  # on a clock a moment past the deadline; the check-ins' a moment before it
        return len(bk.lapse_overdue(session, site, now=MON_9 + 61 * MIN).happened)

    results = at_once(url, site, [_check_in(site, code, MON_9 + 59 * MIN), lapse] * 3)
    tickets, status = _tickets_and_status(url, code)
    ticket_status = {"checked_in": "waiting", "lapsed": "expired"}.get(status)
    assert [t.status for t in tickets] == [ticket_status], (results, tickets, status)


def test_one_card_scanned_at_two_kiosks_at_once_takes_one_walk_in_number(shared_site):
    url, site = shared_site

    def scan(session):
        return bk.check_in(session, site, KEY, cccd_qr=CARD, service="CT", now=MON_9, check_hours=False).ticket[
            "number"
        ]

    results = at_once(url, site, [scan] * 6)
    assert sum(isinstance(r, int) for r in results) == 1, results
    assert {r for r in results if not isinstance(r, int)} == {"already_holds_number"}, results
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            assert len(conn.execute(select(T.c.id)).all()) == 1
    finally:
        engine.dispose()


def test_a_booking_cancelled_twice_at_once_gives_its_place_back_once(shared_site):
    url, site = shared_site
    code = _booked(url, site)
    engine = create_db_engine(url)
    try:
        with session_factory(engine).begin() as session:  # another citizen holds the slot's second place
            bk.book(session, site, "HT", MONDAY, "09:30", "Bình", "0911000010", None, KEY, now=MON_9)
    finally:
        engine.dispose()

    def cancel(session):  # the phone's cancel tapped twice, or a retry over a slow network
        return bk.cancel(session, site, code, now=MON_9 + MIN).ticket["status"]

    assert at_once(url, site, [cancel] * 6) == ["cancelled"] * 6
    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(select(SLOTS.c.taken)).scalars().all() == [1], "a place given back twice"
    finally:
        engine.dispose()
