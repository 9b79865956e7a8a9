"""Learning the wait prediction's ``Model`` from the event log (server/core/prediction.py uses it).

Pass 1 replays history through a ``LiveTracker`` with a ``Learner`` listening: service times,
the gap between a clerk's citizens, each clerk's pace, pauses by reason, when counters open,
priority tickets and transfers per service and hour. Pass 2 replays the latest days with
figures learned from the days before them and sets the calibration from what the raw
estimates met. Run it nightly, or at start (a few seconds for two months). Flask-free.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict

from sqlalchemy import select

from . import models as m
from .db import SiteRuntime
from .prediction import GRID_STEP, GRID_TOP, QUANTILES, SCALE_FLOOR, Model, raw_estimate
from .prediction_state import LiveTracker, Observer

CALIBRATION_BINS = 12
CLERK_PRIOR = 15  # services that weigh as much as a clerk's history against their own figures
WEEKDAY_PRIOR = 3  # days that weigh as much as all days' mean against one weekday's own arrivals


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
        self.by_weekday = defaultdict(lambda: [0] * 7)  # service -> weekday -> priority arrivals and transfers
        self.weekdays = [0] * 7  # days heard of, per weekday
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
            local = at.replace(tzinfo=dt.UTC).astimezone(self.zone)
            self.arrivals[service][local.hour][1 if transferred else 0] += 1
            self.by_weekday[service][local.weekday()] += 1

    def day(self, day):
        self.days += 1
        self.weekdays[day.weekday()] += 1

    def model(self) -> Model:
        site = self.site
        defaults = {sid: site.config.service(code).default_service_minutes for code, sid in site.service_ids.items()}
        service_minutes = {
            sid: (sum(v) / len(v) if (v := self.services.get(sid)) else defaults[sid]) for sid in defaults
        }
        clerk_pace = {}
        for clerk, samples in self.by_clerk.items():
            ratio = sum(minutes / service_minutes[service] for service, minutes in samples)
            clerk_pace[clerk] = (ratio + CLERK_PRIOR) / (len(samples) + CLERK_PRIOR)
        days = max(1, self.days)
        jump_rate, priority_jump = {}, {}
        for sid, hours in self.arrivals.items():
            jump_rate[sid] = [(p + t) / days / 60 for p, t in hours]
            priority_jump[sid] = [p / (p + t) if p + t else 1.0 for p, t in hours]
        # a weekday's share of those against all days' (Monday's crowd, Saturday's quiet), shrunk toward 1
        # for weekdays with few days of history
        weekday_factor = {}
        for sid, counts in self.by_weekday.items():
            mean = sum(counts) / days
            weekday_factor[sid] = [
                (n + WEEKDAY_PRIOR * mean) / (d + WEEKDAY_PRIOR) / mean if mean else 1.0
                for n, d in zip(counts, self.weekdays, strict=True)
            ]
        pauses = {reason: _remaining_table(durations, 150) for reason, durations in self.pauses.items()}
        pauses["*"] = _remaining_table([d for ds in self.pauses.values() for d in ds] or [10.0], 150)
        return Model(
            service_minutes=service_minutes,
            gap_minutes=sum(self.gaps) / len(self.gaps) if self.gaps else 0.3,
            clerk_pace=clerk_pace,
            usual_clerk={n: max(c, key=c.get) for n, c in self.clerk_at.items()},
            late_remaining=_remaining_table(self.first or [2.0], 180),
            pause_remaining=pauses,
            jump_rate=jump_rate,
            priority_jump=priority_jump,
            weekday_factor=weekday_factor,
            days=self.days,
        )


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
        chunk = pairs[int(b * size) : int((b + 1) * size)]
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


# --- training ------------------------------------------------------------------------------------

CALIBRATION_DAYS = 20  # at most this many latest days of history set the calibration


def read_events(
    conn, site: SiteRuntime, after_id: int = 0, since: dt.datetime | None = None, before: dt.datetime | None = None
):
    """The site's event log in the order it was written; ``since`` / ``before``: only those at or after,
    or before, these moments (a running server trains on the latest weeks before today)."""
    E, T = m.events, m.tickets
    # with the two columns of the event's ticket that its issue wrote and nothing changes later (bookings)
    query = (
        select(
            E.c.id,
            E.c.kind,
            E.c.at,
            E.c.ticket_id,
            E.c.service_id,
            E.c.counter_id,
            E.c.user_id,
            E.c.detail,
            T.c.origin,
            T.c.due_at,
        )
        .select_from(E.outerjoin(T, T.c.id == E.c.ticket_id))
        .where(E.c.site_id == site.id, E.c.id > after_id)
    )
    if since is not None:
        query = query.where(E.c.at >= since)
    if before is not None:
        query = query.where(E.c.at < before)
    return conn.execute(query.order_by(E.c.id)).all()


def booking_show(conn, site: SiteRuntime, since: dt.datetime, before: dt.datetime) -> float:
    """Of the booked slots starting in [since, before) and not cancelled, the share whose citizen checked
    in within the grace window (the ticket due at the slot's start): how much of a booked citizen still
    to come a prediction counts. 1.0 when those days had no bookings."""
    B, T = m.bookings, m.tickets
    rows = conn.execute(
        select(B.c.status, T.c.due_at)
        .select_from(B.outerjoin(T, T.c.id == B.c.ticket_id))
        .where(
            B.c.site_id == site.id,
            B.c.kind == "slot",
            B.c.status != "cancelled",
            B.c.slot_start >= since,
            B.c.slot_start < before,
        )
    ).all()
    if not rows:
        return 1.0
    return sum(1 for status, due_at in rows if status == "checked_in" and due_at is not None) / len(rows)


def first_calls(events) -> dict[int, dt.datetime]:
    """When each ticket was first called: the end of its wait (used to score, never to predict)."""
    calls: dict[int, dt.datetime] = {}
    for event in events:
        if event.kind == "called" and event.ticket_id not in calls:
            calls[event.ticket_id] = event.at
    return calls


def _learn(site: SiteRuntime, events, split: int) -> tuple[Model, Model]:
    """The models of ``events[:split]`` and of all ``events``, from one replay (a model is read off the
    learner without changing it, and the replay goes on)."""
    learner = Learner(site)
    tracker = LiveTracker(site, learner)
    for event in events[:split]:
        tracker.feed(event)
    earlier = learner.model()
    for event in events[split:]:
        tracker.feed(event)
    return earlier, learner.model()


def train(site: SiteRuntime, events, calls: dict[int, dt.datetime] | None = None) -> Model:
    """A model from past events (all of them before the day it will predict, in id order).

    The figures come from all those days. The calibration must see errors as new days will make
    them: the latest days (at most CALIBRATION_DAYS, at most half) are replayed with figures
    learned from the days before them only, and what those raw estimates met sets the table.
    """
    calls = calls if calls is not None else first_calls(events)
    local_day = LiveTracker(site).local_day
    days = sorted({local_day(e.at) for e in events if e.kind == "issued"})
    recent = days[-min(CALIBRATION_DAYS, max(1, len(days) // 2)) :]
    split = next((i for i, e in enumerate(events) if local_day(e.at) >= recent[0]), 0) if days else 0
    earlier, model = _learn(site, events, split or len(events))
    replay = LiveTracker(site)
    pairs = []
    for event in events[split:]:
        if event.kind == "issued" and event.ticket_id in calls:
            replay.advance(event.at)
            raw = raw_estimate(earlier, replay, event.service_id, _priority(event), event.at)
            if raw is not None:
                pairs.append((raw, (calls[event.ticket_id] - event.at).total_seconds() / 60))
        replay.feed(event)
    model.calibration = calibrate(pairs)
    return model


def _priority(event) -> bool:
    return (event.detail or {}).get("priority") is not None
