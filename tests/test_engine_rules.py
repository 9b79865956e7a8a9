"""Example-based rules of the queue engine, the way a centre's supervisor would state them.

Times given to the engine are naive UTC; ``local()`` turns a wall-clock time in
Asia/Ho_Chi_Minh (UTC+7, no daylight saving) into that.  2026-11-23 is a Monday.
"""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from queuekiosk.server.core import engine as q
from queuekiosk.server.core import models as m
from queuekiosk.server.core.setup_changes import change_item

HCM = ZoneInfo("Asia/Ho_Chi_Minh")
T = m.Ticket.__table__
E = m.Event.__table__
SEQ = m.NumberSequence.__table__


def local(text: str) -> dt.datetime:
    """'2026-11-23 09:00' in Ho Chi Minh City -> naive UTC."""
    aware = dt.datetime.fromisoformat(text).replace(tzinfo=HCM)
    return aware.astimezone(dt.UTC).replace(tzinfo=None)


MON_9 = local("2026-11-23 09:00")  # == 2026-11-23 02:00 UTC
MIN = dt.timedelta(minutes=1)

ALL_DAY = {"open": "00:00", "close": "23:59:59", "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]}


def all_day_site(config_data: dict) -> dict:
    site = dict(config_data["site"])
    site["hours"] = ALL_DAY
    return site


def refused(db, action, *args, **kwargs) -> q.QueueError:
    """Run an action that must be refused; return the error after checking nothing was written."""
    before = snapshot(db)
    with pytest.raises(q.QueueError) as info:
        db.run(action, *args, **kwargs)
    assert snapshot(db) == before, f"refused {action.__name__} ({info.value.code}) changed the database"
    return info.value


def snapshot(db) -> dict:
    with db.Session() as s:
        return {
            table.name: s.execute(select(table).order_by(*table.primary_key.columns)).all()
            for table in (T, E, SEQ, m.Counter.__table__, m.Service.__table__)
        }


def numbers(db, service: str, day: dt.date | None = None) -> list[int]:
    sid = db.site.service_ids[service]
    query = select(T.c.number).where(T.c.origin_service_id == sid).order_by(T.c.number)
    if day is not None:
        query = query.where(T.c.business_day == day)
    with db.Session() as s:
        return list(s.scalars(query))


def event_kinds(db, ticket_public_id: str) -> list[str]:
    with db.Session() as s:
        tid = s.scalar(select(T.c.id).where(T.c.public_id == ticket_public_id))
        return list(s.scalars(select(E.c.kind).where(E.c.ticket_id == tid).order_by(E.c.id)))


def ticket_row(db, public_id: str):
    with db.Session() as s:
        return s.execute(select(T).where(T.c.public_id == public_id)).one()


def issue(db, service="HT", now=MON_9, **kwargs) -> dict:
    return db.run(q.issue, service, now=now, **kwargs).ticket


def call(db, counter: int, now=MON_9, **kwargs) -> dict | None:
    return db.run(q.call_next, counter, now=now, **kwargs).ticket


# --- business day and daily reset -------------------------------------------------------------


def test_numbers_restart_at_local_midnight_not_utc_midnight(make_queue, make_config, config_data, migrated_db_url):
    db = make_queue(make_config(site=all_day_site(config_data)), migrated_db_url)
    before_midnight = dt.datetime(2026, 11, 23, 16, 59)  # Mon 23:59 local
    after_midnight = dt.datetime(2026, 11, 23, 17, 1)  # Tue 00:01 local

    monday = [issue(db, now=before_midnight) for _ in range(3)]
    call(db, 1, now=before_midnight)  # 1001 called on Monday, 1002 and 1003 left waiting
    tuesday = issue(db, now=after_midnight)

    assert [t["number"] for t in monday] == [1001, 1002, 1003]
    assert {t["business_day"] for t in monday} == {"2026-11-23"}
    assert tuesday["number"] == 1001, "numbers must restart at local midnight (17:00 UTC)"
    assert tuesday["business_day"] == "2026-11-24"

    # yesterday's tickets and their events are kept
    assert numbers(db, "HT", dt.date(2026, 11, 23)) == [1001, 1002, 1003]
    assert event_kinds(db, monday[0]["id"]) == ["issued", "called"]
    assert event_kinds(db, monday[1]["id"]) == ["issued"]
    assert ticket_row(db, monday[1]["id"]).status == "waiting"

    # yesterday's waiting tickets are not called today, and do not count as waiting today
    assert db.run(q.waiting_counts, now=after_midnight)["HT"] == {"waiting": 1, "priority": 0}
    got = call(db, 2, now=after_midnight + MIN)
    assert (got["number"], got["business_day"]) == (1001, "2026-11-24")
    assert call(db, 1, now=after_midnight + 2 * MIN) is None, "a ticket of yesterday was called today"
    with pytest.raises(q.QueueError) as info:
        db.run(q.call_next, 2, now=after_midnight + 3 * MIN, number=1002)
    assert info.value.code == "ticket_not_waiting"

    # the display history of today does not show yesterday's calls
    history = db.run(q.recent_calls, now=after_midnight + 3 * MIN)
    assert [(h["number"], h["business_day"]) for h in history] == [(1001, "2026-11-24")]


def test_utc_midnight_does_not_restart_numbers(make_queue, make_config, config_data):
    db = make_queue(make_config(site=all_day_site(config_data)))
    first = issue(db, now=dt.datetime(2026, 11, 23, 23, 59))  # Tue 06:59 local
    second = issue(db, now=dt.datetime(2026, 11, 24, 0, 1))  # Tue 07:01 local
    assert (first["number"], second["number"]) == (1001, 1002)
    assert first["business_day"] == second["business_day"] == "2026-11-24"


def test_each_service_has_its_own_range(queue):
    got = [
        (t["service"], t["number"])
        for t in (issue(queue, "HT"), issue(queue, "CT"), issue(queue, "HT"), issue(queue, "TK"), issue(queue, "CT"))
    ]
    assert got == [("HT", 1001), ("CT", 2001), ("HT", 1002), ("TK", 6001), ("CT", 2002)]


# --- range exhausted --------------------------------------------------------------------------


def tiny_ht_range(config_data: dict, end: int = 1003) -> list[dict]:
    services = [dict(s) for s in config_data["services"]]
    services[0] = {**services[0], "numbers": {"start": 1001, "end": end}}
    assert services[0]["code"] == "HT"
    return services


def test_range_exhausted_is_refused_without_a_gap(make_queue, make_config, config_data, migrated_db_url, tmp_path):
    db = make_queue(make_config(services=tiny_ht_range(config_data)), migrated_db_url)
    assert [issue(db)["number"] for _ in range(3)] == [1001, 1002, 1003]

    for _ in range(2):  # refused again and again, the sequence never moves past the end
        error = refused(db, q.issue, "HT", now=MON_9)
        assert error.code == "range_exhausted", error.code
        assert type(error) is q.QueueError  # a conflict with the queue, not a missing thing or bad input
    assert issue(db, "CT")["number"] == 2001, "another service still issues"

    # the supervisor widens the range during the day: the next number follows 1003 with no gap
    site = db.site = db.run(change_item, "services", "HT", {"numbers": {"end": 1999}}).runtime
    assert issue(db)["number"] == 1004
    assert numbers(db, "HT") == [1001, 1002, 1003, 1004]
    with db.Session() as s:
        last = s.scalar(select(SEQ.c.last_number).where(SEQ.c.service_id == site.service_ids["HT"]))
    assert last == 1004


def test_exhausted_range_starts_again_next_day(make_queue, make_config, config_data):
    db = make_queue(make_config(services=tiny_ht_range(config_data, end=1001)))
    assert issue(db)["number"] == 1001
    assert refused(db, q.issue, "HT", now=MON_9).code == "range_exhausted"
    assert issue(db, now=MON_9 + dt.timedelta(days=1))["number"] == 1001


def limited_ht(config_data: dict, limit: int) -> list[dict]:
    services = [dict(s) for s in config_data["services"]]
    services[0] = {**services[0], "daily_limit": limit}
    return services


@pytest.mark.parametrize(
    "when, reopens, why",
    [
        ("2026-11-28 16:00", "2026-11-30 07:30", "Saturday afternoon: Sunday is closed"),
        ("2026-09-01 16:00", "2026-09-03 07:30", "the day before Quoc khanh (2 September, a holiday)"),
    ],
)
def test_daily_limit_refuses_with_the_time_until_the_next_opening(
    make_queue, make_config, config_data, when, reopens, why
):
    db = make_queue(make_config(services=limited_ht(config_data, 2)))
    now = local(when)
    assert issue(db, now=now)["number"] == 1001
    assert issue(db, now=now, priority="elderly")["number"] == 1002  # priority tickets count too

    error = refused(db, q.issue, "HT", now=now)
    assert (error.code, type(error), error.params["limit"]) == ("daily_limit_reached", q.TooMany, 2)
    assert error.params["retry_after"] == (local(reopens) - now).total_seconds(), why
    assert issue(db, "CT", now=now)["number"] == 2001, "another service still issues"
    assert issue(db, now=local(reopens))["number"] == 1001, "the next working day starts again"


# --- opening hours ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "when, why, code",
    [
        ("2026-11-23 07:29:59", "before opening (07:30)", "closed"),
        ("2026-11-23 17:00", "at closing time (17:00)", "closed"),
        ("2026-11-23 21:00", "in the evening", "closed"),
        ("2026-11-29 09:00", "on Sunday", "closed_day"),  # said as a day that is not a working day
        ("2026-09-02 09:00", "on a holiday (Quoc khanh, a Wednesday)", "closed_holiday"),  # said as a holiday
        ("2026-01-01 09:00", "on a holiday (New Year)", "closed_holiday"),
    ],
)
def test_closed_hours_refuse_tickets(queue, when, why, code):
    error = refused(queue, q.issue, "HT", now=local(when))
    assert error.code == code, f"{why}: got {error.code}"
    assert type(error) is q.QueueError  # a conflict with the queue


@pytest.mark.parametrize("when", ["2026-11-23 07:30", "2026-11-23 16:59:59", "2026-11-28 09:00", "2026-09-03 09:00"])
def test_open_hours_issue(queue, when):
    assert issue(queue, now=local(when))["number"] == 1001


def test_closed_hours_can_be_overridden(queue):
    assert issue(queue, now=local("2026-11-29 09:00"), check_hours=False)["number"] == 1001


# --- unknown things ---------------------------------------------------------------------------


def test_unknown_service_priority_kiosk_counter(queue):
    assert refused(queue, q.issue, "XX", now=MON_9).code == "unknown_service"
    assert refused(queue, q.issue, "HT", priority="vip", now=MON_9).code == "unknown_priority"
    assert refused(queue, q.issue, "HT", kiosk="kiosk-9", now=MON_9).code == "unknown_kiosk"
    for action in (q.call_next, q.recall, q.start, q.finish, q.no_show, q.pause, q.resume):
        error = refused(queue, action, 99, now=MON_9)
        assert (error.code, type(error)) == ("unknown_counter", q.NotFound), action.__name__
    issue(queue)
    call(queue, 1)
    assert refused(queue, q.transfer, 1, now=MON_9, service="XX").code == "unknown_service"
    assert refused(queue, q.transfer, 1, now=MON_9, to_counter=99).code == "unknown_counter"
    assert refused(queue, q.transfer, 1, now=MON_9).code == "transfer_target_missing"
    assert refused(queue, q.transfer, 1, now=MON_9, to_counter=1).code == "transfer_same_counter"
    with pytest.raises(q.QueueError) as info:
        queue.run(q.ticket_status, "no-such-ticket")
    assert info.value.code == "unknown_ticket"


def test_known_priority_is_recorded(queue):
    ticket = issue(queue, priority="elderly", kiosk="kiosk-1")
    assert (ticket["priority"], ticket["kiosk"], ticket["status"]) == ("elderly", "kiosk-1", "waiting")


# --- counter actions without a ticket ---------------------------------------------------------


def test_actions_need_a_current_ticket(queue):
    for action in (q.recall, q.start, q.finish, q.no_show):
        assert refused(queue, action, 1, now=MON_9).code == "no_current_ticket", action.__name__
    assert refused(queue, q.transfer, 1, now=MON_9, service="DC").code == "no_current_ticket"


def test_serving_ticket_cannot_be_recalled_started_again_or_no_show(queue):
    issue(queue)
    call(queue, 1)
    queue.run(q.start, 1, now=MON_9 + MIN)
    assert refused(queue, q.recall, 1, now=MON_9 + MIN).code == "ticket_not_called"
    assert refused(queue, q.start, 1, now=MON_9 + MIN).code == "already_serving"
    assert refused(queue, q.no_show, 1, now=MON_9 + MIN).code == "ticket_not_called"


def test_full_lifecycle_and_no_show(queue):
    a, b = issue(queue), issue(queue)
    assert call(queue, 1, now=MON_9 + MIN)["number"] == 1001
    queue.run(q.recall, 1, now=MON_9 + 2 * MIN)
    queue.run(q.start, 1, now=MON_9 + 3 * MIN)
    done = queue.run(q.finish, 1, now=MON_9 + 8 * MIN).ticket
    assert done["status"] == "done"
    assert call(queue, 1, now=MON_9 + 9 * MIN)["number"] == 1002
    gone = queue.run(q.no_show, 1, now=MON_9 + 11 * MIN).ticket
    assert gone["status"] == "no_show"
    assert event_kinds(queue, a["id"]) == ["issued", "called", "recalled", "started", "finished"]
    assert event_kinds(queue, b["id"]) == ["issued", "called", "no_show"]
    assert queue.run(q.counter_states)[0]["ticket"] is None


# --- transfer ---------------------------------------------------------------------------------


def test_transfer_to_a_service(make_queue, config, migrated_db_url):
    db = make_queue(config, migrated_db_url)
    ticket = issue(db, "HT")
    call(db, 1, now=MON_9 + 5 * MIN)
    db.run(q.start, 1, now=MON_9 + 6 * MIN)
    moved = db.run(q.transfer, 1, now=MON_9 + 7 * MIN, service="DC").ticket

    assert moved["status"] == "waiting"
    assert (moved["service"], moved["origin_service"], moved["number"]) == ("DC", "HT", 1001)
    assert moved["issued_at"] == ticket["issued_at"], "a transfer keeps the original issue time"
    assert moved["counter"] is None and moved["target_counter"] is None
    assert db.run(q.counter_states)[0]["ticket"] is None, "counter 1 no longer holds the ticket"
    assert db.run(q.waiting_counts, now=MON_9 + 7 * MIN)["DC"]["waiting"] == 1
    assert call(db, 1, now=MON_9 + 8 * MIN) is None, "counter 1 (HT only) must not get a DC ticket"

    again = call(db, 4, now=MON_9 + 9 * MIN)  # counter 4 serves DC
    assert (again["number"], again["service"], again["counter"]) == (1001, "DC", 4)
    assert again["called_at"] == ticket["issued_at"][:11] + "02:05:00.000Z", "wait ends at the first call"
    row = ticket_row(db, ticket["id"])
    assert (row.transfers, row.issued_at) == (1, MON_9)
    with db.Session() as s:
        calls = s.execute(select(E.c.detail).where(E.c.kind == "called").order_by(E.c.id)).scalars().all()
    assert calls == [{"wait_seconds": 300.0}, {"repeat_call": True}]
    assert event_kinds(db, ticket["id"]) == ["issued", "called", "started", "transferred", "called"]
    assert numbers(db, "HT") == [1001] and numbers(db, "DC") == []


def _changed(outcome, service: str) -> dict:
    """The counts of ``service``'s queue in the outcome's queue.changed."""
    return next(h.detail["waiting"][service] for h in outcome.happened if h.kind == "queue.changed")


def test_transfer_to_a_counter_only_that_counter_gets_it(make_queue, config, migrated_db_url):
    db = make_queue(config, migrated_db_url)
    ticket = issue(db, "HT", priority="elderly")
    call(db, 2, now=MON_9 + MIN)  # counter 2 serves HT and CT
    transferred = db.run(q.transfer, 2, now=MON_9 + 2 * MIN, to_counter=5)  # counter 5: LD, VH
    moved = transferred.ticket
    assert (moved["status"], moved["service"], moved["target_counter"], moved["number"]) == ("waiting", "HT", 5, 1001)
    assert moved["issued_at"] == ticket["issued_at"]
    # it waits for counter 5 alone: out of HT's queue and its counts (the lobby's, with the priority ones)
    assert _changed(transferred, "HT") == {"waiting": 0, "priority": 0}

    assert call(db, 1, now=MON_9 + 3 * MIN) is None, "counter 1 serves HT but the ticket was sent to counter 5"
    assert call(db, 2, now=MON_9 + 3 * MIN) is None
    with pytest.raises(q.QueueError):
        db.run(q.call_next, 1, now=MON_9 + 3 * MIN, number=1001)
    walk_in = db.run(q.issue, "HT", now=MON_9 + 3 * MIN)  # nobody ahead, the only one the lobby shows for HT
    assert walk_in.ticket["waiting_ahead"] == 0 and _changed(walk_in, "HT") == {"waiting": 1, "priority": 0}
    assert db.run(q.waiting_counts, now=MON_9 + 3 * MIN)["HT"] == {"waiting": 1, "priority": 0}
    called = db.run(q.call_next, 5, now=MON_9 + 4 * MIN)
    got = called.ticket
    assert (got["number"], got["counter"], got["target_counter"]) == (1001, 5, None)
    assert _changed(called, "HT") == {"waiting": 1, "priority": 0}  # HT's queue did not move
    assert ticket_row(db, ticket["id"]).issued_at == MON_9


def test_transferred_ticket_keeps_its_number_and_later_tickets_continue(queue):
    issue(queue, "HT")
    call(queue, 1)
    queue.run(q.transfer, 1, now=MON_9 + MIN, service="CT")
    assert issue(queue, "CT", now=MON_9 + 2 * MIN)["number"] == 2001, "CT numbers are not taken by a transfer"
    assert issue(queue, "HT", now=MON_9 + 2 * MIN)["number"] == 1002


# --- pause and resume -------------------------------------------------------------------------


def counter_state(db, number: int) -> dict:
    return next(c for c in db.run(q.counter_states) if c["number"] == number)


def test_pause_and_resume(queue):
    queue.run(q.pause, 1, reason="lunch", now=MON_9)
    assert (counter_state(queue, 1)["state"], counter_state(queue, 1)["pause_reason"]) == ("paused", "lunch")
    assert refused(queue, q.pause, 1, now=MON_9).code == "counter_paused"
    queue.run(q.resume, 1, now=MON_9 + MIN)
    assert counter_state(queue, 1)["state"] == "open"
    assert refused(queue, q.resume, 1, now=MON_9).code == "counter_not_paused"


def test_cannot_pause_while_holding_a_ticket(queue):
    issue(queue)
    call(queue, 1)
    error = refused(queue, q.pause, 1, now=MON_9)
    assert (error.code, error.params.get("number")) == ("counter_busy", 1001)


def test_next_on_a_paused_counter_reopens_it(queue):
    issue(queue)
    queue.run(q.pause, 1, now=MON_9)
    assert call(queue, 1, now=MON_9 + MIN)["number"] == 1001
    assert counter_state(queue, 1)["state"] == "open"
    with queue.Session() as s:
        kinds = s.scalars(select(E.c.kind).where(E.c.ticket_id.is_(None)).order_by(E.c.id)).all()
    assert kinds == ["paused", "resumed"]


# --- next ------------------------------------------------------------------------------------


def test_next_finishes_the_current_ticket(queue):
    first, second = issue(queue), issue(queue)
    call(queue, 1, now=MON_9 + MIN)
    queue.run(q.start, 1, now=MON_9 + 2 * MIN)
    assert call(queue, 1, now=MON_9 + 6 * MIN)["number"] == 1002
    row = ticket_row(queue, first["id"])
    assert (row.status, row.finished_at) == ("done", MON_9 + 6 * MIN)
    with queue.Session() as s:
        finished = s.execute(select(E).where(E.c.kind == "finished")).one()
    assert finished.detail == {"service_seconds": 240.0, "by": "next"}
    assert counter_state(queue, 1)["ticket"]["number"] == 1002

    # next with nobody waiting still ends the current ticket and leaves the counter free; called
    # and never started, the citizen did not come (policy.unstarted_at_next: no_show, the default)
    assert call(queue, 1, now=MON_9 + 9 * MIN) is None
    assert ticket_row(queue, second["id"]).status == "no_show"
    assert counter_state(queue, 1)["ticket"] is None


def test_next_with_nobody_waiting_returns_nothing(queue):
    before = snapshot(queue)
    assert call(queue, 3) is None
    assert snapshot(queue) == before


def test_call_a_specific_number(queue):
    for _ in range(3):
        issue(queue, "HT")
    issue(queue, "CT")
    got = call(queue, 2, number=1003)
    assert (got["number"], got["counter"]) == (1003, 2)
    assert refused(queue, q.call_next, 1, now=MON_9, number=1003).code == "ticket_not_waiting"
    assert refused(queue, q.call_next, 3, now=MON_9, number=1001).code == "ticket_not_waiting", (
        "counter 3 (CT only) must not take an HT number"
    )
    assert refused(queue, q.call_next, 1, now=MON_9, number=1999).code == "ticket_not_waiting"
    # the plain "next" of counter 1 continues with the oldest waiting ticket
    assert call(queue, 1)["number"] == 1001
    # counter 2 can call a CT number too; it finishes 1003 first
    assert call(queue, 2, now=MON_9 + MIN, number=2001)["number"] == 2001
    assert ticket_row(queue, counter_state(queue, 2)["ticket"]["id"]).number == 2001


# --- estimated wait ---------------------------------------------------------------------------


def eta(db, ticket: dict) -> tuple[int, int]:
    view = db.run(q.ticket_status, ticket["id"], now=MON_9)  # the tickets' time: aging reorders a later read
    return view["waiting_ahead"], view["eta_minutes"]


def test_estimated_wait_uses_default_minutes_and_open_counters(queue):
    # HT: default 6 minutes per citizen, counters 1 and 2 serve it
    tickets = [issue(queue, "HT") for _ in range(4)]
    assert [(t["waiting_ahead"], t["eta_minutes"]) for t in tickets] == [(0, 0), (1, 3), (2, 6), (3, 9)]
    # CT: default 3 minutes, three counters (2, 3, 6)
    ct = [issue(queue, "CT") for _ in range(4)]
    assert [t["eta_minutes"] for t in ct] == [0, 1, 2, 3]

    queue.run(q.pause, 2, now=MON_9)  # a paused counter does not serve anyone
    assert eta(queue, tickets[3]) == (3, 18)
    assert eta(queue, ct[3]) == (3, math.ceil(3 * 3 / 2))
    queue.run(q.resume, 2, now=MON_9)
    assert eta(queue, tickets[3]) == (3, 9)


def test_a_priority_ticket_is_told_the_place_the_policy_gives_it(queue):
    """Interleave, at most 2 normal in a row while a priority ticket waits: behind five walk-ins the
    first priority ticket is called third and the second sixth, and each is told so."""
    walk_ins = [issue(queue, "HT")["number"] for _ in range(5)]
    first = issue(queue, "HT", priority="elderly")
    second = issue(queue, "HT", priority="disabled")
    assert (first["waiting_ahead"], second["waiting_ahead"]) == (2, 5)
    assert (eta(queue, first)[0], eta(queue, second)[0]) == (2, 5)
    called = [call(queue, 1)["number"] for _ in range(7)]
    assert called == [*walk_ins[:2], first["number"], *walk_ins[2:4], second["number"], walk_ins[4]]


def test_estimated_wait_learns_from_finished_service_times(queue):
    for _ in range(5):
        issue(queue, "HT")
    call(queue, 1, now=MON_9 + MIN)
    queue.run(q.finish, 1, now=MON_9 + 3 * MIN)  # 120 s of service
    waiting = [t for t in queue.tickets() if t.status == "waiting"]
    last = waiting[-1]
    # 3 ahead x 2 minutes / 2 open counters
    assert eta(queue, {"id": last.public_id}) == (3, 3)

    call(queue, 1, now=MON_9 + 4 * MIN)
    queue.run(q.start, 1, now=MON_9 + 5 * MIN)
    queue.run(q.finish, 1, now=MON_9 + 9 * MIN)  # 240 s: average 0.8*120 + 0.2*240 = 144 s
    assert eta(queue, {"id": last.public_id}) == (2, math.ceil(144 / 60 * 2 / 2))
    # DC has no history yet: still its default 10 minutes, one counter
    issue(queue, "DC")
    assert issue(queue, "DC")["eta_minutes"] == 10


def test_called_ticket_has_no_wait_left(queue):
    ticket = issue(queue)
    call(queue, 1)
    assert eta(queue, ticket) == (0, 0)


# --- statistics from events -------------------------------------------------------------------


def times_from_events(events) -> dict[int, dict]:
    """wait = first call - issue; service = finish - start (start defaults to the latest call)."""
    out: dict[int, dict] = {}
    for e in events:
        if e.ticket_id is None:
            continue
        t = out.setdefault(e.ticket_id, {"issued": None, "first_call": None, "start": None, "finished": None})
        if e.kind == "issued":
            t["issued"] = e.at
        elif e.kind in ("called", "recalled"):
            t["first_call"] = t["first_call"] or e.at
            t["start"] = e.at
        elif e.kind == "started":
            t["start"] = e.at
        elif e.kind in ("finished", "no_show"):
            t["finished"] = (e.kind, e.at)
    return {
        tid: {
            "wait": (t["first_call"] - t["issued"]).total_seconds() if t["first_call"] else None,
            "service": (t["finished"][1] - t["start"]).total_seconds()
            if t["finished"] and t["finished"][0] == "finished"
            else None,
        }
        for tid, t in out.items()
    }


def test_wait_and_service_times_are_derivable_from_events(queue):
    a = issue(queue, now=MON_9)
    b = issue(queue, now=MON_9 + MIN)
    c = issue(queue, now=MON_9 + 2 * MIN)
    call(queue, 1, now=MON_9 + 5 * MIN)  # a: wait 300 s
    queue.run(q.start, 1, now=MON_9 + 6 * MIN)
    queue.run(q.finish, 1, now=MON_9 + 10 * MIN)  # a: service 240 s (from start)
    call(queue, 2, now=MON_9 + 7 * MIN)  # b: wait 360 s
    queue.run(q.finish, 2, now=MON_9 + 10 * MIN)  # b: service 180 s (no start: from the call)
    call(queue, 1, now=MON_9 + 12 * MIN)  # c: wait 600 s
    queue.run(q.no_show, 1, now=MON_9 + 14 * MIN)

    events = queue.events()
    times = times_from_events(events)
    ids = {t.public_id: t.id for t in queue.tickets()}
    assert times[ids[a["id"]]] == {"wait": 300.0, "service": 240.0}
    assert times[ids[b["id"]]] == {"wait": 360.0, "service": 180.0}
    assert times[ids[c["id"]]] == {"wait": 600.0, "service": None}

    # the engine's own figures in the event details and ticket rows agree with these, for walk-in
    # tickets (these three): the engine counts a wait from the issue, and so do the reports for every
    # ticket but a remote number, whose lobby wait they count from its check-in (docs/reports.md)
    assert all(row.origin != "remote" for row in queue.tickets())
    for e in events:
        if e.kind == "called":
            assert e.detail["wait_seconds"] == times[e.ticket_id]["wait"]
        if e.kind == "finished":
            assert e.detail["service_seconds"] == times[e.ticket_id]["service"]
    for row in queue.tickets():
        assert (row.called_at - row.issued_at).total_seconds() == times[row.id]["wait"]
    # no-show rate = no-shows / calls
    kinds = [e.kind for e in events]
    assert kinds.count("no_show") / kinds.count("called") == pytest.approx(1 / 3)
    # every event names its counter, ticket events their service
    for e in events:
        if e.kind != "issued":
            assert e.counter_id is not None, e.kind
        assert e.service_id is not None and e.site_id == "phuc-la"


def test_recall_does_not_change_the_wait(queue):
    issue(queue)
    call(queue, 1, now=MON_9 + 5 * MIN)
    queue.run(q.recall, 1, now=MON_9 + 7 * MIN)
    row = queue.tickets()[0]
    assert (row.called_at, row.last_called_at) == (MON_9 + 5 * MIN, MON_9 + 7 * MIN)
    calls = queue.run(q.recent_calls, now=MON_9 + 8 * MIN)
    assert [(c["number"], c["recall"], c["called_by"]) for c in calls] == [(1001, True, 1), (1001, False, 1)]


def test_a_call_of_a_number_sent_back_to_wait_leaves_the_latest_calls(
    make_queue, make_config, config_data, migrated_db_url
):
    """The history the lobby shows keeps the calls answered and standing, not one whose number waits again
    (transferred, requeued by its counter's close) until it is called again, with its new counter."""
    db = make_queue(make_config(site=all_day_site(config_data)), migrated_db_url)
    for _ in range(3):
        issue(db)

    def shown(minutes: int) -> list[tuple[int, int, bool]]:
        calls = db.run(q.recent_calls, now=MON_9 + minutes * MIN)
        return [(c["number"], c["called_by"], c["recall"]) for c in calls]

    call(db, 1, now=MON_9 + MIN)  # 1001 at counter 1, no-show: its call stays
    db.run(q.no_show, 1, now=MON_9 + 2 * MIN)
    call(db, 2, now=MON_9 + 3 * MIN)  # 1002 at counter 2, recalled, then sent back to its queue
    db.run(q.recall, 2, now=MON_9 + 4 * MIN)
    db.run(q.transfer, 2, now=MON_9 + 5 * MIN, service="HT")
    assert shown(6) == [(1001, 1, False)]
    assert [c["number"] for c in db.run(q.recent_calls, 1, now=MON_9 + 6 * MIN)] == [1001], "past those withdrawn"
    call(db, 1, now=MON_9 + 7 * MIN)  # called again, at counter 1; its counter closes under it
    assert shown(8) == [(1002, 1, False), (1001, 1, False)]
    db.run(q.close_counter, 1, now=MON_9 + 9 * MIN, requeue=1002)
    assert shown(10) == [(1001, 1, False)]
    call(db, 2, now=MON_9 + 11 * MIN)  # and again, at counter 2: finished there, its call stays
    db.run(q.finish, 2, now=MON_9 + 12 * MIN)
    assert shown(13) == [(1002, 2, False), (1001, 1, False)]
    assert db.run(q.recent_calls, 1, [2], now=MON_9 + 13 * MIN)[0]["number"] == 1002, "a zone's, and its limit"


def test_a_call_answered_then_transferred_stays_in_the_latest_calls(
    make_queue, make_config, config_data, migrated_db_url
):
    """A number served at counter 1 and sent on to another service answered its call there (the citizen
    came): the call stays, as a finished one does. The first of its steps after a call decides: served
    ("started") keeps it, sent back to wait before that withdraws it."""
    db = make_queue(make_config(site=all_day_site(config_data)), migrated_db_url)
    issue(db)

    def shown(minutes: int) -> list[tuple[int, int]]:
        return [(c["number"], c["called_by"]) for c in db.run(q.recent_calls, now=MON_9 + minutes * MIN)]

    call(db, 1, now=MON_9 + MIN)
    db.run(q.start, 1, now=MON_9 + 2 * MIN)
    db.run(q.transfer, 1, now=MON_9 + 3 * MIN, service="HT")  # served, then sent on: answered
    assert shown(4) == [(1001, 1)]
    call(db, 2, now=MON_9 + 5 * MIN)  # called again at counter 2, sent back unserved: that call leaves
    db.run(q.transfer, 2, now=MON_9 + 6 * MIN, service="HT")
    assert shown(7) == [(1001, 1)]
    call(db, 1, now=MON_9 + 8 * MIN)
    db.run(q.start, 1, now=MON_9 + 9 * MIN)
    db.run(q.transfer, 1, now=MON_9 + 10 * MIN, service="HT")
    assert shown(11) == [(1001, 1), (1001, 1)]


def test_event_count_matches_actions(queue):
    issue(queue)
    call(queue, 1)
    with queue.Session() as s:
        assert s.scalar(select(func.count()).select_from(E)) == 2


@pytest.mark.parametrize("end_of_day", ["expire", "keep"])
def test_waiting_tickets_expire_when_the_business_day_ends(
    make_queue, make_config, config_data, migrated_db_url, end_of_day
):
    policy = {**config_data["policy"], "end_of_day": end_of_day}
    db = make_queue(make_config(site=all_day_site(config_data), policy=policy), migrated_db_url)
    monday = dt.datetime(2026, 11, 23, 9, 0)  # Mon 16:00 local
    tuesday = dt.datetime(2026, 11, 23, 17, 1)  # Tue 00:01 local
    called, left = issue(db, now=monday), issue(db, now=monday)
    assert call(db, 1, now=monday)["id"] == called["id"]  # 1001 stays with counter 1 overnight
    assert q.expired_count(db.run(q.expire_past_days, now=monday + MIN)) == 0  # the same day: nothing ends

    outcome = db.run(q.expire_past_days, now=tuesday)
    expired = q.expired_count(outcome)
    changed = outcome.happened[-1]  # today's counts for every service: the displays start the day at 0
    assert changed.kind == "queue.changed" and all(c["waiting"] == 0 for c in changed.detail["waiting"].values())
    assert len(changed.detail["waiting"]) == len(config_data["services"])
    if end_of_day == "keep":
        assert expired == 0 and ticket_row(db, left["id"]).status == "waiting"
        assert ticket_row(db, called["id"]).status == "no_show"
        return
    assert expired == 1 and outcome.happened[0].ticket["id"] == left["id"]
    assert outcome.happened[0].ticket["status"] == "expired"  # what the citizen's phone page is told
    row = ticket_row(db, left["id"])
    assert (row.status, row.finished_at) == ("expired", tuesday)
    assert event_kinds(db, left["id"]) == ["issued", "expired"]
    # the one counter 1 still held was never started: the citizen did not come, it is not served
    # by the next morning's first "next" with a night-long service time
    assert (ticket_row(db, called["id"]).status, ticket_row(db, called["id"]).finished_at) == ("no_show", tuesday)
    assert event_kinds(db, called["id"]) == ["issued", "called", "no_show"]
    assert counter_state(db, 1)["state"] == "closed" and counter_state(db, 1)["ticket"] is None
    assert db.run(q.ticket_status, left["id"])["status"] == "expired"  # the phone page says so
    assert q.expired_count(db.run(q.expire_past_days, now=tuesday + MIN)) == 0  # once only


def test_the_day_ends_just_after_local_midnight(config):
    from types import SimpleNamespace

    from queuekiosk.server.web.housekeeping import seconds_to_next_day

    site = SimpleNamespace(config=config)  # Asia/Ho_Chi_Minh: UTC+7
    assert seconds_to_next_day(site, dt.datetime(2026, 11, 23, 16, 59)) == 65  # 23:59 local -> 00:00:05
    assert seconds_to_next_day(site, dt.datetime(2026, 11, 23, 17, 0, 10)) == 24 * 3600 - 5


# --- counter staffing ---------------------------------------------------------------------------


def test_no_promise_while_no_open_counter_serves_the_service(make_queue, config):
    """At dawn every counter is closed: a ticket gets no wait estimate (not "right away") until a
    counter that serves its service opens; closing it takes the promise back."""
    db = make_queue(config, staffed=False)
    assert {c["state"] for c in db.run(q.counter_states)} == {"closed"}
    first, second = issue(db, "DC"), issue(db, "DC")  # only counter 4 serves DC
    assert (first["eta_minutes"], second["eta_minutes"]) == (None, None)
    assert eta(db, second) == (1, None)

    opened = db.run(q.open_counter, 4, now=MON_9)
    assert [(h.kind, h.counter, h.detail) for h in opened.happened] == [("counter.changed", 4, {"state": "open"})]
    assert eta(db, second) == (1, 10) and eta(db, first) == (0, 0)
    assert db.run(q.open_counter, 4, now=MON_9).happened == [], "opening an open counter changes nothing"

    db.run(q.close_counter, 4, now=MON_9)
    assert eta(db, second) == (1, None)
    assert refused(db, q.pause, 4, now=MON_9).code == "counter_closed"
    # pressing "next" at a closed counter opens it, and the counter cannot close while it holds someone
    called = db.run(q.call_next, 4, now=MON_9 + MIN)
    assert called.ticket["number"] == first["number"]
    assert [h.kind for h in called.happened][0] == "counter.changed"
    assert counter_state(db, 4)["state"] == "open"
    assert refused(db, q.close_counter, 4, now=MON_9 + MIN).code == "counter_busy"


def test_a_citizen_being_served_when_the_day_ended_is_served_until_closing_time(make_queue, config):
    """Started and never finished: done at the day's closing time (17:00), not the next morning."""
    db = make_queue(config)
    started = dt.datetime(2026, 11, 23, 9, 40)  # Mon 16:40 local
    issue(db, now=started)
    call(db, 1, now=started)
    db.run(q.start, 1, now=started)
    outcome = db.run(q.expire_past_days, now=dt.datetime(2026, 11, 24, 0, 30))  # Tue 07:30 local
    finished = next(h for h in outcome.happened if h.kind == "ticket.finished")
    assert finished.counter == 1 and finished.ticket["status"] == "done"
    row = db.tickets()[0]
    assert (row.status, row.finished_at) == ("done", dt.datetime(2026, 11, 23, 10, 0))  # 17:00 local: 20 min
    assert [h.detail for h in outcome.happened if h.kind == "counter.changed"] == [{"state": "closed"}] * 6
    again = db.run(q.expire_past_days, now=dt.datetime(2026, 11, 24, 0, 31))
    assert not [h for h in again.happened if h.kind != "queue.changed"], "a second run ends nothing more"
