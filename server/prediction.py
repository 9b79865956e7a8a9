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

``train`` learns a ``Model`` from the event log (nightly, or at start); ``Predictor`` keeps a
tracker in step with the log and answers at issue time. Pure Python, Flask-free.
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import math
from collections import defaultdict
from dataclasses import dataclass, field

from . import engine as q
from .db import SiteRuntime
from .prediction_state import LiveTracker, Observer

GRID_STEP = 0.5  # minutes between the calibration table's rows
GRID_TOP = 360.0  # the table's last row; longer raw estimates use its factors
SCALE_FLOOR = 2.0  # minutes: the calibration scales residuals by (raw + this), so a 0-minute raw estimate has a range
QUANTILES = (0.1, 0.5, 0.9)
CALIBRATION_BINS = 12
CLERK_PRIOR = 15  # services that weigh as much as a clerk's history against their own figures
TODAY_PRIOR = 6  # past pace against today's services
TRANSFERRED_AGE = 30.0  # minutes: how long before its transfer a transferred ticket was issued, roughly
MAX_STEPS = 3000


@dataclass
class Prediction:
    minutes: float  # the point value (the median of what such estimates met)
    low: float  # the 80 % range
    high: float
    raw: float  # the play-forward estimate before calibration

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

    def to_dict(self) -> dict:
        return {k: v for k, v in vars(self).items()}

    @classmethod
    def from_dict(cls, data: dict) -> "Model":
        ints = lambda d: {int(k): v for k, v in d.items()}  # noqa: E731 (JSON keys are strings)
        return cls(**{**data, "service_minutes": ints(data["service_minutes"]), "clerk_pace": ints(data["clerk_pace"]),
                      "usual_clerk": ints(data["usual_clerk"]), "jump_rate": ints(data["jump_rate"]),
                      "priority_jump": ints(data["priority_jump"])})


# --- learning from history ------------------------------------------------------------------------

def _remaining_table(durations: list[float], top: int) -> list[float]:
    """Expected minutes left when ``index`` minutes have passed, from durations seen (per minute up to ``top``)."""
    durations = sorted(durations)
    table = []
    for elapsed in range(top + 1):
        at = bisect.bisect_right(durations, elapsed)
        rest = durations[at:]
        table.append(sum(rest) / len(rest) - elapsed if rest else 1.0)
    return table


class Learner(Observer):
    """Collects the figures of the days it hears about (pass 1 of ``train``)."""

    def __init__(self, tracker_site: SiteRuntime):
        self.site = tracker_site
        self.services = defaultdict(list)  # service -> minutes
        self.by_clerk = defaultdict(list)  # clerk -> (service, minutes)
        self.gaps: list[float] = []
        self.pauses = defaultdict(list)
        self.first = []
        self.clerk_at = defaultdict(lambda: defaultdict(int))
        self.arrivals = defaultdict(lambda: [[0, 0] for _ in range(24)])  # service -> hour -> [priority, transfers]
        self.zone = tracker_site.config.site.zone
        self.days = 0

    def service(self, service, clerk, minutes, at):
        self.services[service].append(minutes)
        if clerk is not None:
            self.by_clerk[clerk].append((service, minutes))

    def gap(self, minutes):
        self.gaps.append(minutes)

    def pause(self, reason, minutes):
        self.pauses[reason or ""].append(minutes)

    def first_activity(self, number, clerk, minutes_after_opening):
        self.first.append(max(0.0, minutes_after_opening))
        if clerk is not None:
            self.clerk_at[number][clerk] += 1

    def arrival(self, service, priority, transferred, at):
        if priority or transferred:
            hour = at.replace(tzinfo=dt.timezone.utc).astimezone(self.zone).hour
            self.arrivals[service][hour][1 if transferred else 0] += 1

    def day(self, day):
        self.days += 1

    def model(self) -> Model:
        site = self.site
        defaults = {sid: site.config.service(code).default_service_minutes for code, sid in site.service_ids.items()}
        service_minutes = {sid: (sum(v) / len(v) if (v := self.services.get(sid)) else defaults[sid])
                           for sid in defaults}
        clerk_pace = {}
        for clerk, samples in self.by_clerk.items():
            ratio = sum(minutes / service_minutes[service] for service, minutes in samples)
            clerk_pace[clerk] = (ratio + CLERK_PRIOR) / (len(samples) + CLERK_PRIOR)
        days = max(1, self.days)
        jump_rate, priority_jump = {}, {}
        for sid, hours in self.arrivals.items():
            jump_rate[sid] = [(p + t) / days / 60 for p, t in hours]
            priority_jump[sid] = [p / (p + t) if p + t else 1.0 for p, t in hours]
        pauses = {reason: _remaining_table(durations, 150) for reason, durations in self.pauses.items()}
        pauses["*"] = _remaining_table([d for ds in self.pauses.values() for d in ds] or [10.0], 150)
        return Model(
            service_minutes=service_minutes,
            gap_minutes=sum(self.gaps) / len(self.gaps) if self.gaps else 0.3,
            clerk_pace=clerk_pace,
            usual_clerk={n: max(c, key=c.get) for n, c in self.clerk_at.items()},
            late_remaining=_remaining_table(self.first or [2.0], 180),
            pause_remaining=pauses, jump_rate=jump_rate, priority_jump=priority_jump, days=self.days)


def _quantile(values: list[float], share: float) -> float:
    values = sorted(values)
    position = share * (len(values) - 1)
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def calibrate(pairs: list[tuple[float, float]]) -> list[list[float]]:
    """From (raw estimate, real wait) pairs: per quantile, the calibrated wait on a grid of raw estimates.

    Residuals are scaled by (raw + SCALE_FLOOR) and taken per bin of raw estimates (equal counts),
    interpolated between bins, then made non-decreasing so that more people ahead never promise less.
    """
    if not pairs:
        return [[GRID_STEP * i for i in range(int(GRID_TOP / GRID_STEP) + 1)] for _ in QUANTILES]
    # by raw estimate alone: many share one value (an idle counter), and sorting those by wait would
    # hand each bin a slice of their waits instead of their spread
    pairs = sorted(pairs, key=lambda pair: pair[0])
    bins = min(CALIBRATION_BINS, max(1, len(pairs) // 40))
    size = len(pairs) / bins
    centres, factors = [], []
    for b in range(bins):
        chunk = pairs[int(b * size):int((b + 1) * size)]
        centres.append(sum(raw for raw, _ in chunk) / len(chunk))
        scaled = [(wait - raw) / (raw + SCALE_FLOOR) for raw, wait in chunk]
        factors.append([_quantile(scaled, share) for share in QUANTILES])
    table = []
    for qi in range(len(QUANTILES)):
        row, best = [], 0.0
        for i in range(int(GRID_TOP / GRID_STEP) + 1):
            raw = i * GRID_STEP
            at = bisect.bisect_left(centres, raw)
            if at == 0 or at == len(centres):
                factor = factors[min(at, len(centres) - 1)][qi]
            else:
                left, right = centres[at - 1], centres[at]
                w = (raw - left) / (right - left) if right > left else 0.0
                factor = factors[at - 1][qi] * (1 - w) + factors[at][qi] * w
            best = max(best, raw + factor * (raw + SCALE_FLOOR))
            row.append(best)
        table.append(row)
    return table


# --- playing the queue forward --------------------------------------------------------------------

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


def raw_estimate(model: Model, tracker: LiveTracker, service: int, priority: bool, now: dt.datetime,
                 exclude: int | None = None) -> float | None:
    """Minutes until a ticket of ``service`` issued ``now`` is called, by playing the queue forward.

    None when no counter serves the service. ``exclude``: the ticket itself if the tracker has it.
    """
    site = tracker.site
    policy = site.config.policy
    counters = [c for c in tracker.counters.values()]
    if not any(service in c.services for c in counters):
        return None
    # the queues: per (service or counter target, priority) a list of (minutes since issue, id), oldest first
    queues: dict[tuple, list] = defaultdict(list)
    for ticket in tracker.waiting.values():
        if ticket.id == exclude:
            continue
        key = ("counter", ticket.target_counter) if ticket.target_counter is not None else ("service", ticket.service)
        queues[key, ticket.priority].append(((ticket.issued_at - now).total_seconds() / 60, ticket.id))
    for entries in queues.values():
        entries.sort()
    ours = (0.0, math.inf)
    queues[("service", service), priority].append(ours)
    # jumpers: priority tickets and transfers expected to arrive, at the hour's rate, evenly spaced
    hour = tracker.local_hour(now)
    arrivals = []
    for sid in {s for c in counters if service in c.services for s in c.services}:
        rate = model.jump_rate.get(sid, [0.0] * 24)[hour]
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
        keys = [("service", s) for s in counter.services] + [("counter", number)]
        heads = {}
        for is_priority in (False, True):
            best = None
            for key in keys:
                entries = queues.get((key, is_priority))
                if entries and (best is None or entries[0] < queues[best][0]):
                    best = (key, is_priority)
            heads[is_priority] = best
        candidates = {p: q.Candidate(p, now + dt.timedelta(minutes=queues[key][0][0]), p)
                      for p, key in heads.items() if key is not None}
        chosen = q.choose_next(candidates.get(False), candidates.get(True), policy, streaks[number],
                               now + dt.timedelta(minutes=at))
        if chosen is None:
            nxt = min((a[0] for a in arrivals if a[2] in counter.services), default=math.inf)
            if nxt < math.inf:
                heapq.heappush(heap, (nxt, number))
            continue
        streaks[number] = streaks[number] + 1 if (True in candidates and not chosen.priority) else 0
        key = heads[chosen.priority]
        entry = queues[key].pop(0)
        if entry is ours:
            return at
        served = key[0][1] if key[0][0] == "service" else next(iter(counter.services))
        length = model.service_minutes.get(served, 5.0) * paces[number] + model.gap_minutes
        heapq.heappush(heap, (at + length, number))
    return GRID_TOP


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


def predict(model: Model, tracker: LiveTracker, service: int, priority: bool, now: dt.datetime,
            ticket_id: int | None = None) -> Prediction | None:
    """The wait of a ticket of ``service`` (a service id) issued ``now``; None when no counter serves it.

    ``ticket_id``: the ticket, left out of the queue ahead if the tracker already has it."""
    raw = raw_estimate(model, tracker, service, priority, now, ticket_id)
    return None if raw is None else calibrated(model, raw)


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


# --- training and the running server -------------------------------------------------------------

CALIBRATION_DAYS = 20  # the latest days of history whose raw estimates set the calibration


def read_events(conn, site: SiteRuntime, after_id: int = 0):
    """The site's event log in the order it was written."""
    from sqlalchemy import select

    from . import models as m

    E = m.Event.__table__
    return conn.execute(select(E.c.id, E.c.kind, E.c.at, E.c.ticket_id, E.c.service_id, E.c.counter_id, E.c.user_id,
                               E.c.detail).where(E.c.site_id == site.id, E.c.id > after_id).order_by(E.c.id)).all()


def first_calls(events) -> dict[int, dt.datetime]:
    """When each ticket was first called: the end of its wait (used to score, never to predict)."""
    calls: dict[int, dt.datetime] = {}
    for event in events:
        if event.kind == "called" and event.ticket_id not in calls:
            calls[event.ticket_id] = event.at
    return calls


def _learn(site: SiteRuntime, events) -> Model:
    learner = Learner(site)
    tracker = LiveTracker(site, learner)
    for event in events:
        tracker.feed(event)
    return learner.model()


def train(site: SiteRuntime, events, calls: dict[int, dt.datetime] | None = None) -> Model:
    """A model from past events (all of them before the day it will predict, in id order).

    The figures come from all those days. The calibration must see errors as new days will make
    them: the latest days (at most CALIBRATION_DAYS, at most half) are replayed with figures
    learned from the days before them only, and what those raw estimates met sets the table.
    """
    calls = calls if calls is not None else first_calls(events)
    local_day = LiveTracker(site).local_day
    days = sorted({local_day(e.at) for e in events if e.kind == "issued"})
    recent = days[-min(CALIBRATION_DAYS, max(1, len(days) // 2)):]
    split = next((i for i, e in enumerate(events) if local_day(e.at) >= recent[0]), 0) if days else 0
    earlier = _learn(site, events[:split]) if split else _learn(site, events)
    replay = LiveTracker(site)
    pairs = []
    for event in events[split:]:
        if event.kind == "issued" and event.ticket_id in calls:
            replay.advance(event.at)
            raw = raw_estimate(earlier, replay, event.service_id, _priority(event), event.at)
            if raw is not None:
                pairs.append((raw, (calls[event.ticket_id] - event.at).total_seconds() / 60))
        replay.feed(event)
    model = _learn(site, events)
    model.calibration = calibrate(pairs)
    return model


def _priority(event) -> bool:
    return (event.detail or {}).get("priority") is not None


class Predictor:
    """What a running server keeps: a model (from ``train``, nightly) and a tracker in step with the log.

    At issue time, inside the issuing transaction and after the ticket's insert:
    ``predictor.estimate(conn, service_id, priority, now, ticket_id)``: reads the events written
    since the last call (usually a few rows, by primary key) and plays the queue forward.
    """

    def __init__(self, site: SiteRuntime, model: Model):
        self.site, self.model = site, model
        self.tracker: LiveTracker | None = None

    def estimate(self, conn, service: int, priority: bool, now: dt.datetime,
                 ticket_id: int | None = None) -> Prediction | None:
        if self.tracker is None or self.tracker.day != self.tracker.local_day(now):
            self.tracker = LiveTracker(self.site)
            self.tracker.start(conn, now)
        else:
            self.tracker.catch_up(conn)
        self.tracker.advance(now)
        return predict(self.model, self.tracker, service, priority, now, ticket_id)
