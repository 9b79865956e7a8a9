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

# the steps that put a called number back in a queue: its call is no longer one to answer
SENT_BACK = ("transferred", "requeued")


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
    standing or answered. A call is withdrawn once its number waits again (transferred, or requeued by
    its counter's close): nobody is to go to that counter for it, and a call again is a new one.

    The calls are read a batch at a time, newest first, and those withdrawn left out with one look at
    their tickets' steps (an index per ticket): a NOT EXISTS for each of the day's calls cost more than
    the whole read did before (about 1,000 calls a busy day); the tickets are read for the calls kept."""
    conn = connection(session)
    since = since_local_midnight(site, now or utcnow())
    calls = select(E.c.id, E.c.at, E.c.kind, E.c.counter_id, E.c.ticket_id).where(
        E.c.site_id == site.id, E.c.kind.in_(("called", "recalled")), E.c.at >= since
    )
    if counters is not None:
        calls = calls.where(E.c.counter_id.in_([site.counter_ids[n] for n in counters if n in site.counter_ids]))
    batch_size = max(limit, 1) * 2
    kept: list = []
    while len(kept) < limit:
        batch = conn.execute(calls.order_by(E.c.id.desc()).limit(batch_size)).all()
        if not batch:
            break
        sent_back = dict(
            conn.execute(
                select(E.c.ticket_id, func.max(E.c.id))
                .where(E.c.ticket_id.in_({call.ticket_id for call in batch}), E.c.kind.in_(SENT_BACK))
                .group_by(E.c.ticket_id)
            ).all()
        )
        kept += [call for call in batch if sent_back.get(call.ticket_id, 0) < call.id]
        if len(batch) < batch_size:
            break
        calls = calls.where(E.c.id < batch[-1].id)
    kept = kept[:limit]
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
