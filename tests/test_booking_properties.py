"""Bookings in the core (server/core/bookings/), with an injected clock: slots, capacity under
concurrency on SQLite and PostgreSQL, one number per person, remote numbers, check-in and lapsing,
CCCD QR parsing; and hypothesis: under any sequence of bookings, cancellations, remote numbers,
check-ins and walk-ins, no slot is ever oversold and nobody holds two numbers of a service a day.
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
import itertools
import shutil
from pathlib import Path

import pytest
from booking_helpers import KEY, MIN, MON_9, MONDAY, at_once, booking_config, on_a_fresh_copy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from sqlalchemy import select, text

from queuekiosk.server.core import bookings as bk
from queuekiosk.server.core import engine as q
from queuekiosk.server.core import models as m
from queuekiosk.server.core.bookings.ending import masked_code
from queuekiosk.server.core.config import parse_config
from queuekiosk.server.core.db import create_db_engine, prepare_database, session_factory
from queuekiosk.server.core.i18n import translate

TUESDAY = dt.date(2026, 11, 24)
SUNDAY = dt.date(2026, 11, 29)
B = m.Booking.__table__
T = m.Ticket.__table__
SLOTS = m.BookingSlot.__table__
E = m.Event.__table__

CARD = "001099012345|123456789|Nguyễn Văn An|01011990|Nam|Số 1 phố Phúc La, Hà Đông, Hà Nội|15082021"


@pytest.fixture
def booking_queue(make_queue, config_data):
    return make_queue(parse_config(booking_config(config_data), "bookings.yaml"))


def refusal(db, action, *args, **kwargs) -> q.QueueError:
    with pytest.raises(q.QueueError) as caught:
        db.run(action, *args, **kwargs)
    return caught.value


# --- slots ----------------------------------------------------------------------------------


def test_slots_follow_the_hours_and_holidays(booking_queue):
    db = booking_queue
    with db.Session() as session:
        tuesday = bk.slots(session, db.site, "HT", TUESDAY, now=MON_9)
        assert (tuesday[0], tuesday[-1]) == (
            {"start": "07:30", "end": "08:00", "free": 2},
            {"start": "16:30", "end": "17:00", "free": 2},
        )
        assert len(tuesday) == 19  # 07:30 to 17:00 in half hours
        assert bk.slots(session, db.site, "HT", dt.date(2026, 11, 25), now=MON_9) == []  # the holiday
        assert bk.slots(session, db.site, "HT", SUNDAY, now=MON_9) == []  # not a working day
        # today: only the slots still ahead
        assert bk.slots(session, db.site, "HT", MONDAY, now=MON_9)[0]["start"] == "09:30"
        assert bk.open_days(db.site, "HT", now=MON_9) == [
            "2026-11-23",
            "2026-11-24",
            "2026-11-26",
            "2026-11-27",
            "2026-11-28",
        ]
        for day, field in ((MONDAY - dt.timedelta(days=1), "date"), (MONDAY + dt.timedelta(days=7), "date")):
            with pytest.raises(q.Invalid) as outside:
                bk.slots(session, db.site, "HT", day, now=MON_9)
            assert outside.value.params["field"] == field
        with pytest.raises(q.QueueError) as walk_in_only:
            bk.slots(session, db.site, "DC", TUESDAY, now=MON_9)
        assert walk_in_only.value.code == "booking_not_offered"


def test_a_booking_takes_a_place_and_cancelling_gives_it_back(booking_queue):
    db = booking_queue
    made = db.run(
        bk.book, "HT", TUESDAY, "09:00", "Trần Thị Bình", "+84 912 345 678", "001099012345", KEY, now=MON_9
    ).ticket
    assert made["phone"] == "091****678" and made["id_number"] == "0010******45" and made["status"] == "booked"
    free = lambda: next(s["free"] for s in db.run(bk.slots, "HT", TUESDAY, now=MON_9) if s["start"] == "09:00")  # noqa: E731
    assert free() == 1
    assert db.run(bk.cancel, made["code"], now=MON_9).ticket["status"] == "cancelled"
    assert free() == 2
    assert db.run(bk.cancel, made["code"], now=MON_9).happened == []  # twice: no error, nothing new
    # the place and the person's number are free again
    db.run(bk.book, "HT", TUESDAY, "09:00", "Trần Thị Bình", "0912345678", "001099012345", KEY, now=MON_9)


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


# --- remote numbers, check-in, lapsing ----------------------------------------------------


def test_a_remote_number_waits_outside_the_queue_until_checked_in(booking_queue):
    db = booking_queue
    remote = db.run(bk.take_remote, "HT", "Phạm Thị Dung", "0987654321", None, KEY, now=MON_9).ticket
    assert remote["number"] == 1001 and remote["deadline"] == "10:00" and remote["status"] == "booked"
    walk_in = db.run(q.issue, "HT", now=MON_9 + MIN).ticket
    assert walk_in["number"] == 1002 and walk_in["waiting_ahead"] == 0  # the remote citizen is not here yet
    assert db.run(q.call_next, 1, now=MON_9 + 2 * MIN).ticket["number"] == 1002
    assert db.run(q.call_next, 1, now=MON_9 + 3 * MIN).ticket is None  # nobody here to call
    checked = db.run(bk.check_in, KEY, code=remote["code"].lower(), now=MON_9 + 30 * MIN).ticket
    assert (checked["number"], checked["status"], checked["origin"]) == (1001, "waiting", "remote")
    assert db.run(q.call_next, 1, now=MON_9 + 31 * MIN).ticket["number"] == 1001
    again = refusal(db, bk.check_in, KEY, code=remote["code"], now=MON_9 + 32 * MIN)
    assert (again.code, again.params["number"]) == ("booking_checked_in", 1001)


def test_a_remote_number_not_checked_in_by_its_deadline_lapses(booking_queue):
    db = booking_queue
    remote = db.run(bk.take_remote, "HT", "Phạm Thị Dung", "0987654321", "001099012345", KEY, now=MON_9).ticket
    assert db.run(bk.lapse_overdue, now=MON_9 + 59 * MIN).happened == []
    lapsed = db.run(bk.lapse_overdue, now=MON_9 + 61 * MIN)
    assert [h.detail["booking"]["status"] for h in lapsed.happened] == ["lapsed"]
    assert "name" not in lapsed.happened[0].detail["booking"]  # what goes to dashboards and webhooks
    ticket = next(t for t in db.tickets() if t.number == remote["number"])
    assert ticket.status == "expired"
    assert [e.detail for e in db.events() if e.ticket_id == ticket.id][-1] == {"reason": "lapsed"}
    assert refusal(db, bk.check_in, KEY, code=remote["code"], now=MON_9 + 62 * MIN).code == "booking_lapsed"
    late = refusal(db, bk.check_in, KEY, cccd_qr=CARD, service="HT", now=MON_9 + 62 * MIN)
    assert late.code == "booking_lapsed"  # the card finds its lapsed number, not a second one
    again = refusal(db, bk.take_remote, "HT", "Phạm Thị Dung", "0987654321", "001099012345", KEY, now=MON_9 + 63 * MIN)
    assert (again.code, again.params["number"]) == ("held_number_ended", remote["number"])
    # said as lapsed, not as a number that still stands (QA C9)
    said = translate(again.code, "vi", **again.params)
    assert said.startswith(
        f"Số {remote['number']} của Ông/Bà cho dịch vụ “Tư pháp - Hộ tịch” hôm nay đã hết hiệu lực lúc"
    )
    assert "đã có số" not in said and "xin hỏi cán bộ" in said


def test_check_in_within_the_grace_window_is_due_at_the_slot_later_is_a_walk_in(booking_queue):
    db = booking_queue
    on_time = db.run(bk.book, "HT", MONDAY, "10:00", "An", "0911000001", "001099012345", KEY, now=MON_9).ticket
    late = db.run(bk.book, "HT", MONDAY, "10:00", "Bình", "0911000002", None, KEY, now=MON_9).ticket
    ten = MON_9 + 60 * MIN
    first = db.run(bk.check_in, KEY, cccd_qr=CARD + "\r\n", now=ten + 9 * MIN).ticket  # the scanner's Enter
    second = db.run(bk.check_in, KEY, code=late["code"], now=ten + 11 * MIN).ticket
    # found by the card: its booking named by the code's last two characters only (the code cancels it)
    assert (first["origin"], first["late"], first["booking"]["code"]) == ("booked", False, masked_code(on_time["code"]))
    assert (second["origin"], second["late"]) == ("booked", True)
    due = {t.number: (t.origin, t.due_at) for t in db.tickets()}
    assert due == {first["number"]: ("booked", ten), second["number"]: ("booked", None)}
    assert refusal(db, bk.check_in, KEY, code=late["code"], now=ten + 12 * MIN).code == "booking_checked_in"


def test_a_booking_is_checked_in_on_its_own_day_only(booking_queue):
    db = booking_queue
    tuesday = db.run(bk.book, "HT", TUESDAY, "09:00", "An", "0911000001", None, KEY, now=MON_9).ticket
    other_day = refusal(db, bk.check_in, KEY, code=tuesday["code"], now=MON_9)
    assert (other_day.code, other_day.params["date"]) == ("booking_other_day", "24/11/2026")
    assert refusal(db, bk.check_in, KEY, code="ZZZZZZZZ", now=MON_9).code == "booking_not_found"
    assert refusal(db, bk.check_in, KEY, cccd_qr=CARD, now=MON_9).code == "booking_not_found_for_card"

    # the card's holder, come a day early: the card scanned at a kiosk (its holder is here) is told the day
    # and time; the number typed (anyone may type anyone's), or the card's text sent by other than a kiosk,
    # is told no more than before
    db.run(bk.book, "HT", TUESDAY, "09:30", "An", "0911000003", "001099012345", KEY, now=MON_9)
    early = refusal(db, bk.check_in, KEY, cccd_qr=CARD, now=MON_9, at_kiosk=True)
    assert early.code == "card_booked_other_day"
    assert translate(early.code, "vi", **early.params).startswith(
        "Lịch hẹn của Ông/Bà (dịch vụ “Tư pháp - Hộ tịch”) là lúc 09:30 ngày 24/11/2026, không phải hôm nay."
    )
    assert "at 09:30 on 24/11/2026" in translate(early.code, "en", **early.params)
    typed = refusal(db, bk.check_in, KEY, id_number="001099012345", now=MON_9, at_kiosk=True)
    assert (typed.code, typed.params) == ("booking_not_found_for_card", {})
    sent = refusal(db, bk.check_in, KEY, cccd_qr=CARD, now=MON_9)
    assert (sent.code, sent.params) == ("booking_not_found_for_card", {})


def test_an_id_card_without_a_booking_takes_one_walk_in_number(booking_queue):
    db = booking_queue
    ticket = db.run(bk.check_in, KEY, cccd_qr=CARD, service="DC", now=MON_9).ticket
    assert (ticket["service"], ticket["origin"], ticket["booking"]) == ("DC", None, None)
    second = refusal(db, bk.check_in, KEY, id_number="0010 9901 2345", service="DC", now=MON_9 + MIN)
    assert (second.code, second.params["number"]) == ("already_holds_number", ticket["number"])
    assert len(db.tickets()) == 1  # the refusal issued nothing


# --- the CCCD's QR text -------------------------------------------------------------------


@pytest.mark.parametrize(
    "qr",
    [
        CARD,
        "079203004567||Nguyễn Thị Hoa|23042003|Nữ|123 Lê Lợi, Phường Bến Thành, Quận 1, TP Hồ Chí Minh|10052021",
        "001099012345|123456789|NGUYEN VAN AN|01011990|Nam|So 1 pho Phuc La|15082021\n",  # a scanner without Unicode
        "001099012345|123456789|Nguy?n V?n An|01011990|Nam|S? 1|15082021",  # ... or with it garbled
        "001099012345||Đỗ Ư|01011990|Nữ|Hà Nội|15082021".encode("ascii", "ignore").decode(),  # ... or dropped
        "001099012345|123456789|Nguyễn Văn An|01011990|Nam|Hà Nội|15082021|",  # newer cards add a field
    ],
)
def test_real_format_card_texts_give_the_number(qr):
    assert bk.parse_cccd_qr(qr).id_number == qr.split("|")[0]


@pytest.mark.parametrize(
    "qr",
    [
        "",
        "001099012345",
        "00109901234|123456789|An|01011990|Nam|HN|15082021",  # 11 digits
        "001099012345|123456789|An|01011990|Nam|HN",  # a field short
        "001099012345|123456789|An|31021990|Nam|HN|15082021",  # no 31 February
        "001099012345|12345|An|01011990|Nam|HN|15082021",  # an old number of 5 digits
        "'; DROP TABLE bookings; --|x|y|z|w|v|u",
        "<script>alert(1)</script>|" * 7,
        "0" * 12 + "|" * 2000,
        "００１０９９０１２３４５|123456789|An|01011990|Nam|HN|15082021",  # full-width digits
    ],
)
def test_malformed_or_hostile_card_texts_are_refused_without_repeating_them(qr):
    with pytest.raises(q.Invalid) as refused:
        bk.parse_cccd_qr(qr)
    assert (refused.value.code, refused.value.params) == ("invalid_cccd_qr", {"field": "cccd_qr"})


def test_numbers_are_kept_only_hashed_and_masked():
    person = bk.person(KEY, "0912 345 678", "001099012345")
    assert (person.phone_masked, person.id_masked) == ("091****678", "0010******45")
    assert person.hash == bk.id_hash(KEY, "001099012345") != bk.id_hash(b"another key", "001099012345")
    assert "001099012345" not in person.hash and person.hash == bk.person(KEY, "0900000000", "001099012345").hash
    assert bk.person(KEY, "0912345678", None).hash == bk.person(KEY, "+84912345678", None).hash


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


def test_a_booking_checked_in_on_time_is_called_at_its_slot_ahead_of_walk_ins(booking_queue):
    db = booking_queue
    slot = db.run(bk.book, "HT", MONDAY, "09:30", "An", "0911000001", None, KEY, now=MON_9).ticket
    first = db.run(q.issue, "HT", now=MON_9 + 5 * MIN).ticket
    priority = db.run(q.issue, "HT", priority="elderly", now=MON_9 + 6 * MIN).ticket
    booked = db.run(bk.check_in, KEY, code=slot["code"], now=MON_9 + 20 * MIN).ticket  # ten minutes early
    later = db.run(q.issue, "HT", now=MON_9 + 21 * MIN).ticket
    called = lambda minutes: db.run(q.call_next, 1, now=MON_9 + minutes * MIN).ticket["number"]  # noqa: E731
    assert called(25) == first["number"]  # before the slot: first come first served
    assert called(30) == booked["number"]  # the slot has begun: ahead of the priority ticket and the walk-in
    assert [called(31), called(32)] == [priority["number"], later["number"]]


def test_a_late_booking_joins_as_a_walk_in(booking_queue):
    db = booking_queue
    slot = db.run(bk.book, "HT", MONDAY, "09:30", "An", "0911000001", None, KEY, now=MON_9).ticket
    walk_in = db.run(q.issue, "HT", now=MON_9 + 35 * MIN).ticket
    late = db.run(bk.check_in, KEY, code=slot["code"], now=MON_9 + 41 * MIN).ticket  # grace: 10 minutes
    assert late["late"] and late["due_at"] is None and late["origin"] == "booked"
    assert db.run(q.call_next, 1, now=MON_9 + 42 * MIN).ticket["number"] == walk_in["number"]
    assert db.run(q.call_next, 1, now=MON_9 + 43 * MIN).ticket["number"] == late["number"]


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


def test_booking_figures_for_the_reports(booking_queue):
    db = booking_queue
    book = lambda start, phone: db.run(bk.book, "HT", MONDAY, start, "P", phone, None, KEY, now=MON_9).ticket  # noqa: E731
    on_time, late, absent = book("09:30", "0911000001"), book("09:30", "0911000002"), book("10:00", "0911000003")
    db.run(bk.cancel, book("10:30", "0911000004")["code"], now=MON_9)
    remote = db.run(bk.take_remote, "HT", "R", "0911000005", None, KEY, now=MON_9).ticket
    for phone in ("0911000006", "0911000007"):  # arrived, but never a slot that could be missed or late
        came = db.run(bk.take_remote, "HT", "R", phone, None, KEY, now=MON_9).ticket
        db.run(bk.check_in, KEY, code=came["code"], now=MON_9 + 5 * MIN)
    db.run(q.issue, "HT", now=MON_9 + MIN)
    db.run(q.issue, "CT", now=MON_9 + MIN)
    db.run(bk.check_in, KEY, code=on_time["code"], now=MON_9 + 25 * MIN)
    db.run(bk.check_in, KEY, code=late["code"], now=MON_9 + 45 * MIN)
    db.run(bk.lapse_overdue, now=MON_9 + 61 * MIN)
    with db.Session() as session:
        figures = bk.booking_figures(session, db.site, MONDAY, MONDAY, now=MON_9 + 90 * MIN)
    ht = next(r for r in figures["days"] if r["service"] == "HT")
    assert {k: ht[k] for k in bk.FIGURES} == {
        "booked": 4,
        "remote": 3,
        "cancelled": 1,
        "cancelled_by_centre": 0,  # its holder cancelled it (the centre's: tests/api/test_admin_closed_days.py)
        "on_time": 3,  # the slot's and the two remote numbers checked in
        "late": 1,
        "remote_checked_in": 2,
        "no_show": 1,
        "lapsed": 1,
        "walk_in": 1,
        "tickets_booked": 5,
    }
    # over the three slots due only: 1 no-show of 3, 1 on time of the 2 checked in
    assert (figures["totals"]["no_show_rate"], figures["totals"]["punctuality"]) == (0.333, 0.5)
    assert figures["totals"]["booked_share"] == 0.714  # 5 of the 7 tickets (the remote ones counted, lapsed or not)
    assert remote["number"] and absent["status"] == "booked"


def test_an_sms_code_is_good_for_its_own_request_for_ten_minutes():
    request = ["HT", True, None, None, "Cúc", "0912000777", None]
    code, pending = bk.sms_challenge(KEY, request, MON_9)
    bk.check_sms_code(KEY, request, code, pending, MON_9 + 10 * MIN)
    refusals = {
        "expired": (request, code, pending, MON_9 + 11 * MIN),
        "another request": (request[:-1] + ["001099012345"], code, pending, MON_9),
        "another code": (request, "000000" if code != "000000" else "111111", pending, MON_9),
        "a forged proof": (request, code, pending.split(".")[0] + ".00", MON_9),
        "a proof not signed": (request, code, pending.rpartition(".")[0], MON_9),
        "a proof signed otherwise": (request, code, pending.rpartition(".")[0] + "." + "0" * 32, MON_9),
        "no proof": (request, code, None, MON_9),
        "another key": (request, code, bk.sms_challenge(b"other", request, MON_9)[1], MON_9),
        "a proof not in ASCII": (request, code, pending + "é", MON_9),  # (hmac.compare_digest raised)
        "a time not in ASCII digits": (request, code, "²" + pending, MON_9),  # (int() raised)
    }
    for case, (req, typed, proof, when) in refusals.items():
        with pytest.raises(q.Invalid) as refused:
            bk.check_sms_code(KEY, req, typed, proof, when)
        assert refused.value.params["field"] == "sms_code", case
        assert refused.value.code == ("sms_code_expired" if case == "expired" else "sms_code_wrong"), case


def another_code(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


GUESSES = ("right", "wrong", "right, its time spelt 0…", "wrong, its time spelt 0…")


def test_an_sms_code_is_void_after_five_wrong_ones_even_typed_right(booking_queue):
    """Hypothesis: whatever the guesses (right or wrong, ``pending`` as sent or its time spelt with a
    leading zero, which names the same code), a right one books while fewer than SMS_CODE_TRIES wrong
    ones came before it; the one that makes five says the code is void, and so does every one after."""
    db, requests = booking_queue, itertools.count()

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.sampled_from(GUESSES), max_size=9))
    def any_guesses(guesses):
        request = ["HT", True, None, None, f"Cúc {next(requests)}", "0912000777", None]  # a code of its own
        code, pending = bk.sms_challenge(KEY, request, MON_9)
        wrong = 0
        for guess in guesses:
            typed = code if guess.startswith("right") else another_code(code)
            sent = "0" + pending if "spelt" in guess else pending
            refusal = db.run(bk.guess_sms_code, KEY, request, typed, sent, MON_9 + MIN)
            if wrong < bk.SMS_CODE_TRIES and typed == code:
                assert refusal is None, (guesses, refusal.code)
                continue
            wrong += typed != code
            expected = "sms_code_void" if wrong >= bk.SMS_CODE_TRIES else "sms_code_wrong"
            assert (refusal.code, refusal.params["field"]) == (expected, "sms_code"), guesses

    any_guesses()


def test_what_is_kept_of_an_sms_code_goes_once_it_has_expired(booking_queue):
    db = booking_queue
    request = ["HT", True, None, None, "Cúc", "0912000777", None]
    code, pending = bk.sms_challenge(KEY, request, MON_9)
    for _ in range(bk.SMS_CODE_TRIES):
        db.run(bk.guess_sms_code, KEY, request, another_code(code), pending, MON_9 + MIN)
    assert db.run(bk.guess_sms_code, KEY, request, code, pending, MON_9 + 2 * MIN).code == "sms_code_void"
    assert db.run(bk.guess_sms_code, KEY, request, code, pending, MON_9 + 11 * MIN).code == "sms_code_expired"
    later = bk.sms_challenge(KEY, request, MON_9 + 11 * MIN)
    assert db.run(bk.guess_sms_code, KEY, request, *later, MON_9 + 12 * MIN) is None  # a new code books
    with db.Session() as session:
        assert session.execute(select(m.sms_code_guesses.c.wrong)).scalars().all() == [0]  # the void one went


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
