"""The figures of one row while they are counted (``Tally``), and the statistics they end in:
count, average, median, 90th percentile and maximum of the times of a row (``Times``).

A row's times are those read from tickets (a list of seconds) and, for the days whose figures are
kept (kept.py), sorted runs of them, one per kept day or month. The statistics are exact either
way and the same whatever the runs: the average from the sum in whole microseconds (every time is
read to the microsecond or the millisecond), the median and 90th percentile by picking their ranks
out of the runs (``_at_rank``) without sorting them together.
"""

from __future__ import annotations

import math
import operator
from bisect import bisect_left
from itertools import chain

from .tickets import DONE, EXPIRED, LEVEL_AT, LEVEL_CODES, LEVELS, NO_SHOW, ORIGIN_AT, STATUS_AT, TRANSFERRED_AT, Alike

MICROS = 1_000_000
WINDOW = 2048  # values picked out of the runs and sorted, once the rank is known to lie among them
_TO_MICROS = float(MICROS).__mul__


def micros(values) -> int:
    """The exact sum of seconds (each to the microsecond or finer) in whole microseconds."""
    return sum(map(round, map(_TO_MICROS, values)))


class Times:
    """A row's times: ``values`` (seconds, in any order) and ``runs`` (sorted sequences of
    seconds, kept), with the runs' count and exact sum in microseconds."""

    __slots__ = ("values", "runs", "run_count", "run_micros")

    def __init__(self, values: list[float] | None = None):
        self.values: list[float] = values if values is not None else []
        self.runs: list = []
        self.run_count = 0
        self.run_micros = 0

    def __len__(self) -> int:
        return len(self.values) + self.run_count

    def __iadd__(self, other):
        if isinstance(other, Times):
            self.add(other)
        else:
            self.values += other
        return self

    def append(self, value: float) -> None:
        self.values.append(value)

    def sort(self) -> None:
        self.values.sort()

    def add_run(self, run, run_micros: int) -> None:
        """A sorted run of seconds and their exact sum in microseconds."""
        if len(run):
            self.runs.append(run)
            self.run_count += len(run)
            self.run_micros += run_micros

    def add(self, other: Times) -> None:
        self.values += other.values
        self.runs += other.runs
        self.run_count += other.run_count
        self.run_micros += other.run_micros

    def micros(self) -> int:
        return micros(self.values) + self.run_micros

    def sorted_runs(self) -> list:
        self.values.sort()
        return [run for run in (self.values, *self.runs) if len(run)]

    def ordered(self) -> list[float]:
        """All the times, sorted (for keeping a day's or a month's)."""
        return sorted(chain(self.values, *self.runs))


def percentile(ordered: list[float], share: float) -> float | None:
    """Linear interpolation between closest ranks (Excel PERCENTILE.INC); ``ordered`` is sorted."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * share
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def describe(values) -> dict:
    """count, avg, median, p90, max of times in seconds (a list or ``Times``; None when empty),
    rounded to 0.1 s."""
    times = values if isinstance(values, Times) else Times(values)
    count = len(times)
    if not count:
        return {"count": 0, "avg": None, "median": None, "p90": None, "max": None}
    runs = times.sorted_runs()  # in place: a total made of sorted rows then sorts in one merge of their runs
    return {
        "count": count,
        "avg": rounded(times.micros() / (count * MICROS)),
        "median": rounded(_percentile_of_runs(runs, count, 0.5)),
        "p90": rounded(_percentile_of_runs(runs, count, 0.9)),
        "max": rounded(max(run[-1] for run in runs)),
    }


def _percentile_of_runs(runs: list, count: int, share: float) -> float:
    """``percentile`` of the values of sorted ``runs`` (``count`` in all), by the same arithmetic."""
    if len(runs) == 1:
        return percentile(runs[0], share)
    position = (count - 1) * share
    low = math.floor(position)
    high = min(low + 1, count - 1)
    at_low, at_high = _at_ranks(runs, low, high)
    return at_low + (at_high - at_low) * (position - low)


def _at_ranks(runs: list, rank: int, next_rank: int) -> tuple[float, float]:
    """The values of 0-based ``rank`` and ``next_rank`` (the same or the next) among the values of
    sorted ``runs``: the value range is halved (a bisection in each run counts the values below the
    middle) until ``rank`` lies among few values, which are then sorted. The cost grows with the
    runs, not with the values."""
    low = min(run[0] for run in runs)  # the value at ``rank`` is >= low ...
    high = math.inf  # ... and < high
    below, under_high = 0, sum(len(run) for run in runs)  # values < low, values < high
    while under_high - below > WINDOW:
        middle = (low + max(run[-1] for run in runs)) / 2 if high == math.inf else (low + high) / 2
        if not low < middle < high:
            break
        under = sum(bisect_left(run, middle) for run in runs)
        if under <= rank:
            low, below = middle, under
        else:
            high, under_high = middle, under
    window = sorted(
        chain.from_iterable(
            run[bisect_left(run, low) : len(run) if high == math.inf else bisect_left(run, high)] for run in runs
        )
    )
    if next_rank - below < len(window):
        return window[rank - below], window[next_rank - below]
    # the next value is the smallest at or above ``high``
    return window[rank - below], min(run[i] for run in runs if (i := bisect_left(run, high)) < len(run))


def rounded(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value + 0.0, digits)


def pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


class Tally:
    """The figures of one row while they are counted."""

    __slots__ = (
        "issued",
        "called",
        "served",
        "no_show",
        "transferred",
        "not_called",
        "expired",
        "waits",
        "met",
        "early",
        "late",
        "service_times",
        "ratings",
    )

    def __init__(self):
        self.issued = self.called = self.served = self.no_show = self.transferred = self.not_called = self.expired = 0
        self.met = self.early = self.late = 0
        self.waits = Times()
        self.service_times = Times()
        self.ratings = [0] * (len(LEVELS) + 1)  # by level code (0: not rated, not counted)

    def add_waits(self, waits: list[float], target_seconds: float) -> None:
        """Waits of tickets of services with this target wait."""
        met = [w for w in waits if w <= target_seconds]
        early = sum(1 for w in met if w + w <= target_seconds)
        self.waits += waits
        self.met += len(met)
        self.early += early
        self.late += len(waits) - len(met)

    def add_issue(self, alike: Alike, profile: tuple, target_seconds: float) -> None:
        """What belongs where the tickets were issued: issued, called, their waits, transferred."""
        self.issued += alike.count
        self.called += len(alike.waits)
        if profile[STATUS_AT] != EXPIRED:  # those the day ended on are counted apart
            self.not_called += alike.count - len(alike.waits)
        self.add_waits(alike.waits, target_seconds)
        if profile[TRANSFERRED_AT]:
            self.transferred += alike.count

    def add_outcome(self, alike: Alike, profile: tuple) -> None:
        """What belongs where the tickets ended: how they ended, and their ratings."""
        self.add_end(alike, profile)
        self.add_ratings(alike, profile)

    def add_end(self, alike: Alike, profile: tuple) -> None:
        """Served and their service times, no-shows, expired at the end of the day."""
        status = profile[STATUS_AT]
        if status == DONE:
            self.served += alike.count  # those ended by "next" without a start have no service time
            self.service_times += alike.service_times
        elif status == NO_SHOW:
            self.no_show += alike.count
        elif status == EXPIRED:
            self.expired += alike.count

    def add_ratings(self, alike: Alike, profile: tuple) -> None:
        if profile[LEVEL_AT]:
            self.ratings[profile[LEVEL_AT]] += alike.count

    def view(self, with_issued: bool = True) -> dict:
        ratings = {level: self.ratings[code] for level, code in LEVEL_CODES.items()}
        rated = sum(ratings.values())
        satisfied = ratings["very_satisfied"] + ratings["satisfied"]
        return {
            "issued": self.issued if with_issued else None,
            "called": self.called,
            "served": self.served,
            "no_show": self.no_show,
            "no_show_rate": pct(self.no_show, self.called),
            "transferred": self.transferred,
            "not_called": self.not_called if with_issued else None,
            "expired": self.expired if with_issued else None,
            "wait": describe(self.waits),
            "target_met": self.met,
            "target_met_pct": pct(self.met, len(self.waits)),
            "early": self.early,
            "on_time": self.met - self.early,
            "late": self.late,
            "service_time": describe(self.service_times),
            "ratings": {**ratings, "total": rated, "satisfied_pct": pct(satisfied, rated)},
        }


def row_of(rows: dict, key) -> Tally:
    tally = rows.get(key)
    if tally is None:
        tally = rows[key] = Tally()
    return tally


COUNTS = ("issued", "called", "served", "no_show", "transferred", "not_called", "expired", "met", "early", "late")


def add_tally(total: Tally, other: Tally) -> None:
    """Add the figures of ``other`` (other tickets, or other steps) to ``total``."""
    for name in COUNTS:
        setattr(total, name, getattr(total, name) + getattr(other, name))
    total.waits.add(other.waits)
    total.service_times.add(other.service_times)
    total.ratings = list(map(operator.add, total.ratings, other.ratings))


def merged(tallies) -> Tally:
    """The sum of rows that share out the tickets, each row's lists sorted first: sorting the
    total's lists, made of sorted runs, is then nearly free."""
    total = Tally()
    for t in tallies:
        t.waits.sort()
        t.service_times.sort()
        add_tally(total, t)
    return total


def add_to_total(total: Tally, alike: Alike, profile: tuple, targets: dict) -> None:
    total.add_issue(alike, profile, targets[profile[ORIGIN_AT]])
    total.add_outcome(alike, profile)
