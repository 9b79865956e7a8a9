"""The wait predictor wired into issuing (issue 17): whatever the queue does, the promised wait is an
ordered, never negative range holding its point, null only while no open counter serves the
service, and "called right away" (0, [0, 0]) when nobody is ahead and a counter is free; without a
trained predictor the usual formula answers as a range of one value; the printed ticket says the
range."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from printer_sim import decode, drawn_line, holds_line
from sqlalchemy import select
from wait_history import MIN, clerk_ids, local, write_days

from queuekiosk.printers import ticket as layout
from queuekiosk.printers.content import TicketContent
from queuekiosk.server.core import bookings as bk
from queuekiosk.server.core import engine as q
from queuekiosk.server.core import models as m
from queuekiosk.server.core.config import load_config
from queuekiosk.server.core.db import create_db_engine, prepare_database, session_factory
from queuekiosk.server.core.i18n import translate
from queuekiosk.server.core.prediction import Predictor
from queuekiosk.server.core.prediction_train import booking_show, read_events, train

CONFIG_PATH = Path(__file__).resolve().parent.parent / "config.yaml"
HISTORY = [dt.date(2026, 11, 2) + dt.timedelta(days=i) for i in range(8)]
TODAY = dt.date(2026, 11, 12)
T, C = m.Ticket.__table__, m.Counter.__table__


@pytest.fixture(scope="module")
def centre(tmp_path_factory):
    """A database file with 8 days of counter 4 (DC): a quick clerk (4 min a citizen) and, on three days
    of the first six, a slow one (16 min); the model trained on it."""
    folder = tmp_path_factory.mktemp("wait-history")
    engine = create_db_engine(f"sqlite:///{folder / 'centre.db'}")
    site = prepare_database(engine, load_config(CONFIG_PATH), folder / "instance")
    clerks = clerk_ids(engine, "nhanh", "cham")
    write_days(
        engine, site, HISTORY, lambda day: (clerks["cham"], 16.0) if day.day in (3, 5, 7) else (clerks["nhanh"], 4.0)
    )
    with engine.connect() as conn:
        model = train(site, read_events(conn, site))
    engine.dispose()
    return folder / "centre.db", model


@functools.cache
def _engine_at(path: Path):
    return create_db_engine(f"sqlite:///{path}")


@pytest.fixture
def fresh(centre, tmp_path):
    """``with fresh() as (engine, site, predictor)``: a copy of the centre for one example. One engine for
    every copy of a test (disposed of between them, so no connection sees the copy before): the statements
    it compiled for the examples before are compiled already (SQLAlchemy's and the engine's caches are per
    engine)."""
    template, model = centre
    path = tmp_path / "live.db"

    @contextlib.contextmanager
    def make():
        shutil.copy(template, path)
        engine = _engine_at(path)
        try:
            site = prepare_database(engine, load_config(CONFIG_PATH), tmp_path / "instance")
            yield engine, site, Predictor(site, model)
        finally:
            engine.dispose()
            for suffix in ("", "-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)

    return make


@pytest.fixture
def live(fresh):
    with fresh() as made:
        yield made


def _run(engine, action, *args, **kwargs):
    """One engine command in its own transaction; a refused one changes nothing and gives None."""
    try:
        with session_factory(engine).begin() as session:
            return action(session, *args, **kwargs)
    except q.QueueError:
        return None


def _called_at_once(conn, site, ticket_id: int) -> bool:
    """From the database: an open counter of the ticket's service holds nobody, and nobody else it
    serves is waiting (the ticket is then called at the counter's next press)."""
    mine = conn.execute(select(T).where(T.c.id == ticket_id)).one()
    held = {row.counter_id for row in conn.execute(select(T.c.counter_id).where(T.c.status.in_(("called", "serving"))))}
    waiting = conn.execute(
        select(T.c.service_id, T.c.target_counter_id).where(
            T.c.status == "waiting", T.c.id != ticket_id, T.c.business_day == mine.business_day
        )
    ).all()
    for row in conn.execute(select(C).where(C.c.state == "open")):
        services = set(site.counter_service_ids[row.number])
        if (
            mine.service_id in services
            and row.id not in held
            and not any(
                w.target_counter_id == row.id or (w.target_counter_id is None and w.service_id in services)
                for w in waiting
            )
        ):
            return True
    return False


def _check(view: dict, open_serving: bool) -> None:
    eta, eta_range = view["eta_minutes"], view["eta_range"]
    if not open_serving:
        assert eta is None and eta_range is None, view  # the kiosk says no counter is open
        return
    low, high = eta_range
    assert 0 <= low <= eta <= high, view


steps = st.lists(
    st.tuples(
        st.sampled_from(["issue", "issue", "issue", "next", "next", "finish", "pause", "resume", "close"]),
        st.sampled_from(["DC", "HT", "CT"]),
        st.booleans(),
        st.sampled_from([1, 2, 3, 4]),
        st.floats(0, 12),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_the_promised_range_is_ordered_never_negative_and_zero_when_a_free_counter_calls_at_once(fresh, steps):
    with fresh() as live:
        _play(*live, steps)


def _play(engine, site, predictor, steps) -> None:
    now = local(TODAY, 8)
    clerk = q.Actor(user_id=1)
    for kind, service, priority, counter, minutes in steps:
        now += minutes * MIN
        if kind == "issue":
            outcome = _run(
                engine,
                q.issue,
                site,
                service,
                priority="elderly" if priority else None,
                now=now,
                check_hours=False,
                estimator=predictor,
            )
            view = outcome.ticket
            with engine.connect() as conn:
                row = conn.execute(select(T).where(T.c.public_id == view["id"])).one()
                serving = [
                    c
                    for c in conn.execute(select(C).where(C.c.state == "open"))
                    if row.service_id in site.counter_service_ids[c.number]
                ]
                _check(view, bool(serving))
                if serving and _called_at_once(conn, site, row.id):
                    assert view["eta_minutes"] == 0 and view["eta_range"] == [0, 0], view
                if serving and view["waiting_ahead"] > 0:
                    assert view["eta_range"][1] > 0, view  # someone is ahead: never "right away"
        elif kind == "next":
            _run(engine, q.call_next, site, counter, clerk, now=now)
        elif kind == "finish":
            _run(engine, q.finish, site, counter, clerk, now=now)
        elif kind == "pause":
            _run(engine, q.pause, site, counter, reason="Nghỉ giải lao", actor=clerk, now=now)
        elif kind == "resume":
            _run(engine, q.resume, site, counter, clerk, now=now)
        else:
            _run(engine, q.close_counter, site, counter, clerk, now=now)
    # every waiting ticket, followed on a phone: the same invariants from where it stands now
    with session_factory(engine)() as session:
        for public_id in session.scalars(select(T.c.public_id).where(T.c.status == "waiting")):
            view = q.ticket_status(session, site, public_id, predictor)
            open_serving = any(
                c.state == "open" and site.service_ids[view["service"]] in site.counter_service_ids[c.number]
                for c in session.execute(select(C))
            )
            _check(view, open_serving)


def test_without_a_trained_predictor_the_formula_answers_as_a_range_of_one_value(live):
    engine, site, _predictor = live
    now = local(TODAY, 9)
    _run(engine, q.call_next, site, 4, q.Actor(user_id=1), now=now)  # counter 4 opens, nobody waiting
    first = _run(engine, q.issue, site, "DC", now=now + MIN, check_hours=False).ticket
    assert (first["eta_minutes"], first["eta_range"]) == (0, [0, 0])
    second = _run(engine, q.issue, site, "DC", now=now + 2 * MIN, check_hours=False).ticket
    assert second["eta_minutes"] > 0 and second["eta_range"] == [second["eta_minutes"]] * 2
    closed = _run(engine, q.issue, site, "LD", now=now + 3 * MIN, check_hours=False).ticket
    assert closed["eta_minutes"] is None and closed["eta_range"] is None


def test_the_slow_clerk_at_the_counter_makes_the_promise_longer_than_the_formula(live):
    """The formula's average is the service's recent pace (the quick clerk's days came last); the
    predictor knows who is at the counter."""
    engine, site, predictor = live
    now = local(TODAY, 9)
    slow = q.Actor(user_id=clerk_ids(engine, "cham")["cham"])
    for i in range(4):
        _run(engine, q.issue, site, "DC", now=now + i * MIN, check_hours=False, estimator=predictor)
    _run(engine, q.call_next, site, 4, slow, now=now + 5 * MIN)
    ours = _run(engine, q.issue, site, "DC", now=now + 6 * MIN, check_hours=False, estimator=predictor).ticket
    with engine.connect() as conn:
        formula = q.estimate_minutes(conn, site, site.service_ids["DC"], 3)
    low, high = ours["eta_range"]
    assert ours["waiting_ahead"] == 3 and low <= ours["eta_minutes"] <= high
    assert low > formula and ours["eta_minutes"] > formula + 10, (ours, formula)


# --- bookings and remote numbers -------------------------------------------------------------------

KEY = b"k" * 32  # the person key (hashes ID numbers and phones)


def _ht_morning(engine, site, predictor, before_mine=None, after_mine=None, later=None) -> dict:
    """Counter 1 (HT) calls the first of four walk-ins at 08:00; ``before_mine(engine, site)`` runs at 08:05,
    then "mine" is issued at 08:06 with the predictor, then ``after_mine``; returns mine at issue and
    its tracking status ``later`` (08:08), both with the predictor."""
    clerk = q.Actor(user_id=1)
    for i in range(4):
        _run(engine, q.issue, site, "HT", now=local(TODAY, 7, 55) + i * MIN, check_hours=False)
    _run(engine, q.call_next, site, 1, clerk, now=local(TODAY, 8))
    if before_mine:
        before_mine(engine, site)
    mine = _run(engine, q.issue, site, "HT", now=local(TODAY, 8, 6), check_hours=False, estimator=predictor).ticket
    if after_mine:
        after_mine(engine, site)
    with session_factory(engine)() as session:
        status = q.ticket_status(session, site, mine["id"], predictor, now=later or local(TODAY, 8, 8))
    return {"issued": mine, "later": status}


def _later(view: dict) -> tuple:
    return (view["eta_minutes"], *view["eta_range"])


def test_a_remote_number_counts_ahead_only_once_its_citizen_checks_in(fresh):
    """A number taken from a phone is held out of the queue until its citizen is here: the walk-in after it
    is promised what it would be without it; once checked in, it waits at its number's place, ahead."""
    codes = []

    def take_remote(engine, site):
        for i in range(3):
            view = _run(
                engine,
                bk.take_remote,
                site,
                "HT",
                f"Người {i}",
                f"09123456{i:02d}",
                None,
                KEY,
                now=local(TODAY, 8, 5),
                check_hours=False,
            ).ticket
            codes.append(view["code"])

    def check_in(engine, site):
        for code in codes:
            _run(engine, bk.check_in, site, KEY, code=code, now=local(TODAY, 8, 7), check_hours=False)

    with fresh() as (engine, site, predictor):
        alone = _ht_morning(engine, site, predictor)
    with fresh() as (engine, site, predictor):
        held = _ht_morning(engine, site, predictor, before_mine=take_remote, after_mine=check_in)
    assert held["issued"]["waiting_ahead"] == alone["issued"]["waiting_ahead"] == 3
    assert held["issued"]["eta_range"] == alone["issued"]["eta_range"], (held, alone)
    assert held["issued"]["eta_minutes"] == alone["issued"]["eta_minutes"]
    # checked in: three more ahead of mine, and the promise on the phone says longer
    assert held["later"]["waiting_ahead"] == alone["later"]["waiting_ahead"] + 3
    assert _later(held["later"]) > _later(alone["later"]), (held["later"], alone["later"])
    assert held["later"]["eta_range"][1] > alone["later"]["eta_range"][1]


def _book(engine, site, start: str = "08:15") -> str:
    """A place in HT's slot at ``start``, booked the day before; its code."""
    return _run(
        engine,
        bk.book,
        site,
        "HT",
        TODAY,
        start,
        "Người đặt lịch",
        "0912345678",
        None,
        KEY,
        now=local(TODAY - dt.timedelta(days=1), 15),
    ).ticket["code"]


def test_a_booked_citizen_still_to_come_is_foreseen_until_the_grace_window_passes(fresh):
    """Booked for 08:00 and not here yet at 08:06: the engine will call them first if they come within their
    10 minutes' grace, so a walk-in at 08:06 is promised longer than on the same morning without the
    booking; at 08:30, past the grace, they would be a walk-in behind, and the promise is as without them."""
    late = local(TODAY, 8, 30)
    with fresh() as (engine, site, predictor):
        plain = _ht_morning(engine, site, predictor, later=late)
    with fresh() as (engine, site, predictor):
        booked = _ht_morning(engine, site, predictor, before_mine=lambda e, s: _book(e, s, "08:00"), later=late)
    assert booked["issued"]["waiting_ahead"] == plain["issued"]["waiting_ahead"] == 3
    assert booked["issued"]["eta_minutes"] > plain["issued"]["eta_minutes"], (booked["issued"], plain["issued"])
    assert booked["issued"]["eta_range"][1] > plain["issued"]["eta_range"][1]
    assert _later(booked["later"]) == _later(plain["later"])


def test_training_learns_the_share_of_booked_citizens_who_come_on_time(live):
    """Yesterday two HT places were booked: one citizen checked in on time, one never came; a third booking
    was cancelled (not counted). A booked citizen still to come then weighs half a service."""
    engine, site, _predictor = live
    yesterday = TODAY - dt.timedelta(days=1)
    made = local(yesterday - dt.timedelta(days=1), 15)
    codes = [
        _run(
            engine, bk.book, site, "HT", yesterday, start, f"Người {i}", f"09123450{i:02d}", None, KEY, now=made
        ).ticket["code"]
        for i, start in enumerate(("08:00", "08:15", "08:30"))
    ]
    _run(engine, bk.check_in, site, KEY, code=codes[0], now=local(yesterday, 7, 55), check_hours=False)
    _run(engine, bk.cancel, site, codes[2], now=local(yesterday, 7, 0))
    with engine.connect() as conn:
        assert booking_show(conn, site, local(yesterday, 0), local(TODAY, 0)) == 0.5
        assert booking_show(conn, site, local(TODAY, 0), local(TODAY, 23)) == 1.0  # no bookings: all of them


def test_a_booking_checked_in_on_time_is_counted_ahead_from_its_slot_s_start(fresh):
    """The engine calls a booking whose slot has begun before everyone: a booked citizen checking in after
    me for the 08:15 slot makes my promised wait longer, where a walk-in after me changes nothing."""

    def book(engine, site):
        book.code = _book(engine, site)

    def checks_in(engine, site):
        checked = _run(engine, bk.check_in, site, KEY, code=book.code, now=local(TODAY, 8, 7), check_hours=False)
        assert checked.ticket["due_at"] is not None and not checked.ticket["late"]
        low, high = checked.ticket["eta_range"]  # the booked citizen's own promise: the predictor's
        assert 0 <= low <= checked.ticket["eta_minutes"] <= high

    def walks_in(engine, site):
        _run(engine, q.issue, site, "HT", now=local(TODAY, 8, 7), check_hours=False)

    with fresh() as (engine, site, predictor):
        walk_in = _ht_morning(engine, site, predictor, after_mine=walks_in)
    with fresh() as (engine, site, predictor):
        plain = _ht_morning(engine, site, predictor)
    with fresh() as (engine, site, predictor):
        booked = _ht_morning(engine, site, predictor, before_mine=book, after_mine=checks_in)
    assert _later(walk_in["later"]) == _later(plain["later"])  # behind me: no change
    assert booked["later"]["waiting_ahead"] == plain["later"]["waiting_ahead"]  # issued after me, yet ...
    assert _later(booked["later"]) > _later(plain["later"]), (booked["later"], plain["later"])
    assert booked["later"]["eta_minutes"] > plain["later"]["eta_minutes"]


# --- the printed ticket ---------------------------------------------------------------------------

TICKET = TicketContent(
    centre="UBND phường Phúc La",
    number="3005",
    service="Địa chính - Đô thị - Xây dựng",
    issued_at="09:06  12/11/2026",
    people_ahead=3,
    tracking_url="http://192.0.2.1:8000/t/abc",
    eta_minutes=14,
    eta_range=[10, 20],
)


def test_the_printed_ticket_says_the_range_and_the_formula_s_single_value_as_before():
    assert layout.eta_line(14, [10, 20]) == "Thời gian chờ dự kiến: khoảng 10–20 phút"
    assert layout.eta_line(14, [10, 20], "en") == "Estimated wait: about 10–20 min"
    assert layout.eta_line(12, [12, 12]) == translate("kiosk_eta", n=12)
    assert layout.eta_line(12, None) == translate("kiosk_eta", n=12)  # a job stored before eta_range
    assert layout.eta_line(0, [0, 0]) == translate("kiosk_eta_now")
    paper = decode(layout.render(TICKET, "compact"))  # the ESC/POS bytes the printer gets
    assert holds_line(paper, drawn_line("Thời gian chờ dự kiến: khoảng 10–20 phút"))
    assert not holds_line(paper, drawn_line(translate("kiosk_eta", n=14)))
    old = decode(layout.render(replace(TICKET, eta_range=None), "compact"))
    assert holds_line(old, drawn_line(translate("kiosk_eta", n=14)))
    assert TicketContent.from_json(TICKET.to_json()) == TICKET  # a print job keeps the range
