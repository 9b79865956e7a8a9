"""Wait prediction: how long a new ticket will wait, as a point value and a calibrated 80 % range.

The usual formula (average service time x people ahead / open counters) ignores which counters
are really staffed, who shares a counter with another service, each clerk's pace, breaks, the
priority tickets that will jump ahead and the hour. This module instead plays the queue forward
from the live state (``prediction_state.LiveTracker``): each counter that serves the ticket's
service (and whatever else it serves) becomes free when its current citizen is done (at its
clerk's pace), when its pause ends (lunch is longer than a coffee break) or when a counter that
has not opened yet is likely to open; then it calls by the engine's own rule (``choose_next``:
priority policy, max-wait aging) among the people waiting, priority tickets and transfers
expected to arrive meanwhile included, until our ticket is called. That time is the raw
estimate. History (the days before) gives every figure this uses, and a calibration table maps
the raw estimate to the median wait (the point) and the 10th and 90th percentiles (the range)
that the same estimates met on those days.

``prediction_train.train`` learns a ``Model`` from the event log (nightly, or at start);
``Predictor`` keeps a tracker in step with the log and answers at issue time. Pure Python,
Flask-free.
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import math
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select

from . import engine as q
from . import models as m
from .db import SiteRuntime
from .prediction_state import LiveTracker

GRID_STEP = 0.5  # minutes between the calibration table's rows
GRID_TOP = 360.0  # the table's last row; longer raw estimates use its factors
SCALE_FLOOR = 2.0  # minutes: the calibration scales residuals by (raw + this), so a 0-minute raw estimate has a range
QUANTILES = (0.1, 0.5, 0.9)
TODAY_PRIOR = 6  # past pace against today's services
TRANSFERRED_AGE = 30.0  # minutes: how long before its transfer a transferred ticket was issued, roughly
MAX_STEPS = 3000
BOOKED_SECONDS = 30  # today's booked slots still to check in are read again at most this often
BOOKED = -2  # the id of a booked citizen still to come in the play-forward's queues


@dataclass
class Prediction:
    minutes: float  # the point value (the median of what such estimates met)
    low: float  # the 80 % range
    high: float
    raw: float  # the play-forward estimate before calibration

    @property
    def point(self) -> float:  # what the engine's ``Estimator`` interface calls the promised value
        return self.minutes

    def as_range(self) -> tuple[int, int]:
        """Whole minutes for a person: "khoảng 10–20 phút"."""
        return math.floor(self.low), max(math.ceil(self.high), math.floor(self.low) + 1)


@dataclass
class Model:
    service_minutes: dict[int, float]  # call -> end, per service
    gap_minutes: float  # end -> next call when the clerk moves straight on
    clerk_pace: dict[int, float]  # a clerk's time relative to the service's usual
    usual_clerk: dict[int, int]  # counter number -> the clerk most often there
    late_remaining: list[float]  # minutes after opening (index) -> expected minutes until a counter not yet open opens
    pause_remaining: dict[str, list[float]]  # reason -> minutes into the pause (index) -> expected minutes left
    jump_rate: dict[int, list[float]]  # service -> per local hour: priority arrivals and transfers in per minute
    priority_jump: dict[int, list[float]]  # service -> per local hour: the priority share of those
    calibration: list[list[float]] = field(default_factory=list)  # per quantile: a row per GRID_STEP of raw minutes
    days: int = 0
    weekday_factor: dict[int, list[float]] = field(default_factory=dict)  # service -> per weekday: × the hour's rate
    booking_show: float = 1.0  # the share of booked slots whose citizen checked in on time

    def to_dict(self) -> dict:
        return {k: v for k, v in vars(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> Model:
        ints = lambda d: {int(k): v for k, v in d.items()}  # noqa: E731 (JSON keys are strings)
        return cls(
            **{
                **data,
                "service_minutes": ints(data["service_minutes"]),
                "clerk_pace": ints(data["clerk_pace"]),
                "usual_clerk": ints(data["usual_clerk"]),
                "jump_rate": ints(data["jump_rate"]),
                "priority_jump": ints(data["priority_jump"]),
                "weekday_factor": ints(data.get("weekday_factor", {})),
                "booking_show": data.get("booking_show", 1.0),
            }
        )


# --- playing the queue forward --------------------------------------------------------------------

WEEK = [1.0] * 7  # no weekday figures (a model saved before them): every weekday as the mean


def _pace(model: Model, tracker: LiveTracker, clerk: int | None) -> float:
    """The clerk's pace: their history, moved toward what their services today took."""
    past = model.clerk_pace.get(clerk, 1.0)
    today = tracker.recent.get(clerk) if clerk is not None else None
    if not today:
        return past
    ratio = sum(minutes / model.service_minutes.get(service, minutes or 1.0) for service, minutes in today)
    return (past * TODAY_PRIOR + ratio) / (TODAY_PRIOR + len(today))


def _free_in(model: Model, tracker: LiveTracker, counter, now: dt.datetime, pace: float) -> float:
    """Minutes until the counter next calls someone, from what is known now."""
    if counter.state == "paused":
        table = model.pause_remaining.get(counter.pause_reason or "", model.pause_remaining["*"])
        elapsed = (now - counter.paused_at).total_seconds() / 60
        return max(0.5, table[min(int(elapsed), len(table) - 1)]) + model.gap_minutes
    if not counter.active_today:  # its clerk has not come yet today (closed, or left open overnight)
        elapsed = max(0.0, (now - tracker.opening).total_seconds() / 60)
        table = model.late_remaining
        return max(0.0, table[min(int(elapsed), len(table) - 1)])
    if counter.state != "open":  # closed after working today: nobody there
        return math.inf
    if counter.held_service is not None:
        expected = model.service_minutes.get(counter.held_service, 5.0) * pace
        elapsed = (now - counter.called_at).total_seconds() / 60
        return max(expected - elapsed, 0.3 * expected) + model.gap_minutes
    return model.gap_minutes / 2  # idle: it calls as soon as the ticket is there


def raw_estimate(
    model: Model,
    tracker: LiveTracker,
    service: int,
    priority: bool,
    now: dt.datetime,
    exclude: int | None = None,
    booked: tuple = (),
) -> float | None:
    """Minutes until a ticket of ``service`` issued ``now`` is called, by playing the queue forward.

    None when no counter serves the service. ``exclude``: the ticket itself; if the tracker has it waiting,
    it is played from its place in its queue (a ticket issued earlier, followed on the phone), else as the
    newest ticket of ``service``. ``booked``: (service, slot start) of booked citizens still to check in
    (``Predictor.booked``): each is due at its slot's start and takes ``model.booking_show`` of a service.
    """
    site = tracker.site
    policy = site.config.policy
    mine = tracker.waiting.get(exclude) if exclude is not None else None
    if mine is not None:
        service, priority = mine.service, mine.priority
    if not any(service in c.services for c in tracker.counters.values()):
        return None
    counters = _linked_counters(tracker, service, mine)
    # the queues: per (service or counter target, priority) a list of (minutes since issue, id), oldest first
    queues: dict[tuple, list] = defaultdict(list)
    ours = (0.0, math.inf)
    due = []  # bookings checked in on time: (minutes until due, entry, its queue), the earliest first
    for ticket in tracker.waiting.values():
        key = ("counter", ticket.target_counter) if ticket.target_counter is not None else ("service", ticket.service)
        entry = ((ticket.issued_at - now).total_seconds() / 60, ticket.id)
        if ticket is mine:
            ours = entry
        queues[key, ticket.priority].append(entry)
        if ticket.due_at is not None:
            due.append(((ticket.due_at - now).total_seconds() / 60, entry, (key, ticket.priority)))
    for sid, start in booked:
        due.append(((start - now).total_seconds() / 60, (math.inf, BOOKED), (("service", sid), False)))
    if mine is None:
        queues[("service", service), priority].append(ours)
    for entries in queues.values():
        entries.sort()
    due.sort(key=lambda d: (d[0], d[1][1]))
    # jumpers: priority tickets and transfers expected to arrive, at the hour's and weekday's rate, evenly spaced
    hour, weekday = tracker.local_hour(now), tracker.local_day(now).weekday()
    arrivals = []
    for sid in {s for c in counters if service in c.services for s in c.services}:
        rate = model.jump_rate.get(sid, [0.0] * 24)[hour] * model.weekday_factor.get(sid, WEEK)[weekday]
        if rate > 0:
            share = model.priority_jump[sid][hour]
            arrivals.append([0.5 / rate, 1.0 / rate, sid, share, 0.0])
    heap = []
    paces = {}
    for c in counters:
        clerk = c.clerk if c.active_today else model.usual_clerk.get(c.number)
        paces[c.number] = _pace(model, tracker, clerk)
        free = _free_in(model, tracker, c, now, paces[c.number])
        if free < math.inf:
            heap.append((free, c.number))
    heapq.heapify(heap)
    streaks = {c.number: c.normal_streak for c in counters}
    by_number = tracker.counters
    # per counter and priority class, the queues it calls from and the service such a call takes, in the
    # order the heads are compared (looked up once: the loop below runs once per call played forward)
    sources = {
        (c.number, p): [(queues[("service", s), p], s) for s in c.services]
        + [(queues[("counter", c.number), p], next(iter(c.services)))]
        for c in counters
        for p in (False, True)
    }
    for _ in range(MAX_STEPS):
        if not heap:
            return None
        at, number = heapq.heappop(heap)
        for arrival in arrivals:  # jumpers that came by now join their queues
            while arrival[0] <= at:
                arrival[4] += arrival[3]  # whole priority tickets from the share, the rest are transfers
                is_priority = arrival[4] >= 1.0
                arrival[4] -= 1.0 if is_priority else 0.0
                issued = arrival[0] if is_priority else arrival[0] - TRANSFERRED_AGE
                bisect.insort(queues[("service", arrival[2]), is_priority], (issued, -1))
                arrival[0] += arrival[1]
        counter = by_number[number]
        if due:  # the engine's first rule: a booking whose slot has begun, the earliest slot first
            taken = _due_for(due, counter, at)
            if taken is not None:
                entry, key = taken
                share = 1.0
                if entry[1] == BOOKED:  # still to come: not in a queue; counted as the share who come on time
                    share = model.booking_show
                else:
                    queues[key].remove(entry)
                if entry is ours:
                    return at
                length = model.service_minutes.get(_served(key, counter), 5.0) * paces[number] * share
                length += model.gap_minutes
                heapq.heappush(heap, (at + length, number))
                continue
        heads = {}
        for is_priority in (False, True):
            best = None
            for source in sources[number, is_priority]:
                if source[0] and (best is None or source[0][0] < best[0][0]):
                    best = source
            heads[is_priority] = best
        if heads[False] is None and heads[True] is None:
            nxt = min((a[0] for a in arrivals if a[2] in counter.services), default=math.inf)
            nxt = min(nxt, next((when for when, _entry, key in due if _may_take(key, counter)), math.inf))
            if nxt < math.inf:
                heapq.heappush(heap, (nxt, number))
            continue
        if heads[False] is None or heads[True] is None:  # one queue head: the rule can only take it
            chosen_priority = heads[False] is None
        else:
            candidates = [q.Candidate(p, now + dt.timedelta(minutes=heads[p][0][0][0]), p) for p in (False, True)]
            chosen_priority = q.choose_next(
                *candidates, policy, streaks[number], now + dt.timedelta(minutes=at)
            ).priority
        # choosing.streak_after's rule, written out: a call of it at every step made this play ~1 % slower
        streaks[number] = streaks[number] + 1 if (heads[True] is not None and not chosen_priority) else 0
        entries, served = heads[chosen_priority]
        entry = entries.pop(0)
        if due:
            due[:] = [d for d in due if d[1] is not entry]
        if entry is ours:
            return at
        length = model.service_minutes.get(served, 5.0) * paces[number] + model.gap_minutes
        heapq.heappush(heap, (at + length, number))
    return GRID_TOP


def _due_for(due: list, counter, at: float):
    """The due booking ``counter`` calls at ``at`` (minutes from now), taken off ``due``: (entry, queue key)."""
    for i, (when, entry, key) in enumerate(due):
        if when > at:
            return None
        if _may_take(key, counter):
            del due[i]
            return entry, key
    return None


def _may_take(key, counter) -> bool:
    (kind, which), _priority = key
    return (kind == "counter" and which == counter.number) or (kind == "service" and which in counter.services)


def _served(key, counter) -> int:
    """The service a call from queue ``key`` gives ``counter``: the queue's, or for a transfer to the
    counter, its first service (as the play-forward takes it for such calls)."""
    (kind, which), _priority = key
    return which if kind == "service" else next(iter(counter.services))


def _linked_counters(tracker: LiveTracker, service: int, mine) -> list:
    """The counters whose calls can move the ticket's: those serving its service (or the one it was sent
    to), and whoever shares a service with them, and so on. The others call from other queues only."""
    if mine is not None and mine.target_counter is not None and mine.target_counter in tracker.counters:
        todo = [mine.target_counter]
    else:
        todo = [c.number for c in tracker.counters.values() if service in c.services]
    linked, services = set(), set()
    while todo:
        number = todo.pop()
        if number in linked:
            continue
        linked.add(number)
        new = tracker.counters[number].services - services
        services |= new
        todo += [c.number for c in tracker.counters.values() if c.number not in linked and c.services & new]
    return [c for c in tracker.counters.values() if c.number in linked]


def calibrated(model: Model, raw: float) -> Prediction:
    """The table's point and range for a raw estimate."""
    table = model.calibration
    position = min(raw, GRID_TOP) / GRID_STEP
    i = min(int(position), len(table[0]) - 2)
    w = position - i
    low, mid, high = (row[i] * (1 - w) + row[i + 1] * w + max(0.0, raw - GRID_TOP) for row in table)
    low = max(0.0, low)
    mid = max(low, mid)
    return Prediction(minutes=mid, low=low, high=max(mid, high), raw=raw)


def predict(
    model: Model,
    tracker: LiveTracker,
    service: int,
    priority: bool,
    now: dt.datetime,
    ticket_id: int | None = None,
    booked: tuple = (),
) -> Prediction | None:
    """The wait of a ticket of ``service`` (a service id) issued ``now``; None when no counter serves it.

    ``ticket_id``: the ticket, at its place in the queue if the tracker already has it; ``booked``: as
    for ``raw_estimate``."""
    raw = raw_estimate(model, tracker, service, priority, now, ticket_id, booked)
    return None if raw is None else calibrated(model, raw)


def called_at_once(tracker: LiveTracker, service: int, ticket_id: int | None) -> bool:
    """An open counter of the service holds nobody and nobody else it would call is waiting."""
    mine = tracker.waiting.get(ticket_id) if ticket_id is not None else None
    if mine is not None and mine.target_counter is not None:
        return False  # sent to one counter: that counter's state alone decides, leave it to the play-forward
    service = mine.service if mine is not None else service
    idle = [
        c
        for c in tracker.counters.values()
        if service in c.services and c.state == "open" and c.active_today and c.held_ticket is None
    ]
    for waiting in tracker.waiting.values():
        if not idle:
            break
        if waiting is not mine:
            idle = [c for c in idle if not tracker.serves(c, waiting)]
    return bool(idle)


def formula_minutes(tracker: LiveTracker, service: int, priority: bool, default_minutes: float) -> float | None:
    """The usual formula as the engine computes it (``engine.estimate_minutes``), from the tracker's state:
    None while no open counter serves the service."""
    open_counters = sum(1 for c in tracker.counters.values() if service in c.services and c.state == "open")
    if not open_counters:
        return None
    ahead = sum(1 for w in tracker.waiting.values() if w.service == service and (w.priority or not priority))
    if ahead <= 0:
        return 0.0
    ema = tracker.ema_seconds.get(service)
    per_ticket = ema / 60 if ema else default_minutes
    return math.ceil(per_ticket * ahead / open_counters)


# --- the running server -------------------------------------------------------------------------

_B = m.bookings
_BOOKED = select(_B.c.service_id, _B.c.slot_start).where(
    _B.c.site_id == bindparam("site"),
    _B.c.business_day == bindparam("day"),
    _B.c.status == "booked",
    _B.c.kind == "slot",
)


class Predictor:
    """What a running server keeps: a model (``prediction_train.train``, nightly) and a tracker in step with
    the log. It is the engine's ``Estimator`` (server/core/engine/estimates.py).

    At issue time, inside the issuing transaction and after the ticket's insert:
    ``predictor.estimate(conn, service_id, priority, now, ticket_id)``: reads the events written
    since the last call (usually a few rows, by primary key) and plays the queue forward. The same
    call for a waiting ticket gives its wait from where it stands now (the phone's tracking page).
    """

    def __init__(self, site: SiteRuntime, model: Model):
        self.site, self.model = site, model
        self.tracker: LiveTracker | None = None
        self._slots: list[tuple[int, dt.datetime]] = []  # today's booked slots still to check in, as last read
        self._slots_read: tuple[dt.date, dt.datetime] | None = None

    def estimate(
        self, conn, service: int, priority: bool, now: dt.datetime, ticket_id: int | None = None
    ) -> Prediction | None:
        tracker = self.tracker  # kept: ``refresh`` may swap it while a query here waits (gevent)
        if tracker is None or tracker.day != tracker.local_day(now):
            tracker = self.refresh(conn, now)
        else:
            tracker.catch_up(conn)
        tracker.advance(now)
        if called_at_once(tracker, service, ticket_id):
            # what the kiosk says then is "called right away", not a range of a minute or two: the
            # backtest (``predict``) scores the calibrated range of these too
            return Prediction(minutes=0.0, low=0.0, high=0.0, raw=0.0)
        return predict(self.model, tracker, service, priority, now, ticket_id, self.booked(conn, tracker, now))

    def booked(self, conn, tracker: LiveTracker, now: dt.datetime) -> list[tuple[int, dt.datetime]]:
        """(service, slot start) of today's booked citizens who have not checked in and may still come in
        their grace window: the engine will call them first from their slot's start. The bookings table is
        read at most every ``BOOKED_SECONDS`` (a booking is not an event); a booking checked in since then
        is taken off by its ticket's due time, which the tracker has."""
        if (
            self._slots_read is None
            or self._slots_read[0] != tracker.day
            or not (dt.timedelta(0) <= now - self._slots_read[1] < dt.timedelta(seconds=BOOKED_SECONDS))
        ):
            rows = conn.execute(_BOOKED, {"site": self.site.id, "day": tracker.day}).all()
            self._slots = sorted((row.service_id, row.slot_start) for row in rows if row.slot_start is not None)
            self._slots_read = (tracker.day, now)
        if not self._slots:
            return []
        here: dict[tuple, int] = defaultdict(int)  # checked in on time since the read
        for ticket in tracker.tickets.values():
            if ticket.due_at is not None:
                here[ticket.service, ticket.due_at] += 1
        out = []
        for sid, start in self._slots:
            if here[sid, start]:
                here[sid, start] -= 1
            elif now <= start + self._grace(sid):
                out.append((sid, start))
        return out

    def _grace(self, service: int) -> dt.timedelta:
        settings = self.site.config.service(self.site.service_codes[service])
        booking = settings.booking if settings is not None else None
        return dt.timedelta(minutes=booking.grace_minutes if booking is not None else 0)

    def refresh(self, conn, now: dt.datetime) -> LiveTracker:
        """A tracker read afresh from today's events, in place of the one kept. Run now and then off the
        issuing path: it heals what reading by id can miss (a transaction that committed after a later
        one, on PostgreSQL; an event rolled back after it was read)."""
        tracker = LiveTracker(self.site)
        tracker.start(conn, now)
        tracker.advance(now)
        self.tracker = tracker
        return tracker
