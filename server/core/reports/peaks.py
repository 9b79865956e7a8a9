"""Peak hours: per hour of day, arrivals, people waiting (on average and at most) and their wait."""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import select

from ..periods import Period
from .clock import LocalClock, iso, utc_epoch, utcnow
from .rows import hour_label, row_order
from .tally import pct, rounded
from .tickets import T, connection, epoch_seconds, in_period, read_services, seconds_between, tuples


def peak_hours(db, site, period: Period, now: dt.datetime | None = None) -> dict:
    """Per hour of day: arrivals (in all and per day), people waiting (average and most at once)
    and the wait of the tickets issued in that hour. "Per day" divides by the days that had tickets.

    A ticket waits from its issue until its first call; one never called counts as waiting until
    the end of its local day (or now, for today).
    """
    conn = connection(db)
    now = now or utcnow()
    tickets = tuples(
        conn,
        select(
            T.c.origin_service_id,
            epoch_seconds(conn, T.c.issued_at),
            seconds_between(conn, T.c.called_at, T.c.issued_at),
        ).where(*in_period(conn, site, period)),
    )
    services = read_services(conn, site)
    targets = {sid: s["target"] for sid, s in services.items()}
    clock = LocalClock(period.zone)
    offset = clock.fixed_offset(period)
    now_epoch = utc_epoch(now)
    arrivals = [0] * 24
    waits: list[list[float]] = [[] for _ in range(24)]
    met = [0] * 24
    waiting_seconds = [0.0] * 24
    most = [0] * 24
    days: set[int] = set()
    changes: list[tuple[float, int]] = []
    for origin, epoch, wait in tickets:
        local = epoch + offset if offset is not None else clock.local(epoch)
        day_index = int(local // 86400)
        days.add(day_index)
        hour_index = int(local // 3600)
        hour = hour_index % 24
        arrivals[hour] += 1
        if wait is not None:
            waits[hour].append(wait)
            if wait <= targets[origin]:
                met[hour] += 1
            stop = local + max(0.0, wait)
        else:
            stop = min((day_index + 1) * 86400.0, local + max(0.0, now_epoch - epoch))
        if stop < (hour_index + 1) * 3600.0:  # most waits end within the hour they began
            waiting_seconds[hour] += stop - local
        else:  # spread the waiting time over the hours it covers
            moment = local
            while moment < stop:
                boundary = (math.floor(moment / 3600) + 1) * 3600.0
                piece = min(stop, boundary) - moment
                waiting_seconds[int(moment // 3600) % 24] += piece
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
    day_count = len(days)
    hours_view = []
    keys = row_order(site, period, "hour", services, {h: None for h in range(24) if arrivals[h]}, {})
    for hour in keys:
        hours_view.append(
            {
                "hour": hour,
                "label": hour_label(hour),
                "arrivals": arrivals[hour],
                "arrivals_per_day": rounded(arrivals[hour] / day_count) if day_count else 0.0,
                "waiting_avg": rounded(waiting_seconds[hour] / 3600 / day_count) if day_count else 0.0,
                "waiting_max": most[hour],
                "wait_avg": rounded(sum(waits[hour]) / len(waits[hour])) if waits[hour] else None,
                "target_met_pct": pct(met[hour], len(waits[hour])),
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
