"""Peak hours: per hour of day, arrivals, people waiting (on average and at most) and their wait."""

from __future__ import annotations

import datetime as dt
import math
import operator

from sqlalchemy import select

from ..periods import Period
from .clock import LocalClock, iso, utc_epoch, utcnow
from .rows import hour_label, row_order
from .tally import MICROS, pct, rounded
from .tickets import T, connection, epoch_seconds, in_period, queued_at, read_services, tuples


class Peaks:
    """Per hour of day (24 of each): arrivals, the called tickets' waits (how many, their sum in
    microseconds, how many within the target), the time spent waiting (microseconds) and the most
    people waiting at once; the days that had tickets, and whether a wait went on past the end of
    its day (``spill``: then the day's "most" depends on the next day's tickets)."""

    __slots__ = ("arrivals", "waits", "wait_micros", "met", "waiting_micros", "most", "days", "spill")

    def __init__(self):
        self.arrivals = [0] * 24
        self.waits = [0] * 24
        self.wait_micros = [0] * 24
        self.met = [0] * 24
        self.waiting_micros = [0] * 24
        self.most = [0] * 24
        self.days = 0
        self.spill = False

    def add(self, other: Peaks) -> None:
        """Add the figures of other days (``most``: the larger)."""
        for name in ("arrivals", "waits", "wait_micros", "met", "waiting_micros"):
            setattr(self, name, list(map(operator.add, getattr(self, name), getattr(other, name))))
        self.most = list(map(max, self.most, other.most))
        self.days += other.days
        self.spill = self.spill or other.spill


def peak_hours(db, site, period: Period, now: dt.datetime | None = None, from_tickets: bool = False) -> dict:
    """Per hour of day: arrivals (in all and per day), people waiting (average and most at once)
    and the wait of the tickets issued in that hour. "Per day" divides by the days that had tickets.

    A ticket waits from joining the queue (its issue; a remote number's check-in) until its first
    call; one never called counts as waiting until the end of its local day (or now, for today), a
    remote number only once checked in. The days whose figures are kept (kept.py) are
    read from them; the others (all of them with ``from_tickets``) are counted from their tickets.
    """
    from . import kept  # kept.py counts the days it keeps with this module

    conn = connection(db)
    now = now or utcnow()
    services = read_services(conn, site)
    targets = {sid: s["target"] for sid, s in services.items()}
    plan = kept.plan(db, site, period, now, targets, ("peaks",), from_tickets)
    conn = connection(db)  # (a Session given is committed when days were kept)
    peaks = count_peaks(conn, site, plan.peak_counted, targets, now)
    peaks.add(plan.peaks())
    day_count = peaks.days
    hours_view = []
    keys = row_order(site, period, "hour", services, {h: None for h in range(24) if peaks.arrivals[h]}, {})
    for hour in keys:
        waits = peaks.waits[hour]
        hours_view.append(
            {
                "hour": hour,
                "label": hour_label(hour),
                "arrivals": peaks.arrivals[hour],
                "arrivals_per_day": rounded(peaks.arrivals[hour] / day_count) if day_count else 0.0,
                "waiting_avg": rounded(peaks.waiting_micros[hour] / (3600 * MICROS * day_count)) if day_count else 0.0,
                "waiting_max": peaks.most[hour],
                "wait_avg": rounded(peaks.wait_micros[hour] / (waits * MICROS)) if waits else None,
                "target_met_pct": pct(peaks.met[hour], waits),
            }
        )
    busiest = max(hours_view, key=lambda h: (h["arrivals"], -h["hour"]), default=None)
    return {
        "report": "peak_hours",
        "site": {"id": site.id, "name": site.config.site.name},
        "period": period.view(),
        "generated_at": iso(now),
        "days_with_tickets": day_count,
        "hours": hours_view,
        "peak": busiest if busiest and busiest["arrivals"] else None,
    }


def count_peaks(conn, site, periods: list[Period], targets: dict, now: dt.datetime) -> Peaks:
    """The figures of the tickets of ``periods`` (all of them taken together: a wait that goes on
    into the next period counts there too), from the tickets."""
    if not periods:
        return Peaks()
    tickets = []
    for period in periods:
        tickets += _read(conn, site, period)
    clock = LocalClock(periods[0].zone)
    offsets = {clock.fixed_offset(period) for period in periods}
    return _count(tickets, clock, offsets.pop() if len(offsets) == 1 else None, targets, now)


def count_peaks_by_day(conn, site, period: Period, targets: dict, now: dt.datetime) -> dict[dt.date, Peaks]:
    """The figures of each local day of ``period`` with tickets alone (as ``count_peaks`` of that day)."""
    clock = LocalClock(period.zone)
    offset = clock.fixed_offset(period)
    by_day: dict[int, list] = {}
    for ticket in _read(conn, site, period):
        local = ticket[1] + offset if offset is not None else clock.local(ticket[1])
        by_day.setdefault(int(local // 86400), []).append(ticket)
    epoch_day = dt.date(1970, 1, 1)
    return {
        epoch_day + dt.timedelta(days=index): _count(tickets, clock, offset, targets, now)
        for index, tickets in by_day.items()
    }


def _read(conn, site, period: Period) -> list[tuple]:
    return tuples(
        conn,
        select(
            T.c.origin_service_id,
            epoch_seconds(conn, T.c.issued_at),
            epoch_seconds(conn, queued_at()),
            epoch_seconds(conn, T.c.called_at),
        ).where(*in_period(conn, site, period)),
    )


def _count(tickets: list[tuple], clock: LocalClock, offset: int | None, targets: dict, now: dt.datetime) -> Peaks:
    """The figures of ``tickets`` (origin service, issue, queued and call epochs) counted together: an
    arrival and its wait go to the hour of the issue; it waits from joining the queue (a remote number
    from its check-in: one never checked in was never waiting)."""
    peaks = Peaks()
    now_epoch = utc_epoch(now)
    arrivals, waits, wait_micros, met = peaks.arrivals, peaks.waits, peaks.wait_micros, peaks.met
    waiting_micros, most = peaks.waiting_micros, peaks.most
    days: set[int] = set()
    changes: list[tuple[float, int]] = []
    for origin, epoch, queued, called in tickets:
        issued = epoch + offset if offset is not None else clock.local(epoch)
        day_index = int(issued // 86400)
        days.add(day_index)
        hour = int(issued // 3600) % 24
        arrivals[hour] += 1
        if queued is None:  # a remote number never checked in: never in the lobby
            continue
        local = queued + offset if offset is not None else clock.local(queued)
        hour_index = int(local // 3600)
        day_end = (day_index + 1) * 86400.0
        if called is not None:
            wait = round(called - queued, 3)  # as tickets.wait_seconds, to the millisecond
            waits[hour] += 1
            wait_micros[hour] += round(wait * MICROS)
            if wait <= targets[origin]:
                met[hour] += 1
            stop = local + max(0.0, wait)
            if stop > day_end:
                peaks.spill = True
        else:
            stop = min(day_end, local + max(0.0, now_epoch - queued))
        if stop < (hour_index + 1) * 3600.0:  # most waits end within the hour they began
            waiting_micros[hour_index % 24] += round((stop - local) * MICROS)
        else:  # spread the waiting time over the hours it covers
            moment = local
            while moment < stop:
                boundary = (math.floor(moment / 3600) + 1) * 3600.0
                piece = min(stop, boundary) - moment
                waiting_micros[int(moment // 3600) % 24] += round(piece * MICROS)
                moment += piece
        changes.append((local, 1))
        changes.append((stop, -1))
    changes.sort()  # at one moment a call (-1) comes before an issue (+1): no made-up peak
    count = 0
    previous = None
    for moment, delta in changes:
        hour_index = int(moment // 3600)
        if hour_index != previous:
            if previous is not None and count > 0:
                # the queue held ``count`` from the previous change into every hour up to this one
                for held in range(previous + 1, min(hour_index, previous + 24) + 1):
                    if count > most[held % 24]:
                        most[held % 24] = count
            previous = hour_index
        count += delta
        if delta > 0 and count > most[hour_index % 24]:  # a call only lowers the count: no new most
            most[hour_index % 24] = count
    peaks.days = len(days)
    return peaks
