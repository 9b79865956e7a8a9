"""A queue's row per service and business day: the gap-free numbers it gives, and how many
tickets wait in it (kept in step by every command, so issuing and calling never count the queue)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import Date, bindparam, func, not_, select, text

from ..db import SiteRuntime
from ..models import utcnow
from .choosing import IN_SERVICE_QUEUE
from .clock import business_day
from .prepared import Prepared
from .records import SEQ, T, connection
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
# A service's row counts in ``waiting`` (and ``priority_waiting``) every waiting ticket of the service, kept
# in step by each command without asking where the ticket waits. A number sent to one counter (a transfer)
# has left its service's queue (choosing.IN_SERVICE_QUEUE, the one rule): only that counter calls it, it is
# ahead of nobody in the queue, and it is not among the queue's waiting that the lobby, the kiosk's people
# ahead and ``queue.changed`` show (it waits in that counter's own list: the console, the keypad, a
# counter-top display). The queue's counts are the row's less these, counted from the partial index
# ix_tickets_transferred, which holds only numbers transferred to a counter and not called since.
SENT_AWAY = not_(IN_SERVICE_QUEUE)
_SENT_AWAY_OF_SERVICE = (
    f"FROM tickets WHERE {SENT_AWAY.compile(compile_kwargs={'literal_binds': True})} AND status = 'waiting'"
    " AND service_id = :service AND business_day = :day"
)
ESTIMATE_INPUTS_SQL = (  # what the wait estimate needs, in the same round trip
    "(SELECT avg_service_seconds FROM services WHERE id = :service), "
    "(SELECT count(*) FROM counters c JOIN counter_services cs ON cs.counter_id = c.id "
    " WHERE cs.service_id = :service AND c.state = 'open' AND c.active), "
    # the queue's numbers sent to one counter, and how many of them are priority tickets (SENT_AWAY)
    f"(SELECT count(*) {_SENT_AWAY_OF_SERVICE}), (SELECT count(priority_id) {_SENT_AWAY_OF_SERVICE})"
)
_NEXT_NUMBER = text(f"{TAKE_NUMBER_SQL}, {ESTIMATE_INPUTS_SQL}").bindparams(bindparam("day", type_=Date()))
_NEXT_NUMBER_PREPARED = Prepared(_NEXT_NUMBER)
_QUEUE_DELTA = Prepared(  # every call runs it: straight on the database's cursor, as issuing's statements
    text(
        "INSERT INTO number_sequences (service_id, business_day, last_number, waiting, priority_waiting) "
        "VALUES (:service, :day, :none_given, :delta, :priority_delta) ON CONFLICT (service_id, business_day) "
        "DO UPDATE SET waiting = number_sequences.waiting + :delta, "
        "priority_waiting = number_sequences.priority_waiting + :priority_delta "
        # the queue's new counts (less its numbers sent to one counter: SENT_AWAY), for its queue.changed
        f"RETURNING waiting - (SELECT count(*) {_SENT_AWAY_OF_SERVICE}),"
        f" priority_waiting - (SELECT count(priority_id) {_SENT_AWAY_OF_SERVICE})"
    ).bindparams(bindparam("day", type_=Date()))
)


def next_number(conn, service_id: int, day: dt.date, start: int, priority: bool):
    """Atomic per-service, per-day counter: the upsert and the ticket insert share one transaction.

    Returns the new number, the service's row's waiting and priority-waiting counts, the service's
    average service seconds, how many open counters serve it, and how many of the waiting (and of
    the priority waiting) were sent to one counter (``SENT_AWAY``: out of the queue).
    """
    return _NEXT_NUMBER_PREPARED.one(
        conn, {"service": service_id, "day": day, "start": start, "priority": int(priority)}
    )


def queue_delta(conn, site: SiteRuntime, service_id: int, day: dt.date, delta: int, priority: bool) -> Happened:
    """Keep a service's row's waiting counts in step when a ticket of the service leaves the waiting or
    joins them (to its queue, or sent to one counter); the queue's ``queue.changed`` with its new counts
    (as ``queue_changed`` reads them: the numbers sent to one counter left out)."""
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


_SENT_AWAY = (
    select(T.c.service_id, func.count(), func.count(T.c.priority_id))
    .where(
        SENT_AWAY,
        T.c.status == "waiting",
        T.c.business_day == bindparam("day"),
        T.c.service_id.in_(bindparam("services", expanding=True)),
    )
    .group_by(T.c.service_id)
)


def waiting_by_service(conn, site: SiteRuntime, day: dt.date, service_ids=None) -> dict[str, dict]:
    """Each service's queue on ``day``: how many wait in it, and how many of them are priority tickets;
    not the numbers sent to one counter (``SENT_AWAY``), which wait for that counter alone."""
    ids = list(site.service_codes) if service_ids is None else list(service_ids)
    counts = {site.service_codes[sid]: {"waiting": 0, "priority": 0} for sid in ids}
    rows = conn.execute(_WAITING, {"day": day, "services": ids})
    for service_id, waiting, priority_waiting in rows:
        counts[site.service_codes[service_id]] = {"waiting": waiting, "priority": priority_waiting}
    for service_id, sent, sent_priority in conn.execute(_SENT_AWAY, {"day": day, "services": ids}):
        queue = counts[site.service_codes[service_id]]
        queue["waiting"] -= sent
        queue["priority"] -= sent_priority
    return counts


def queue_changed(conn, site: SiteRuntime, day: dt.date, *service_ids: int) -> Happened:
    return Happened("queue.changed", detail={"waiting": waiting_by_service(conn, site, day, set(service_ids))})


def waiting_counts(session: Session, site: SiteRuntime, now: dt.datetime | None = None) -> dict[str, dict]:
    """Each service's queue today (``waiting_by_service``), by service code."""
    return waiting_by_service(connection(session), site, business_day(site, now or utcnow()))
