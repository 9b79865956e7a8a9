"""Bookings in the core (server/core/bookings/), one action at a time, with an injected clock: slots,
booking and cancelling, remote numbers, check-in and lapsing, CCCD QR parsing, what is kept of a person,
the merged queue's order, the reports' figures, SMS codes. Many clients at once: tests/test_booking_races.py;
hypothesis state machines: tests/test_booking_properties.py.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from booking_helpers import CARD, KEY, MIN, MON_9, MONDAY, TUESDAY, another_code, booking_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from queuekiosk.server.core import bookings as bk
from queuekiosk.server.core import engine as q
from queuekiosk.server.core import models as m
from queuekiosk.server.core.bookings.ending import masked_code
from queuekiosk.server.core.config import parse_config
from queuekiosk.server.core.i18n import translate

SUNDAY = dt.date(2026, 11, 29)


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


# --- the reports' figures, SMS codes ------------------------------------------------------------


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
