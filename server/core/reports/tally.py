"""The figures of one row while they are counted (``Tally``), and the statistics they end in:
count, average, median, 90th percentile and maximum of the times of a row (``Times``).

A row's times are those read from tickets (a list of seconds) and, for the days whose figures are
kept (kept.py), sorted runs of them, one per kept day, month or year (``KeptRun``: its count, sum,
maximum, median and 90th percentile as kept, and an index of every ``STEP``-th time; the times
themselves stay in the database until a figure needs some of them). The statistics are exact
either way and the same whatever the runs: the average from the sum in whole microseconds (every
time is read to the microsecond or the millisecond), the median and 90th percentile by picking
their ranks out of the runs (``_at_ranks``) without sorting them together. A row of one kept run
takes them as kept; a row of several reads, from each kept run, only the few times its index says
the rank may lie among (``_kept_window``): what a report over three years reads does not grow
with the tickets.
"""

from __future__ import annotations

import math
import operator
from array import array
from base64 import b64decode, b64encode
from bisect import bisect_left
from itertools import chain

from .tickets import (
    CANCELLED,
    DONE,
    EXPIRED,
    LAPSED,
    LEVEL_AT,
    LEVEL_CODES,
    LEVELS,
    NO_SHOW,
    ORIGIN_AT,
    STATUS_AT,
    TRANSFERRED_AT,
    Alike,
)

MICROS = 1_000_000
WINDOW = 2048  # values picked out of the runs and sorted, once the rank is known to lie among them
STEP = 128  # a kept run's index holds every STEP-th of its times
SHARES = (0.5, 0.9)  # the median and the 90th percentile
_TO_MICROS = float(MICROS).__mul__


def micros(values) -> int:
    """The exact sum of seconds (each to the microsecond or finer) in whole microseconds."""
    return sum(map(round, map(_TO_MICROS, values)))


class KeptRun:
    """A kept row's sorted times, in the database: their count, exact sum in microseconds, maximum,
    the two times the median is interpolated between and the two of the 90th percentile
    (``percentile``'s ranks), and ``index``, the times at positions 0, STEP, 2 * STEP, ... (8-byte
    floats, base64). ``store`` reads times ``start``..``end`` of ``unit`` (kept.Store: ``want``
    them, ``fetch`` all wanted at once, then ``values``); the run's times are those from ``offset`` on."""

    __slots__ = ("store", "unit", "offset", "count", "micros", "max", "at", "_index")

    def __init__(self, store, unit, offset: int, count: int, run_micros: int, stats: list):
        self.store, self.unit, self.offset, self.count, self.micros = store, unit, offset, count, run_micros
        median_low, median_high, p90_low, p90_high, self.max, self._index = stats
        self.at = {0.5: (median_low, median_high), 0.9: (p90_low, p90_high)}  # share -> the times at its ranks

    def __len__(self) -> int:
        return self.count

    def index(self) -> array:
        if isinstance(self._index, str):
            self._index = array("d", b64decode(self._index))
        return self._index

    def want(self, start: int, end: int) -> None:
        self.store.want(self.unit, self.offset + start, self.offset + end)

    def values(self, start: int, end: int):
        """Times ``start``..``end`` (positions in the run), sorted: a memoryview of floats."""
        return self.store.values(self.unit, self.offset + start, self.offset + end)

    def span(self, low: float, high: float) -> tuple[int, int]:
        """The positions ``start``..``end`` that hold every time in [low, high) (and some others
        within STEP of them), as the index tells."""
        index = self.index()
        j = bisect_left(index, low) if low > -math.inf else 0  # the time at (j - 1) * STEP is below low
        k = bisect_left(index, high) if high < math.inf else len(index)  # that at k * STEP is not below high
        start = (j - 1) * STEP + 1 if j else 0
        end = k * STEP if k < len(index) else self.count
        return start, max(start, end)


def run_stats(ordered) -> list:
    """What a KeptRun keeps of sorted times besides their count and sum (see KeptRun)."""
    at = [ordered[rank] for share in SHARES for rank in _ranks(len(ordered), share)]
    return [*at, ordered[-1], b64encode(array("d", ordered[::STEP])).decode()]


class Times:
    """A row's times: ``values`` (seconds, in any order) and ``runs`` (sorted sequences of
    seconds, kept), with the runs' count and exact sum in microseconds."""

    __slots__ = ("values", "runs", "run_count", "run_micros", "windows")

    def __init__(self, values: list[float] | None = None):
        self.values: list[float] = values if values is not None else []
        self.runs: list = []
        self.run_count = 0
        self.run_micros = 0
        self.windows: dict | None = None  # (rank, next rank) -> _kept_window's, found by ``want``

    def __len__(self) -> int:
        return len(self.values) + self.run_count

    def __iadd__(self, other):
        self.windows = None
        if isinstance(other, Times):
            self.add(other)
        else:
            self.values += other
        return self

    def append(self, value: float) -> None:
        self.windows = None
        self.values.append(value)

    def sort(self) -> None:
        self.values.sort()

    def add_run(self, run, run_micros: int) -> None:
        """A sorted run of seconds (a sequence, or a KeptRun) and their exact sum in microseconds."""
        if len(run):
            self.windows = None
            self.runs.append(run)
            self.run_count += len(run)
            self.run_micros += run_micros

    def add(self, other: Times) -> None:
        self.windows = None
        self.values += other.values
        self.runs += other.runs
        self.run_count += other.run_count
        self.run_micros += other.run_micros

    def micros(self) -> int:
        return micros(self.values) + self.run_micros

    def sorted_runs(self) -> list:
        self.values.sort()
        return [run for run in (self.values, *self.runs) if len(run)]

    def kept_runs(self) -> list[KeptRun]:
        return [run for run in self.runs if isinstance(run, KeptRun)]

    def ordered(self) -> list[float]:
        """All the times, sorted (for keeping a day's, a month's or a year's)."""
        runs = [run.values(0, run.count) if isinstance(run, KeptRun) else run for run in self.runs]
        return sorted(chain(self.values, *runs))

    def want(self) -> None:
        """Ask the stores of the kept runs for the times the median and 90th percentile need
        (``describe`` then finds them fetched, all the rows' at once)."""
        if len(self.runs) + bool(self.values) < 2 or not self.kept_runs():
            return
        runs = self.sorted_runs()
        count = len(self)
        self.windows = {}
        for share in SHARES:
            self.windows[share] = window = _kept_window(runs, count, share)
            for run, start, end in window[2]:
                run.want(start, end)


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
    if not times.values and len(times.runs) == 1 and type(times.runs[0]) is KeptRun:  # (a kept row's, quicker)
        run = times.runs[0]
        return {
            "count": count,
            "avg": rounded(times.run_micros / (count * MICROS)),
            "median": rounded(_interpolated(count, 0.5, *run.at[0.5])),
            "p90": rounded(_interpolated(count, 0.9, *run.at[0.9])),
            "max": rounded(run.max),
        }
    runs = times.sorted_runs()  # in place: a total made of sorted rows then sorts in one merge of their runs
    if len(runs) == 1 and isinstance(runs[0], KeptRun):  # one kept day, month or year: as kept
        median, p90 = (_interpolated(count, share, *runs[0].at[share]) for share in SHARES)
    else:
        median, p90 = (_percentile_of_runs(runs, count, share, times.windows) for share in (0.5, 0.9))
    return {
        "count": count,
        "avg": rounded(times.micros() / (count * MICROS)),
        "median": rounded(median),
        "p90": rounded(p90),
        "max": rounded(max(run.max if isinstance(run, KeptRun) else run[-1] for run in runs)),
    }


def _ranks(count: int, share: float) -> tuple[int, int]:
    low = math.floor((count - 1) * share)
    return low, min(low + 1, count - 1)


def _interpolated(count: int, share: float, at_low: float, at_high: float) -> float:
    """``percentile`` from the values at its two ranks, by the same arithmetic."""
    position = (count - 1) * share
    return at_low + (at_high - at_low) * (position - math.floor(position))


def _percentile_of_runs(runs: list, count: int, share: float, windows: dict | None = None) -> float:
    """``percentile`` of the values of sorted ``runs`` (``count`` in all), by the same arithmetic."""
    if len(runs) == 1:
        return percentile(runs[0], share)
    return _interpolated(count, share, *_values_at_share(runs, count, share, windows))


def at_shares(times: Times) -> list | None:
    """What a KeptRun keeps of ``times`` besides their count and sum, without an index (kept.py's
    spans, read only as one run): the two values of the median's ranks, the two of the 90th
    percentile's and the maximum, as ``describe`` finds them; None when there are no times."""
    count = len(times)
    if not count:
        return None
    runs = times.sorted_runs()
    if len(runs) == 1 and isinstance(runs[0], KeptRun):
        at = [value for share in SHARES for value in runs[0].at[share]]
    elif len(runs) == 1:
        at = [runs[0][rank] for share in SHARES for rank in _ranks(count, share)]
    else:
        at = [value for share in SHARES for value in _values_at_share(runs, count, share, times.windows)]
    return [*at, max(run.max if isinstance(run, KeptRun) else run[-1] for run in runs), ""]


def _values_at_share(runs: list, count: int, share: float, windows: dict | None = None) -> tuple[float, float]:
    """The values at the two ranks ``percentile`` interpolates between, among several sorted runs."""
    low, high = _ranks(count, share)
    if any(isinstance(run, KeptRun) for run in runs):
        window = (windows or {}).get(share) or _kept_window(runs, count, share)
        found = _at_kept_ranks(runs, low, high, window)
        if found is None:  # (not where the runs' own percentiles said: see _kept_window)
            found = _at_kept_ranks(runs, low, high, _kept_window(runs, count, share, quick=False))
        at_low, at_high = found
    else:
        at_low, at_high = _at_ranks(runs, low, high)
    return at_low, at_high


def _kept_window(runs: list, count: int, share: float, quick: bool = True) -> tuple[float, float, list]:
    """A range of values [low, high) holding the values at the two ranks of ``share`` among the
    ``count`` values of sorted ``runs`` (in memory, or KeptRuns), and which positions of each KeptRun
    may hold values in it: (low, high, [(run, start, end)]).

    First (``quick``) between the runs' own values at those ranks (of their own counts): the
    smallest has no more than the rank values below it, and the largest at least one more than
    the next rank at or below it; runs alike (one year and the next) put few values between.
    When more than about 4 * STEP a run lie between them, or when some run is too short for the
    second bound to hold (checked where the values are picked), between two of the marks of the
    runs' indexes (and every STEP-th value of the runs in memory), which leave about STEP a run."""
    rank, next_rank = _ranks(count, share)
    kept = [run for run in runs if isinstance(run, KeptRun)]
    low, high = -math.inf, math.inf
    if quick:
        ats = [run.at[share] if isinstance(run, KeptRun) else _at_own_ranks(run, share) for run in runs]
        low = min(at_low for at_low, _ in ats)
        high = math.nextafter(max(at_high for _, at_high in ats), math.inf)
        spans = [(run, *run.span(low, high)) for run in kept]
        if sum(end - start for _, start, end in spans) <= 4 * STEP * len(kept):
            return low, high, spans
    indexes = [(run.index(), run.count, run.max) for run in kept]
    loose = [run for run in runs if not isinstance(run, KeptRun)]
    marks = sorted(  # the marks between the bounds found so far
        chain(
            *(index[bisect_left(index, low) : bisect_left(index, high)] for index, _, _ in indexes),
            *(run[::STEP] for run in loose),
        )
    )

    def below(x: float) -> tuple[int, int]:
        """How many values are below ``x``, at least and at most: the runs in memory exactly, a
        KeptRun within STEP (its index has the value at (j - 1) * STEP below x, that at j * STEP not)."""
        least = most = 0
        for index, count, top in indexes:
            if top < x:
                least += count
                most += count
                continue
            j = bisect_left(index, x)
            if j:
                least += (j - 1) * STEP + 1
                most += j * STEP if j < len(index) else count
        for run in loose:
            exact = bisect_left(run, x)
            least += exact
            most += exact
        return least, most

    # the last mark with at most ``rank`` values below it: the value at ``rank`` is not below it
    first, last = 0, len(marks)  # marks[:first] qualify, marks[last:] do not
    while first < last:
        middle = (first + last) // 2
        if below(marks[middle])[1] <= rank:
            first = middle + 1
        else:
            last = middle
    low = marks[first - 1] if first else low
    # the first mark with more than ``next_rank`` values below it: the value at ``next_rank`` is below it
    last = len(marks)
    while first < last:
        middle = (first + last) // 2
        if below(marks[middle])[0] > next_rank:
            last = middle
        else:
            first = middle + 1
    high = marks[first] if first < len(marks) else high
    return low, high, [(run, *run.span(low, high)) for run in kept]


def _at_own_ranks(run, share: float) -> tuple[float, float]:
    low, high = _ranks(len(run), share)
    return run[low], run[high]


def _at_kept_ranks(runs: list, rank: int, next_rank: int, window: tuple) -> tuple[float, float] | None:
    """``_at_ranks`` for runs some of which are KeptRuns: only the values of ``window``
    (``_kept_window``'s) are read (those wanted before are fetched already); None if the ranks
    are not among them."""
    low, high, spans = window
    below = 0
    found = []
    for run, start, end in spans:
        values = run.values(start, end)
        first = bisect_left(values, low) if low > -math.inf else 0
        last = bisect_left(values, high) if high < math.inf else len(values)
        below += start + first
        found += values[first:last].tolist()
    for run in runs:
        if not isinstance(run, KeptRun):
            first = bisect_left(run, low) if low > -math.inf else 0
            last = bisect_left(run, high) if high < math.inf else len(run)
            below += first
            found += run[first:last]
    if not 0 <= rank - below <= next_rank - below < len(found):
        return None
    found.sort()
    return found[rank - below], found[next_rank - below]


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


# a row's counts, in the order kept figures hold them (kept.py FORMAT)
COUNTS = tuple("issued called served no_show transferred not_called expired cancelled lapsed met early late".split())


class Tally:
    """The figures of one row while they are counted."""

    __slots__ = (*COUNTS, "waits", "service_times", "ratings")

    def __init__(self):
        self.issued = self.called = self.served = self.no_show = self.transferred = self.not_called = self.expired = 0
        self.cancelled = self.lapsed = 0
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
        if profile[STATUS_AT] not in (EXPIRED, CANCELLED, LAPSED):  # the day ended on them, remote unclaimed: apart
            self.not_called += alike.count - len(alike.waits)
        self.add_waits(alike.waits, target_seconds)
        if profile[TRANSFERRED_AT]:
            self.transferred += alike.count

    def add_outcome(self, alike: Alike, profile: tuple) -> None:
        """What belongs where the tickets ended: how they ended, and their ratings."""
        self.add_end(alike, profile)
        self.add_ratings(alike, profile)

    def add_end(self, alike: Alike, profile: tuple) -> None:
        """Served and their service times, no-shows, expired at the end of the day, remote numbers
        cancelled or lapsed."""
        status = profile[STATUS_AT]
        if status == DONE:
            self.served += alike.count  # those ended by "next" without a start have no service time
            self.service_times += alike.service_times
        elif status == NO_SHOW:
            self.no_show += alike.count
        elif status == EXPIRED:
            self.expired += alike.count
        elif status == CANCELLED:
            self.cancelled += alike.count
        elif status == LAPSED:
            self.lapsed += alike.count

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
            "cancelled": self.cancelled if with_issued else None,
            "lapsed": self.lapsed if with_issued else None,
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
