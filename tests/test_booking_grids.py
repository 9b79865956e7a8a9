"""A service's grid of slots moved under its bookings (server/core/bookings/slots.py ``most_at_once``):
the opening time moved by less than a slot's length, or the slot length changed, while bookings of the
old grid keep the times their holders were told. The new grid's slots overlapping them have that many
places fewer. Hypothesis: whatever hours and slot lengths are saved between bookings, no moment of the
day is booked by more citizens than a slot's places (with one slot length: no quarter-hour holds more
bookings than the capacity), every slot offered with a free place can be booked, and a slot offers every
place left: its places less the most bookings at one moment of it (not their sum)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from queuekiosk.server.core import bookings as bk
from queuekiosk.server.core import engine as q
from queuekiosk.server.core import models as m
from queuekiosk.server.core import setup_changes
from queuekiosk.server.core.config import WEEKDAYS, parse_config

KEY = b"test person key"
PER_SLOT = 2
B = m.Booking.__table__


def _quarter_hours(config_data: dict) -> dict:
    data = dict(config_data)
    booking = {"slot_minutes": 15, "per_slot": PER_SLOT, "days_ahead": 6, "grace_minutes": 10}
    data["services"] = [{**s, "booking": booking} if s["code"] == "HT" else s for s in data["services"]]
    hours = {"open": "07:30", "close": "17:00", "days": list(WEEKDAYS[:6]), "holidays": []}
    data["site"] = {**data["site"], "hours": hours}
    return data


def _next_working_day(site) -> dt.date:
    today = q.business_day(site, m.utcnow())
    return next(d for d in (today + dt.timedelta(days=i) for i in range(1, 7)) if d.weekday() < 6)


def _free_by_count(session, day: dt.date, slot: dict) -> int:
    """The places of ``slot`` ("07:30"-"08:00", local) counted from the bookings themselves: ``PER_SLOT`` less
    the most bookings holding one moment of it (none over ``PER_SLOT`` once one more is booked there)."""
    start, end = (
        dt.datetime.combine(day, dt.time.fromisoformat(slot[k])) - dt.timedelta(hours=7) for k in ("start", "end")
    )
    rows = session.execute(
        select(B.c.slot_start, B.c.slot_end).where(B.c.business_day == day, B.c.status != "cancelled")
    ).all()
    moments = [start, *(s for s, _ in rows if start < s < end)]
    return PER_SLOT - max(sum(s <= t < e for s, e in rows) for t in moments)


def _most_at_one_moment(session, day: dt.date) -> tuple[int, list]:
    """The most bookings of ``day`` holding one moment, and the bookings (local start, end)."""
    rows = session.execute(
        select(B.c.slot_start, B.c.slot_end).where(B.c.business_day == day, B.c.status != "cancelled")
    ).all()
    most = max((sum(s <= t < e for s, e in rows) for t, _ in rows), default=0)
    return most, [(f"{s + dt.timedelta(hours=7):%H:%M}", f"{e + dt.timedelta(hours=7):%H:%M}") for s, e in rows]


opening = st.builds(dt.time, st.sampled_from([7, 8]), st.sampled_from(range(0, 60, 5)))
steps = st.lists(
    st.one_of(
        st.tuples(st.just("book"), st.integers(0, 40)),
        st.tuples(st.just("open"), opening),
        st.tuples(st.just("length"), st.sampled_from([10, 15, 20, 30])),
    ),
    max_size=24,
)


def test_no_moment_holds_more_bookings_than_its_places_and_every_place_left_is_offered_whatever_hours_are_saved(
    make_queue, config_data
):
    db = make_queue(parse_config(_quarter_hours(config_data), "bookings.yaml"))
    day = _next_working_day(db.site)

    @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(steps)
    # the supervisor's case: 07:30 and 07:45 full, then the opening moved to 07:40 (07:30 is cancelled)
    @example([("book", 0), ("book", 0), ("book", 1), ("book", 1), ("open", dt.time(7, 40)), ("book", 0)])
    @example([("book", 1), ("book", 1), ("open", dt.time(7, 35)), ("book", 0), ("book", 1), ("book", 0)])
    # the reviewer's: 07:30 and 07:45 booked once, then 30-minute slots: 07:30-08:00 holds one more
    @example([("book", 0), ("book", 1), ("length", 30), ("book", 0), ("book", 0)])
    def check(steps):
        site, phones = db.site, iter(range(912000000, 913000000))
        with db.Session() as session, session.begin():  # rolled back: each example on the same empty day
            for what, value in steps:
                if what == "open":
                    site = setup_changes.change_site(
                        session, site, {"hours": {"open": f"{value:%H:%M}"}}, confirm=True
                    ).runtime
                elif what == "length":
                    patch = {"booking": {"slot_minutes": value}}
                    site = setup_changes.change_item(session, site, "services", "HT", patch).runtime
                else:
                    offered = bk.slots(session, site, "HT", day)
                    slot = offered[value % len(offered)]
                    # no place refused that one more booking would not put over the places at some moment
                    assert slot["free"] == _free_by_count(session, day, slot), (steps, slot)
                    try:
                        bk.book(session, site, "HT", day, slot["start"], "An", f"0{next(phones)}", None, KEY)
                    except q.QueueError as refused:
                        assert (refused.code, slot["free"]) == ("slot_full", 0), (steps, slot, refused.code)
                    else:
                        assert slot["free"] > 0, (steps, slot)
                most, booked = _most_at_one_moment(session, day)
                assert most <= PER_SLOT, (steps, sorted(booked))
            session.rollback()

    check()


def test_a_slot_overlapping_a_booking_of_the_old_grid_offers_the_places_left(make_queue, config_data, migrated_db_url):
    """07:45 booked full, the opening moved from 07:30 to 07:40: 07:40-07:55 and 07:55-08:10 overlap it
    and have no place left; 08:10 has its two (SQLite and PostgreSQL)."""
    db = make_queue(parse_config(_quarter_hours(config_data), "bookings.yaml"), migrated_db_url)
    day = _next_working_day(db.site)
    for phone in ("0912000001", "0912000002"):
        db.run(bk.book, "HT", day, "07:45", "An", phone, None, KEY)
    with db.Session.begin() as session:
        site = setup_changes.change_site(session, db.site, {"hours": {"open": "07:40"}}).runtime
    with db.Session() as session:
        offered = {s["start"]: s["free"] for s in bk.slots(session, site, "HT", day)[:3]}
    assert offered == {"07:40": 0, "07:55": 0, "08:10": 2}
    with db.Session.begin() as session, pytest.raises(q.QueueError) as refused:
        bk.book(session, site, "HT", day, "07:40", "Bình", "0912000003", None, KEY)
    assert refused.value.code == "slot_full", "a third citizen booked into 07:45-08:00"
    db.site = site
    db.run(bk.book, "HT", day, "08:10", "Bình", "0912000003", None, KEY)


def test_a_booking_of_the_old_slots_made_after_the_save_is_refused(make_queue, config_data):
    """A server process that still offers the old slots (it takes the saved setup up within half a second)
    books 07:45 after the opening was moved to 07:40: refused, saying to try again, as the new slots that
    overlap it may have taken its places already."""
    db = make_queue(parse_config(_quarter_hours(config_data), "bookings.yaml"))
    day = _next_working_day(db.site)
    with db.Session.begin() as session:
        site = setup_changes.change_site(session, db.site, {"hours": {"open": "07:40"}}).runtime
    for phone in ("0912000001", "0912000002"):  # the new slots: 07:40 full
        with db.Session.begin() as session:
            bk.book(session, site, "HT", day, "07:40", "An", phone, None, KEY)
    with db.Session.begin() as session, pytest.raises(q.QueueError) as refused:
        bk.book(session, db.site, "HT", day, "07:45", "Bình", "0912000003", None, KEY)  # the old setup's
    assert refused.value.code == "booking_hours_changed"
    with db.Session() as session:
        kept = session.execute(select(B.c.slot_start).where(B.c.business_day == day)).scalars().all()
    assert len(kept) == 2 and len(set(kept)) == 1, "only the two 07:40 bookings"


@pytest.mark.postgres
def test_a_longer_slot_of_the_old_setup_booked_with_a_new_slot_at_once_is_refused(
    make_queue, config_data, migrated_pg_url
):
    """30-minute slots shortened to 15 (2 places each): a server process still on the old slots books
    07:30-08:00 (07:30 is a start of the new slots too) while another books the new 07:45-08:00, neither
    seeing the other's booking, on separate row locks. The old slot is not one of the saved setup (it ends
    at 08:00, not 07:45): refused, saying to try again, so that 07:45-08:00 never holds 3 citizens."""
    data = _quarter_hours(config_data)
    data["services"] = [
        {**s, "booking": {**s["booking"], "slot_minutes": 30}} if s["code"] == "HT" else s for s in data["services"]
    ]
    db = make_queue(parse_config(data, "bookings.yaml"), migrated_pg_url)
    day = _next_working_day(db.site)
    with db.Session.begin() as session:
        patch = {"booking": {"slot_minutes": 15}}
        saved = setup_changes.change_item(session, db.site, "services", "HT", patch).runtime
    with db.Session.begin() as session:
        bk.book(session, saved, "HT", day, "07:45", "An", "0912000001", None, KEY)
    old, new = db.Session(), db.Session()
    try:
        with old.begin(), new.begin():  # both in flight before either commits
            with pytest.raises(q.QueueError) as refused:
                bk.book(old, db.site, "HT", day, "07:30", "Bình", "0912000002", None, KEY)  # the old setup's
            bk.book(new, saved, "HT", day, "07:45", "Chi", "0912000003", None, KEY)
    finally:
        old.close()
        new.close()
    assert refused.value.code == "booking_hours_changed"
    with db.Session() as session:
        most, booked = _most_at_one_moment(session, day)
    assert most == PER_SLOT, sorted(booked)
