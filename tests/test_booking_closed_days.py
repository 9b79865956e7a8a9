"""The centre's new opening hours against the bookings already made (server/core/bookings/ending.py
``stranded`` and ``cancel_by_centre``), with an injected clock, and hypothesis: whatever hours, working
days and holidays are saved, once the bookings they strand are cancelled no booking still to come is
booked on a closed day or outside the hours, none that could still be kept is cancelled, each cancelled
one says why, and every slot's places taken match the bookings still in it."""

from __future__ import annotations

import datetime as dt

import pytest
from booking_helpers import at_once
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from queuekiosk.server.core import bookings as bk
from queuekiosk.server.core import engine as q
from queuekiosk.server.core import models as m
from queuekiosk.server.core import setup_changes
from queuekiosk.server.core.config import WEEKDAYS, Hours, parse_config
from queuekiosk.server.core.db import create_db_engine, prepare_database, session_factory, site_setup

MON_9 = dt.datetime(2026, 11, 23, 2, 0)  # Monday 09:00 in Ho Chi Minh City (UTC+7)
MONDAY = dt.date(2026, 11, 23)
WEEK = [MONDAY + dt.timedelta(days=i) for i in range(7)]
KEY = b"test person key"
HCM = dt.timezone(dt.timedelta(hours=7))
B = m.Booking.__table__
SLOTS = m.BookingSlot.__table__


def _hourly(config_data: dict, per_slot: int = 1) -> dict:
    data = dict(config_data)
    booking = {"slot_minutes": 60, "per_slot": per_slot, "days_ahead": 6, "grace_minutes": 10}
    data["services"] = [{**s, "booking": booking} if s["code"] == "HT" else s for s in data["services"]]
    data["site"] = {**data["site"], "hours": {**data["site"]["hours"], "holidays": []}}
    return data


@pytest.fixture
def booked_week(make_queue, config_data):
    """HT in 60-minute slots (07:30-08:30 to 15:30-16:30), one place each, every slot from Monday 09:30 to
    Saturday booked, and a remote number taken on Monday morning; opening 07:30-17:00 Monday to Saturday."""
    db = make_queue(parse_config(_hourly(config_data), "bookings.yaml"))
    phones = iter(range(912000000, 913000000))
    for day in WEEK:
        for slot in db.run(bk.slots, "HT", day, now=MON_9):
            db.run(bk.book, "HT", day, slot["start"], "Nguyễn Văn An", f"0{next(phones)}", None, KEY, now=MON_9)
    db.run(bk.take_remote, "HT", "Trần Thị Bình", f"0{next(phones)}", None, KEY, now=MON_9, check_hours=False)
    return db


def _local(utc: dt.datetime) -> dt.datetime:
    return utc.replace(tzinfo=dt.UTC).astimezone(HCM)


def _closes(hours: Hours, row, now: dt.datetime) -> str | None:
    """Why ``hours`` leaves this booking at a closed door, as its holder was told it, at ``now``, or None."""
    if row.business_day in hours.holidays or WEEKDAYS[row.business_day.weekday()] not in hours.days:
        return "closed_day"
    if row.kind == "remote" and row.business_day == _local(now).date():
        closing = dt.datetime.combine(row.business_day, hours.close, HCM)
        if closing <= _local(now) and closing < _local(row.deadline):  # due after a closing time now past
            return "hours_changed"
    if row.kind == "slot" and not (
        hours.open <= _local(row.slot_start).time() and _local(row.slot_end).time() <= hours.close
    ):
        return "hours_changed"
    return None


def test_a_holiday_cancels_that_day_s_bookings_with_the_reason_and_gives_their_places_back(booked_week):
    db = booked_week
    tuesday = WEEK[1]
    hours = Hours(open=dt.time(7, 30), close=dt.time(17), days=list(WEEKDAYS[:6]), holidays=[tuesday])
    with db.Session.begin() as session:
        found = bk.stranded(session, db.site, hours, now=MON_9)
        assert {row.business_day for row, _ in found} == {tuesday}
        assert {why for _, why in found} == {"hours.holidays"}
        done = bk.cancel_by_centre(session, db.site, found, now=MON_9)
        assert [h.kind for h in done.happened] == ["booking.cancelled"] * len(found)
        assert {h.detail["booking"]["cancel_reason"] for h in done.happened} == {"closed_day"}
    with db.Session() as session:
        assert all(s["free"] == 1 for s in bk.slots(session, db.site, "HT", tuesday, now=MON_9))
        # the holder's own cancel keeps no reason; the centre's is kept
        reasons = dict(
            session.execute(select(B.c.business_day, B.c.cancel_reason).where(B.c.status == "cancelled")).all()
        )
        assert reasons == {tuesday: "closed_day"}


def test_a_slot_already_over_and_a_remote_number_on_an_open_day_are_left_as_they_are(booked_week):
    db = booked_week
    afternoon = MON_9 + dt.timedelta(hours=3, minutes=45)  # Monday 12:45: the slots up to 11:30-12:30 are over
    hours = Hours(open=dt.time(13), close=dt.time(15), days=list(WEEKDAYS[:6]), holidays=[])
    with db.Session() as session:
        found = bk.stranded(session, db.site, hours, now=afternoon)
    monday = sorted(
        _local(row.slot_start).strftime("%H:%M") for row, _ in found if row.business_day == MONDAY and row.slot_start
    )
    assert monday == ["14:30", "15:30"], "a slot begun (its citizen may be checking in) or over is not stranded"
    assert not [row for row, _ in found if row.kind == "remote"], "a remote number is stranded only by its day closing"


times = st.builds(dt.time, st.integers(6, 18), st.sampled_from([0, 15, 30, 45]))


@st.composite
def hours_of(draw) -> Hours:
    open_, close = sorted(draw(st.lists(times, min_size=2, max_size=2, unique=True)))
    days = draw(st.lists(st.sampled_from(WEEKDAYS), unique=True, min_size=1))
    holidays = draw(st.lists(st.sampled_from(WEEK), unique=True, max_size=3))
    return Hours(open=open_, close=close, days=days, holidays=holidays)


def test_after_a_confirmed_change_no_booking_stays_booked_at_a_closed_door(booked_week):
    db = booked_week

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(hours_of(), st.integers(0, 8 * 60))
    def check(hours, minutes):
        now = MON_9 + dt.timedelta(minutes=minutes)
        with db.Session() as session, session.begin():  # rolled back: each example on the same week
            before = {row.id: row for row in session.execute(select(B)).all()}
            bk.cancel_by_centre(session, db.site, bk.stranded(session, db.site, hours, now=now), now=now)
            bk.remote_due_by_close(session, db.site, hours, now=now)
            for row in session.execute(select(B)).all():
                was = before[row.id]
                to_come = was.status == "booked" and (was.kind == "remote" or was.slot_start > now)
                closes = _closes(hours, was, now) if to_come else None
                if row.status == "booked":
                    assert closes is None, (hours, row)
                    if row.kind == "remote" and row.business_day == MONDAY:  # due by closing time at the latest
                        assert _local(row.deadline) <= dt.datetime.combine(MONDAY, hours.close, HCM), (hours, row)
                elif was.status == "booked":  # cancelled now: by the centre, for the reason it has
                    assert (row.status, row.cancel_reason) == ("cancelled", closes), (hours, row)
            taken = dict(session.execute(select(SLOTS.c.slot_start, SLOTS.c.taken)).all())
            booked = dict(
                session.execute(
                    select(B.c.slot_start, func.count())
                    .where(B.c.status == "booked", B.c.kind == "slot")
                    .group_by(B.c.slot_start)
                ).all()
            )
            assert {start: n for start, n in taken.items() if n} == booked
            session.rollback()

    check()


def test_the_centre_and_its_citizens_cancelling_the_same_bookings_at_once_end_each_once(
    migrated_db_url, config_data, instance_dir
):
    """A holiday confirmed while the citizens booked on that day cancel on their phones: on PostgreSQL the
    centre's cancellation and each citizen's wait for each other's rows (the centre takes every booking
    first, then their places in one order), none is refused or deadlocked, each booking ends once and
    each place is given back once."""
    engine = create_db_engine(migrated_db_url)
    site = prepare_database(engine, parse_config(_hourly(config_data, per_slot=3), "bookings.yaml"), instance_dir)
    tuesday, phones = WEEK[1], iter(range(912000000, 913000000))
    codes = []
    with session_factory(engine).begin() as session:
        for slot in bk.slots(session, site, "HT", tuesday, now=MON_9)[:4]:
            for _ in range(3):
                made = bk.book(
                    session, site, "HT", tuesday, slot["start"], "An", f"0{next(phones)}", None, KEY, now=MON_9
                )
                codes.append(made.ticket["code"])
    engine.dispose()
    holiday = Hours(open=dt.time(7, 30), close=dt.time(17), days=list(WEEKDAYS[:6]), holidays=[tuesday])

    def centre(session):
        return len(
            bk.cancel_by_centre(session, site, bk.stranded(session, site, holiday, now=MON_9), now=MON_9).happened
        )

    def citizen(code):
        return lambda session: bk.cancel(session, site, code, now=MON_9).ticket["status"]

    results = at_once(migrated_db_url, site, [centre, *(citizen(code) for code in reversed(codes))])
    assert results[1:] == ["cancelled"] * len(codes), results
    assert 0 <= results[0] <= len(codes), results
    engine = create_db_engine(migrated_db_url)
    try:
        with engine.connect() as conn:
            reasons = [r for (r,) in conn.execute(select(B.c.cancel_reason).where(B.c.status == "cancelled"))]
            assert len(reasons) == len(codes) and reasons.count("closed_day") == results[0], reasons
            assert {taken for (taken,) in conn.execute(select(SLOTS.c.taken))} == {0}
    finally:
        engine.dispose()


def test_citizens_booking_a_day_while_the_centre_confirms_it_a_holiday_none_stays_booked_on_it(
    migrated_db_url, config_data, instance_dir
):
    """Citizens booking a day (and one taking a number for today) while the centre confirms that day a
    holiday, each with the setup from before it, as another process still holds it (or as a booking
    queued behind the save): a booking that goes in after the save is refused, saying to try again, or
    cancelled by it; none stays booked on the holiday, and every place is given back."""
    engine = create_db_engine(migrated_db_url)
    data = _hourly(config_data, per_slot=10)
    # open all day every day: today too, now, for the remote number
    data["site"]["hours"] = {"open": "00:00", "close": "23:59", "days": list(WEEKDAYS), "holidays": []}
    site = prepare_database(engine, parse_config(data, "bookings.yaml"), instance_dir)
    today = q.business_day(site, m.utcnow())
    day = today + dt.timedelta(days=1)
    with session_factory(engine).begin() as session:
        starts = [slot["start"] for slot in bk.slots(session, site, "HT", day)]
    engine.dispose()

    def centre(session):
        change = setup_changes.change_site(
            session, site, {"holidays": [day.isoformat(), today.isoformat()]}, confirm=True
        )
        return len(change.cancelled.happened) if change.cancelled else 0

    def citizen(k):  # a phone booking for a family of 5 (each with a phone of their own)
        def attempt(session):
            places = sorted((5 * k + j) % len(starts) for j in range(5))  # one order: no deadlock between families
            for j, place in enumerate(places):
                bk.book(session, site, "HT", day, starts[place], "An", f"09130{5 * k + j:05d}", None, KEY)
            return 5

        return attempt

    def remote(session):
        return bk.take_remote(session, site, "HT", "Bình", "0913099999", None, KEY).ticket

    results = at_once(
        migrated_db_url, site, [*(citizen(k) for k in range(6)), centre, *(citizen(k) for k in range(6, 12)), remote]
    )
    assert all(r in (5, "booking_hours_changed") for r in results[:6] + results[7:13]), results
    assert isinstance(results[13], dict) or results[13] == "booking_hours_changed", results
    engine = create_db_engine(migrated_db_url)
    try:
        with engine.connect() as conn:
            left = conn.execute(select(B.c.business_day, B.c.code).where(B.c.status == "booked")).all()
            assert left == [], f"booked on the holiday: {left}, {results}"
            assert {taken for (taken,) in conn.execute(select(SLOTS.c.taken))} <= {0}
    finally:
        engine.dispose()


def test_a_change_of_the_hours_asks_only_about_the_bookings_it_strands_itself(make_queue, config_data):
    """A booking already at a closed door (its day made a holiday by a version before these checks) is not
    this change's doing: a later closing time saves without asking, and an earlier one asks about, and
    cancels, only the bookings it strands itself."""
    db = make_queue(parse_config(_hourly(config_data), "bookings.yaml"))
    today = q.business_day(db.site, m.utcnow())
    days = [today + dt.timedelta(days=i) for i in range(1, 7) if (today + dt.timedelta(days=i)).weekday() < 5][:2]
    codes = {
        day: db.run(bk.book, "HT", day, "15:30", "An", f"091300000{i}", None, KEY).ticket["code"]
        for i, day in enumerate(days)
    }
    with db.engine.begin() as conn:  # the holiday saved over the first day's booking, as before these checks
        row = conn.execute(select(m.site_setups.c.document, m.site_setups.c.version)).one()
        document = {**row.document, "site": {**row.document["site"]}}
        document["site"]["hours"] = {**document["site"]["hours"], "holidays": [days[0].isoformat()]}
        conn.execute(update(m.site_setups).values(document=document, version=row.version + 1))
        site = site_setup(conn)
    with db.Session.begin() as session:
        later = setup_changes.change_site(session, site, {"hours": {"close": "17:30"}})
    assert later.cancelled is None
    with db.Session.begin() as session, pytest.raises(setup_changes.SetupRefused) as refused:
        setup_changes.change_site(session, later.runtime, {"hours": {"close": "16:00"}})
    assert (refused.value.params["field"], refused.value.params["count"]) == ("hours.close", 1), refused.value.params
    with db.Session.begin() as session:
        earlier = setup_changes.change_site(session, later.runtime, {"hours": {"close": "16:00"}}, confirm=True)
    assert [h.detail["booking"]["date"] for h in earlier.cancelled.happened] == [days[1].isoformat()]
    with db.Session() as session:
        status = dict(session.execute(select(B.c.code, B.c.status)).all())
    assert status == {codes[days[0]]: "booked", codes[days[1]]: "cancelled"}


def test_today_s_remote_number_after_an_earlier_closing_time_ends_with_it_or_is_due_by_it(booked_week):
    """Monday's remote number, due by 10:00, and a closing time moved to 09:30: cancelled when 09:30 has
    passed already (nothing more can happen with it), else due by 09:30 (its page says so), not by 10:00."""
    db = booked_week
    early = Hours(open=dt.time(7, 30), close=dt.time(9, 30), days=list(WEEKDAYS[:6]), holidays=[])
    with db.Session() as session:
        code = session.execute(select(B.c.code).where(B.c.kind == "remote")).scalar_one()
        passed = bk.stranded(session, db.site, early, now=MON_9 + dt.timedelta(minutes=45))
        assert [why for row, why in passed if row.kind == "remote"] == ["hours.close"]
        assert not [row for row, _ in bk.stranded(session, db.site, early, now=MON_9) if row.kind == "remote"]
    with db.Session.begin() as session:
        assert bk.remote_due_by_close(session, db.site, early, now=MON_9) == 1
    with db.Session() as session:
        assert bk.get_booking(session, db.site, code)["deadline"] == "09:30"
