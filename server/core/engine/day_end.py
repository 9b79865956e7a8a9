"""The start of a new business day: what the past days left waiting, held or open ends."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select, update

from .. import models as m
from ..db import ROW_ORDER, SiteRuntime
from ..models import utcnow
from .clock import business_day, since_local_midnight
from .counter_actions import finish_held
from .numbering import waiting_by_service
from .records import SEQ, C, E, T, actor_columns, connection, record_event, reload
from .types import Happened, Outcome
from .views import ticket_view

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def expire_past_days(session: Session, site: SiteRuntime, now: dt.datetime | None = None) -> Outcome:
    """Start a new business day: past days' waiting tickets expire, each with an ``expired`` event
    (nothing expires under ``policy.end_of_day: keep``); tickets a counter still holds from a past
    day end (``_end_held_tickets``), and counters nobody used today close. What happened: a ``ticket.expired`` per ticket
    (the citizen's phone page says so) and today's waiting counts for every service (displays,
    counters and the dashboard start the day afresh). Safe to run any time and in several
    processes: only the one whose update changed a ticket records its event.
    """
    now = now or utcnow()
    conn = connection(session)
    today = business_day(site, now)
    happened = []
    if site.config.policy.end_of_day == "expire":
        rows = conn.execute(
            update(T)
            .where(T.c.site_id == site.id, T.c.business_day < today, T.c.status == "waiting")
            .values(status="expired", finished_at=now)
            .returning(*T.c)
        ).all()
        for row in rows:
            record_event(conn, site, "expired", now, None, row.id, row.service_id, detail={"reason": "end_of_day"})
            happened.append(Happened("ticket.expired", ticket_view(site, row)))
        _uncount(conn, rows)
    _close_idle_counters(conn, site, now, happened)  # before the events of the tickets ended below
    _end_held_tickets(conn, site, today, now, happened)
    happened.append(Happened("queue.changed", detail={"waiting": waiting_by_service(conn, site, today)}))
    return Outcome(None, happened)


_UNCOUNT = (
    update(SEQ)
    .where(SEQ.c.service_id == bindparam("service"), SEQ.c.business_day == bindparam("day"))
    .values(
        waiting=SEQ.c.waiting - bindparam("n"),
        priority_waiting=SEQ.c.priority_waiting - bindparam("priority"),
        sent=SEQ.c.sent - bindparam("sent"),
        priority_sent=SEQ.c.priority_sent - bindparam("priority_sent"),
    )
)


def _uncount(conn, expired) -> None:
    """The expired tickets leave their queues' rows: each (service, day) row less what expired of it,
    one row at a time in (day, service) order, as every action takes number rows (db.NumberRowOrder).
    Less, not set to 0: on PostgreSQL another process may have put a number of that day back in the
    waiting meanwhile (a number held past midnight transferred, or requeued by a close), which this
    day end's expiry did not see; the row still counts it."""
    counts: dict[tuple, list[int]] = {}
    for row in expired:
        count = counts.setdefault((row.business_day, row.service_id), [0, 0, 0, 0])
        sent = row.target_counter_id is not None
        priority = row.priority_id is not None
        count[0] += 1
        count[1] += priority
        count[2] += sent
        count[3] += sent and priority
    order = conn.info.get(ROW_ORDER)  # in a batch of the group writer: the batch's order (db.NumberRowOrder)
    for (day, service), (n, priority, sent, priority_sent) in sorted(counts.items()):
        if order is not None:
            order.take(service, day)
        conn.execute(
            _UNCOUNT,
            {
                "service": service,
                "day": day,
                "n": n,
                "priority": priority,
                "sent": sent,
                "priority_sent": priority_sent,
            },
        )


def _end_held_tickets(conn, site: SiteRuntime, today: dt.date, now: dt.datetime, happened: list) -> None:
    """A ticket a counter still held when its day ended: called and never started, the citizen did not
    come (a no-show); being served, it was served until the day's closing time at the latest, finished
    as a counter's close finishes one (counter_actions.finish_held, ``by`` "end_of_day"): served by the
    clerk or device that held it, with no service time (nobody knows when the clerk stopped serving).
    Either way it is not left for the next morning's first "next" to finish with a night-long service
    time. Locked first: a day end in another process waits, then finds them ended."""
    held = conn.execute(
        select(T)
        .where(T.c.site_id == site.id, T.c.business_day < today, T.c.status.in_(m.HELD_STATES))
        .with_for_update()
    ).all()
    close = site.config.site.hours.close
    for row in held:
        counter = conn.execute(select(C).where(C.c.id == row.counter_id)).one()
        if row.status == "serving":
            closing = dt.datetime.combine(row.business_day, close, site.config.site.zone)
            closing = closing.astimezone(dt.UTC).replace(tzinfo=None)
            finished_at = max(row.started_at, min(closing, now))
            finish_held(conn, site, counter, row, now, None, happened, by="end_of_day", finished_at=finished_at)
            continue
        conn.execute(
            update(T)
            .where(T.c.id == row.id, T.c.status == row.status)
            .values(status="no_show", finished_at=now, **actor_columns("ended_by", None))
        )
        record_event(conn, site, "no_show", now, None, row.id, row.service_id, row.counter_id, {"by": "end_of_day"})
        happened.append(Happened("ticket.no_show", ticket_view(site, reload(conn, row.id)), counter.number))


def _close_idle_counters(conn, site: SiteRuntime, now: dt.datetime, happened: list) -> None:
    """Counters nobody used since the day began close: each morning a counter opens with its clerk."""
    midnight = since_local_midnight(site, now)
    used_today = select(E.c.counter_id).where(E.c.site_id == site.id, E.c.at >= midnight, E.c.counter_id.is_not(None))
    idle = conn.execute(
        update(C)
        .where(C.c.site_id == site.id, C.c.state != "closed", C.c.active.is_(True), C.c.id.not_in(used_today))
        .values(state="closed", pause_reason=None)
        .returning(C.c.id, C.c.number)
    ).all()
    for counter_id, number in idle:
        record_event(conn, site, "closed", now, None, counter_id=counter_id, detail={"by": "end_of_day"})
        happened.append(Happened("counter.changed", None, number, {"state": "closed"}))


def expired_count(outcome: Outcome) -> int:
    return sum(h.kind == "ticket.expired" for h in outcome.happened)
