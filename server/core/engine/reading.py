"""What the screens read: a ticket's status, a counter's waiting list, the counters' states,
today's calls, a ticket by its number, and a clerk's or a counter's figures of the day."""

from __future__ import annotations

import datetime as dt
from itertools import islice
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from .. import models as m
from ..db import SiteRuntime
from ..errors import NotFound
from ..models import utcnow
from .choosing import counter_call_order
from .clock import business_day, since_local_midnight
from .estimates import with_position
from .records import C, E, R, T, connection
from .views import iso, ticket_view

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# the steps that put a called number back in a queue, and the one that says its citizen came
SENT_BACK = ("transferred", "requeued")
ANSWERED = "started"
CALLS = ("called", "recalled")


def ticket_status(
    session: Session, site: SiteRuntime, public_id: str, estimator=None, now: dt.datetime | None = None
) -> dict:
    """The ticket with its position and promised wait now (``estimator``: see estimates.py; ``now``: the
    caller's clock, else the wall clock)."""
    conn = connection(session)
    row = conn.execute(select(T).where(T.c.public_id == public_id, T.c.site_id == site.id)).first()
    if row is None:
        raise NotFound("unknown_ticket", ticket=public_id)
    return with_position(conn, site, row, estimator, now)


def counter_queue(
    session: Session, site: SiteRuntime, counter_number: int, limit: int = 50, now: dt.datetime | None = None
) -> list[dict]:
    """The waiting list a clerk sees, in the order "next" calls it from the counter's streak (choosing.py
    ``call_order``): a booking whose slot has begun first, and priority tickets where the policy puts them."""
    conn = connection(session)
    now = now or utcnow()
    ordered = counter_call_order(conn, site, counter_number, business_day(site, now), now)
    return [ticket_view(site, row) for row in islice(ordered, limit)]


def counter_states(session: Session, site: SiteRuntime) -> list[dict]:
    conn = connection(session)
    held = {
        row.counter_id: row
        for row in conn.execute(select(T).where(T.c.site_id == site.id, T.c.status.in_(m.HELD_STATES)))
    }
    result = []
    for row in conn.execute(select(C).where(C.c.site_id == site.id, C.c.active.is_(True)).order_by(C.c.number)):
        ticket = held.get(row.id)
        result.append(
            {
                "number": row.number,
                "name": row.name,
                "state": row.state,
                "pause_reason": row.pause_reason,
                "services": [site.service_codes[s] for s in site.counter_service_ids.get(row.number, [])],
                "ticket": ticket_view(site, ticket) if ticket is not None else None,
            }
        )
    return result


def recent_calls(
    session: Session,
    site: SiteRuntime,
    limit: int = 10,
    counters: list[int] | None = None,
    now: dt.datetime | None = None,
) -> list[dict]:
    """The latest calls of today, newest first (what a display shows as history): the calls still
    standing or answered. A call is withdrawn when its number went back to wait at that counter: sent on
    ("transferred") before its citizen was served there, or put back in the queue by its counter's close
    ("requeued"), served or not (``withdrawn``). A number served and then sent on to another service
    answered its call (the citizen came), as a finished one did.

    The calls are read newest first a page at a time (psycopg reads a whole result at once: a read of
    the day's calls would fetch them all), a page twice the list's length, each next one four times the
    last. The steps of the first page's tickets are read by ticket (an index each); only if that page
    does not fill the list are the day's steps read, once (a day of withdrawn calls at a zone's
    counters: a read per page would scan the day each time). The tickets are read for the calls kept."""
    conn = connection(session)
    since = since_local_midnight(site, now or utcnow())
    calls = select(E.c.id, E.c.at, E.c.kind, E.c.counter_id, E.c.ticket_id).where(
        E.c.site_id == site.id, E.c.kind.in_(CALLS), E.c.at >= since
    )
    if counters is not None:
        calls = calls.where(E.c.counter_id.in_([site.counter_ids[n] for n in counters if n in site.counter_ids]))
    steps = select(E.c.ticket_id, E.c.id, E.c.kind).where(E.c.kind.in_((ANSWERED, *SENT_BACK))).order_by(E.c.id)
    newest_first = calls.order_by(E.c.id.desc())
    size = max(limit, 1) * 2
    page = conn.execute(newest_first.limit(size)).all()
    after = _steps_by_ticket(conn, steps.where(E.c.ticket_id.in_({call.ticket_id for call in page})))
    kept = [call for call in page if not withdrawn(call.id, after.get(call.ticket_id, ()))][:limit]
    if len(kept) < limit and len(page) == size:
        after = _steps_by_ticket(conn, steps.where(E.c.site_id == site.id, E.c.at >= since))
    while len(kept) < limit and len(page) == size:
        size *= 4
        page = conn.execute(newest_first.where(E.c.id < page[-1].id).limit(size)).all()
        kept += [call for call in page if not withdrawn(call.id, after.get(call.ticket_id, ()))][: limit - len(kept)]
    tickets = {row.id: row for row in conn.execute(select(T).where(T.c.id.in_({call.ticket_id for call in kept})))}
    return [
        {
            **ticket_view(site, tickets[call.ticket_id]),
            "called_by": site.counter_numbers.get(call.counter_id),
            "at": iso(call.at),
            "recall": call.kind == "recalled",
        }
        for call in kept
    ]


def _steps_by_ticket(conn, query) -> dict[int, list[tuple[int, str]]]:
    found: dict[int, list[tuple[int, str]]] = {}
    for ticket_id, event_id, kind in conn.execute(query):
        found.setdefault(ticket_id, []).append((event_id, kind))
    return found


def withdrawn(call_id: int, steps) -> bool:
    """Whether the call ``call_id`` was withdrawn: in ``steps`` (the ticket's "started" and sent-back
    events, (id, kind), oldest first) the first sent-back one after it is a close's "requeued", or a
    "transferred" with no "started" between."""
    started = False
    for event_id, kind in steps:
        if event_id <= call_id:
            continue
        if kind in SENT_BACK:
            return kind == "requeued" or not started
        started = True
    return False


def calls_withdrawn(conn, held, requeue: bool = False) -> int:
    """How many of the latest calls of a held ticket (its row) sending it back to wait now withdraws:
    those since its last step among "started" and the sent-back ones (all at the counter holding it).
    A transfer of a number being served withdraws none (the citizen came: its calls were answered; the
    usual transfer needs no read); a close's ``requeue`` withdraws them served or not (its citizen waits
    again, and nobody is to go to that counter for it: ``withdrawn``). Displays drop as many of its lines."""
    if held.status == "serving" and not requeue:
        return 0
    count = 0
    for (kind,) in conn.execute(
        select(E.c.kind)
        .where(E.c.ticket_id == held.id, E.c.kind.in_((*CALLS, ANSWERED, *SENT_BACK)))
        .order_by(E.c.id.desc())
    ):
        if kind in SENT_BACK:
            return count
        if kind == ANSWERED and not requeue:
            return 0
        count += kind in CALLS
    return count


def ticket_of_number(session: Session, site: SiteRuntime, number: int, now: dt.datetime | None = None) -> str:
    """The id of today's ticket ``number`` (ranges do not overlap, so a number names one ticket a day)."""
    found = (
        connection(session)
        .execute(
            select(T.c.public_id).where(
                T.c.site_id == site.id, T.c.business_day == business_day(site, now or utcnow()), T.c.number == number
            )
        )
        .scalar()
    )
    if found is None:
        raise NotFound("unknown_number", number=number)
    return found


def holder_of_number(session: Session, site: SiteRuntime, number: int, now: dt.datetime | None = None) -> int | None:
    """The counter that holds (or last called) today's ticket ``number``, for a clearer refusal."""
    conn = connection(session)
    row = conn.execute(
        select(T.c.counter_id).where(
            T.c.site_id == site.id,
            T.c.business_day == business_day(site, now or utcnow()),
            T.c.number == number,
            T.c.status != "waiting",
            T.c.counter_id.is_not(None),
        )
    ).first()
    return site.counter_numbers.get(row.counter_id) if row is not None else None


def figures_today(
    session: Session,
    site: SiteRuntime,
    user_id: int | None = None,
    counter: int | None = None,
    now: dt.datetime | None = None,
) -> dict:
    """What one clerk (``user_id``) or one counter did today with today's numbers, from the events log
    and the ratings (a past day's number its day's end finished or made a no-show is that day's).

    served: tickets finished; average_service_seconds: the mean service time of those that started
    (finish - start; "finish" without "start" starts at the call, "next" without it has no time); no_shows; calls (first calls and
    calls of transferred tickets, not recalls); transferred; ratings by level.
    """
    if (user_id is None) == (counter is None):
        raise ValueError("figures_today needs exactly one of user_id and counter")
    now = now or utcnow()
    conn = connection(session)
    if user_id is not None:
        event_who, rating_who = E.c.user_id == user_id, R.c.user_id == user_id
    else:
        counter_id = site.counter_ids.get(counter)
        if counter_id is None:
            raise NotFound("unknown_counter", counter=counter)
        event_who, rating_who = E.c.counter_id == counter_id, R.c.counter_id == counter_id
    day = business_day(site, now)
    rows = conn.execute(
        select(E.c.kind, E.c.detail)
        .join(T, T.c.id == E.c.ticket_id)
        .where(
            E.c.site_id == site.id,
            E.c.at >= since_local_midnight(site, now),
            event_who,
            E.c.kind.in_(("called", "finished", "no_show", "transferred")),
            T.c.business_day == day,  # not the past day's numbers its end finished just after midnight
        )
    )
    counts = {"called": 0, "finished": 0, "no_show": 0, "transferred": 0}
    service_seconds: list[float] = []
    for kind, detail in rows:
        counts[kind] += 1
        if kind == "finished" and detail and detail.get("service_seconds") is not None:
            service_seconds.append(float(detail["service_seconds"]))
    ratings = {level: 0 for level in m.RATING_LEVELS}
    for level, n in conn.execute(
        select(R.c.level, func.count())
        .where(R.c.site_id == site.id, R.c.business_day == day, rating_who)
        .group_by(R.c.level)
    ):
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
