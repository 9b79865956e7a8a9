"""Reporting periods as Vietnamese centres use them: day, week, month, Quý I–IV, 6 tháng, 9 tháng,
năm, and any range, in the site's local time.

A period is a half-open span of local time ``[start, end)``. Named periods are written as keys:

    2026-11-20   a day                 2026-W47   an ISO week (Monday to Sunday)
    2026-11      a month               2026-Q4    a quarter (Quý IV)
    2026-H1      6 tháng đầu năm       2026-H2    6 tháng cuối năm
    2026-9M      9 tháng đầu năm       2026       a year

and any range as ``from``/``to``: dates (both days included) or local date-times
(``2026-11-20T22:00`` to ``2026-11-21T02:00``, the end excluded), e.g. a span across midnight.

``basis="nd09"`` takes months, quarters, halves, 9 months and years with the data cut-off
("thời gian chốt số liệu báo cáo") of Decree 09/2019/NĐ-CP, Article 12: a monthly report from the
15th of the month before to the 14th of the month (cl. 1); a quarterly one from the 15th of the
month before the quarter to the 14th of its last month (cl. 2); 6 months from 15/12 of the year
before to 14/06, and 15/06 to 14/12 (cl. 3); a year from 15/12 of the year before to 14/12 (cl. 4).
The article has no 9-month report: clause 5 leaves other periodic reports to the body that sets
the reporting regime. Here 9 tháng runs by the same rule as the others, 15/12 of the year before
to 14/09, which a reporting regime may set otherwise. Days, weeks and ranges are the same on
either basis. Every report states the exact first and last day, so a reader can check which days
it covers.

No Flask here: plain functions, used by the reports, the exports, the API and the CLI.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from .i18n import Phrase, translate

BASES = ("calendar", "nd09")
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
MONTH_NAMES_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{1,2})$", re.I)
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.I)
_HALF = re.compile(r"^(\d{4})-H([12])$", re.I)
_NINE = re.compile(r"^(\d{4})-9M$", re.I)
_YEAR = re.compile(r"^(\d{4})$")


class PeriodError(ValueError):
    """A period that cannot be read: ``field`` names the parameter; ``problem(language)`` says what is wrong."""

    def __init__(self, field: str, key: str, **params):
        super().__init__(f"{field}: {translate(key, 'en', **params)}")
        self.field = field
        self.key = key
        self.params = params

    def problem(self) -> Phrase:
        """What is wrong, said in each reader's language."""
        return Phrase(self.key, **self.params)


@dataclass(frozen=True)
class Period:
    kind: str  # day | week | month | quarter | half | nine_months | year | range
    key: str  # e.g. "2026-Q4", or "2026-11-01..2026-11-15" for a range
    start: dt.datetime  # local, aware; included
    end: dt.datetime  # local, aware; excluded
    basis: str = "calendar"
    label_vi: str = ""
    label_en: str = ""

    @property
    def zone(self) -> ZoneInfo:
        return self.start.tzinfo  # type: ignore[return-value]

    @property
    def first_day(self) -> dt.date:
        return self.start.date()

    @property
    def last_day(self) -> dt.date:
        """The last local day the period touches (its end is excluded)."""
        return (self.end - dt.timedelta(microseconds=1)).date()

    @property
    def whole_days(self) -> bool:
        return self.start.time() == dt.time() and self.end.time() == dt.time()

    def utc_bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """``[start, end)`` as naive UTC, the way the database keeps times."""
        return _naive_utc(self.start), _naive_utc(self.end)

    def days(self) -> list[dt.date]:
        first, last = self.first_day, self.last_day
        return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]

    def span_text(self, language: str = "vi") -> str:
        """ "Từ 01/10/2026 đến 31/12/2026", or with hours when the period does not start and end at midnight."""
        if self.whole_days:
            if self.first_day == self.last_day:
                return translate("period_span_day", language, day=vn_date(self.first_day))
            return translate("period_span", language, first=vn_date(self.first_day), last=vn_date(self.last_day))
        return translate(
            "period_span",
            language,
            first=f"{self.start:%H:%M} {vn_date(self.start.date())}",
            last=f"{self.end:%H:%M} {vn_date(self.end.date())}",
        )

    def label(self, language: str = "vi") -> str:
        return self.label_en if language == "en" else self.label_vi

    def view(self) -> dict:
        return {
            "key": self.key,
            "kind": self.kind,
            "basis": self.basis,
            "label": self.label_vi,
            "label_en": self.label_en,
            "span": self.span_text("vi"),
            "span_en": self.span_text("en"),
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "first_day": self.first_day.isoformat(),
            "last_day": self.last_day.isoformat(),
            "timezone": str(self.zone),
        }


def vn_date(day: dt.date) -> str:
    return f"{day.day:02d}/{day.month:02d}/{day.year}"


def _naive_utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def _at_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), zone)


def _whole_days(first: dt.date, last: dt.date, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    return _at_midnight(first, zone), _at_midnight(last + dt.timedelta(days=1), zone)


def _month_start(year: int, month: int) -> dt.date:
    while month < 1:
        month += 12
        year -= 1
    return dt.date(year, month, 1)


def _months(year: int, first_month: int, last_month: int, basis: str) -> tuple[dt.date, dt.date]:
    """First and last day of months ``first_month``..``last_month`` of ``year`` on ``basis``."""
    if basis == "nd09":  # Decree 09/2019/NĐ-CP art. 12: the 15th of the month before to the 14th of the last
        before = _month_start(year, first_month - 1)
        return before.replace(day=15), dt.date(year, last_month, 14)
    following = _month_start(year, last_month + 1) if last_month < 12 else dt.date(year + 1, 1, 1)
    return dt.date(year, first_month, 1), following - dt.timedelta(days=1)


def _year(value: str) -> int:
    year = int(value)
    if not 2000 <= year <= 2100:
        raise PeriodError("period", "period_bad_year", year=year)
    return year


def named_period(key: str, zone: ZoneInfo, basis: str = "calendar") -> Period:
    """The period a key names (see the module docstring); PeriodError when it names none."""
    key = (key or "").strip()
    if basis not in BASES:
        raise PeriodError("basis", "period_bad_basis", known=", ".join(BASES))

    def make(kind, first_day, last_day, label_key, canonical, **params):
        start, end = _whole_days(first_day, last_day, zone)
        vi, en = translate(label_key, "vi", **params), translate(label_key, "en", **params)
        return Period(kind, canonical, start, end, basis if kind not in ("day", "week") else "calendar", vi, en)

    if m := _DAY.match(key):
        try:
            day = dt.date(_year(m[1]), int(m[2]), int(m[3]))
        except ValueError as error:
            if isinstance(error, PeriodError):
                raise
            raise PeriodError("period", "period_bad_date", value=key) from None
        return make("day", day, day, "period_day", day.isoformat(), date=vn_date(day))
    if m := _WEEK.match(key):
        year, week = _year(m[1]), int(m[2])
        try:
            monday = dt.date.fromisocalendar(year, week, 1)
        except ValueError:
            raise PeriodError("period", "period_bad_week", value=key) from None
        sunday = monday + dt.timedelta(days=6)
        return make(
            "week",
            monday,
            sunday,
            "period_week",
            f"{year}-W{week:02d}",
            week=week,
            year=year,
            first=vn_date(monday),
            last=vn_date(sunday),
        )
    if m := _QUARTER.match(key):
        year, quarter = _year(m[1]), int(m[2])
        first, last = _months(year, 3 * quarter - 2, 3 * quarter, basis)
        return make(
            "quarter",
            first,
            last,
            "period_quarter",
            f"{year}-Q{quarter}",
            roman=ROMAN[quarter],
            quarter=quarter,
            year=year,
        )
    if m := _HALF.match(key):
        year, half = _year(m[1]), int(m[2])
        first, last = _months(year, 1 if half == 1 else 7, 6 if half == 1 else 12, basis)
        return make("half", first, last, f"period_half_{half}", f"{year}-H{half}", year=year)
    if m := _NINE.match(key):
        year = _year(m[1])
        first, last = _months(year, 1, 9, basis)
        return make("nine_months", first, last, "period_nine_months", f"{year}-9M", year=year)
    if m := _MONTH.match(key):
        year, month = _year(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise PeriodError("period", "period_bad_date", value=key)
        first, last = _months(year, month, month, basis)
        return make(
            "month",
            first,
            last,
            "period_month",
            f"{year}-{month:02d}",
            month=month,
            year=year,
            month_name=MONTH_NAMES_EN[month - 1],
        )
    if m := _YEAR.match(key):
        year = _year(m[1])
        first, last = _months(year, 1, 12, basis)
        return make("year", first, last, "period_year", str(year), year=year)
    raise PeriodError("period", "period_unknown", value=key)


def _parse_moment(value: str, field: str) -> tuple[dt.datetime | dt.date, bool]:
    value = (value or "").strip()
    try:
        if "T" in value or " " in value:
            moment, has_time = dt.datetime.fromisoformat(value.replace(" ", "T")).replace(tzinfo=None), True
        else:
            moment, has_time = dt.date.fromisoformat(value), False
    except ValueError:
        raise PeriodError(field, "period_bad_moment", value=value) from None
    if not 2000 <= moment.year <= 2100:
        raise PeriodError(field, "period_bad_year", year=moment.year)
    return moment, has_time


def range_period(start: str, end: str, zone: ZoneInfo) -> Period:
    """``from``/``to``: two dates (both days included), or local date-times (``to`` excluded)."""
    first, first_has_time = _parse_moment(start, "from")
    last, last_has_time = _parse_moment(end, "to")
    if first_has_time:
        begin = first.replace(tzinfo=zone)
    else:
        begin = _at_midnight(first, zone)
    if last_has_time:
        finish = last.replace(tzinfo=zone)
    else:
        finish = _at_midnight(last + dt.timedelta(days=1), zone)
    if finish <= begin:
        raise PeriodError("to", "period_end_before_start")
    if (finish - begin) > dt.timedelta(days=3 * 366 + 1):
        raise PeriodError("to", "period_too_long")
    key = f"{start.strip()}..{end.strip()}"
    period = Period("range", key, begin, finish, "calendar")
    if period.whole_days and period.first_day == period.last_day:
        vi = translate("period_day", "vi", date=vn_date(period.first_day))
        en = translate("period_day", "en", date=vn_date(period.first_day))
    else:
        vi, en = period.span_text("vi"), period.span_text("en")
    return Period("range", key, begin, finish, "calendar", vi, en)


def resolve(
    zone: ZoneInfo,
    period: str | None = None,
    start: str | None = None,
    end: str | None = None,
    basis: str | None = None,
    today: dt.date | None = None,
) -> Period:
    """The period of a request: ``period`` (a key), else ``from``/``to``, else today."""
    if period:
        return named_period(period, zone, basis or "calendar")
    if start or end:
        if not (start and end):
            raise PeriodError("to" if start else "from", "period_need_both")
        return range_period(start, end, zone)
    today = today or dt.datetime.now(zone).date()
    return named_period(today.isoformat(), zone)


def choices(zone: ZoneInfo, today: dt.date, basis: str = "calendar") -> list[dict]:
    """The usual periods around ``today``, for the reports page's picker: newest first within each kind."""
    year = today.year
    keys = [
        today.isoformat(),
        (today - dt.timedelta(days=1)).isoformat(),
        "{}-W{:02d}".format(*today.isocalendar()[:2]),
        f"{year}-{today.month:02d}",
        f"{_month_start(year, today.month - 1):%Y-%m}",
    ]
    keys += [f"{year}-Q{q}" for q in range(1, 5)] + [f"{year}-H1", f"{year}-9M", f"{year}-H2", str(year)]
    keys += [f"{year - 1}-Q{q}" for q in range(1, 5)] + [
        f"{year - 1}-H1",
        f"{year - 1}-9M",
        f"{year - 1}-H2",
        str(year - 1),
    ]
    result = []
    for key in keys:
        p = named_period(key, zone, basis)
        result.append(
            {
                "key": p.key,
                "kind": p.kind,
                "label": p.label_vi,
                "label_en": p.label_en,
                "first_day": p.first_day.isoformat(),
                "last_day": p.last_day.isoformat(),
            }
        )
    return result
