"""The queue engine: plain functions over a database session, free of Flask and Socket.IO.

Each action changes the database inside the caller's transaction and returns an ``Outcome``
(what happened); the caller commits and only then tells displays and counters. A refused
action raises ``QueueError`` before anything is written, or the caller rolls back.

``choose_next`` is the one place that decides which ticket a counter gets.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
from dataclasses import dataclass, field
from typing import Any

from types import SimpleNamespace

from sqlalchemy import Date, and_, bindparam, func, insert, or_, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from . import models as m
from .config import Policy
from .db import SiteRuntime
from .errors import Invalid, NotAllowed, NotFound, NotSignedIn, QueueError, TooMany, Unavailable  # noqa: F401  (callers use q.NotFound ...)
from .models import utcnow

T = m.Ticket.__table__
E = m.Event.__table__
C = m.Counter.__table__
S = m.Service.__table__
CS = m.CounterService.__table__
SEQ = m.NumberSequence.__table__

# legal moves of the ticket state machine (SPEC "Ticket lifecycle"); recall keeps "called",
# transfer puts the ticket back to "waiting" in another queue
TRANSITIONS = {
    "waiting": {"called"},
    "called": {"called", "serving", "done", "no_show", "waiting"},
    "serving": {"done", "waiting"},
    "done": set(),
    "no_show": set(),
}

EMA_WEIGHT = 0.2  # weight of the newest service time in the service's moving average


@dataclass(frozen=True)
class Actor:
    """Who acts: a logged-in user, an API token, or nobody (a citizen at the kiosk)."""

    user_id: int | None = None
    token_id: int | None = None


@dataclass
class Happened:
    kind: str  # "ticket.called", "counter.changed", ...
    ticket: dict | None = None
    counter: int | None = None
    detail: dict = field(default_factory=dict)


@dataclass
class Outcome:
    ticket: dict | None = None
    happened: list[Happened] = field(default_factory=list)


@dataclass(frozen=True)
class Candidate:
    id: int
    issued_at: dt.datetime
    priority: bool
    called_before: bool = False  # a transferred ticket: its wait ended at its first call


def _connection(db: Session | Connection) -> Connection:
    """Engine functions take an ORM Session or a Core Connection, inside the caller's transaction."""
    return db.connection() if isinstance(db, Session) else db


# --- time ---------------------------------------------------------------------------------

def local_time(site: SiteRuntime, now: dt.datetime) -> dt.datetime:
    return now.replace(tzinfo=dt.timezone.utc).astimezone(site.config.site.zone)


def business_day(site: SiteRuntime, now: dt.datetime) -> dt.date:
    """The site's local date: numbers restart at local midnight, not at UTC midnight."""
    return local_time(site, now).date()


# --- views --------------------------------------------------------------------------------

def ticket_view(site: SiteRuntime, row) -> dict:
    service = site.service_codes.get(row.service_id)
    return {
        "id": row.public_id,
        "number": row.number,
        "display": str(row.number),
        "service": service,
        "origin_service": site.service_codes.get(row.origin_service_id),
        "priority": site.priority_codes.get(row.priority_id) if row.priority_id else None,
        "status": row.status,
        "issued_at": _iso(row.issued_at),
        "called_at": _iso(row.called_at),
        # the latest call and the start of the service: the clerk console's service timer
        "last_called_at": _iso(getattr(row, "last_called_at", None)),
        "started_at": _iso(getattr(row, "started_at", None)),
        "finished_at": _iso(getattr(row, "finished_at", None)),
        "counter": site.counter_numbers.get(row.counter_id) if row.counter_id else None,
        "target_counter": site.counter_numbers.get(row.target_counter_id) if row.target_counter_id else None,
        "kiosk": row.kiosk_id,
        "business_day": row.business_day.isoformat(),
    }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="milliseconds") + "Z" if value else None


# --- helpers ------------------------------------------------------------------------------

def _event(conn, site, kind, now, actor: Actor | None, ticket_id=None, service_id=None,
           counter_id=None, detail=None):
    actor = actor or Actor()
    conn.execute(_INSERT_EVENT, {
        "site_id": site.id, "kind": kind, "at": now, "ticket_id": ticket_id, "service_id": service_id,
        "counter_id": counter_id, "user_id": actor.user_id, "token_id": actor.token_id, "detail": detail,
    })


# Issuing is the hot path: its statements are built once (building a statement costs more
# than running it on SQLite). The same SQL runs on SQLite and PostgreSQL.
_NEXT_NUMBER = text(
    "INSERT INTO number_sequences (service_id, business_day, last_number, waiting, priority_waiting) "
    "VALUES (:service, :day, :start, 1, :priority) ON CONFLICT (service_id, business_day) DO UPDATE SET "
    "last_number = number_sequences.last_number + 1, waiting = number_sequences.waiting + 1, "
    "priority_waiting = number_sequences.priority_waiting + :priority "
    "RETURNING last_number, waiting, priority_waiting, "
    # what the wait estimate needs, in the same round trip
    "(SELECT avg_service_seconds FROM services WHERE id = :service), "
    "(SELECT count(*) FROM counters c JOIN counter_services cs ON cs.counter_id = c.id "
    " WHERE cs.service_id = :service AND c.state = 'open' AND c.active)"
).bindparams(bindparam("day", type_=Date()))
_QUEUE_DELTA = text(
    "INSERT INTO number_sequences (service_id, business_day, last_number, waiting, priority_waiting) "
    "VALUES (:service, :day, :none_given, :delta, :priority_delta) ON CONFLICT (service_id, business_day) "
    "DO UPDATE SET waiting = number_sequences.waiting + :delta, "
    "priority_waiting = number_sequences.priority_waiting + :priority_delta"
).bindparams(bindparam("day", type_=Date()))
_INSERT_TICKET = insert(T).returning(T.c.id)
_INSERT_EVENT = insert(E)
_SERVICE_PACE = text(
    "SELECT s.avg_service_seconds, (SELECT count(*) FROM counters c "
    "JOIN counter_services cs ON cs.counter_id = c.id "
    "WHERE cs.service_id = s.id AND c.state = 'open' AND c.active) FROM services s WHERE s.id = :service"
)


def _next_number(conn, service_id: int, day: dt.date, start: int, priority: bool):
    """Atomic per-service, per-day counter: the upsert and the ticket insert share one transaction.

    Returns the new number, the queue's waiting and priority-waiting counts, the service's
    average service seconds and how many open counters serve it.
    """
    return conn.execute(_NEXT_NUMBER, {"service": service_id, "day": day, "start": start,
                                       "priority": int(priority)}).one()


def _queue_delta(conn, site: SiteRuntime, service_id: int, day: dt.date, delta: int, priority: bool) -> None:
    """Keep a queue's waiting counts in step when a ticket leaves it or joins it."""
    start = site.config.service(site.service_codes[service_id]).numbers.start
    conn.execute(_QUEUE_DELTA, {"service": service_id, "day": day, "none_given": start - 1,
                                "delta": delta, "priority_delta": delta if priority else 0})


def _counter_row(conn, site: SiteRuntime, number: int):
    counter_id = site.counter_ids.get(number)
    if counter_id is None:
        raise NotFound("unknown_counter", counter=number)
    # FOR UPDATE serialises two presses on one counter (PostgreSQL; SQLite's BEGIN IMMEDIATE already does)
    return conn.execute(select(C).where(C.c.id == counter_id).with_for_update()).one()


def _held_ticket(conn, counter_id: int):
    return conn.execute(
        select(T).where(T.c.counter_id == counter_id, T.c.status.in_(m.HELD_STATES))
    ).first()


def _require_held(conn, counter) -> Any:
    held = _held_ticket(conn, counter.id)
    if held is None:
        raise QueueError("no_current_ticket", counter=counter.number)
    return held


def _set_ticket(conn, ticket_id: int, expected_status: str, **values) -> None:
    new_status = values.get("status", expected_status)
    assert new_status in TRANSITIONS[expected_status], (expected_status, new_status)
    result = conn.execute(update(T).where(T.c.id == ticket_id, T.c.status == expected_status).values(**values))
    if result.rowcount != 1:  # cannot happen under the row lock; refuse rather than corrupt
        raise QueueError("internal")


def actor_columns(step: str, actor: Actor | None) -> dict:
    """The ticket's record of who made a step (``called_by``, ``ended_by``), as its event has it."""
    actor = actor or Actor()
    return {f"{step}_user_id": actor.user_id, f"{step}_token_id": actor.token_id}


def _reload(conn, ticket_id: int):
    return conn.execute(select(T).where(T.c.id == ticket_id)).one()


def estimate_minutes(conn, site: SiteRuntime, service_id: int, ahead: int, pace=None) -> int | None:
    """Average service time x people ahead / open counters serving the service; None when no
    open counter serves it (closed or paused), whoever is ahead.

    The average is the service's moving average of finished tickets, or the configured
    default while there is no history. ``pace`` is (average seconds, open counters) when
    the caller already has them.
    """
    avg_seconds, open_counters = pace or conn.execute(_SERVICE_PACE, {"service": service_id}).one()
    if not open_counters:
        return None  # nobody serves it now: no promise (the kiosk says so)
    if ahead <= 0:
        return 0
    per_ticket = avg_seconds / 60 if avg_seconds else \
        site.config.service(site.service_codes[service_id]).default_service_minutes
    return math.ceil(per_ticket * ahead / max(1, open_counters))


def _waiting_ahead(conn, row) -> int:
    """Waiting tickets of the same queue that came before; a priority ticket counts only priority ones."""
    query = select(func.count()).where(
        T.c.site_id == row.site_id, T.c.business_day == row.business_day,
        T.c.status == "waiting", T.c.service_id == row.service_id, T.c.id != row.id,
        or_(T.c.issued_at < row.issued_at, and_(T.c.issued_at == row.issued_at, T.c.id < row.id)),
    )
    if row.priority_id is not None:
        query = query.where(T.c.priority_id.is_not(None))
    return conn.execute(query).scalar_one()


def _with_position(conn, site, row) -> dict:
    view = ticket_view(site, row)
    if row.status == "waiting":
        ahead = _waiting_ahead(conn, row)
        view["waiting_ahead"] = ahead
        view["eta_minutes"] = estimate_minutes(conn, site, row.service_id, ahead)
    else:
        view["waiting_ahead"] = 0
        view["eta_minutes"] = 0
    return view


# --- issuing ------------------------------------------------------------------------------

def issue(session: Session, site: SiteRuntime, service: str, priority: str | None = None,
          kiosk: str | None = None, now: dt.datetime | None = None, actor: Actor | None = None,
          check_hours: bool = True) -> Outcome:
    now = now or utcnow()
    config = site.config
    service_cfg = config.service(service)
    service_id = site.service_ids.get(service)
    if service_cfg is None or service_id is None:
        raise NotFound("unknown_service", service=service)
    priority_id = None
    if priority is not None:
        priority_id = site.priority_ids.get(priority)
        if priority_id is None:
            raise NotFound("unknown_priority", priority=priority)
    if kiosk is not None:
        kiosk_cfg = config.kiosk(kiosk)
        if kiosk_cfg is None:
            raise NotFound("unknown_kiosk", kiosk=kiosk)
        if service not in config.kiosk_services(kiosk_cfg):
            raise QueueError("service_not_at_kiosk", kiosk=kiosk, service=service)
    hours = config.site.hours
    if check_hours and not hours.is_open(local_time(site, now)):
        raise QueueError("closed", open=hours.open.strftime("%H:%M"), close=hours.close.strftime("%H:%M"))

    conn = _connection(session)
    day = business_day(site, now)
    number, waiting, priority_waiting, avg_seconds, open_counters = _next_number(
        conn, service_id, day, service_cfg.numbers.start, priority_id is not None)
    if number > service_cfg.numbers.end:
        # the caller rolls back, so the sequence does not move: no gap, no partial write
        raise QueueError("range_exhausted", service=service, end=service_cfg.numbers.end)
    if service_cfg.daily_limit is not None and number - service_cfg.numbers.start >= service_cfg.daily_limit:
        reopens = hours.next_opening(local_time(site, now)).astimezone(dt.timezone.utc).replace(tzinfo=None)
        retry_after = math.ceil((reopens - now).total_seconds())
        raise TooMany("daily_limit_reached", service=service, limit=service_cfg.daily_limit,
                         retry_after=retry_after)
    ticket = SimpleNamespace(
        public_id=secrets.token_urlsafe(9), site_id=site.id, origin_service_id=service_id,
        service_id=service_id, number=number, business_day=day, priority_id=priority_id,
        kiosk_id=kiosk, status="waiting", issued_at=now, transfers=0,
    )
    ticket.id = conn.execute(_INSERT_TICKET, vars(ticket)).scalar_one()
    ticket.called_at = ticket.counter_id = ticket.target_counter_id = None
    _event(conn, site, "issued", now, actor, ticket.id, service_id,
           detail={"number": number, "priority": priority, "kiosk": kiosk})
    # the new ticket is the latest of its queue: everyone waiting there is ahead of it
    ahead = (priority_waiting if priority_id is not None else waiting) - 1
    view = {**ticket_view(site, ticket), "waiting_ahead": ahead,
            "eta_minutes": estimate_minutes(conn, site, service_id, ahead, (avg_seconds, open_counters))}
    changed = Happened("queue.changed", detail={"waiting": {service: {"waiting": waiting, "priority": priority_waiting}}})
    return Outcome(view, [Happened("ticket.issued", view), changed])


# --- choosing the next ticket -------------------------------------------------------------

def choose_next(oldest_normal: Candidate | None, oldest_priority: Candidate | None,
                policy: Policy, normal_streak: int, now: dt.datetime) -> Candidate | None:
    """The one rule for "next": max-wait aging, then the priority policy, else first come first served.

    ``normal_streak`` is how many normal tickets this counter called in a row while a
    priority ticket waited.
    """
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


def _oldest(conn, site, counter, day, priority: bool, exclude: set[int]) -> Candidate | None:
    query = (
        select(T.c.id, T.c.issued_at, T.c.called_at)
        .where(
            T.c.site_id == site.id, T.c.business_day == day, T.c.status == "waiting",
            _for_counter(site, counter.id, counter.number),
            T.c.priority_id.is_not(None) if priority else T.c.priority_id.is_(None),
        )
        .order_by(T.c.issued_at, T.c.id)
        .limit(1)
    )
    if exclude:
        query = query.where(T.c.id.not_in(exclude))
    row = conn.execute(query).first()
    return Candidate(row.id, row.issued_at, priority, row.called_at is not None) if row else None


def _claim(conn, ticket_id: int) -> bool:
    """PostgreSQL: lock the chosen ticket unless another counter is taking it right now.

    SQLite needs nothing: BEGIN IMMEDIATE already serialises every writer.
    """
    if conn.dialect.name != "postgresql":
        return True
    claimed = conn.execute(select(T.c.id).where(T.c.id == ticket_id, T.c.status == "waiting")
                           .with_for_update(skip_locked=True)).first()
    return claimed is not None


def _choose_for(conn, site, counter, day, now) -> tuple[Candidate | None, int]:
    """The ticket ``choose_next`` picks for this counter, claimed; and the counter's new streak."""
    taken: set[int] = set()
    while True:
        normal = _oldest(conn, site, counter, day, priority=False, exclude=taken)
        prio = _oldest(conn, site, counter, day, priority=True, exclude=taken)
        chosen = choose_next(normal, prio, site.config.policy, counter.normal_streak, now)
        if chosen is None:
            return None, counter.normal_streak
        if _claim(conn, chosen.id):
            priority_waited = prio is not None and chosen is not prio
            return chosen, counter.normal_streak + 1 if priority_waited else 0
        taken.add(chosen.id)  # another counter has it: choose again among the rest


# --- counter actions ----------------------------------------------------------------------

def _finish_held(conn, site, counter, held, now, actor, happened, by: str) -> None:
    started = held.started_at or held.last_called_at
    seconds = max(0.0, (now - started).total_seconds())
    _set_ticket(conn, held.id, held.status, status="done", finished_at=now, **actor_columns("ended_by", actor))
    conn.execute(update(S).where(S.c.id == held.service_id).values(
        avg_service_seconds=func.coalesce(
            S.c.avg_service_seconds * (1 - EMA_WEIGHT) + seconds * EMA_WEIGHT, seconds)))
    _event(conn, site, "finished", now, actor, held.id, held.service_id, counter.id,
           {"service_seconds": round(seconds, 3), "by": by})
    happened.append(Happened("ticket.finished", ticket_view(site, _reload(conn, held.id)), counter.number))


def _open(conn, site, counter, now, actor, happened) -> None:
    """A paused counter resumes, a closed one opens: it serves again."""
    if counter.state != "open":
        conn.execute(update(C).where(C.c.id == counter.id).values(state="open", pause_reason=None))
        _event(conn, site, "resumed" if counter.state == "paused" else "opened", now, actor, counter_id=counter.id)
        happened.append(Happened("counter.changed", None, counter.number, {"state": "open"}))


def call_next(session: Session, site: SiteRuntime, counter_number: int, actor: Actor | None = None,
              now: dt.datetime | None = None, number: int | None = None) -> Outcome:
    """Finish the counter's current ticket (if any) and call the next one, or ``number`` if given.

    Returns an Outcome whose ticket is None when nobody is waiting.
    """
    now = now or utcnow()
    conn = _connection(session)
    counter = _counter_row(conn, site, counter_number)
    day = business_day(site, now)
    happened: list[Happened] = []

    if number is not None:
        chosen = _waiting_number(conn, site, counter, day, number)
    held = _held_ticket(conn, counter.id)
    if held is not None:
        _finish_held(conn, site, counter, held, now, actor, happened, by="next")
    _open(conn, site, counter, now, actor, happened)  # pressing next opens a closed counter

    streak = counter.normal_streak
    if number is None:
        chosen, streak = _choose_for(conn, site, counter, day, now)
    if chosen is None:
        return Outcome(None, happened)

    _set_ticket(conn, chosen.id, "waiting", status="called", counter_id=counter.id,
                target_counter_id=None, called_at=func.coalesce(T.c.called_at, now),
                last_called_at=now, started_at=None, **actor_columns("called_by", actor))
    conn.execute(update(C).where(C.c.id == counter.id).values(normal_streak=streak))
    row = _reload(conn, chosen.id)
    _queue_delta(conn, site, row.service_id, row.business_day, -1, chosen.priority)
    _event(conn, site, "called", now, actor, row.id, row.service_id, counter.id,
           {"repeat_call": True} if chosen.called_before else
           {"wait_seconds": round((now - row.issued_at).total_seconds(), 3)})
    view = ticket_view(site, row)
    happened += [Happened("ticket.called", view, counter.number), _queue_changed(conn, site, day, row.service_id)]
    return Outcome(view, happened)


def _for_counter(site, counter_id: int, counter_number: int):
    """Waiting tickets this counter may call: its services' queues, and tickets transferred to it."""
    return or_(and_(T.c.service_id.in_(site.counter_service_ids[counter_number]), T.c.target_counter_id.is_(None)),
               T.c.target_counter_id == counter_id)


def counter_queue(session: Session, site: SiteRuntime, counter_number: int, limit: int = 50,
                  now: dt.datetime | None = None) -> list[dict]:
    """The waiting list a clerk sees, oldest first."""
    conn = _connection(session)
    rows = conn.execute(select(T).where(
        T.c.site_id == site.id, T.c.business_day == business_day(site, now or utcnow()), T.c.status == "waiting",
        _for_counter(site, site.counter_ids[counter_number], counter_number),
    ).order_by(T.c.issued_at, T.c.id).limit(limit))
    return [ticket_view(site, row) for row in rows]


def _waiting_number(conn, site, counter, day, number) -> Candidate:
    query = select(T).where(
        T.c.site_id == site.id, T.c.business_day == day, T.c.number == number, T.c.status == "waiting",
        _for_counter(site, counter.id, counter.number),
    )
    if conn.dialect.name == "postgresql":  # wait for a counter taking it now, then see it is gone
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise QueueError("ticket_not_waiting", number=number, counter=counter.number)
    return Candidate(row.id, row.issued_at, row.priority_id is not None, row.called_at is not None)


def _act_on_called(session, site: SiteRuntime, counter_number: int, actor: Actor | None, now: dt.datetime,
                   kind: str, refusal: str, **values) -> Outcome:
    """recall, start, no-show: a step on the counter's ticket, allowed only while it is called."""
    conn = _connection(session)
    counter = _counter_row(conn, site, counter_number)
    held = _require_held(conn, counter)
    if held.status != "called":
        raise QueueError(refusal, number=held.number)
    _set_ticket(conn, held.id, "called", **values)
    _event(conn, site, kind, now, actor, held.id, held.service_id, counter.id)
    view = ticket_view(site, _reload(conn, held.id))
    return Outcome(view, [Happened(f"ticket.{kind}", view, counter.number)])


def recall(session: Session, site: SiteRuntime, counter_number: int, actor: Actor | None = None,
           now: dt.datetime | None = None) -> Outcome:
    now = now or utcnow()
    return _act_on_called(session, site, counter_number, actor, now, "recalled", "ticket_not_called",
                          last_called_at=now)


def start(session: Session, site: SiteRuntime, counter_number: int, actor: Actor | None = None,
          now: dt.datetime | None = None) -> Outcome:
    now = now or utcnow()
    return _act_on_called(session, site, counter_number, actor, now, "started", "already_serving",
                          status="serving", started_at=now)


def finish(session: Session, site: SiteRuntime, counter_number: int, actor: Actor | None = None,
           now: dt.datetime | None = None) -> Outcome:
    now = now or utcnow()
    conn = _connection(session)
    counter = _counter_row(conn, site, counter_number)
    held = _require_held(conn, counter)
    happened: list[Happened] = []
    _finish_held(conn, site, counter, held, now, actor, happened, by="finish")
    return Outcome(happened[0].ticket, happened)


def no_show(session: Session, site: SiteRuntime, counter_number: int, actor: Actor | None = None,
            now: dt.datetime | None = None) -> Outcome:
    now = now or utcnow()
    return _act_on_called(session, site, counter_number, actor, now, "no_show", "ticket_not_called",
                          status="no_show", finished_at=now, **actor_columns("ended_by", actor))


def transfer(session: Session, site: SiteRuntime, counter_number: int, actor: Actor | None = None,
             now: dt.datetime | None = None, service: str | None = None,
             to_counter: int | None = None) -> Outcome:
    """Put the current ticket back in another queue: a service, or one counter. Same number."""
    now = now or utcnow()
    if service is None and to_counter is None:
        raise Invalid("transfer_target_missing")
    if service is not None and service not in site.service_ids:
        raise NotFound("unknown_service", service=service)
    if to_counter is not None and to_counter not in site.counter_ids:
        raise NotFound("unknown_counter", counter=to_counter)
    if to_counter == counter_number:
        raise QueueError("transfer_same_counter", counter=counter_number)
    conn = _connection(session)
    counter = _counter_row(conn, site, counter_number)
    held = _require_held(conn, counter)
    new_service = site.service_ids[service] if service is not None else held.service_id
    target = site.counter_ids[to_counter] if to_counter is not None else None
    _set_ticket(conn, held.id, held.status, status="waiting", counter_id=None, service_id=new_service,
                target_counter_id=target, started_at=None, transfers=held.transfers + 1)
    _queue_delta(conn, site, new_service, held.business_day, +1, held.priority_id is not None)
    _event(conn, site, "transferred", now, actor, held.id, new_service, counter.id, {
        "from_service": site.service_codes[held.service_id], "to_service": site.service_codes[new_service],
        "to_counter": to_counter,
    })
    row = _reload(conn, held.id)
    view = _with_position(conn, site, row)
    return Outcome(view, [Happened("ticket.transferred", view, counter.number, {"from_counter": counter.number}),
                          _queue_changed(conn, site, row.business_day, held.service_id, new_service)])


def pause(session: Session, site: SiteRuntime, counter_number: int, reason: str | None = None,
          actor: Actor | None = None, now: dt.datetime | None = None) -> Outcome:
    now = now or utcnow()
    conn = _connection(session)
    counter = _counter_row(conn, site, counter_number)
    if counter.state == "paused":
        raise QueueError("counter_paused", counter=counter.number)
    if counter.state == "closed":
        raise QueueError("counter_closed", counter=counter.number)
    held = _held_ticket(conn, counter.id)
    if held is not None:
        raise QueueError("counter_busy", counter=counter.number, number=held.number)
    conn.execute(update(C).where(C.c.id == counter.id).values(state="paused", pause_reason=reason))
    _event(conn, site, "paused", now, actor, counter_id=counter.id, detail={"reason": reason})
    return Outcome(None, [Happened("counter.changed", None, counter.number, {"state": "paused", "reason": reason})])


def resume(session: Session, site: SiteRuntime, counter_number: int, actor: Actor | None = None,
           now: dt.datetime | None = None) -> Outcome:
    now = now or utcnow()
    conn = _connection(session)
    counter = _counter_row(conn, site, counter_number)
    if counter.state != "paused":
        raise QueueError("counter_not_paused", counter=counter.number)
    happened: list[Happened] = []
    _open(conn, site, counter, now, actor, happened)
    return Outcome(None, happened)


def open_counter(session: Session, site: SiteRuntime, counter_number: int, actor: Actor | None = None,
                 now: dt.datetime | None = None) -> Outcome:
    """A clerk takes a closed counter: it serves from now on (an open or paused counter stays as it is)."""
    conn = _connection(session)
    counter = _counter_row(conn, site, counter_number)
    happened: list[Happened] = []
    if counter.state == "closed":
        _open(conn, site, counter, now or utcnow(), actor, happened)
    return Outcome(None, happened)


def close_counter(session: Session, site: SiteRuntime, counter_number: int, actor: Actor | None = None,
                  now: dt.datetime | None = None) -> Outcome:
    """Nobody works at the counter any more: it serves nobody until it is opened again."""
    conn = _connection(session)
    counter = _counter_row(conn, site, counter_number)
    if counter.state == "closed":
        return Outcome(None, [])
    held = _held_ticket(conn, counter.id)
    if held is not None:
        raise QueueError("counter_busy", counter=counter.number, number=held.number)
    conn.execute(update(C).where(C.c.id == counter.id).values(state="closed", pause_reason=None))
    _event(conn, site, "closed", now or utcnow(), actor, counter_id=counter.id)
    return Outcome(None, [Happened("counter.changed", None, counter.number, {"state": "closed"})])


# --- reading ------------------------------------------------------------------------------

def expire_past_days(session: Session, site: SiteRuntime, now: dt.datetime | None = None) -> Outcome:
    """Start a new business day: past days' waiting tickets expire, each with an ``expired`` event
    (nothing expires under ``policy.end_of_day: keep``); tickets a counter still holds from a past
    day end (``_end_held_tickets``), and counters nobody used today close. What happened: a ``ticket.expired`` per ticket
    (the citizen's phone page says so) and today's waiting counts for every service (displays,
    counters and the dashboard start the day afresh). Safe to run any time and in several
    processes: only the one whose update changed a ticket records its event.
    """
    now = now or utcnow()
    conn = _connection(session)
    today = business_day(site, now)
    happened = []
    if site.config.policy.end_of_day == "expire":
        rows = conn.execute(
            update(T).where(T.c.site_id == site.id, T.c.business_day < today, T.c.status == "waiting")
            .values(status="expired", finished_at=now).returning(*T.c)).all()
        for row in rows:
            _event(conn, site, "expired", now, None, row.id, row.service_id, detail={"reason": "end_of_day"})
            happened.append(Happened("ticket.expired", ticket_view(site, row)))
        if rows:
            conn.execute(update(SEQ).where(SEQ.c.service_id.in_({r.service_id for r in rows}),
                                           SEQ.c.business_day < today).values(waiting=0, priority_waiting=0))
    _close_idle_counters(conn, site, now, happened)  # before the events of the tickets ended below
    _end_held_tickets(conn, site, today, now, happened)
    happened.append(Happened("queue.changed", detail={"waiting": _waiting_by_service(conn, site, today)}))
    return Outcome(None, happened)


def _end_held_tickets(conn, site: SiteRuntime, today: dt.date, now: dt.datetime, happened: list) -> None:
    """A ticket a counter still held when its day ended: called and never started, the citizen did not
    come (a no-show); being served, it was served until the day's closing time at the latest. Either
    way it is not left for the next morning's first "next" to finish with a night-long service time."""
    held = conn.execute(select(T).where(T.c.site_id == site.id, T.c.business_day < today,
                                        T.c.status.in_(m.HELD_STATES))).all()
    close = site.config.site.hours.close
    for row in held:
        if row.status == "called":
            values, kind, event = {"status": "no_show", "finished_at": now}, "ticket.no_show", "no_show"
        else:
            closing = dt.datetime.combine(row.business_day, close, site.config.site.zone)
            closing = closing.astimezone(dt.timezone.utc).replace(tzinfo=None)
            values, kind, event = {"status": "done", "finished_at": max(row.started_at, min(closing, now))}, \
                "ticket.finished", "finished"
        changed = conn.execute(update(T).where(T.c.id == row.id, T.c.status == row.status)
                               .values(**values, **actor_columns("ended_by", None)))
        if changed.rowcount != 1:  # another process ended it meanwhile
            continue
        _event(conn, site, event, now, None, row.id, row.service_id, row.counter_id, {"by": "end_of_day"})
        happened.append(Happened(kind, ticket_view(site, _reload(conn, row.id)), site.counter_numbers.get(row.counter_id)))


def _close_idle_counters(conn, site: SiteRuntime, now: dt.datetime, happened: list) -> None:
    """Counters nobody used since the day began close: each morning a counter opens with its clerk."""
    midnight = _since_local_midnight(site, now)
    used_today = select(E.c.counter_id).where(E.c.site_id == site.id, E.c.at >= midnight,
                                              E.c.counter_id.is_not(None))
    idle = conn.execute(update(C).where(C.c.site_id == site.id, C.c.state != "closed", C.c.active.is_(True),
                                        C.c.id.not_in(used_today))
                        .values(state="closed", pause_reason=None).returning(C.c.id, C.c.number)).all()
    for counter_id, number in idle:
        _event(conn, site, "closed", now, None, counter_id=counter_id, detail={"by": "end_of_day"})
        happened.append(Happened("counter.changed", None, number, {"state": "closed"}))


def expired_count(outcome: Outcome) -> int:
    return sum(h.kind == "ticket.expired" for h in outcome.happened)


def ticket_status(session: Session, site: SiteRuntime, public_id: str) -> dict:
    conn = _connection(session)
    row = conn.execute(select(T).where(T.c.public_id == public_id, T.c.site_id == site.id)).first()
    if row is None:
        raise NotFound("unknown_ticket", ticket=public_id)
    return _with_position(conn, site, row)


def _waiting_by_service(conn, site: SiteRuntime, day: dt.date, service_ids=None) -> dict[str, dict]:
    ids = list(site.service_codes) if service_ids is None else list(service_ids)
    counts = {site.service_codes[sid]: {"waiting": 0, "priority": 0} for sid in ids}
    rows = conn.execute(select(SEQ.c.service_id, SEQ.c.waiting, SEQ.c.priority_waiting)
                        .where(SEQ.c.business_day == day, SEQ.c.service_id.in_(ids)))
    for service_id, waiting, priority_waiting in rows:
        counts[site.service_codes[service_id]] = {"waiting": waiting, "priority": priority_waiting}
    return counts


def _queue_changed(conn, site: SiteRuntime, day: dt.date, *service_ids: int) -> Happened:
    return Happened("queue.changed", detail={"waiting": _waiting_by_service(conn, site, day, set(service_ids))})


def waiting_counts(session: Session, site: SiteRuntime, now: dt.datetime | None = None) -> dict[str, dict]:
    """Waiting tickets per service code today, with how many of them are priority tickets."""
    return _waiting_by_service(_connection(session), site, business_day(site, now or utcnow()))


def counter_states(session: Session, site: SiteRuntime) -> list[dict]:
    conn = _connection(session)
    held = {row.counter_id: row for row in conn.execute(
        select(T).where(T.c.site_id == site.id, T.c.status.in_(m.HELD_STATES)))}
    result = []
    for row in conn.execute(select(C).where(C.c.site_id == site.id, C.c.active.is_(True)).order_by(C.c.number)):
        ticket = held.get(row.id)
        result.append({
            "number": row.number, "name": row.name, "state": row.state, "pause_reason": row.pause_reason,
            "services": [site.service_codes[s] for s in site.counter_service_ids.get(row.number, [])],
            "ticket": ticket_view(site, ticket) if ticket is not None else None,
        })
    return result


def _since_local_midnight(site: SiteRuntime, now: dt.datetime) -> dt.datetime:
    local_midnight = dt.datetime.combine(business_day(site, now), dt.time(), site.config.site.zone)
    return local_midnight.astimezone(dt.timezone.utc).replace(tzinfo=None)


def last_calls(session: Session, site: SiteRuntime, now: dt.datetime | None = None) -> dict[int, dict]:
    """The latest ticket each counter called today: what a lobby display keeps showing."""
    conn = _connection(session)
    latest = (
        select(func.max(E.c.id))
        .where(E.c.site_id == site.id, E.c.kind.in_(("called", "recalled")),
               E.c.at >= _since_local_midnight(site, now or utcnow()))
        .group_by(E.c.counter_id)
    )
    rows = conn.execute(
        select(E.c.counter_id.label("call_counter"), T).join(T, T.c.id == E.c.ticket_id).where(E.c.id.in_(latest)))
    return {site.counter_numbers[row.call_counter]: ticket_view(site, row) for row in rows}


def recent_calls(session: Session, site: SiteRuntime, limit: int = 10,
                 counters: list[int] | None = None, now: dt.datetime | None = None) -> list[dict]:
    """The latest calls of today, newest first (what a display shows as history)."""
    conn = _connection(session)
    since = _since_local_midnight(site, now or utcnow())
    query = (
        select(E.c.at.label("call_at"), E.c.kind.label("call_kind"), E.c.counter_id.label("call_counter"), T)
        .join(T, T.c.id == E.c.ticket_id)
        .where(E.c.site_id == site.id, E.c.kind.in_(("called", "recalled")), E.c.at >= since)
        .order_by(E.c.id.desc()).limit(limit)
    )
    if counters is not None:
        query = query.where(E.c.counter_id.in_([site.counter_ids[n] for n in counters if n in site.counter_ids]))
    return [
        {**ticket_view(site, row), "called_by": site.counter_numbers.get(row.call_counter),
         "at": _iso(row.call_at), "recall": row.call_kind == "recalled"}
        for row in conn.execute(query)
    ]


# --- a clerk's day, and the citizens' ratings ---------------------------------------------

def figures_today(session: Session, site: SiteRuntime, user_id: int | None = None, counter: int | None = None,
                  now: dt.datetime | None = None) -> dict:
    """What one clerk (``user_id``) or one counter did today, from the events log and the ratings.

    served: tickets finished; average_service_seconds: their mean service time (finish - start,
    the start being the call when "start" was not pressed); no_shows; calls (first calls and
    calls of transferred tickets, not recalls); transferred; ratings by level.
    """
    if (user_id is None) == (counter is None):
        raise ValueError("figures_today needs exactly one of user_id and counter")
    now = now or utcnow()
    conn = _connection(session)
    if user_id is not None:
        event_who, rating_who = E.c.user_id == user_id, R.c.user_id == user_id
    else:
        counter_id = site.counter_ids.get(counter)
        if counter_id is None:
            raise NotFound("unknown_counter", counter=counter)
        event_who, rating_who = E.c.counter_id == counter_id, R.c.counter_id == counter_id
    rows = conn.execute(select(E.c.kind, E.c.detail).where(
        E.c.site_id == site.id, E.c.at >= _since_local_midnight(site, now), event_who,
        E.c.kind.in_(("called", "finished", "no_show", "transferred"))))
    counts = {"called": 0, "finished": 0, "no_show": 0, "transferred": 0}
    service_seconds: list[float] = []
    for kind, detail in rows:
        counts[kind] += 1
        if kind == "finished" and detail and detail.get("service_seconds") is not None:
            service_seconds.append(float(detail["service_seconds"]))
    day = business_day(site, now)
    ratings = {level: 0 for level in m.RATING_LEVELS}
    for level, n in conn.execute(select(R.c.level, func.count()).where(
            R.c.site_id == site.id, R.c.business_day == day, rating_who).group_by(R.c.level)):
        ratings[level] = n
    return {
        "day": day.isoformat(),
        "served": counts["finished"],
        "average_service_seconds": round(sum(service_seconds) / len(service_seconds), 1) if service_seconds else None,
        "no_shows": counts["no_show"],
        "calls": counts["called"],
        "transferred": counts["transferred"],
        "ratings": {"count": sum(ratings.values()), **ratings},
    }


R = m.Rating.__table__


def _last_finish(conn, site: SiteRuntime, counter_id: int, since: dt.datetime):
    """The latest "finished" event of a counter since ``since``: (ticket_id, at, user_id) or None."""
    return conn.execute(
        select(E.c.ticket_id, E.c.at, E.c.user_id)
        .where(E.c.site_id == site.id, E.c.at >= since, E.c.counter_id == counter_id, E.c.kind == "finished")
        .order_by(E.c.id.desc()).limit(1)
    ).first()


def rating_view(site: SiteRuntime, ticket_row) -> dict:
    """What a rating tablet may know of a ticket: its number and service, nothing about the person."""
    return {"id": ticket_row.public_id, "number": ticket_row.number, "display": str(ticket_row.number),
            "service": site.service_codes.get(ticket_row.service_id)}


def rating_prompt(session: Session, site: SiteRuntime, counter: int, now: dt.datetime | None = None) -> dict | None:
    """What the counter's rating tablet should ask about now: the ticket finished last at the
    counter, while the tablet still asks (``rating.ask_seconds``) and before anyone rated it; else None."""
    now = now or utcnow()
    conn = _connection(session)
    settings = site.config.rating
    last = _last_finish(conn, site, site.counter_ids[counter], now - dt.timedelta(seconds=settings.ask_seconds))
    if last is None:
        return None
    if conn.execute(select(R.c.id).where(R.c.ticket_id == last.ticket_id)).first() is not None:
        return None
    return {"ticket": rating_view(site, _reload(conn, last.ticket_id)), "counter": counter,
            "finished_at": _iso(last.at), "until": _iso(last.at + dt.timedelta(seconds=settings.ask_seconds))}


def rate(session: Session, site: SiteRuntime, public_id: str, counter: int, level: str,
         reasons: list[str] | None = None, actor: Actor | None = None, now: dt.datetime | None = None) -> Outcome:
    """Store a citizen's rating of ticket ``public_id``, sent by the rating tablet of ``counter``.

    Only the ticket finished last at that counter, within ``rating.window_minutes`` of its
    finish, and only once. The rating keeps the ticket, counter, clerk (who finished it),
    service and time.
    """
    now = now or utcnow()
    conn = _connection(session)
    if level not in m.RATING_LEVELS:
        raise Invalid("invalid_field", field="level", problem=", ".join(m.RATING_LEVELS))
    counter_id = site.counter_ids.get(counter)
    if counter_id is None:
        raise NotFound("unknown_counter", counter=counter)
    row = conn.execute(select(T).where(T.c.public_id == public_id, T.c.site_id == site.id)).first()
    if row is None:
        raise NotFound("unknown_ticket", ticket=public_id)
    if conn.execute(select(R.c.id).where(R.c.ticket_id == row.id)).first() is not None:
        raise QueueError("already_rated", number=row.number)
    window = dt.timedelta(minutes=site.config.rating.window_minutes)
    last = _last_finish(conn, site, counter_id, now - window)
    if last is None or last.ticket_id != row.id:
        raise QueueError("rating_closed", number=row.number, counter=counter)
    reasons = list(reasons or [])
    actor = actor or Actor()
    conn.execute(insert(R).values(
        site_id=site.id, ticket_id=row.id, counter_id=counter_id, user_id=last.user_id, service_id=row.service_id,
        token_id=actor.token_id, level=level, reasons=reasons, at=now, business_day=business_day(site, now)))
    _event(conn, site, "rated", now, actor, row.id, row.service_id, counter_id, {"level": level, "reasons": reasons})
    view = {"ticket": row.public_id, "number": row.number, "service": site.service_codes.get(row.service_id),
            "counter": counter, "clerk": _username(conn, last.user_id), "level": level, "reasons": reasons,
            "at": _iso(now)}
    return Outcome(view, [Happened("rating.received", None, counter, {"rating": view})])


def _username(conn, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    return conn.execute(select(m.User.__table__.c.username).where(m.User.__table__.c.id == user_id)).scalar()


def ticket_rating(session: Session, site: SiteRuntime, public_id: str) -> dict | None:
    """The stored rating of a ticket (for supervisors), or None."""
    conn = _connection(session)
    ticket = conn.execute(select(T).where(T.c.public_id == public_id, T.c.site_id == site.id)).first()
    if ticket is None:
        raise NotFound("unknown_ticket", ticket=public_id)
    row = conn.execute(select(R).where(R.c.ticket_id == ticket.id)).first()
    if row is None:
        return None
    return {"ticket": ticket.public_id, "number": ticket.number, "service": site.service_codes.get(row.service_id),
            "counter": site.counter_numbers.get(row.counter_id), "clerk": _username(conn, row.user_id),
            "level": row.level, "reasons": row.reasons, "at": _iso(row.at)}


def ticket_of_number(session: Session, site: SiteRuntime, number: int, now: dt.datetime | None = None) -> str:
    """The id of today's ticket ``number`` (ranges do not overlap, so a number names one ticket a day)."""
    found = _connection(session).execute(select(T.c.public_id).where(
        T.c.site_id == site.id, T.c.business_day == business_day(site, now or utcnow()),
        T.c.number == number)).scalar()
    if found is None:
        raise NotFound("unknown_number", number=number)
    return found


def holder_of_number(session: Session, site: SiteRuntime, number: int, now: dt.datetime | None = None) -> int | None:
    """The counter that holds (or last called) today's ticket ``number``, for a clearer refusal."""
    conn = _connection(session)
    row = conn.execute(select(T.c.counter_id).where(
        T.c.site_id == site.id, T.c.business_day == business_day(site, now or utcnow()), T.c.number == number,
        T.c.status != "waiting", T.c.counter_id.is_not(None))).first()
    return site.counter_numbers.get(row.counter_id) if row is not None else None
