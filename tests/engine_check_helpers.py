"""The checks on a queue's tables that hold after any engine action (tests/test_engine_properties.py's
state machine runs them after every step, tests/test_choose_next.py's interleave property after every
call): numbers gap-free per service and business day, and the event log replaying to every ticket's status
through ``engine.TRANSITIONS`` with one holder per ticket and at most one ticket per counter."""

from __future__ import annotations

import collections
import datetime as dt

from sqlalchemy import select

from queuekiosk.server.core import engine as q
from queuekiosk.server.core import models as m

T = m.Ticket.__table__
E = m.Event.__table__
SEQ = m.NumberSequence.__table__

MON_9 = dt.datetime(2026, 11, 23, 2, 0)  # Monday 09:00 in Ho Chi Minh City
MIN = dt.timedelta(minutes=1)

# the state an event moves a ticket to, and the states it may start from
EVENT_MOVES = {
    "issued": (None, "waiting"),
    "called": ({"waiting"}, "called"),
    "recalled": ({"called"}, "called"),
    "started": ({"called"}, "serving"),
    "finished": ({"called", "serving"}, "done"),
    "no_show": ({"called"}, "no_show"),
    "transferred": ({"called", "serving"}, "waiting"),
    "requeued": ({"called", "serving"}, "waiting"),
    "expired": ({"waiting"}, "expired"),  # (the day end: a past day's number nobody called)
}
RELEASING = {"finished", "no_show", "transferred", "requeued"}
COUNTER_EVENTS = {"paused", "resumed", "opened", "closed"}

# the statements the checks run, built once (building one costs more than running it on the small
# database of an example)
_NUMBERS = select(T.c.origin_service_id, T.c.business_day, T.c.number)
_SEQUENCES = select(SEQ)
_TICKETS = select(T)
_EVENTS = select(E).order_by(E.c.id)


def check_numbers(conn, site) -> None:
    """Per (service, business day): numbers are start, start+1, ..., start+n-1 and the sequence row agrees."""
    by_key = collections.defaultdict(list)
    for row in conn.execute(_NUMBERS):
        by_key[(row.origin_service_id, row.business_day)].append(row.number)
    last = {(r.service_id, r.business_day): r.last_number for r in conn.execute(_SEQUENCES)}
    for (service_id, day), got in by_key.items():
        code = site.service_codes[service_id]
        start = site.config.service(code).numbers.start
        counts = collections.Counter(got)
        duplicates = sorted(n for n, k in counts.items() if k > 1)
        expected = set(range(start, start + len(got)))
        missing = sorted(expected - set(got))
        extra = sorted(set(got) - expected)
        assert not duplicates and not missing and not extra, (
            f"{code} on {day}: duplicated {duplicates}, missing {missing}, out of sequence {extra}"
        )
        assert last.get((service_id, day)) == start + len(got) - 1, (
            f"{code} on {day}: sequence says {last.get((service_id, day))}, tickets end at {start + len(got) - 1}"
        )


def check_events(conn, site) -> None:
    """Replay the event log: legal moves, one holder per ticket, at most one ticket per counter."""
    tickets = {row.id: row for row in conn.execute(_TICKETS)}
    state: dict[int, str] = {}
    holder: dict[int, int | None] = {}  # ticket -> counter holding it
    holding: dict[int, int] = {}  # counter -> ticket it holds
    called_before: set[int] = set()
    sent_to: dict[int, int] = {}  # ticket -> the counter number it was transferred to alone
    for e in conn.execute(_EVENTS):
        if e.kind in COUNTER_EVENTS:
            assert e.ticket_id is None and e.counter_id is not None, e
            continue
        assert e.kind in EVENT_MOVES, f"unknown event kind {e.kind!r}"
        tid = e.ticket_id
        number = tickets[tid].number
        if e.kind == "requeued" and (e.detail or {}).get("transferred_to") is not None:
            # a number transferred to one counter alone, sent back to its queue as that counter closes:
            # it was waiting for that counter, and waits in its queue again
            to = e.detail["transferred_to"]
            assert state.get(tid) == "waiting" and holder.get(tid) is None, (
                f"ticket {number} sent back from counter {to} while {state.get(tid)}"
            )
            assert sent_to.pop(tid, None) == to == site.counter_numbers[e.counter_id], (
                f"ticket {number} sent back by counter {site.counter_numbers[e.counter_id]} as transferred to {to}"
            )
            continue
        if e.kind == "transferred" and (e.detail or {}).get("to_counter") is not None:
            sent_to[tid] = e.detail["to_counter"]
        elif e.kind in ("called", "expired"):
            sent_to.pop(tid, None)
        sources, target = EVENT_MOVES[e.kind]
        current = state.get(tid)
        if e.kind == "issued":
            assert current is None, f"ticket {number} issued twice"
        else:
            assert current in sources, f"ticket {number}: '{e.kind}' from state {current!r}"
            # (an expiry is the day end's own move, not a command's: not among engine.TRANSITIONS)
            legal = target in q.TRANSITIONS[current] or e.kind == "expired"
            assert legal, f"ticket {number}: {current} -> {target} is not a legal move"
        state[tid] = target

        if e.kind == "called":
            assert holder.get(tid) is None, f"ticket {number} called by counter {e.counter_id} while held"
            assert e.counter_id not in holding, (
                f"counter {e.counter_id} called {number} while holding ticket {tickets[holding[e.counter_id]].number}"
            )
            holder[tid] = e.counter_id
            holding[e.counter_id] = tid
            first = tid not in called_before
            called_before.add(tid)
            if first:
                # the engine's wait is from the issue (its place in line): the reports' wait too for these
                # kiosk tickets, not for a remote number's, counted there from its check-in (docs/reports.md)
                assert e.detail == {"wait_seconds": round((e.at - tickets[tid].issued_at).total_seconds(), 3)}, e.detail
            else:
                assert e.detail == {"repeat_call": True}, f"ticket {number}: a second call must say repeat_call"
        elif e.kind != "issued":
            assert holder.get(tid) == e.counter_id, (
                f"ticket {number}: '{e.kind}' by counter {e.counter_id}, held by {holder.get(tid)}"
            )
            if e.kind in RELEASING:
                holder[tid] = None
                del holding[e.counter_id]

    for tid, row in tickets.items():
        assert state.get(tid) == row.status, (
            f"ticket {row.number}: events end in {state.get(tid)}, row says {row.status}"
        )
        if row.status in m.HELD_STATES:
            assert row.counter_id == holder[tid], f"ticket {row.number}: row counter {row.counter_id}"
        if row.status == "waiting":
            assert row.counter_id is None, f"waiting ticket {row.number} has counter {row.counter_id}"
        if row.status in ("done", "no_show"):
            assert row.finished_at is not None
    held = collections.Counter(r.counter_id for r in tickets.values() if r.status in m.HELD_STATES)
    assert all(k == 1 for k in held.values()), f"a counter holds several tickets: {held}"
    assert {c: t for c, t in holding.items()} == {
        r.counter_id: r.id for r in tickets.values() if r.status in m.HELD_STATES
    }
