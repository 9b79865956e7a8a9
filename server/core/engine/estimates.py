"""Where a waiting ticket stands: how many are ahead of it, and the wait the kiosk promises.

The promise is a point and a range in whole minutes (``eta_minutes``, ``eta_range``). An
``Estimator`` (the running server's trained wait predictor, server/core/prediction.py) gives
them when it can; otherwise the usual formula does, as a range of one value. Either way no
open counter serving the service means no promise at all (None). A ticket sent to one counter
(``target_counter``) waits in that counter's queue alone: the people ahead are those its "next" calls
first, each at its own service's time, and the wait is promised only while that counter is open.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import and_, bindparam, func, or_, select, text

from ..db import SiteRuntime
from ..models import utcnow
from .choosing import (
    CANDIDATE_COLUMNS,
    IN_SERVICE_QUEUE,
    JUMPS,
    as_candidate,
    counter_call_order,
    in_call_order,
    may_jump,
)
from .records import S, T
from .views import ticket_view

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Estimate:
    """A predicted wait in minutes: an 80 % range and the value in it to promise."""

    low: float
    point: float
    high: float


class Estimator(Protocol):
    """What issuing and a ticket's status ask for a wait; None: "use the formula" (no model yet, or it
    cannot tell). ``ticket_id``: the ticket itself (already written), so that it is not counted ahead."""

    def estimate(
        self, conn, service_id: int, priority: bool, now: dt.datetime, ticket_id: int | None
    ) -> Estimate | None: ...


_SERVICE_PACE = text(
    "SELECT s.avg_service_seconds, (SELECT count(*) FROM counters c "
    "JOIN counter_services cs ON cs.counter_id = c.id "
    "WHERE cs.service_id = s.id AND c.state = 'open' AND c.active) FROM services s WHERE s.id = :service"
)

# for a ticket sent to one counter: whether that counter (alone serving it) is open
_COUNTER_OPEN = text("SELECT count(*) FROM counters c WHERE c.id = :counter AND c.state = 'open' AND c.active")


def _minutes_per_ticket(site: SiteRuntime, service_id: int, avg_seconds) -> float:
    """A ticket's service time in minutes: its service's moving average, or its configured default."""
    return (
        avg_seconds / 60 if avg_seconds else site.config.service(site.service_codes[service_id]).default_service_minutes
    )


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
    return math.ceil(_minutes_per_ticket(site, service_id, avg_seconds) * ahead / max(1, open_counters))


def promised_wait(
    conn,
    site: SiteRuntime,
    service_id: int,
    ahead: int,
    *,
    priority: bool,
    ticket_id: int,
    now: dt.datetime,
    estimator: Estimator | None = None,
    pace=None,
    formula: int | None = None,
) -> tuple[int | None, list | None]:
    """``(eta_minutes, eta_range)`` in whole minutes, both None while no open counter serves the service.

    ``eta_minutes`` is the estimator's point (rounded up, inside the range), else the formula's; the
    range is ``[low, high]``, ``[n, n]`` from the formula. ``pace`` as for ``estimate_minutes``;
    ``formula``: the formula's minutes, where the caller worked them out (a ticket sent to one counter).
    """
    pace = pace or conn.execute(_SERVICE_PACE, {"service": service_id}).one()
    if not pace[1]:
        return None, None
    found = None
    if estimator is not None:
        try:
            found = estimator.estimate(conn, service_id, priority, now, ticket_id)
        except Exception:  # a fault in the prediction's code must not refuse a ticket: the formula answers
            log.exception("the wait prediction failed; the ticket gets the usual formula's wait")
    if found is None:
        minutes = formula if formula is not None else estimate_minutes(conn, site, service_id, ahead, pace)
        return minutes, [minutes, minutes]
    low, high = math.floor(max(0.0, found.low)), math.ceil(max(0.0, found.high))
    return min(max(math.ceil(found.point), low), high), [low, high]


def _queue(site_id, service_id, day):
    """The service's waiting queue on ``day``: what ``places_in_queue`` orders and ``waiting_ahead`` counts."""
    return (
        T.c.site_id == site_id,
        T.c.business_day == day,
        T.c.status == "waiting",
        T.c.service_id == service_id,
        IN_SERVICE_QUEUE,
    )


def _queue_in_call_order(conn, site: SiteRuntime, service_id: int, day: dt.date, now: dt.datetime):
    """The waiting tickets of the service's queue on ``day`` in the order "next" calls them: choosing.py's
    ``call_order`` for one counter serving the service, from a streak of 0, as of ``now``."""
    rows = conn.execute(select(*CANDIDATE_COLUMNS).where(*_queue(site.id, service_id, day)))
    return in_call_order(rows, site, (service_id,), 0, now)


def places_in_queue(conn, site: SiteRuntime, service_id: int, day: dt.date, now: dt.datetime) -> dict[int, int]:
    """Each waiting ticket of the service's queue on ``day`` (its id) -> how many "next" calls before it."""
    return {row.id: place for place, row in enumerate(_queue_in_call_order(conn, site, service_id, day, now))}


def places_at_counter(conn, site: SiteRuntime, counter_id: int, day: dt.date, now: dt.datetime) -> dict[int, int]:
    """Each waiting ticket the counter may call on ``day`` (its id) -> how many its "next" calls before it
    (choosing.py ``counter_call_order``); none while the counter is not open (or no longer in the setup):
    a number sent to it is not near its turn while nobody there calls it (notifications.py's "near")."""
    number = site.counter_numbers.get(counter_id)
    if number not in site.counter_ids or not conn.execute(_COUNTER_OPEN, {"counter": counter_id}).scalar():
        return {}
    return {row.id: place for place, row in enumerate(counter_call_order(conn, site, number, day, now))}


def places_of(conn, site: SiteRuntime, row, now: dt.datetime) -> dict[int, int]:
    """The places of the queue the waiting ticket ``row`` is in: its service's (``places_in_queue``), or the
    counter's it was sent to (``places_at_counter``)."""
    if row.target_counter_id is None:
        return places_in_queue(conn, site, row.service_id, row.business_day, now)
    return places_at_counter(conn, site, row.target_counter_id, row.business_day, now)


_ISSUED_AT, _ID = bindparam("issued_at"), bindparam("id")
_AHEAD = select(
    func.count().filter(or_(T.c.issued_at < _ISSUED_AT, and_(T.c.issued_at == _ISSUED_AT, T.c.id < _ID))),
    func.count().filter(JUMPS),
).where(*_queue(bindparam("site_id"), bindparam("service_id"), bindparam("day")))


def waiting_ahead(conn, site: SiteRuntime, row, now: dt.datetime) -> int:
    """Waiting tickets of the same queue that "next" calls before this one (``places_in_queue``). Where no
    ticket of the queue may pass older ones (choosing.py ``may_jump``), the usual case, that is those that
    came before: counted, in the same statement that finds whether any may (not asked of a ticket that may)."""
    if not may_jump(as_candidate(row), now):
        came_before, jumping = conn.execute(
            _AHEAD,
            {
                "site_id": site.id,
                "service_id": row.service_id,
                "day": row.business_day,
                "issued_at": row.issued_at,
                "id": row.id,
                "now": now,
            },
        ).one()
        if not jumping:
            return came_before
    ordered = _queue_in_call_order(conn, site, row.service_id, row.business_day, now)
    # (0: called meanwhile, by a counter's transaction committed since the ticket was read, on PostgreSQL)
    return next((place for place, ticket in enumerate(ordered) if ticket.id == row.id), 0)


def _at_counter(conn, site: SiteRuntime, row, now: dt.datetime) -> tuple[int, int | None]:
    """A ticket sent to one counter: how many waiting tickets that counter calls before it (choosing.py
    ``counter_call_order``), and the formula's wait, None while that counter is not open (or is no longer
    in the setup): each ticket ahead takes its own service's time (another service's citizens, at a
    counter serving several), and that counter alone calls them."""
    number = site.counter_numbers.get(row.target_counter_id)
    if number not in site.counter_ids:  # removed from the setup (since the transfer): it calls nobody
        return 0, None
    ahead = []
    for ticket in counter_call_order(conn, site, number, row.business_day, now):
        if ticket.id == row.id:
            break
        ahead.append(ticket.service_id)
    else:  # (called meanwhile, by a counter's transaction committed since the ticket was read, on PostgreSQL)
        ahead = []
    if not conn.execute(_COUNTER_OPEN, {"counter": row.target_counter_id}).scalar():
        return len(ahead), None
    averages = dict(conn.execute(select(S.c.id, S.c.avg_service_seconds).where(S.c.id.in_(set(ahead)))).all())
    minutes = sum(_minutes_per_ticket(site, service, averages.get(service)) for service in ahead)
    return len(ahead), math.ceil(minutes)


def with_position(conn, site, row, estimator: Estimator | None = None, now: dt.datetime | None = None) -> dict:
    """The ticket's view with ``waiting_ahead``, ``eta_minutes`` and ``eta_range`` (0 and [0, 0] once it
    is called): the wait from where it stands now, the same way issuing promised it."""
    view = ticket_view(site, row)
    if row.status == "waiting":
        now = now or utcnow()
        pace = formula = None
        if row.target_counter_id is None:
            ahead = waiting_ahead(conn, site, row, now)
        else:  # sent to one counter: its place in that counter's queue, no promise while it is not open
            ahead, formula = _at_counter(conn, site, row, now)
            pace = (None, 0 if formula is None else 1)
        view["waiting_ahead"] = ahead
        view["eta_minutes"], view["eta_range"] = promised_wait(
            conn,
            site,
            row.service_id,
            ahead,
            priority=row.priority_id is not None,
            ticket_id=row.id,
            now=now,
            estimator=estimator,
            pace=pace,
            formula=formula,
        )
    else:
        view["waiting_ahead"] = 0
        view["eta_minutes"], view["eta_range"] = 0, [0, 0]
    return view
