"""A queue's row per service and business day: the gap-free numbers it gives, and how many
tickets wait in it (kept in step by every command, so issuing and calling never count the queue)."""

from __future__ import annotations

import datetime as dt
import logging
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

log = logging.getLogger(__name__)

# Issuing is the hot path: its statements are built once (building a statement costs more
# than running it on SQLite). The same SQL runs on SQLite and PostgreSQL.
# A service's row counts in ``waiting`` (and ``priority_waiting``) every waiting ticket of the service, and
# in ``sent`` (and ``priority_sent``) those of them sent to one counter (a transfer): such a number has left
# its service's queue (choosing.IN_SERVICE_QUEUE, the one rule): only that counter calls it, it is ahead of
# nobody in the queue, and it is not among the queue's waiting that the lobby, the kiosk's people ahead and
# ``queue.changed`` show (it waits in that counter's own list: the console, the keypad, a counter-top
# display). The queue's counts are the row's ``waiting - sent``: every command that changes either keeps
# them in step under the row's lock (a transfer to a counter, the call of a number sent to one, a closed
# counter's numbers sent back), so on PostgreSQL two processes read both from one version of the row (a
# count of the tickets, read from the statement's snapshot while the row is the newest after its lock,
# once said 0 waiting with one waiting, and -1 people ahead).
QUEUE_COUNTS_SQL = "waiting - sent AS waiting, priority_waiting - priority_sent AS priority_waiting"
TAKE_NUMBER_SQL = (  # also the first part of issuing's one statement on PostgreSQL (issuing.py)
    "INSERT INTO number_sequences (service_id, business_day, last_number, waiting, priority_waiting) "
    "VALUES (:service, :day, :start, 1, :priority) ON CONFLICT (service_id, business_day) DO UPDATE SET "
    "last_number = number_sequences.last_number + 1, waiting = number_sequences.waiting + 1, "
    "priority_waiting = number_sequences.priority_waiting + :priority "
    f"RETURNING last_number, {QUEUE_COUNTS_SQL}"
)
ESTIMATE_INPUTS_SQL = (  # what the wait estimate needs, in the same round trip
    "(SELECT avg_service_seconds FROM services WHERE id = :service), "
    "(SELECT count(*) FROM counters c JOIN counter_services cs ON cs.counter_id = c.id "
    " WHERE cs.service_id = :service AND c.state = 'open' AND c.active)"
)
_NEXT_NUMBER = text(f"{TAKE_NUMBER_SQL}, {ESTIMATE_INPUTS_SQL}").bindparams(bindparam("day", type_=Date()))
_NEXT_NUMBER_PREPARED = Prepared(_NEXT_NUMBER)
_QUEUE_DELTA = Prepared(  # every call runs it: straight on the database's cursor, as issuing's statements
    text(
        "INSERT INTO number_sequences (service_id, business_day, last_number, waiting, priority_waiting, sent,"
        " priority_sent) VALUES (:service, :day, :none_given, :delta, :priority_delta, :sent_delta,"
        " :priority_sent_delta) ON CONFLICT (service_id, business_day) "
        "DO UPDATE SET waiting = number_sequences.waiting + :delta, "
        "priority_waiting = number_sequences.priority_waiting + :priority_delta, "
        "sent = number_sequences.sent + :sent_delta, priority_sent = number_sequences.priority_sent + :priority_sent_delta "
        f"RETURNING {QUEUE_COUNTS_SQL}"  # the queue's new counts, for its queue.changed
    ).bindparams(bindparam("day", type_=Date()))
)


def next_number(conn, service_id: int, day: dt.date, start: int, priority: bool):
    """Atomic per-service, per-day counter: the upsert and the ticket insert share one transaction.

    Returns the new number, the service's queue's waiting and priority-waiting counts (the numbers sent
    to one counter left out), the service's average service seconds and how many open counters serve it.
    """
    return _NEXT_NUMBER_PREPARED.one(
        conn, {"service": service_id, "day": day, "start": start, "priority": int(priority)}
    )


def queue_delta(
    conn, site: SiteRuntime, service_id: int, day: dt.date, delta: int, priority: bool, *, sent: bool = False
) -> Happened:
    """Keep a service's row's counts in step when a ticket of the service leaves the waiting or joins
    them: to its queue, or ``sent`` to one counter (counted in ``sent`` too: out of the queue); the
    queue's ``queue.changed`` with its new counts (as ``queue_changed`` reads them)."""
    priority_delta = delta if priority else 0
    sent_delta, priority_sent_delta = (delta, priority_delta) if sent else (0, 0)
    return _row_delta(conn, site, service_id, day, delta, priority_delta, sent_delta, priority_sent_delta)


class RowChanges:
    """The changes one action makes to several queues' rows (a counter's close: the number it held
    requeued, the numbers sent to it back in their queues), merged per row and made at once in ascending
    (day, service) order, the order every action and batch of the group writer takes number rows in
    (db.NumberRowOrder): two closes, or a close and a batch of issued tickets, in two PostgreSQL processes
    never wait for each other's rows in a circle. The tickets change first, as a call's and a transfer's
    do (their rows locked before any number row)."""

    __slots__ = ("rows",)

    def __init__(self):
        self.rows: dict[tuple[dt.date, int], list[int]] = {}

    def waiting(self, service_id: int, day: dt.date, delta: int, priority: bool) -> None:
        """A ticket joins (``delta`` +1) or leaves the waiting of its service's queue (``queue_delta``)."""
        self._add(service_id, day, delta, delta if priority else 0, 0, 0)

    def sent_back(self, service_id: int, day: dt.date, numbers: int, priority: int) -> None:
        """``numbers`` waiting for one counter (``priority`` of them priority tickets) are back in their
        service's queue (a closed counter's): still waiting, no longer sent away."""
        self._add(service_id, day, 0, 0, -numbers, -priority)

    def _add(self, service_id, day, *deltas) -> None:
        row = self.rows.setdefault((day, service_id), [0, 0, 0, 0])
        for i, delta in enumerate(deltas):
            row[i] += delta

    def apply(self, conn, site: SiteRuntime) -> None:
        for (day, service_id), deltas in sorted(self.rows.items()):
            if any(deltas):
                _row_delta(conn, site, service_id, day, *deltas)
        self.rows.clear()


def _row_delta(conn, site, service_id, day, delta, priority_delta, sent_delta, priority_sent_delta) -> Happened:
    start = site.config.service(site.service_codes[service_id]).numbers.start
    waiting, priority_waiting = _QUEUE_DELTA.one(
        conn,
        {
            "service": service_id,
            "day": day,
            "none_given": start - 1,
            "delta": delta,
            "priority_delta": priority_delta,
            "sent_delta": sent_delta,
            "priority_sent_delta": priority_sent_delta,
        },
    )
    code = site.service_codes[service_id]
    return Happened("queue.changed", detail={"waiting": {code: shown_counts(code, waiting, priority_waiting)}})


def shown_counts(code: str, waiting: int, priority_waiting: int) -> dict:
    """A queue's counts as the lobby, the kiosk and ``queue.changed`` show them, from its row's
    ``waiting - sent`` (and ``priority_waiting - priority_sent``): the one place they are read for
    showing. Below 0 only if the row drifted from its tickets (a command that forgot a count): never
    shown (an empty queue, 0), but logged as a warning naming the service, so that a drift is seen, the
    same from every path (an issue, a call, a close, the lobby's first look)."""
    if waiting < 0 or priority_waiting < 0:
        log.warning(
            "queue %s: its row counts %d waiting (%d priority) once the numbers sent to one counter are left out;"
            " shown as 0: the row has drifted from its tickets",
            code,
            waiting,
            priority_waiting,
        )
        return {"waiting": max(waiting, 0), "priority": max(priority_waiting, 0)}
    return {"waiting": waiting, "priority": priority_waiting}


_WAITING = select(SEQ.c.service_id, SEQ.c.waiting - SEQ.c.sent, SEQ.c.priority_waiting - SEQ.c.priority_sent).where(
    SEQ.c.business_day == bindparam("day"), SEQ.c.service_id.in_(bindparam("services", expanding=True))
)


def waiting_by_service(conn, site: SiteRuntime, day: dt.date, service_ids=None) -> dict[str, dict]:
    """Each service's queue on ``day``: how many wait in it, and how many of them are priority tickets;
    not the numbers sent to one counter, which wait for that counter alone (the row's ``sent``)."""
    ids = list(site.service_codes) if service_ids is None else list(service_ids)
    counts = {site.service_codes[sid]: {"waiting": 0, "priority": 0} for sid in ids}
    for service_id, waiting, priority_waiting in conn.execute(_WAITING, {"day": day, "services": ids}):
        code = site.service_codes[service_id]
        counts[code] = shown_counts(code, waiting, priority_waiting)
    return counts


def queue_changed(conn, site: SiteRuntime, day: dt.date, *service_ids: int) -> Happened:
    return Happened("queue.changed", detail={"waiting": waiting_by_service(conn, site, day, set(service_ids))})


def waiting_counts(session: Session, site: SiteRuntime, now: dt.datetime | None = None) -> dict[str, dict]:
    """Each service's queue today (``waiting_by_service``), by service code."""
    return waiting_by_service(connection(session), site, business_day(site, now or utcnow()))
