"""Which waiting ticket a counter gets: ``choose_next`` is the one rule, the rest finds its
candidates and claims the chosen one against other counters."""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Iterator
from operator import itemgetter

from sqlalchemy import and_, bindparam, literal, or_, select, union_all

from ..config import Policy
from ..errors import QueueError
from .clock import local_time
from .named_rows import Named
from .records import C, T
from .types import Candidate


def choose_next(
    oldest_normal: Candidate | None,
    oldest_priority: Candidate | None,
    policy: Policy,
    normal_streak: int,
    now: dt.datetime,
    due_booking: Candidate | None = None,
) -> Candidate | None:
    """The one rule for "next": a booking whose slot has begun, then max-wait aging, then the
    priority policy, else first come first served.

    ``due_booking`` is the waiting ticket of a citizen who checked in within the grace window
    and whose slot has begun (the earliest slot first, server/core/bookings/): the booking is
    a promise of that time, so it goes ahead of walk-ins, priority classes and aging alike.
    Checked in late, a booked citizen is an ordinary walk-in (no due time). ``normal_streak`` is
    how many normal tickets this counter called in a row while a priority ticket waited.
    """
    if due_booking is not None:
        return due_booking
    waiting = [c for c in (oldest_normal, oldest_priority) if c is not None]
    if not waiting:
        return None
    oldest = min(waiting, key=lambda c: (c.issued_at, c.id))
    if policy.max_wait_minutes is not None and now - oldest.issued_at >= dt.timedelta(minutes=policy.max_wait_minutes):
        return oldest
    if oldest_priority is None or oldest_normal is None or policy.priority == "none":
        return oldest
    if policy.priority == "strict":
        return oldest_priority
    # interleave: first come first served, but never more than N normal in a row while a priority waits
    if oldest is oldest_priority or normal_streak >= policy.normal_per_priority:
        return oldest_priority
    return oldest_normal


def streak_after(normal_streak: int, priority_waited: bool, called_priority: bool) -> int:
    """A counter's ``normal_streak`` after ``choose_next`` chose between a normal and a priority ticket:
    one more normal call while a priority ticket waited, else 0. (A due booking's call leaves it as it
    was: a booking's time is no choice between the two.)"""
    return normal_streak + 1 if priority_waited and not called_priority else 0


def _arrival(ticket: Candidate) -> tuple:
    return ticket.issued_at, ticket.id


def may_jump(ticket: Candidate, now: dt.datetime) -> bool:
    """Whether ``choose_next`` may call a waiting ticket before older ones: a priority ticket, or a booking
    whose slot has begun. Where no ticket waiting may, ``call_order`` is arrival order (issued_at, id) whatever
    the policy and streak, for ``choose_next`` is only ever offered the oldest ticket (tests/test_call_order.py):
    the people ahead of a ticket are then a count (estimates.py). ``JUMPS``: the same, in SQL."""
    return ticket.priority or (ticket.due_at is not None and ticket.due_at <= now)


JUMPS = or_(T.c.priority_id.is_not(None), T.c.due_at <= bindparam("now"))


def call_order(
    waiting: list[Candidate], policy: Policy, normal_streak: int, now: dt.datetime, bookings: bool = True
) -> Iterator[Candidate]:
    """``waiting`` in the order one counter pressing "next" again and again from ``now`` would call them,
    nobody arriving meanwhile: ``choose_next`` on the heads ``candidates`` finds (the oldest normal, the
    oldest priority, the earliest due booking), the streak moving as ``choose_for`` moves it. Played as
    it is read: a reader that found what it looked for plays no further.
    ``bookings``: whether the counter looks for due bookings (``takes_bookings``)."""
    due = [t for t in waiting if t.due_at is not None and t.due_at <= now] if bookings else []
    normal = deque(sorted((t for t in waiting if not t.priority), key=_arrival))
    priority = deque(sorted((t for t in waiting if t.priority), key=_arrival))
    booked = deque(sorted(due, key=lambda t: (t.due_at, t.id)))
    called: set[int] = set()

    def head(line: deque) -> Candidate | None:
        while line and line[0].id in called:  # called already from another line (a due booking)
            line.popleft()
        return line[0] if line else None

    while True:
        oldest_normal, oldest_priority, due_booking = head(normal), head(priority), head(booked)
        chosen = choose_next(oldest_normal, oldest_priority, policy, normal_streak, now, due_booking)
        if chosen is None:
            return
        yield chosen
        called.add(chosen.id)
        if due_booking is None:
            normal_streak = streak_after(normal_streak, oldest_priority is not None, chosen is oldest_priority)


def in_call_order(result, site, service_ids, normal_streak: int, now: dt.datetime) -> Iterator:
    """The rows of ``result`` (waiting tickets, ``CANDIDATE_COLUMNS`` among its columns) in ``call_order`` for
    a counter serving ``service_ids`` from ``normal_streak``."""
    # columns read by position: by name, a SQLAlchemy row's cost more than the rest of ordering the queue
    keys = list(result.keys())
    fields = itemgetter(*(keys.index(column.name) for column in CANDIDATE_COLUMNS))
    waiting, rows = [], {}
    for row in result:
        waiting.append(ticket := _candidate(*fields(row)))
        rows[ticket.id] = row
    if not any(may_jump(ticket, now) for ticket in waiting):
        order = sorted(waiting, key=_arrival)  # the usual queue: no need to play it
    else:
        order = call_order(waiting, site.config.policy, normal_streak, now, takes_bookings(site, service_ids))
    for ticket in order:
        yield rows[ticket.id]


# a ticket sent to one counter (a transfer) has left its service's queue: only that counter calls it, and
# its service's counters neither call it nor count it among the people ahead (estimates.py ``_queue``)
IN_SERVICE_QUEUE = T.c.target_counter_id.is_(None)


def for_counter(site, counter_id: int, counter_number: int):
    """Waiting tickets this counter may call: its services' queues, and tickets transferred to it."""
    return or_(
        and_(T.c.service_id.in_(site.counter_service_ids[counter_number]), IN_SERVICE_QUEUE),
        T.c.target_counter_id == counter_id,
    )


def counter_call_order(conn, site, counter_number: int, day: dt.date, now: dt.datetime) -> Iterator:
    """The waiting tickets of ``day`` this counter may call (``for_counter``: its services' queues and the
    tickets sent to it), in the order its "next" calls them from its streak (``in_call_order``)."""
    counter_id = site.counter_ids[counter_number]
    streak = conn.execute(select(C.c.normal_streak).where(C.c.id == counter_id)).scalar_one()
    rows = conn.execute(
        select(T).where(
            T.c.site_id == site.id,
            T.c.business_day == day,
            T.c.status == "waiting",
            for_counter(site, counter_id, counter_number),
        )
    )
    return in_call_order(rows, site, site.counter_service_ids[counter_number], streak, now)


# every "next" runs this: built once per number of services a counter serves (and whether one takes
# bookings), with the site, day, counter and its services as plain parameters (building a statement
# costs more than running it on SQLite, see numbering.py; an "expanding" IN list is rewritten at
# every execution), and run straight on the database's cursor (named_rows.py)
CANDIDATE_COLUMNS = (T.c.id, T.c.issued_at, T.c.called_at, T.c.priority_id, T.c.due_at, T.c.target_counter_id)
NORMAL, PRIORITY, DUE = "normal", "priority", "due"


def _arms(services: int):
    """Today's waiting tickets the counter may call (as ``for_counter``), one condition per queue: each
    of its ``services`` (as parameters) and the tickets transferred to it. Apart, each is one range of
    an index (ix_tickets_queue: site, status, service, then issue time) read in order and left at its
    first ticket; joined by OR, the database read and sorted every waiting ticket of the site."""
    today = (T.c.site_id == bindparam("site_id"), T.c.business_day == bindparam("day"), T.c.status == "waiting")
    queues = [and_(*today, T.c.service_id == bindparam(f"service_{i}"), IN_SERVICE_QUEUE) for i in range(services)]
    return [*queues, and_(*today, T.c.target_counter_id == bindparam("counter_id"))]


def _candidates_query(services: int, bookings: bool, exclude: frozenset[int] = frozenset()):
    """The first ticket of each kind in each of the counter's queues (``_arms``), in one statement (one
    round trip), rows tagged ``kind``: the oldest normal, the oldest priority and (``bookings``) the
    earliest due booked ticket; ``candidates`` keeps the first of each kind."""
    kinds = {
        NORMAL: ((T.c.priority_id.is_(None),), (T.c.issued_at, T.c.id)),
        PRIORITY: ((T.c.priority_id.is_not(None),), (T.c.issued_at, T.c.id)),
    }
    if bookings:
        kinds[DUE] = ((T.c.due_at.is_not(None), T.c.due_at <= bindparam("now")), (T.c.due_at, T.c.id))
    parts = []
    for arm in _arms(services):
        for kind, (where, order) in kinds.items():
            query = select(*CANDIDATE_COLUMNS).where(arm, *where).order_by(*order)
            if exclude:
                query = query.where(T.c.id.not_in(exclude))
            parts.append(select(query.limit(1).add_columns(literal(kind).label("kind")).subquery()))
    return union_all(*parts)


_CANDIDATES: dict[tuple[int, bool], Named] = {}  # (services, bookings) -> the statement


def takes_bookings(site, service_ids) -> bool:
    """Whether one of a counter's services takes bookings (else no booked ticket is looked for)."""
    services = (site.config.service(site.service_codes[s]) for s in service_ids)
    return any(service is not None and service.booking is not None for service in services)


def as_candidate(row) -> Candidate:
    """A waiting ticket's row (``CANDIDATE_COLUMNS`` at least) as ``choose_next`` weighs it."""
    return _candidate(row.id, row.issued_at, row.called_at, row.priority_id, row.due_at, row.target_counter_id)


def _candidate(ticket_id, issued_at, called_at, priority_id, due_at, target_counter_id) -> Candidate:
    """``CANDIDATE_COLUMNS``' values, in their order."""
    return Candidate(
        ticket_id, issued_at, priority_id is not None, called_at is not None, due_at, target_counter_id is not None
    )


def _first(kind: str, row) -> tuple:
    return (row.due_at, row.id) if kind == DUE else (row.issued_at, row.id)


def candidates(conn, site, counter, day, now, exclude: set[int]) -> dict[str, Candidate]:
    """The first waiting ticket of each kind this counter may call (``NORMAL``, ``PRIORITY``, ``DUE``: a
    booking whose slot has begun, looked for only where the counter's services take bookings)."""
    services = list(site.counter_service_ids[counter.number])
    bookings = takes_bookings(site, services)
    params = {"site_id": site.id, "day": day, "counter_id": counter.id}
    params.update({f"service_{i}": service for i, service in enumerate(services)})
    if bookings:
        params["now"] = now
    if exclude:  # a claim lost to another counter (PostgreSQL): rare, built for the occasion
        rows = conn.execute(_candidates_query(len(services), bookings, frozenset(exclude)), params)
    else:
        query = _CANDIDATES.get((len(services), bookings))
        if query is None:
            query = _CANDIDATES[len(services), bookings] = Named(_candidates_query(len(services), bookings))
        rows = query.named(conn, params)
    first: dict[str, object] = {}
    for row in rows:  # each queue's first of a kind: the first of them all
        if row.kind not in first or _first(row.kind, row) < _first(row.kind, first[row.kind]):
            first[row.kind] = row
    return {kind: as_candidate(row) for kind, row in first.items()}


_CLAIM = Named(
    select(T.c.id).where(T.c.id == bindparam("ticket_id"), T.c.status == "waiting").with_for_update(skip_locked=True)
)


def _claim(conn, ticket_id: int) -> bool:
    """PostgreSQL: lock the chosen ticket unless another counter is taking it right now.

    SQLite needs nothing: BEGIN IMMEDIATE already serialises every writer.
    """
    if conn.dialect.name != "postgresql":
        return True
    return _CLAIM.first(conn, {"ticket_id": ticket_id}) is not None


def choose_for(conn, site, counter, day, now) -> tuple[Candidate | None, int]:
    """The ticket ``choose_next`` picks for this counter, claimed; and the counter's new streak."""
    taken: set[int] = set()
    while True:
        found = candidates(conn, site, counter, day, now, taken)
        normal, prio, due = found.get(NORMAL), found.get(PRIORITY), found.get(DUE)
        chosen = choose_next(normal, prio, site.config.policy, counter.normal_streak, now, due)
        if chosen is None:
            return None, counter.normal_streak
        if _claim(conn, chosen.id):
            if chosen is due:  # a booking's time, not a choice between normal and priority tickets
                return chosen, counter.normal_streak
            return chosen, streak_after(counter.normal_streak, prio is not None, chosen is prio)
        taken.add(chosen.id)  # another counter has it: choose again among the rest


def waiting_number(conn, site, counter, day, number) -> Candidate:
    """Today's waiting ticket ``number``, when the clerk calls it by its number; refused unless
    this counter may call it."""
    query = select(T).where(
        T.c.site_id == site.id,
        T.c.business_day == day,
        T.c.number == number,
        T.c.status == "waiting",
        for_counter(site, counter.id, counter.number),
    )
    if conn.dialect.name == "postgresql":  # wait for a counter taking it now, then see it is gone
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise QueueError(
            "ticket_not_waiting", number=number, counter=counter.number, **_no_show_at(conn, site, day, number)
        )
    return as_candidate(row)


def _no_show_at(conn, site, day, number) -> dict:
    """What the clerk calling ``number`` by hand is told besides "not in this counter's queue": the time
    it was marked a no-show (a citizen come back), said in its own sentence (``message_key``, the code
    stays ticket_not_waiting); nothing more where it was not."""
    ended = conn.execute(
        select(T.c.finished_at).where(
            T.c.site_id == site.id, T.c.business_day == day, T.c.number == number, T.c.status == "no_show"
        )
    ).first()
    if ended is None or ended.finished_at is None:
        return {}
    return {"message_key": "ticket_not_waiting_no_show", "time": f"{local_time(site, ended.finished_at):%H:%M}"}
