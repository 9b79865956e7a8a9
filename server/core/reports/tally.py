"""The figures of one row while they are counted (``Tally``), and the statistics they end in:
count, average, median, 90th percentile and maximum of a list of times."""

from __future__ import annotations

import math

from .tickets import DONE, EXPIRED, LEVEL_AT, LEVEL_CODES, LEVELS, NO_SHOW, ORIGIN_AT, STATUS_AT, TRANSFERRED_AT, Alike


def percentile(ordered: list[float], share: float) -> float | None:
    """Linear interpolation between closest ranks (Excel PERCENTILE.INC); ``ordered`` is sorted."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * share
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def describe(values: list[float]) -> dict:
    """count, avg, median, p90, max of a list of seconds (None when empty), rounded to 0.1 s."""
    if not values:
        return {"count": 0, "avg": None, "median": None, "p90": None, "max": None}
    values.sort()  # in place: a total made of sorted rows then sorts in one merge of their runs
    ordered = values
    return {
        "count": len(ordered),
        "avg": rounded(sum(ordered) / len(ordered)),
        "median": rounded(percentile(ordered, 0.5)),
        "p90": rounded(percentile(ordered, 0.9)),
        "max": rounded(ordered[-1]),
    }


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
        self.waits: list[float] = []
        self.service_times: list[float] = []
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


def merged(tallies) -> Tally:
    """The sum of rows that share out the tickets, each row's lists sorted first: sorting the
    total's lists, made of sorted runs, is then nearly free."""
    total = Tally()
    for t in tallies:
        t.waits.sort()
        t.service_times.sort()
        for name in (
            "issued",
            "called",
            "served",
            "no_show",
            "transferred",
            "not_called",
            "expired",
            "met",
            "early",
            "late",
        ):
            setattr(total, name, getattr(total, name) + getattr(t, name))
        total.waits += t.waits
        total.service_times += t.service_times
        total.ratings = [a + b for a, b in zip(total.ratings, t.ratings)]
    return total


def add_to_total(total: Tally, alike: Alike, profile: tuple, targets: dict) -> None:
    total.add_issue(alike, profile, targets[profile[ORIGIN_AT]])
    total.add_outcome(alike, profile)
