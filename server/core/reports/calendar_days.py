"""Calendar arithmetic for kept report figures: whole months and years within a run of days, the days
a set of kept units leaves uncovered, and consecutive days as periods of whole days."""

from __future__ import annotations

import datetime as dt

from ..periods import Period


def uncovered_days(first_day: dt.date, last_day: dt.date, units: dict) -> list[dt.date]:
    """The days ``first_day``..``last_day`` outside the spans ``units`` (first day -> last day, not
    overlapping): the work grows with the units and the days left, not with the days covered."""
    days = []
    at, end = first_day.toordinal(), last_day.toordinal() + 1
    for first, last in sorted(units.items()):
        days += range(at, min(first.toordinal(), end))
        at = max(at, last.toordinal() + 1)
    days += range(at, end)
    return list(map(dt.date.fromordinal, days))


def year_of(day: dt.date) -> dt.date:
    return day.replace(month=1, day=1)


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    return list(map(dt.date.fromordinal, range(first.toordinal(), last.toordinal() + 1)))


def whole_months(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """The calendar months all of whose days are in ``days`` (consecutive days): (first, last)."""
    if not days:
        return []
    months = []
    first, last = days[0], days[-1]
    day = first if first.day == 1 else next_month(first)
    while True:
        following = next_month(day)
        if following - dt.timedelta(days=1) > last:
            return months
        months.append((day, following - dt.timedelta(days=1)))
        day = following


def whole_years(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """The calendar years all of whose days are in ``days`` (consecutive days): (first, last)."""
    if not days:
        return []
    first, last = days[0], days[-1]
    year = first.year if (first.month, first.day) == (1, 1) else first.year + 1
    return [(dt.date(y, 1, 1), dt.date(y, 12, 31)) for y in range(year, last.year + 1) if dt.date(y, 12, 31) <= last]


def next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def runs_of_days(days: list[dt.date], period: Period) -> list[Period]:
    """Consecutive days as periods of whole days (in the period's time zone)."""
    runs: list[Period] = []
    start = previous = None
    for d in days:
        if previous is not None and d == previous + dt.timedelta(days=1):
            previous = d
            continue
        if start is not None:
            runs.append(days_period(start, previous, period))
        start = previous = d
    if start is not None:
        runs.append(days_period(start, previous, period))
    return runs


def days_period(first: dt.date, last: dt.date, period: Period) -> Period:
    zone = period.zone
    start = dt.datetime.combine(first, dt.time(), zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), zone)
    return Period("range", f"{first}..{last}", start, end)
