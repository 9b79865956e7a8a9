"""What a citizen is told and what a clerk sees follow the order "next" really calls (a tester: a booked
citizen called first was told "1 người trước", and the clerk's list showed a walk-in first).

choosing.py ``call_order`` plays ``choose_next`` forward; the people ahead of a ticket (estimates.py
``waiting_ahead``) and the clerk's waiting list (reading.py ``counter_queue``) read it. Here:
  * the newest walk-in is called last, whatever waits and whatever the policy and streak: issuing
    counts everyone waiting ahead of it without playing the order (issuing.py);
  * a queue where nobody may jump (no priority ticket, no booking whose slot has begun: choosing.py
    ``may_jump``) is called in arrival order, whatever the policy and streak: a ticket's status then
    counts the people ahead without reading the queue (estimates.py);
  * random queues of walk-ins, priority tickets and bookings checked in early, on time or late, under
    strict, interleave N and none, with and without max-wait aging, issued through the engine on
    SQLite; one counter serving the service then presses "next" until nobody waits: it calls exactly
    the clerk's list read before (and read again after some calls, from the counter's streak then),
    and each ticket was told its place in that order, at issue as later (counted or played).
"""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from booking_helpers import KEY, MIN, MON_9, MONDAY, booking_config, on_a_fresh_copy
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from queuekiosk.server.core import bookings as bk
from queuekiosk.server.core import engine as q
from queuekiosk.server.core.config import Policy, parse_config
from queuekiosk.server.core.db import create_db_engine, prepare_database, session_factory, site_setup
from queuekiosk.server.core.engine.choosing import call_order, may_jump

NOW = MON_9
POLICIES = st.builds(
    dict,
    priority=st.sampled_from(["strict", "interleave", "none"]),
    normal_per_priority=st.integers(1, 3),
    max_wait_minutes=st.sampled_from([None, 10, 30]),
)


# --- the newest walk-in is called last ---------------------------------------------------------

waiting_tickets = st.lists(
    st.builds(
        q.Candidate,
        id=st.integers(1, 10_000),
        issued_at=st.integers(0, 180).map(lambda minutes: NOW - minutes * MIN),
        priority=st.booleans(),
        due_at=st.none() | st.integers(-60, 60).map(lambda minutes: NOW + minutes * MIN),
    ),
    max_size=25,
    unique_by=lambda ticket: ticket.id,
)


@given(waiting=waiting_tickets, policy=POLICIES, streak=st.integers(0, 5), bookings=st.booleans())
def test_the_newest_walk_in_is_called_last(waiting, policy, streak, bookings):
    """Why issuing may count a walk-in's people ahead as everyone waiting in its queue."""
    newest = q.Candidate(10_001, NOW, False)  # issued now, the highest id: no priority, no due time
    order = list(call_order([*waiting, newest], Policy(**policy), streak, NOW, bookings))
    assert sorted(t.id for t in order) == sorted(t.id for t in [*waiting, newest])
    assert order[-1] is newest


@given(waiting=waiting_tickets, policy=POLICIES, streak=st.integers(0, 5), bookings=st.booleans())
def test_a_queue_nobody_may_jump_is_called_in_arrival_order(waiting, policy, streak, bookings):
    """Why the people ahead of a ticket are a count where no ticket waiting is a priority one or a booking
    whose slot has begun (choosing.py ``may_jump``, estimates.py ``waiting_ahead``): whatever the policy,
    the aging and the counter's streak, "next" then calls in arrival order."""
    calm = [ticket for ticket in waiting if not may_jump(ticket, NOW)]
    order = list(call_order(calm, Policy(**policy), streak, NOW, bookings))
    assert [t.id for t in order] == [t.id for t in sorted(calm, key=lambda t: (t.issued_at, t.id))]


# --- the queue issued through the engine, then called by one counter ---------------------------

SLOTS = ["07:30", "08:00", "08:30", "09:00", "09:30", "10:00"]
OPENING = MON_9 - 90 * MIN  # 07:30 in Ho Chi Minh City


@pytest.fixture(scope="module")
def centre_under(tmp_path_factory, sqlite_template, _config_dict):
    """``centre_under(policy)``: a migrated SQLite file with config.yaml's centre (HT takes bookings,
    enough places a slot) under ``policy``, made once per policy; each example runs on a copy of it, at one
    path whatever the policy (so on one engine, disposed of after each example: its statements compiled once)."""
    folder = tmp_path_factory.mktemp("call-order")
    made = {}

    def make(policy: dict):
        name = "-".join(str(value) for value in policy.values())
        if name not in made:
            data = booking_config(_config_dict, per_slot=20)
            data["policy"] = {**data["policy"], **policy}
            path = folder / f"{name}.db"
            shutil.copyfile(sqlite_template, path)
            engine = create_db_engine(f"sqlite:///{path}")
            prepare_database(engine, parse_config(data, "call-order.yaml"), folder)
            engine.dispose()
            made[name] = path
        return made[name], "run.db"

    return make


INTERLEAVE_2 = {"priority": "interleave", "normal_per_priority": 2, "max_wait_minutes": None}
arrivals = st.lists(
    st.tuples(st.sampled_from(["walk-in", "priority", "booked"]), st.integers(0, 12), st.sampled_from(SLOTS)),
    max_size=12,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    policy=POLICIES,
    arrived=arrivals,
    calls_from=st.integers(0, 60),
    first_calls=st.integers(0, 4),
)
# the tester's case: at 08:05 the 08:00 booking checked in is called before the walk-in who came at 07:30
@example(INTERLEAVE_2, [("walk-in", 0, "07:30"), ("booked", 35, "08:00")], 0, 0)
# nobody may jump as they arrive (the booking checked in early is due from 08:30): the people ahead are a
# count; at 08:42 the booking may, and heads the queue
@example(INTERLEAVE_2, [("walk-in", 3, "07:30")] * 3 + [("booked", 3, "08:30")], 60, 1)
# after one normal call the counter's streak is 1: the priority ticket comes after one more walk-in, not two
@example(INTERLEAVE_2, [("walk-in", 1, "07:30")] * 3 + [("priority", 1, "07:30")], 0, 1)
def test_next_calls_the_clerks_list_and_everyone_was_told_their_place(
    centre_under, monkeypatch, policy, arrived, calls_from, first_calls
):
    monkeypatch.setenv("QUEUEKIOSK_SQLITE_SYNCHRONOUS", "NORMAL")  # durability is not under test
    engine = on_a_fresh_copy(*centre_under(policy))
    try:
        Session = session_factory(engine)
        with Session() as session:
            site = site_setup(session)

        def run(action, *args, **kwargs):
            with Session.begin() as session:
                return action(session, site, *args, **kwargs)

        def told(ticket: dict, now: dt.datetime) -> int:
            return run(q.ticket_status, ticket["id"], now=now)["waiting_ahead"]

        codes = {}  # booked at 07:00, checked in as they arrive: early, on time or late (grace: 10 minutes)
        for i, (kind, _gap, slot) in enumerate(arrived):
            if kind == "booked":
                booked = run(bk.book, "HT", MONDAY, slot, "P", f"09110{i:05d}", None, KEY, now=OPENING - 30 * MIN)
                codes[i] = booked.ticket["code"]
        now, tickets = OPENING, []
        for i, (kind, gap, _slot) in enumerate(arrived):
            now += gap * MIN
            if kind == "booked":
                ticket = run(bk.check_in, KEY, code=codes[i], now=now).ticket
            else:
                ticket = run(q.issue, "HT", priority="elderly" if kind == "priority" else None, now=now).ticket
            assert ticket["waiting_ahead"] == told(ticket, now), "issuing told another place than the count"
            tickets.append(ticket)

        now += calls_from * MIN  # counter 1 serves HT alone, and calls from a streak of 0
        listed = [t["number"] for t in run(q.counter_queue, 1, limit=100, now=now)]
        places = {t["number"]: told(t, now) for t in tickets}
        called = []
        for _ in range(first_calls):
            called.append(run(q.call_next, 1, now=now).ticket)
        listed_then = [t["number"] for t in run(q.counter_queue, 1, limit=100, now=now)]
        while (ticket := run(q.call_next, 1, now=now).ticket) is not None:
            called.append(ticket)
        called = [t["number"] for t in called if t is not None]

        assert sorted(called) == sorted(t["number"] for t in tickets)
        assert called == listed, "the clerk's list is not the order of the calls"
        assert called[min(first_calls, len(called)) :] == listed_then, "the list after some calls"
        assert {number: called.index(number) for number in called} == places, "people ahead"
    finally:
        engine.dispose()
