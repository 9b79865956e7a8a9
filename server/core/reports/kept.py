"""Kept figures: the summary reports' figures of every business day that is over, counted once from
its tickets and kept (table ``report_day_figures``), so that a year's report reads a few hundred
rows instead of 150,000 tickets, and three years about as many.

For each kept day, one row per grouping: ``total``, ``service``, ``counter``, ``clerk``, ``hour``
(each a list of report rows: their counts, and their waits and service times as sorted runs of
8-byte floats with their exact sum in microseconds, maximum, median, 90th percentile and an index
of every 128th time: tally.KeptRun) and ``peaks`` (peaks.Peaks). A month all of whose days are
kept is kept once more as one row per grouping (``m`` + grouping, dated on its first day), its
runs merged, and a year all of whose months are kept as one row (``y`` + grouping): three years
are three runs per report row. A report reads the rows' figures without their times: a row of one
run (a day, a month, a year) has its statistics as kept; a row of several reads from each run only
the times its index says the median's and 90th percentile's ranks lie among (tally.py), all the
report's at once (``fetch_times``). So that those reads stay small, a month's or a year's times
are kept in chunks of CHUNK times (rows ``m.`` / ``y.`` + a letter for the grouping + the chunk's
number, dated as the month's or year's row); a day's stay in its row.
A period wholly kept as several units (three years; a quarter; months and days) is kept once more
the first time a report asks for it, as a span (``r`` + its number of days + a CODES letter, or
PEAKS_CODE for its peaks when no wait of it went on past midnight; dated on its first day): the
rows' figures and statistics as the report found them, without times, so a span is read only as
the whole period, alone (a longer period, or one with today in it, reads the units). Keeping a day
anew, or ``forget`` after its tickets changed, drops its month, year and every span over it.
A report adds the kept days (and months, years) of its period to the figures of its other days,
counted from their tickets as before (today, a day not over yet, a period that does not start and
end at midnight). Every figure is exact, the same as counted from the tickets (tally.py,
peaks.py); tests/test_reports_kept.py compares them all.

A day is kept once nothing in it can change: two days after it (UTC), no ticket of it left
waiting, held or booked (``end_of_day: keep`` keeps tickets waiting for days), and its last
finish further back than a rating can come (``rating.window_minutes``). A day with no tickets is
kept too (its rows are empty): no ticket can be issued on a past day. ``basis`` holds what the
figures were counted with (the services' target waits, and this module's format): a kept day of
another basis, or whose rows have another shape (decode_rows), is counted again and replaced. The days are kept as a report first asks for them
(the first report of a year counts it day by day, a few seconds); the caller commits, or a
Session given is committed here.

"Most people waiting at once" (peaks) is the one figure that does not add up: a wait that goes on
past midnight meets the next day's queue. So a kept day's peaks are used only when neither it nor
the day before had a wait past midnight; otherwise the day is counted from its tickets with its
neighbours (kept or not), as before.
"""

from __future__ import annotations

import datetime as dt
import json
from array import array
from bisect import bisect_left

from sqlalchemy import and_, case, delete, func, inspect, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from .. import models as m
from ..errors import Unavailable
from ..periods import Period
from .calendar_days import days_between, next_month, runs_of_days, uncovered_days, whole_months, whole_years, year_of
from .clock import utcnow
from .peaks import Peaks, count_peaks_by_day
from .tally import COUNTS, KeptRun, Tally, add_tally, at_shares, micros, run_stats
from .tickets import T, connection, insert_ignoring_conflicts

K = m.report_day_figures
FORMAT = "k6"  # changes when what is kept changes: rows of another format are counted again
GROUPINGS = ("total", "service", "counter", "clerk", "hour", "peaks")
KEPT_AFTER_DAYS = 2  # a day is over in every time zone two days after it (UTC), as sites.py keeps
FINAL_STATES = ("done", "no_show", "expired")
MONTH = "m"  # a month's rows: "m" + the grouping, dated on the month's first day
YEAR = "y"  # a year's rows (all its months kept): "y" + the grouping, dated on 1 January
SPAN = "r"  # a span's rows: "r" + its number of days + the grouping's CODES letter, dated on its first day
PEAKS_CODE = "p"  # the letter of a span's peaks
KEEP_SPANS = True  # (False: a period of several kept units is always read as those units, as before spans)
CHUNK = 256  # times per chunk row of a month's or a year's times (2 KB: a row fits in a page)
CODES = {"total": "t", "service": "s", "counter": "c", "clerk": "k", "hour": "h"}  # in chunk rows' names
# days a report counts and keeps at most (about 40 ms each): the first report over a year not kept
# yet then costs about a second more than counting it from tickets, not ten (the server's other
# requests wait for a SQLite connection meanwhile); each later report keeps the next ones
KEEP_AT_ONCE = 31


def basis_of(targets: dict) -> str:
    """What the figures are counted with: the format and each service's target wait (s)."""
    return FORMAT + ";" + ",".join(f"{sid}:{targets[sid]:g}" for sid in sorted(targets))


# --- a row of the table: encoding and decoding ----------------------------------------------------


def _key_out(key):
    if isinstance(key, dt.date):
        return key.isoformat()
    return list(key) if isinstance(key, tuple) else key


def encode_rows(rows: dict) -> tuple[str, bytes]:
    """Report rows (key -> Tally) as (JSON, the times): per row its counts, ratings, and for its
    waits and its service times how many, their sum in microseconds and what a KeptRun keeps of
    them (tally.run_stats); the times each row's sorted waits then its sorted service times."""
    figures = []
    times = array("d")
    for key, tally in rows.items():
        waits, services = tally.waits.ordered(), tally.service_times.ordered()
        figures.append(
            [
                _key_out(key),
                *(getattr(tally, name) for name in COUNTS),
                tally.ratings[1:],
                len(waits),
                micros(waits),
                run_stats(waits) if waits else None,
                len(services),
                micros(services),
                run_stats(services) if services else None,
            ]
        )
        times.extend(waits)
        times.extend(services)
    return json.dumps(figures, separators=(",", ":")), times.tobytes()


def encode_span(rows: dict) -> str:
    """A span's report rows (key -> Tally of KeptRuns) as encode_rows's JSON, each statistic as a
    report finds it (tally.at_shares: picked out of the runs' times, fetched before), no index."""
    figures = []
    for key, tally in rows.items():
        figures.append(
            [
                _key_out(key),
                *(getattr(tally, name) for name in COUNTS),
                tally.ratings[1:],
                len(tally.waits),
                tally.waits.micros(),
                at_shares(tally.waits),
                len(tally.service_times),
                tally.service_times.micros(),
                at_shares(tally.service_times),
            ]
        )
    return json.dumps(figures, separators=(",", ":"))


ROW_LENGTH = 1 + len(COUNTS) + 7  # a report row as kept: key, counts, ratings, waits and service times (3 each)


def decode_rows(figures: str, store: Store | None = None, unit: tuple | None = None) -> list[tuple] | None:
    """(key, Tally) of a kept row, its times as KeptRuns of ``unit`` (read through ``store``); None
    for rows of another shape (another format, FORMAT not changed with COUNTS): counted again."""
    rows = json.loads(figures)
    if any(len(row) != ROW_LENGTH for row in rows):
        return None
    found = []
    at = 0
    for (
        key,
        *counts,
        ratings,
        wait_count,
        wait_micros,
        wait_stats,
        service_count,
        service_micros,
        service_stats,
    ) in rows:
        tally = Tally()
        for name, value in zip(COUNTS, counts):
            setattr(tally, name, value)
        tally.ratings = [0, *ratings]
        if wait_count:
            tally.waits.add_run(KeptRun(store, unit, at, wait_count, wait_micros, wait_stats), wait_micros)
        at += wait_count
        if service_count:
            tally.service_times.add_run(
                KeptRun(store, unit, at, service_count, service_micros, service_stats), service_micros
            )
        at += service_count
        found.append((tuple(key) if isinstance(key, list) else key, tally))
    return found


class Store:
    """Where a report's KeptRuns read their times: a day's row (unit: (grouping, day), the times in
    the row), or a month's or year's chunk rows (unit: ("m." or "y." + CODES letter, first day),
    the times from ``start`` in chunk ``start // CHUNK``). Times are first ``want``-ed, then read
    all at once (``fetch``: one query), then taken (``values``: what was not fetched is read then)."""

    def __init__(self, db, site_id: str, basis: str):
        self.db, self.site_id, self.basis = db, site_id, basis
        self.loaded: dict[tuple[str, dt.date], bytes] = {}
        self.wanted: set[tuple[str, dt.date]] = set()

    @staticmethod
    def _keys(unit: tuple, start: int, end: int) -> list[tuple[str, dt.date]]:
        name, day = unit
        if end <= start:
            return []
        if "." not in name:
            return [unit]
        return [(f"{name}{n}", day) for n in range(start // CHUNK, (end - 1) // CHUNK + 1)]

    def want(self, unit: tuple, start: int, end: int) -> None:
        if span_days(unit[0]) is not None:  # (plan reads a span only as a whole period's one run)
            raise ValueError(f"the times of kept span {unit[0]} are not kept")
        self.wanted.update(key for key in self._keys(unit, start, end) if key not in self.loaded)

    def fetch(self) -> None:
        keys = sorted(self.wanted - self.loaded.keys())
        self.wanted.clear()
        conn = connection(self.db)
        by_days: dict[tuple, set] = {}  # the rows wanted of the same days, asked together
        for name, day in keys:
            by_days.setdefault(day, set()).add(name)
        asks: dict[frozenset, set] = {}
        for day, names in by_days.items():
            asks.setdefault(frozenset(names), set()).add(day)
        for names, days in asks.items():
            names = sorted(names)
            for first in range(0, len(names), 500):
                query = select(K.c.grouping, K.c.business_day, K.c.times).where(
                    K.c.site_id == self.site_id,
                    K.c.grouping.in_(names[first : first + 500]),
                    K.c.business_day.in_(sorted(days)),
                    K.c.basis == self.basis,
                )
                for grouping, day, times in conn.execute(query):
                    self.loaded[(grouping, day)] = times
        missing = [key for key in keys if key not in self.loaded]
        if missing:  # kept again meanwhile (another basis): the figures read are gone, asking again works
            raise Unavailable("report_figures_recounted")

    def values(self, unit: tuple, start: int, end: int):
        keys = self._keys(unit, start, end)
        if not keys:
            return memoryview(b"").cast("d")
        if span_days(unit[0]) is not None:
            raise ValueError(f"the times of kept span {unit[0]} are not kept")
        if any(key not in self.loaded for key in keys):
            self.want(unit, start, end)
            self.fetch()
        if "." not in unit[0]:
            return memoryview(self.loaded[unit]).cast("d")[start:end]
        skip = start - (start // CHUNK) * CHUNK
        data = self.loaded[keys[0]] if len(keys) == 1 else b"".join(self.loaded[key] for key in keys)
        return memoryview(data).cast("d")[skip : skip + end - start]

    def forget(self) -> None:
        self.loaded.clear()


def fetch_times(tallies) -> None:
    """Read at once the kept times that the medians and 90th percentiles of ``tallies`` need."""
    stores = set()
    for tally in tallies:
        for times in (tally.waits, tally.service_times):
            times.want()
            stores.update(run.store for run in times.kept_runs())
    for store in stores:
        if store is not None and store.wanted:
            store.fetch()


def _unit(grouping: str, day: dt.date) -> tuple[str, dt.date]:
    """Where the times of a kept row are (Store)."""
    if grouping[0] in (MONTH, YEAR) and grouping[1:] in CODES:
        return (f"{grouping[0]}.{CODES[grouping[1:]]}", day)
    return (grouping, day)


def encode_peaks(peaks: Peaks) -> str:
    return json.dumps({name: getattr(peaks, name) for name in Peaks.__slots__}, separators=(",", ":"))


def decode_peaks(figures: str) -> Peaks:
    peaks = Peaks()
    for name, value in json.loads(figures).items():
        setattr(peaks, name, value)
    return peaks


# --- what a report reads --------------------------------------------------------------------------


class Plan:
    """A period's kept figures per grouping (per kept day or month: its (key, Tally) rows, or its
    Peaks) and the periods left to count from the tickets (``counted``; ``peak_counted`` for the
    peaks)."""

    def __init__(self, period: Period):
        self.kept: dict[str, dict[dt.date, object]] = {}
        self.counted: list[Period] = [period]
        self.peak_counted: list[Period] = [period]

    def rows(self, group_by: str) -> tuple[dict, Tally]:
        """The kept rows of ``group_by`` summed per key (for "day": the day), and the kept total."""
        rows: dict = {}
        if group_by == "day":  # a row per kept day, as decoded (one each)
            rows = {day: tally for day, found in self.kept.get("day", {}).items() for _key, tally in found}
        for found in self.kept.get(group_by, {}).values() if group_by != "day" else ():
            for key, tally in found:
                mine = rows.get(key)
                if mine is None:
                    rows[key] = mine = Tally()
                add_tally(mine, tally)
        total = Tally()
        for found in self.kept.get("total", {}).values():
            for _key, tally in found:
                add_tally(total, tally)
        return rows, total

    def peaks(self) -> Peaks:
        peaks = Peaks()
        for found in self.kept.get("peaks", {}).values():
            peaks.add(found)
        return peaks


def plan(
    db,
    site,
    period: Period,
    now: dt.datetime | None,
    targets: dict,
    groupings: tuple,
    from_tickets: bool = False,
    keep_at_once: int | None = KEEP_AT_ONCE,
) -> Plan:
    """The kept figures of ``period`` for ``groupings`` (of GROUPINGS, or "day"), keeping first up
    to ``keep_at_once`` (None: all) days that are over and not kept yet (and the months then
    whole); and what is left to count from the tickets."""
    result = Plan(period)
    if from_tickets or not period.whole_days or str(period.zone) != str(site.config.site.zone):
        return result
    conn = connection(db)
    now = now or utcnow()
    basis = basis_of(targets)
    store = Store(db, site.id, basis)
    if set(groupings) == {"peaks"}:  # (peak hours read no rows)
        wanted: tuple = ("peaks",)
    else:
        wanted = tuple(dict.fromkeys(("total", *("total" if g == "day" else g for g in groupings))))
    if not _has_table(conn):  # a database not migrated yet: everything from the tickets
        return result
    if KEEP_SPANS and "day" not in groupings:  # a span kept: nothing else to read
        spans = _read_spans(conn, site, period, wanted, store)
        if spans is not None:
            result.kept, result.counted, result.peak_counted = spans, [], []
            return result
    # (the days of the period are not listed unless needed: the work then grows with the units, not the days)
    first_day, last_day = period.first_day, period.last_day
    years = whole_years([first_day, last_day])
    year_rows = _read(conn, site, [YEAR + g for g in wanted], [first for first, _ in years], store)
    kept_years = {first: last for first, last in years if all(first in year_rows[YEAR + g] for g in wanted)}
    months = [(first, last) for first, last in whole_months([first_day, last_day]) if year_of(first) not in kept_years]
    month_rows = _read(conn, site, [MONTH + g for g in wanted], [first for first, _ in months], store)
    kept_months = {first: last for first, last in months if all(first in month_rows[MONTH + g] for g in wanted)}
    loose = uncovered_days(first_day, last_day, {**kept_years, **kept_months})
    day_rows = _read(conn, site, wanted, loose, store)
    missing = [d for d in loose if not all(d in day_rows[g] for g in wanted)]
    fresh = _keep_days(db, site, missing, now, targets, basis, keep_at_once) if missing else {}
    for d, found in fresh.items():
        for g in wanted:
            day_rows[g][d] = found[g]
    made = _roll_up(
        conn, site, [mo for mo in months if mo[0] not in kept_months], days_between, day_rows, wanted, store, MONTH
    )
    for first, (last, found) in made.items():
        kept_months[first] = last
        for g in wanted:
            month_rows[MONTH + g][first] = found[g]
    month_parts = {g: month_rows[MONTH + g] for g in wanted}
    made_years = _roll_up(
        conn,
        site,
        [y for y in years if y[0] not in kept_years],
        lambda first, last: [f for f, _ in whole_months([first, last])],
        month_parts,
        wanted,
        store,
        YEAR,
    )
    for first, (last, found) in made_years.items():
        kept_years[first] = last
        for g in wanted:
            year_rows[YEAR + g][first] = found[g]
    for first, last in kept_years.items() if kept_months else ():  # the months of a kept year are read as the year
        for month_first, _ in whole_months([first, last]):
            kept_months.pop(month_first, None)
    if not isinstance(db, Connection) and (fresh or made or made_years):  # a Session
        db.commit()  # what was counted stays kept (a report's session is its own)
        conn = connection(db)

    units: dict[dt.date, dt.date] = {**kept_years, **kept_months}  # first day -> last day of each kept unit
    units.update(
        {
            d: d
            for d in loose
            if d.replace(day=1) not in kept_months  # (a month made now, kept or read as its year)
            and year_of(d) not in kept_years
            and all(d in day_rows[g] for g in wanted)
        }
    )
    for g in wanted:
        result.kept[g] = {
            first: (
                year_rows[YEAR + g]
                if first in kept_years
                else month_rows[MONTH + g]
                if first in kept_months
                else day_rows[g]
            )[first]
            for first in sorted(units)
        }
    result.counted = runs_of_days(uncovered_days(first_day, last_day, units), period)
    if "day" in groupings:  # the rows per day from the days' own rows (a month's sum them), the total as kept
        covered = [d for first, last in sorted(units.items()) for d in days_between(first, last)]
        per_day = {d: day_rows["total"][d] for d in covered if d in day_rows["total"]}
        rest = [d for d in covered if d not in per_day]
        per_day.update(_read(conn, site, ["total"], rest, store)["total"])
        result.kept["day"] = per_day
    if "peaks" in wanted:
        usable = _peaks_usable(result.kept["peaks"], units, period)
        result.kept["peaks"] = {first: p for first, p in result.kept["peaks"].items() if first in usable}
        result.peak_counted = runs_of_days(
            uncovered_days(first_day, last_day, {first: units[first] for first in usable}), period
        )
    if KEEP_SPANS and not result.counted and len(units) > 1 and _use_spans(conn, site, period, result, wanted, store):
        if not isinstance(db, Connection):  # a Session
            db.commit()
    return result


def _use_spans(conn, site, period: Period, result: Plan, wanted: tuple, store: Store) -> bool:
    """A period wholly kept as several units (years, months, days) is read as one kept span per
    grouping: its rows' figures and statistics, counted once from its units' (the medians and 90th
    percentiles picked out of their times as a report does: tally.at_shares) and kept without times
    (a span is only read whole, alone: a longer period reads its units). Whether spans were made."""
    days = (period.last_day - period.first_day).days + 1
    names = {g: f"{SPAN}{days}{CODES[g]}" for g in wanted if g in CODES}
    if "peaks" in wanted and not result.peak_counted:  # (no wait past midnight in the period's units)
        names["peaks"] = f"{SPAN}{days}{PEAKS_CODE}"
    found = _read(conn, site, list(names.values()), [period.first_day], store)
    made = {}
    for g, name in names.items():
        rows = found[name].get(period.first_day)
        if rows is None and g == "peaks":
            peaks = Peaks()
            for unit_peaks in result.kept[g].values():
                peaks.add(unit_peaks)
            made[name] = (encode_peaks(peaks), b"")
            rows = decode_peaks(made[name][0])
        elif rows is None:
            summed: dict = {}
            for unit_rows in result.kept[g].values():
                for key, tally in unit_rows:
                    mine = summed.get(key)
                    if mine is None:
                        summed[key] = mine = Tally()
                    add_tally(mine, tally)
            fetch_times(summed.values())
            made[name] = (encode_span(summed), b"")
            rows = decode_rows(made[name][0], store, (name, period.first_day))
        result.kept[g] = {period.first_day: rows}
    if made:
        _write(conn, site, {period.first_day: made}, store.basis, None)
    return bool(made)


def _read_spans(conn, site, period: Period, wanted: tuple, store: Store) -> dict | None:
    """The period's kept span of every grouping ``wanted`` (grouping -> {first day: rows}), or None
    (as for a day, a calendar month or year: one unit, never a span)."""
    first, last = period.first_day, period.last_day
    if last <= first or (first.day == 1 and last + dt.timedelta(days=1) == next_month(first)):
        return None
    if (first.month, first.day, last.month, last.day) == (1, 1, 12, 31) and first.year == last.year:
        return None
    days = (last - first).days + 1
    names = {g: f"{SPAN}{days}{PEAKS_CODE if g == 'peaks' else CODES[g]}" for g in wanted}
    found = _read(conn, site, list(names.values()), [first], store)
    if not all(first in found[name] for name in names.values()):
        return None
    return {g: {first: found[name][first]} for g, name in names.items()}


def span_days(grouping: str) -> int | None:
    """The number of days of a span's row (its name: SPAN + days + a CODES letter), else None."""
    if grouping[:1] != SPAN or not grouping[1:-1].isdigit():
        return None
    return int(grouping[1:-1])


_seen: set[str] = set()


def _has_table(conn) -> bool:
    """Whether the database has the table (remembered once seen: tables are not dropped)."""
    url = str(conn.engine.url)
    if url not in _seen and inspect(conn).has_table(K.name):
        _seen.add(url)
    return url in _seen


def _peaks_usable(peaks: dict, units: dict, period: Period) -> set:
    """The kept units (days, months) whose "most waiting at once" holds in the period's: no wait of
    theirs went on past midnight, nor one of the day before (kept, or the period starts there)."""
    spilled_last = {}  # last day of a unit -> whether a wait of that day went on past midnight
    for first, last in units.items():
        spilled_last[last] = peaks[first].spill
    usable = set()
    for first in units:
        if peaks[first].spill:
            continue
        before = first - dt.timedelta(days=1)
        if first == period.first_day or spilled_last.get(before) is False:
            usable.add(first)
    return usable


def _read(conn, site, groupings: list[str], days: list[dt.date], store: Store) -> dict[str, dict]:
    """The kept rows of ``groupings`` on ``days`` (of the store's basis), decoded, their times left
    in the database: grouping -> day -> rows."""
    found: dict[str, dict] = {g: {} for g in groupings}
    if not days:
        return found
    wanted = set(days)
    query = select(K.c.grouping, K.c.business_day, K.c.figures).where(
        K.c.site_id == site.id,
        K.c.grouping.in_(groupings),
        K.c.basis == store.basis,
        K.c.business_day.between(min(days), max(days)),
    )
    for grouping, day, figures in conn.execute(query):
        decoded = _decode(grouping, day, figures, store) if day in wanted else None
        if decoded is not None:  # (a row of another shape is as if not kept)
            found[grouping][day] = decoded
    return found


def _decode(grouping: str, day: dt.date, figures: str, store: Store):
    if grouping in ("peaks", MONTH + "peaks", YEAR + "peaks") or (span_days(grouping) and grouping[-1] == PEAKS_CODE):
        return decode_peaks(figures)
    return decode_rows(figures, store, _unit(grouping, day))


# --- keeping --------------------------------------------------------------------------------------


def keep_all(db, site, period: Period, now: dt.datetime | None = None) -> None:
    """Count and keep every day of ``period`` that can be kept (and the months then whole), at once."""
    from .tickets import read_services

    targets = {sid: s["target"] for sid, s in read_services(connection(db), site).items()}
    plan(db, site, period, now, targets, GROUPINGS, keep_at_once=None)


def keepable(conn, site, days: list[dt.date], now: dt.datetime) -> tuple[list[dt.date], set[dt.date]]:
    """Those of ``days`` that are over and can no longer change (see the module's docstring), and
    which of them had tickets."""
    before = now.date() - dt.timedelta(days=KEPT_AFTER_DAYS)
    days = [d for d in days if d <= before]
    if not days:
        return [], set()
    window = dt.timedelta(minutes=site.config.rating.window_minutes)
    in_days = T.c.business_day.in_(days) if len(days) <= 60 else T.c.business_day.between(days[0], days[-1])
    busy, with_tickets = set(), set()
    for day, still_open, last_finish in conn.execute(
        select(
            T.c.business_day,
            func.sum(case((T.c.status.in_(FINAL_STATES), 0), else_=1)),
            func.max(T.c.finished_at),
        )
        .where(T.c.site_id == site.id, in_days)
        .group_by(T.c.business_day)
    ):
        day = dt.date.fromisoformat(day) if isinstance(day, str) else day
        with_tickets.add(day)
        if still_open or (last_finish is not None and last_finish >= now - window):
            busy.add(day)
    return [d for d in days if d not in busy], with_tickets


def count_days(conn, site, days: list[dt.date], targets: dict, now: dt.datetime) -> dict:
    """All the kept groupings of each of ``days``, counted from their tickets (read once per run of
    consecutive days): day -> grouping -> rows (or Peaks)."""
    from .figures import count_by_day  # figures.py reads the kept days through this module

    found: dict = {}
    for run in runs_of_days(days, _zone_period(site)):
        rows = count_by_day(conn, site, run, targets)
        peaks = count_peaks_by_day(conn, site, run, targets, now)
        for day in run.days():
            if day in rows:
                found[day] = {**rows[day], "peaks": peaks.get(day, Peaks())}
            else:
                found[day] = _empty()
    return found


def _empty() -> dict:
    """The groupings of a day without tickets."""
    return {**{grouping: [] for grouping in GROUPINGS if grouping != "peaks"}, "peaks": Peaks()}


def _zone_period(site) -> Period:
    zone = site.config.site.zone
    moment = dt.datetime(2000, 1, 1, tzinfo=zone)
    return Period("range", "", moment, moment)


def _keep_days(db, site, days: list[dt.date], now: dt.datetime, targets: dict, basis: str, at_once) -> dict:
    """Count and keep those of ``days`` that can be kept (the first ``at_once`` with tickets):
    day -> grouping -> rows (or Peaks)."""
    conn = connection(db)
    days, with_tickets = keepable(conn, site, days, now)
    if at_once is not None and len(with_tickets & set(days)) > at_once:
        last = sorted(with_tickets & set(days))[at_once - 1]
        days = [d for d in days if d <= last]
    counted = count_days(conn, site, days, targets, now)
    _write(conn, site, {day: _encoded(found) for day, found in counted.items()}, basis, GROUPINGS)
    return counted


def _encoded(found: dict) -> dict:
    out = {}
    for grouping, value in found.items():
        plain = grouping.removeprefix(MONTH)
        out[grouping] = (encode_peaks(value), b"") if plain == "peaks" else encode_rows(dict(value))
    return out


def _roll_up(conn, site, spans, parts_of, part_rows: dict, wanted: tuple, store: Store, prefix: str) -> dict:
    """The spans (months, years) all of whose parts (days, months) are kept, summed and kept as
    ``prefix`` + grouping: first day -> (last day, grouping -> rows)."""
    made, encoded = {}, {}
    for first, last in spans:
        parts = parts_of(first, last)
        if not parts or not all(p in part_rows[g] for g in wanted for p in parts):
            continue
        for g in wanted:  # the parts' times, read at once
            for p in parts if g != "peaks" else ():
                for _key, tally in part_rows[g][p]:
                    for run in (*tally.waits.kept_runs(), *tally.service_times.kept_runs()):
                        run.want(0, run.count)
        store.fetch()
        found = {}
        for g in wanted:
            if g == "peaks":
                if any(part_rows[g][p].spill for p in parts):
                    break  # a wait past midnight: its days are read one by one
                peaks = Peaks()
                for p in parts:
                    peaks.add(part_rows[g][p])
                found[g] = peaks
            else:
                rows: dict = {}
                for p in parts:
                    for key, tally in part_rows[g][p]:
                        mine = rows.get(key)
                        if mine is None:
                            rows[key] = mine = Tally()
                        add_tally(mine, tally)
                found[g] = list(rows.items())
        else:
            made[first] = (last, found)
            encoded[first] = {prefix + g: v for g, v in _encoded(found).items()}
        store.forget()  # (a month's or year's times are read from its own rows from now on)
    _write(conn, site, encoded, store.basis, None)  # all at once (a year's months: one write, not twelve)
    return made


def chunks(name: str, times: bytes) -> list[tuple[str, bytes]]:
    """A month's or year's times as chunk rows: (name + the chunk's number, its CHUNK times)."""
    return [(f"{name}{n}", times[start : start + 8 * CHUNK]) for n, start in enumerate(range(0, len(times), 8 * CHUNK))]


def _write(conn, site, rows: dict, basis: str, groupings) -> None:
    """Keep ``rows`` (day -> grouping -> (figures, times)), replacing rows of another basis; a
    month's or year's times go to chunk rows (Store). Another report may keep the same at once. A
    database that refuses (full, read-only) costs the next report its time, not this one its answer."""
    if not rows:
        return
    made_at = utcnow()
    values = []
    chunked = {}  # day -> the chunk rows' names without their numbers
    for day, found in rows.items():
        for grouping, (figures, times) in found.items():
            name = _unit(grouping, day)[0]
            if "." in name:
                chunked.setdefault(day, []).append(name)
                values.extend((day, key, "", chunk) for key, chunk in chunks(name, times))
                times = b""
            values.append((day, grouping, figures, times))
    values = [
        {
            "site_id": site.id,
            "business_day": day,
            "grouping": grouping,
            "basis": basis,
            "figures": figures,
            "times": times,
            "made_at": made_at,
        }
        for day, grouping, figures, times in values
    ]
    insert = insert_ignoring_conflicts(conn, K)
    days = [day for day, found in rows.items() if any(grouping in GROUPINGS for grouping in found)]
    replaced: dict[tuple, list[dt.date]] = {}  # (the groupings, the chunk rows' names) -> the days they are on
    for day, found in rows.items():
        replaced.setdefault((tuple(groupings or found), tuple(chunked.get(day, ()))), []).append(day)
    try:
        with conn.begin_nested():
            if days:  # kept anew: what was made of the days before goes
                _drop_units_over(conn, site, days)
            for (names, chunk_names), on_days in replaced.items():  # (one statement, not one a day: a year is 365)
                which = or_(K.c.grouping.in_(names), *(_chunk_rows(name) for name in chunk_names))
                for start in range(0, len(on_days), 500):
                    conn.execute(
                        delete(K).where(
                            K.c.site_id == site.id, K.c.business_day.in_(on_days[start : start + 500]), which
                        )
                    )
            for start in range(0, len(values), 500):
                conn.execute(insert, values[start : start + 500])
    except DBAPIError:
        pass


def _chunk_rows(name: str):
    """The chunk rows of ``name`` (name + their number): a range on the key, not LIKE, which SQLite's
    index does not serve (digits sort below ":")."""
    return and_(K.c.grouping > name, K.c.grouping < name + ":")


def _drop_units_over(conn, site, days: list[dt.date]) -> None:
    """Drop the kept months, years and spans holding any of ``days`` (of any basis, their chunk rows
    too): they are made again from the days' figures as kept now."""
    days = sorted(set(days))
    for prefix, firsts in (
        (MONTH, {d.replace(day=1) for d in days}),
        (YEAR, {d.replace(month=1, day=1) for d in days}),
    ):
        conn.execute(
            delete(K).where(
                K.c.site_id == site.id,
                K.c.business_day.in_(sorted(firsts)),
                K.c.grouping >= prefix,  # (a range on the key, not LIKE: SQLite's LIKE does not use it)
                K.c.grouping < chr(ord(prefix) + 1),
            )
        )
    spans = conn.execute(
        select(K.c.grouping, K.c.business_day).where(
            K.c.site_id == site.id,
            K.c.grouping >= SPAN,
            K.c.grouping < chr(ord(SPAN) + 1),
            K.c.business_day <= days[-1],
        )
    ).all()
    ordinals = [d.toordinal() for d in days]
    for grouping, first in spans:
        length = span_days(grouping)
        if length is None:
            continue
        start = first.toordinal()
        at = bisect_left(ordinals, start)
        if at < len(ordinals) and ordinals[at] < start + length:
            conn.execute(delete(K).where(K.c.site_id == site.id, K.c.grouping == grouping, K.c.business_day == first))


def forget(db, site, first_day: dt.date, last_day: dt.date) -> None:
    """Drop the kept figures of the days ``first_day``..``last_day`` and of every month, year and span
    holding one of them: for a change to tickets of days already kept (tickets added to past days, a
    correction), so that the next report counts them again. The caller commits."""
    conn = connection(db)
    days = days_between(first_day, last_day)
    # an uncached look (forgetting is rare): remembering the table here would outlive a downgrade
    # that drops it (the migration tests downgrade a simulated database)
    if not days or not inspect(conn).has_table(K.name):
        return
    with conn.begin_nested():
        _drop_units_over(conn, site, days)
        conn.execute(
            delete(K).where(
                K.c.site_id == site.id,
                K.c.business_day.between(first_day, last_day),
                K.c.grouping.in_(GROUPINGS),
            )
        )
