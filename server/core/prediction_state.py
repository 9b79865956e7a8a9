"""The centre's live state as the event log tells it, for the wait prediction (server/core/prediction.py).

``LiveTracker`` reads events in the order they were written (by id) and keeps what is known at
that moment: who waits in which queue (with priority class, transfer and target counter), which
counter holds which ticket since when, who is at the counter, which counters are paused (and
why, since when) or have not started today, and the clerks' pace today. It never looks at a
ticket row: its columns hold the future (the call, the finish), events only the past.

The same tracker serves the backtest (the whole log, once) and a running server (the events
since the last look, ``catch_up``), so what the prediction sees is the same in both. A learner
(``Observer``) can watch it to collect training figures. Flask-free.

Bookings (server/core/bookings/): an event is read with two columns of its ticket that are
written in the issuing transaction and never change after, ``origin`` and ``due_at``. A remote
number (origin "remote") is issued at once but held out of the queue until its ``checked_in``
event; a booking checked in on time has ``due_at``, its slot's start, from which the engine calls
it ahead of everyone (``engine.choose_next``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select

from . import models as m
from .db import SiteRuntime

BUSY_GAP_MINUTES = 2.0  # an end followed by a call within this long: the clerk moved straight on
RECENT_SERVICES = 8  # today's services per clerk kept for their recent pace


_E = m.events
_T = m.tickets
# at every issue: built once (building a statement costs more than running it on SQLite); by the primary
# key alone, since a site_id condition makes SQLite walk the site's index and sort
_EVENTS_AFTER = (
    select(
        _E.c.id,
        _E.c.kind,
        _E.c.at,
        _E.c.ticket_id,
        _E.c.service_id,
        _E.c.counter_id,
        _E.c.user_id,
        _E.c.detail,
        _E.c.site_id,
        _T.c.origin,
        _T.c.due_at,
    )
    .select_from(_E.outerjoin(_T, _T.c.id == _E.c.ticket_id))
    .where(_E.c.id > bindparam("after"))
    .order_by(_E.c.id)
)


@dataclass
class Waiting:
    id: int
    service: int
    priority: bool
    issued_at: dt.datetime
    target_counter: int | None = None  # a counter number, for a transfer to one counter
    transferred: bool = False
    due_at: dt.datetime | None = None  # a booking checked in on time: called ahead of everyone from then


@dataclass
class CounterLive:
    number: int
    services: frozenset
    state: str = "closed"  # closed | open | paused, as the counters table has it
    pause_reason: str | None = None
    paused_at: dt.datetime | None = None
    held_service: int | None = None
    held_ticket: int | None = None
    called_at: dt.datetime | None = None
    clerk: int | None = None
    active_today: bool = False
    normal_streak: int = 0
    last_end: dt.datetime | None = None


class Observer:
    """What a learner hears while the tracker replays history (every method optional to override)."""

    def service(self, service: int, clerk: int | None, minutes: float, at: dt.datetime) -> None: ...
    def gap(self, minutes: float) -> None: ...
    def pause(self, reason: str | None, minutes: float) -> None: ...
    def first_activity(self, number: int, clerk: int | None, minutes_after_opening: float) -> None: ...
    def arrival(self, service: int, priority: bool, transferred: bool, at: dt.datetime) -> None: ...
    def day(self, day: dt.date) -> None: ...


@dataclass
class LiveTracker:
    site: SiteRuntime
    observer: Observer = field(default_factory=Observer)

    def __post_init__(self):
        site = self.site
        self.zone = site.config.site.zone
        self.counter_numbers = {cid: number for number, cid in site.counter_ids.items()}
        self.priority_codes = set(site.priority_ids)
        self.counters = {
            number: CounterLive(number, frozenset(services)) for number, services in site.counter_service_ids.items()
        }
        self.waiting: dict[int, Waiting] = {}
        self.tickets: dict[int, Waiting] = {}  # today's tickets as they were issued
        self.held: dict[int, Waiting] = {}  # remote numbers not checked in yet: out of the queue
        self.recent: dict[int, list[tuple[int, float]]] = {}  # clerk -> today's (service, minutes)
        self.ema_seconds: dict[int, float] = {}  # the engine's moving average per service, for the formula
        self.day: dt.date | None = None
        self._day_from = self._day_until = None  # the day's bounds in UTC: most events fall inside them
        self.opening: dt.datetime | None = None
        self.last_id = 0

    # --- the day --------------------------------------------------------------------------------

    def local_day(self, at: dt.datetime) -> dt.date:
        return at.replace(tzinfo=dt.UTC).astimezone(self.zone).date()

    def local_hour(self, at: dt.datetime) -> int:
        return at.replace(tzinfo=dt.UTC).astimezone(self.zone).hour

    def advance(self, now: dt.datetime) -> None:
        """Start a new day when ``now`` is in one (before predicting at the day's first moment)."""
        if self._day_from is not None and self._day_from <= now < self._day_until:
            return  # (an event of the day begun: no time zone conversion per event)
        day = self.local_day(now)
        if day != self.day:
            self._new_day(day)

    def _new_day(self, day: dt.date) -> None:
        self.day = day
        self._day_from, self._day_until = (
            dt.datetime.combine(midnight, dt.time(), self.zone).astimezone(dt.UTC).replace(tzinfo=None)
            for midnight in (day, day + dt.timedelta(days=1))
        )
        opening = dt.datetime.combine(day, self.site.config.site.hours.open, self.zone)
        self.opening = opening.astimezone(dt.UTC).replace(tzinfo=None)
        self.waiting = {k: w for k, w in self.waiting.items() if self.local_day(w.issued_at) == day}
        self.tickets = {}
        self.held = {}
        self.recent = {}
        for counter in self.counters.values():
            counter.active_today = False
            counter.held_service = counter.held_ticket = counter.called_at = counter.last_end = None
            counter.clerk = None
        self.observer.day(day)

    # --- events ---------------------------------------------------------------------------------

    def feed(self, event) -> None:
        """One event row (id, kind, at, ticket_id, service_id, counter_id, user_id, detail), in id order."""
        self.last_id = max(self.last_id, event.id)
        self.advance(event.at)
        handler = getattr(self, f"_on_{event.kind}", None)
        counter = self.counters.get(self.counter_numbers.get(event.counter_id))
        if counter is not None and not counter.active_today and event.kind != "rated":
            counter.active_today = True
            self.observer.first_activity(counter.number, event.user_id, (event.at - self.opening).total_seconds() / 60)
        if handler is not None:
            handler(event, counter)

    def _on_issued(self, event, counter) -> None:
        priority = (event.detail or {}).get("priority") is not None
        ticket = Waiting(event.ticket_id, event.service_id, priority, event.at, due_at=getattr(event, "due_at", None))
        self.tickets[event.ticket_id] = ticket
        if getattr(event, "origin", None) == "remote":  # not in the queue until its citizen checks in
            self.held[event.ticket_id] = ticket
            return
        self.waiting[event.ticket_id] = ticket
        self.observer.arrival(event.service_id, priority, False, event.at)

    def _on_checked_in(self, event, counter) -> None:
        ticket = self.held.pop(event.ticket_id, None)
        if ticket is not None:  # a remote number joins the queue where its number has always been
            self.waiting[event.ticket_id] = ticket
            self.observer.arrival(ticket.service, ticket.priority, False, event.at)

    def _on_called(self, event, counter) -> None:
        ticket = self.waiting.pop(event.ticket_id, None)
        if counter is None:
            return
        if counter.last_end is not None and counter.state == "open":
            gap = (event.at - counter.last_end).total_seconds() / 60
            if gap <= BUSY_GAP_MINUTES:
                self.observer.gap(gap)
        if ticket is not None:
            # the engine's streak: normal tickets called in a row while a priority one could have been
            priority_waited = not ticket.priority and any(
                w.priority and self.serves(counter, w) for w in self.waiting.values()
            )
            counter.normal_streak = counter.normal_streak + 1 if priority_waited else 0
        counter.held_ticket, counter.held_service, counter.called_at = event.ticket_id, event.service_id, event.at
        counter.clerk = event.user_id
        counter.state = "open"  # a call opens a closed counter (older logs have no "opened" event)
        counter.last_end = None

    def _end(self, event, counter) -> None:
        if counter is None or counter.held_ticket != event.ticket_id:
            return
        minutes = (event.at - counter.called_at).total_seconds() / 60
        self.observer.service(counter.held_service, counter.clerk, minutes, event.at)
        if counter.clerk is not None:
            recent = self.recent.setdefault(counter.clerk, [])
            recent.append((counter.held_service, minutes))
            del recent[:-RECENT_SERVICES]
        counter.held_ticket = counter.held_service = counter.called_at = None
        counter.last_end = event.at

    def _on_finished(self, event, counter) -> None:
        # its counter closed under it, or its day ended: untimed. (A day end's finish comes after the new
        # day began here, which let every held ticket go already, so for it this is only a safeguard.)
        if (event.detail or {}).get("by") in m.UNTIMED_FINISHES:
            self._let_go(event, counter)
            return
        self._end(event, counter)
        seconds = (event.detail or {}).get("service_seconds")
        if seconds is not None:
            old = self.ema_seconds.get(event.service_id)
            self.ema_seconds[event.service_id] = seconds if old is None else old * 0.8 + seconds * 0.2

    _on_no_show = _end

    def _on_transferred(self, event, counter) -> None:
        self._end(event, counter)
        # back in the queue at its place by issue time, as the engine's ORDER BY issued_at, id finds it
        first = self.tickets.get(event.ticket_id) or Waiting(event.ticket_id, event.service_id, False, event.at)
        self.waiting[event.ticket_id] = Waiting(
            event.ticket_id,
            event.service_id,
            first.priority,
            first.issued_at,
            (event.detail or {}).get("to_counter"),
            True,
            first.due_at,  # the engine keeps a booking's due time on the ticket through a transfer
        )
        self.observer.arrival(event.service_id, first.priority, True, event.at)

    @staticmethod
    def _let_go(event, counter) -> None:
        """The counter no longer holds the ticket, and nobody timed its service."""
        if counter is not None and counter.held_ticket == event.ticket_id:
            counter.held_ticket = counter.held_service = counter.called_at = None

    def _on_requeued(self, event, counter) -> None:
        """Its counter closed under it (engine.close_counter): nobody served it, and it waits again at its
        place by issue time in its service's queue."""
        self._let_go(event, counter)
        first = self.tickets.get(event.ticket_id) or Waiting(event.ticket_id, event.service_id, False, event.at)
        self.waiting[event.ticket_id] = Waiting(
            event.ticket_id, event.service_id, first.priority, first.issued_at, due_at=first.due_at
        )

    def _on_paused(self, event, counter) -> None:
        if counter is not None:
            counter.state, counter.pause_reason, counter.paused_at = (
                "paused",
                (event.detail or {}).get("reason"),
                event.at,
            )
            counter.last_end = None

    def _on_resumed(self, event, counter) -> None:
        if counter is not None and counter.state == "paused":
            self.observer.pause(counter.pause_reason, (event.at - counter.paused_at).total_seconds() / 60)
            counter.state, counter.pause_reason, counter.paused_at = "open", None, None

    def _on_opened(self, event, counter) -> None:
        if counter is not None:
            counter.state, counter.pause_reason, counter.paused_at = "open", None, None

    def _on_closed(self, event, counter) -> None:
        if counter is not None:
            counter.state, counter.pause_reason, counter.paused_at = "closed", None, None
            counter.last_end = None

    def _on_expired(self, event, counter) -> None:
        self.waiting.pop(event.ticket_id, None)
        self.held.pop(event.ticket_id, None)

    # --- what the prediction asks ---------------------------------------------------------------

    def serves(self, counter: CounterLive, ticket: Waiting) -> bool:
        if ticket.target_counter is not None:
            return ticket.target_counter == counter.number
        return ticket.service in counter.services

    def start(self, conn, now: dt.datetime) -> None:
        """A running server's tracker: the counters as they are, then today's events so far."""
        E, C = m.events, m.counters
        midnight = dt.datetime.combine(self.local_day(now), dt.time(), self.zone)
        midnight = midnight.astimezone(dt.UTC).replace(tzinfo=None)
        before = conn.execute(
            select(E.c.id).where(E.c.site_id == self.site.id, E.c.at < midnight).order_by(E.c.id.desc()).limit(1)
        ).scalar()
        self.last_id = before or 0
        for row in conn.execute(select(C.c.number, C.c.state, C.c.pause_reason).where(C.c.site_id == self.site.id)):
            counter = self.counters.get(row.number)
            if counter is not None:  # as it was at midnight, if today's events change it
                counter.state, counter.pause_reason = row.state, row.pause_reason
                counter.paused_at = midnight if row.state == "paused" else None
        self.catch_up(conn)

    def catch_up(self, conn) -> int:
        """Read the events written since the last look (a running server); returns how many."""
        rows = conn.execute(_EVENTS_AFTER, {"after": self.last_id}).all()
        for row in rows:
            # a second reader (another greenlet) may have fed these while this query waited
            if row.site_id == self.site.id and row.id > self.last_id:
                self.feed(row)
        self.last_id = max(self.last_id, rows[-1].id) if rows else self.last_id
        return len(rows)
