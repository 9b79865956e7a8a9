"""Bookings in the core (server/core/bookings/) under hypothesis: under any sequence of bookings,
cancellations, remote numbers, check-ins and walk-ins, no slot is ever oversold and nobody holds two
numbers of a service a day; in the merged queue of walk-ins, bookings and remote numbers, a counter never
calls a citizen not here, and calls a booking due at its slot first. The actions one at a time:
tests/test_booking_actions.py; many clients at once: tests/test_booking_races.py.
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
import shutil
from pathlib import Path

import pytest
from booking_helpers import KEY, MIN, MON_9, MONDAY, TUESDAY, booking_config, on_a_fresh_copy
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import select, text

from queuekiosk.server.core import bookings as bk
from queuekiosk.server.core import engine as q
from queuekiosk.server.core import models as m
from queuekiosk.server.core.bookings.ending import masked_code
from queuekiosk.server.core.config import parse_config
from queuekiosk.server.core.db import create_db_engine, prepare_database, session_factory

B = m.Booking.__table__
T = m.Ticket.__table__
SLOTS = m.BookingSlot.__table__


# --- hypothesis: never oversold, one number per person --------------------------------------------

PEOPLE = [("0911000001", "001099000001"), ("0911000002", None), ("0911000003", "001099000003"), ("0911000004", None)]
DAYS = [MONDAY, TUESDAY]
STARTS = ["10:00", "10:30"]
SERVICES = ["HT", "CT"]


@pytest.fixture(scope="module")
def template_db(tmp_path_factory, sqlite_template):
    """A migrated SQLite file with the booking centre loaded (one place a slot), copied for each example."""
    import yaml

    folder = tmp_path_factory.mktemp("booking-props")
    data = yaml.safe_load((Path(__file__).resolve().parent.parent / "config.yaml").read_text("utf-8"))
    config = parse_config(booking_config(data, per_slot=1, remote_checkin_minutes=30), "bookings.yaml")
    path = folder / "template.db"
    shutil.copyfile(sqlite_template, path)
    engine = create_db_engine(f"sqlite:///{path}")
    prepare_database(engine, config, folder)
    engine.dispose()
    return path, config


@functools.cache
def _site_at(engine):
    """The centre's setup as the server reads it from the database of ``engine``: read once, as every copy
    a test's engine is given is of the same template."""
    from queuekiosk.server.core.db import site_setup

    with session_factory(engine).begin() as session:
        return site_setup(session)


class BookingMachine(RuleBasedStateMachine):
    """Books, cancels, takes remote numbers, checks in and walks in at random; the model says what must happen."""

    path = config = None

    @initialize()
    def start(self):
        self.engine = on_a_fresh_copy(self.path, "run.db")
        self.site = _site_at(self.engine)
        self.Session = session_factory(self.engine)
        self.now = MON_9
        self.codes: list[str] = []
        self.held: dict[tuple, str] = {}  # (service, day, person index) -> code or "walk-in"
        self.slot_holders: dict[tuple, str] = {}  # (service, day, start) -> code
        self.checked_at = None  # (SQLite connection, its count of rows changed) when the invariant last held

    def teardown(self):
        self.engine.dispose()

    def act(self, action, *args, **kwargs):
        self.now += MIN
        try:
            with self.Session.begin() as session:
                return action(session, self.site, *args, now=self.now, **kwargs), None
        except q.QueueError as error:
            return None, error

    @rule(
        who=st.integers(0, len(PEOPLE) - 1),
        service=st.sampled_from(SERVICES),
        day=st.sampled_from(DAYS),
        start=st.sampled_from(STARTS),
    )
    def book(self, who, service, day, start):
        phone, id_number = PEOPLE[who]
        outcome, error = self.act(bk.book, service, day, start, f"P{who}", phone, id_number, KEY)
        slot_start_utc = dt.datetime.combine(day, dt.time.fromisoformat(start)) - dt.timedelta(hours=7)
        if self.now >= slot_start_utc:
            assert error is not None and error.code == "invalid_slot"
        elif (service, day, start) in self.slot_holders:
            assert error is not None and error.code == "slot_full", error
        elif (service, day, who) in self.held:
            assert error is not None and error.code in (
                "already_booked",
                "already_holds_number",
                "held_number_ended",
            ), error
        else:
            assert error is None, error.code
            self.held[(service, day, who)] = self.slot_holders[(service, day, start)] = outcome.ticket["code"]
            self.codes.append(outcome.ticket["code"])

    @rule(who=st.integers(0, len(PEOPLE) - 1), service=st.sampled_from(SERVICES))
    def take_remote(self, who, service):
        phone, id_number = PEOPLE[who]
        outcome, error = self.act(bk.take_remote, service, f"P{who}", phone, id_number, KEY, check_hours=False)
        if (service, MONDAY, who) in self.held:
            assert error is not None and error.code in (
                "already_booked",
                "already_holds_number",
                "held_number_ended",
            ), error
        else:
            assert error is None, error.code
            self.held[(service, MONDAY, who)] = outcome.ticket["code"]
            self.codes.append(outcome.ticket["code"])

    @rule(who=st.integers(0, len(PEOPLE) - 1), service=st.sampled_from(SERVICES))
    def walk_in_with_card(self, who, service):
        id_number = PEOPLE[who][1]
        if id_number is None:
            return
        outcome, error = self.act(bk.check_in, KEY, id_number=id_number, service=service, check_hours=False)
        holding = self.held.get((service, MONDAY, who))
        if holding is None:
            assert error is None, error.code
            self.held[(service, MONDAY, who)] = "walk-in"
        else:
            assert error is not None or outcome.ticket["booking"]["code"] == masked_code(holding)

    @rule(data=st.data())
    def cancel(self, data):
        if not self.codes:
            return
        code = data.draw(st.sampled_from(self.codes))
        outcome, error = self.act(bk.cancel, code)
        if error is None and outcome.happened:
            self.held = {k: v for k, v in self.held.items() if v != code}
            self.slot_holders = {k: v for k, v in self.slot_holders.items() if v != code}

    @rule(data=st.data())
    def check_in(self, data):
        if self.codes:
            self.act(bk.check_in, KEY, code=data.draw(st.sampled_from(self.codes)), check_hours=False)

    @rule()
    def lapse(self):
        self.now += 10 * MIN
        self.act(bk.lapse_overdue)

    @invariant()
    def never_oversold_and_one_number_each(self):
        with self.engine.connect() as conn:
            # SQLite's count of the rows this connection (the engine's only one) inserted, changed or deleted,
            # rolled back or not: the same as when the invariant last held, and nothing was written since
            sqlite = conn.connection.dbapi_connection
            changes = (sqlite, sqlite.total_changes)
            if changes == self.checked_at:
                return
            places = conn.execute(select(SLOTS.c.service_id, SLOTS.c.slot_start, SLOTS.c.taken)).all()
            active = collections.Counter(
                conn.execute(
                    select(B.c.service_id, B.c.slot_start).where(B.c.kind == "slot", B.c.status != "cancelled")
                ).all()
            )
            claims = conn.execute(
                text(
                    "SELECT service_id, business_day, person_hash, count(*) FROM person_days "
                    "GROUP BY service_id, business_day, person_hash"
                )
            ).all()
            holders = collections.Counter(
                conn.execute(
                    select(B.c.service_id, B.c.business_day, B.c.person_hash).where(B.c.status != "cancelled")
                ).all()
            )
        for service_id, start, taken in places:
            assert taken == active.get((service_id, start), 0) <= 1, (start, taken)
        assert all(n == 1 for *_key, n in claims)
        assert all(n == 1 for n in holders.values()), holders
        self.checked_at = changes


def test_bookings_never_oversell_and_give_one_number_per_person(template_db, monkeypatch):
    monkeypatch.setenv("QUEUEKIOSK_SQLITE_SYNCHRONOUS", "NORMAL")
    BookingMachine.path, BookingMachine.config = template_db
    run_state_machine_as_test(
        BookingMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )


# --- the merged queue: bookings, remote numbers and walk-ins in one order ----------------------


class MergedQueueMachine(RuleBasedStateMachine):
    """Walk-ins (some priority), bookings checked in early, on time or late, remote numbers checked
    in or lapsing, transfers and "next" at counters 1 (HT) and 2 (HT, CT), on an advancing clock.

    After each "next": a counter never gets a ticket whose citizen is not here (an unchecked or
    lapsed remote number); and while a booked ticket it may call is due (checked in on time, slot
    begun), it gets the earliest due one, whatever else waits."""

    path = None

    @initialize()
    def start(self):
        self.engine = on_a_fresh_copy(self.path, "merged.db")
        self.site = _site_at(self.engine)
        self.Session = session_factory(self.engine)
        self.now = MON_9
        self.people = 0
        self.codes: list[str] = []

    def teardown(self):
        self.engine.dispose()

    def act(self, action, *args, **kwargs):
        try:
            with self.Session.begin() as session:
                return action(session, self.site, *args, now=self.now, **kwargs)
        except q.QueueError:
            return None

    def person(self) -> str:
        self.people += 1
        return f"09{self.people:08d}"

    @rule(minutes=st.integers(0, 20))
    def time_passes(self, minutes):
        self.now += minutes * MIN

    @rule(service=st.sampled_from(SERVICES), priority=st.booleans())
    def walk_in(self, service, priority):
        self.act(q.issue, service, priority="elderly" if priority else None, check_hours=False)

    @rule(service=st.sampled_from(SERVICES), start=st.sampled_from(["09:30", "10:00", "10:30", "11:00", "11:30"]))
    def book(self, service, start):
        outcome = self.act(bk.book, service, MONDAY, start, "P", self.person(), None, KEY)
        if outcome is not None:
            self.codes.append(outcome.ticket["code"])

    @rule(service=st.sampled_from(SERVICES))
    def take_remote(self, service):
        outcome = self.act(bk.take_remote, service, "P", self.person(), None, KEY, check_hours=False)
        if outcome is not None:
            self.codes.append(outcome.ticket["code"])

    @rule(data=st.data())
    def check_in(self, data):
        if self.codes:
            self.act(bk.check_in, KEY, code=data.draw(st.sampled_from(self.codes)), check_hours=False)

    @rule()
    def lapse(self):
        self.act(bk.lapse_overdue)

    @rule(counter=st.sampled_from([1, 2]), to=st.sampled_from(SERVICES))
    def transfer(self, counter, to):
        self.act(q.transfer, counter, service=to)

    @rule(counter=st.sampled_from([1, 2]))
    def next(self, counter):
        served = self.site.counter_service_ids[counter]
        counter_id = self.site.counter_ids[counter]
        with self.engine.connect() as conn:
            may_call = (T.c.status == "waiting") & (
                (T.c.service_id.in_(served) & T.c.target_counter_id.is_(None)) | (T.c.target_counter_id == counter_id)
            )
            due = conn.execute(
                select(T.c.id)
                .where(may_call, T.c.due_at.is_not(None), T.c.due_at <= self.now)
                .order_by(T.c.due_at, T.c.id)
                .limit(1)
            ).scalar()
        outcome = self.act(q.call_next, counter)
        if outcome is None or outcome.ticket is None:
            assert due is None, "a due booking waited, and nobody was called"
            return
        with self.engine.connect() as conn:
            called = conn.execute(select(T).where(T.c.public_id == outcome.ticket["id"])).one()
        if due is not None:
            assert called.id == due, "a due booking waited, and another ticket was called"
        with self.engine.connect() as conn:
            remote = conn.execute(select(B.c.status).where(B.c.ticket_id == called.id)).scalar()
        assert remote in (None, "checked_in"), f"a {remote} booking's ticket was called: its citizen is not here"


def test_the_merged_queue_order(template_db, monkeypatch):
    monkeypatch.setenv("QUEUEKIOSK_SQLITE_SYNCHRONOUS", "NORMAL")
    MergedQueueMachine.path = template_db[0]
    run_state_machine_as_test(
        MergedQueueMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
