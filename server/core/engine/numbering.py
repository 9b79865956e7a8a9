"""A queue's row per service and business day: the gap-free numbers it gives, and how many
tickets wait in it (kept in step by every command, so issuing and calling never count the queue)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import Date, bindparam, select, text

from ..db import SiteRuntime
from ..models import utcnow
from .clock import business_day
from .prepared import Prepared
from .records import SEQ, connection
from .types import Happened

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# Issuing is the hot path: its statements are built once (building a statement costs more
# than running it on SQLite). The same SQL runs on SQLite and PostgreSQL.
TAKE_NUMBER_SQL = (  # also the first part of issuing's one statement on PostgreSQL (issuing.py)
    "INSERT INTO number_sequences (service_id, business_day, last_number, waiting, priority_waiting) "
    "VALUES (:service, :day, :start, 1, :priority) ON CONFLICT (service_id, business_day) DO UPDATE SET "
    "last_number = number_sequences.last_number + 1, waiting = number_sequences.waiting + 1, "
    "priority_waiting = number_sequences.priority_waiting + :priority "
    "RETURNING last_number, waiting, priority_waiting"
)
ESTIMATE_INPUTS_SQL = (  # what the wait estimate needs, in the same round trip
    "(SELECT avg_service_seconds FROM services WHERE id = :service), "
    "(SELECT count(*) FROM counters c JOIN counter_services cs ON cs.counter_id = c.id "
    " WHERE cs.service_id = :service AND c.state = 'open' AND c.active), "
    # the queue's numbers sent to one counter (counted in ``waiting``, called by that counter alone, so
    # ahead of nobody in the queue: choosing.IN_SERVICE_QUEUE): one count read from the partial index
    # ix_tickets_transferred, which holds only numbers transferred to a counter and not called since
    "(SELECT count(*) FROM tickets WHERE target_counter_id IS NOT NULL AND status = 'waiting'"
    " AND service_id = :service AND business_day = :day)"
)
_NEXT_NUMBER = text(f"{TAKE_NUMBER_SQL}, {ESTIMATE_INPUTS_SQL}").bindparams(bindparam("day", type_=Date()))
_NEXT_NUMBER_PREPARED = Prepared(_NEXT_NUMBER)
_QUEUE_DELTA = Prepared(  # every call runs it: straight on the database's cursor, as issuing's statements
    text(
        "INSERT INTO number_sequences (service_id, business_day, last_number, waiting, priority_waiting) "
        "VALUES (:service, :day, :none_given, :delta, :priority_delta) ON CONFLICT (service_id, business_day) "
        "DO UPDATE SET waiting = number_sequences.waiting + :delta, "
        "priority_waiting = number_sequences.priority_waiting + :priority_delta "
        "RETURNING waiting, priority_waiting"  # the queue's new counts, for its queue.changed without a read
    ).bindparams(bindparam("day", type_=Date()))
)


def next_number(conn, service_id: int, day: dt.date, start: int, priority: bool):
    """Atomic per-service, per-day counter: the upsert and the ticket insert share one transaction.

    Returns the new number, the queue's waiting and priority-waiting counts, the service's
    average service seconds, how many open counters serve it and how many of the waiting were sent
    to one counter (ahead of nobody in the queue).
    """
    return _NEXT_NUMBER_PREPARED.one(
        conn, {"service": service_id, "day": day, "start": start, "priority": int(priority)}
    )


def queue_delta(conn, site: SiteRuntime, service_id: int, day: dt.date, delta: int, priority: bool) -> Happened:
    """Keep a queue's waiting counts in step when a ticket leaves it or joins it; the queue's
    ``queue.changed`` with its new counts (as ``queue_changed`` would read them)."""
    start = site.config.service(site.service_codes[service_id]).numbers.start
    waiting, priority_waiting = _QUEUE_DELTA.one(
        conn,
        {
            "service": service_id,
            "day": day,
            "none_given": start - 1,
            "delta": delta,
            "priority_delta": delta if priority else 0,
        },
    )
    counts = {"waiting": waiting, "priority": priority_waiting}
    return Happened("queue.changed", detail={"waiting": {site.service_codes[service_id]: counts}})


_WAITING = select(SEQ.c.service_id, SEQ.c.waiting, SEQ.c.priority_waiting).where(
    SEQ.c.business_day == bindparam("day"), SEQ.c.service_id.in_(bindparam("services", expanding=True))
)


def waiting_by_service(conn, site: SiteRuntime, day: dt.date, service_ids=None) -> dict[str, dict]:
    ids = list(site.service_codes) if service_ids is None else list(service_ids)
    counts = {site.service_codes[sid]: {"waiting": 0, "priority": 0} for sid in ids}
    rows = conn.execute(_WAITING, {"day": day, "services": ids})
    for service_id, waiting, priority_waiting in rows:
        counts[site.service_codes[service_id]] = {"waiting": waiting, "priority": priority_waiting}
    return counts


def queue_changed(conn, site: SiteRuntime, day: dt.date, *service_ids: int) -> Happened:
    return Happened("queue.changed", detail={"waiting": waiting_by_service(conn, site, day, set(service_ids))})


def waiting_counts(session: Session, site: SiteRuntime, now: dt.datetime | None = None) -> dict[str, dict]:
    """Waiting tickets per service code today, with how many of them are priority tickets."""
    return waiting_by_service(connection(session), site, business_day(site, now or utcnow()))
