"""Reports: figures per service, counter, clerk, day and hour of day, peak hours, the daily summary,
and the supervisor dashboard's live overview.

Plain functions over a database connection (a SQLAlchemy Connection or Session), free of Flask.
Definitions (SPEC "Ticket lifecycle"):

- a ticket belongs to the period in which it was **issued** (local time of the site), and so do
  all its figures: its wait, its service, its outcome and its rating;
- wait = first call − issue; service = finish − start (the start is the call when "start" was not
  pressed; a transferred ticket's service is that of the counter that finished it);
- no-show rate = no-shows / calls; target met = wait ≤ the service's ``target_wait_minutes``,
  counted over the tickets that were called;
- a ticket still waiting when its business day ended expired (engine.expire_past_days): it is
  counted as such, neither as a no-show nor as never called;
- "% hài lòng" = (very satisfied + satisfied) / ratings.

How figures are attributed to the rows of each grouping:

- ``service``: issued, called, wait, target met, transferred and not called go to the service the
  citizen chose (the ticket's first service); served, service time, no-show, expired and ratings
  to the service in which the ticket ended (after a transfer, the new one).
- ``day`` and ``hour``: everything goes to the local day / hour of day of the issue.
- ``counter`` and ``clerk``: each step to whoever did it: the first call (and so the wait and the
  target) to the counter/clerk that made it; every call of a transferred ticket counts as a call;
  served and service time to who finished; no-show and transfers to who marked them; ratings to
  the counter and clerk the rating names. "Issued", "not called" and "expired" have no counter and
  are given in the total only.

The total row is over the period's tickets and is the same whatever the grouping.
Median and 90th percentile interpolate linearly between ranks (as Excel's MEDIAN and
PERCENTILE.INC do); times are in seconds.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from zoneinfo import ZoneInfo

from sqlalchemy import Float, case, cast, column, func, inspect, literal, null, select, table
from sqlalchemy.orm import Session

from . import models as m
from .i18n import translate
from .periods import Period, named_period, vn_date

T = m.Ticket.__table__
E = m.Event.__table__
SV = m.Service.__table__
C = m.Counter.__table__
U = m.User.__table__
TOK = m.ApiToken.__table__
SEQ = m.NumberSequence.__table__
# the ratings table comes with the rating tablets (migration 0003); a report reads it when it exists
RATINGS = table("ratings", column("ticket_id"), column("level"), column("counter_id"), column("user_id"),
                column("service_id"))

GROUPS = ("service", "counter", "clerk", "day", "hour")
LEVELS = ("very_satisfied", "satisfied", "unsatisfied")
ACTION_KINDS = ("called", "finished", "no_show", "transferred")
# statuses, rating levels and event kinds are read as small numbers: a year's report then makes
# no string object per ticket or event (Python keeps one copy of each small int)
DONE, NO_SHOW, EXPIRED = 1, 2, 3  # any other status (waiting, called, serving) reads as 0
STATUS_CODES = {"done": DONE, "no_show": NO_SHOW, "expired": EXPIRED}
LEVEL_CODES = {level: code for code, level in enumerate(LEVELS, start=1)}  # no rating reads as 0
CALLED, FINISHED, MARKED_NO_SHOW, TRANSFERRED = range(len(ACTION_KINDS))  # in the order of ACTION_KINDS
KIND_CODES = {kind: code for code, kind in enumerate(ACTION_KINDS)}
MAX_DAYS_OF_HOURS = 24  # a period shorter than this many hours lists the hours it touches, in its own order


def _conn(db):
    return db.connection() if isinstance(db, Session) else db


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


# --- SQL helpers that differ between SQLite and PostgreSQL --------------------------------------

def _seconds(conn, later, earlier):
    """Seconds from ``earlier`` to ``later``, to the millisecond (julianday's float error rounded off)."""
    if conn.dialect.name == "sqlite":
        return func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0, 3)
    return cast(func.extract("epoch", later - earlier), Float)


def _epoch(conn, value):
    """A naive UTC time as seconds since 1970, to the millisecond."""
    if conn.dialect.name == "sqlite":
        return func.round((func.julianday(value) - 2440587.5) * 86400.0, 3)
    return cast(func.extract("epoch", value), Float)


_tables_seen: set[tuple[str, str]] = set()


def has_ratings(conn) -> bool:
    """Whether the database has the ratings table (remembered once seen: tables are not dropped)."""
    key = (str(conn.engine.url), "ratings")
    if key in _tables_seen:
        return True
    if inspect(conn).has_table("ratings"):
        _tables_seen.add(key)
        return True
    return False


def _tuples(conn, statement) -> list[tuple]:
    """All rows as plain tuples, straight from the driver's cursor: for the large reads of a report,
    whose columns (numbers and short strings) need no conversion. SQLAlchemy's Row objects would
    cost a third of a year's report."""
    result = conn.execute(statement)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


# --- local time -------------------------------------------------------------------------------

class LocalClock:
    """UTC epoch seconds -> local "epoch" seconds (epoch + UTC offset), cached per quarter hour.

    Every UTC offset in use is a whole number of quarter hours, so one lookup per 900 s of
    time serves every ticket issued in it, and the local hour becomes arithmetic.
    """

    def __init__(self, zone: ZoneInfo):
        self.zone = zone
        self._offsets: dict[int, int] = {}

    def local(self, epoch: float) -> float:
        bucket = int(epoch // 900)
        offset = self._offsets.get(bucket)
        if offset is None:
            moment = dt.datetime.fromtimestamp(bucket * 900, dt.timezone.utc).astimezone(self.zone)
            offset = self._offsets[bucket] = int(moment.utcoffset().total_seconds())
        return epoch + offset

    def fixed_offset(self, period: Period) -> int | None:
        """The UTC offset (s) when it is the same all through ``period`` (checked day by day), else None."""
        start, end = (_utc_epoch(b) for b in period.utc_bounds())
        offsets = {self.local(moment) - moment for moment in range(int(start), int(end) + 86400, 86400)}
        return offsets.pop() if len(offsets) == 1 else None


def _utc_epoch(value: dt.datetime) -> float:
    return value.replace(tzinfo=dt.timezone.utc).timestamp()


# --- statistics -------------------------------------------------------------------------------

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
    return {"count": len(ordered), "avg": _r(sum(ordered) / len(ordered)), "median": _r(percentile(ordered, 0.5)),
            "p90": _r(percentile(ordered, 0.9)), "max": _r(ordered[-1])}


def _r(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value + 0.0, digits)


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


class Tally:
    """The figures of one row while they are counted."""

    __slots__ = ("issued", "called", "served", "no_show", "transferred", "not_called", "expired", "waits", "met",
                 "early", "late", "service_times", "ratings")

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

    def add_issue(self, alike: "Alike", profile: tuple, target_seconds: float) -> None:
        """What belongs where the tickets were issued: issued, called, their waits, transferred."""
        self.issued += alike.count
        self.called += len(alike.waits)
        if profile[STATUS_AT] != EXPIRED:  # those the day ended on are counted apart
            self.not_called += alike.count - len(alike.waits)
        self.add_waits(alike.waits, target_seconds)
        if profile[TRANSFERRED_AT]:
            self.transferred += alike.count

    def add_outcome(self, alike: "Alike", profile: tuple) -> None:
        """What belongs where the tickets ended: how they ended, and their ratings."""
        self.add_end(alike, profile)
        self.add_ratings(alike, profile)

    def add_end(self, alike: "Alike", profile: tuple) -> None:
        """Served and their service times, no-shows, expired at the end of the day."""
        status = profile[STATUS_AT]
        if status == DONE:
            self.served += len(alike.service_times)
            self.service_times += alike.service_times
        elif status == NO_SHOW:
            self.no_show += alike.count
        elif status == EXPIRED:
            self.expired += alike.count

    def add_ratings(self, alike: "Alike", profile: tuple) -> None:
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
            "no_show_rate": _pct(self.no_show, self.called),
            "transferred": self.transferred,
            "not_called": self.not_called if with_issued else None,
            "expired": self.expired if with_issued else None,
            "wait": describe(self.waits),
            "target_met": self.met,
            "target_met_pct": _pct(self.met, len(self.waits)),
            "early": self.early,
            "on_time": self.met - self.early,
            "late": self.late,
            "service_time": describe(self.service_times),
            "ratings": {**ratings, "total": rated, "satisfied_pct": _pct(satisfied, rated)},
        }


def _row(rows: dict, key) -> Tally:
    tally = rows.get(key)
    if tally is None:
        tally = rows[key] = Tally()
    return tally


# --- reading the period's tickets ---------------------------------------------------------------
#
# A year of a busy centre is 150,000 tickets, and reading them is most of a report's time: each
# column read costs about as much as the rest of the work on it. So a ticket is read as its wait,
# its service time, the few columns its grouping needs, and its *profile*: five small numbers
# (origin service, final service, status code, transferred 0/1, rating level code) that are all
# the counts need. Tickets alike in all of these are then counted together (``Alike``): a year has
# a few hundred profiles, so the rest of the work is per profile, not per ticket.

ORIGIN_AT, FINAL_AT, STATUS_AT, TRANSFERRED_AT, LEVEL_AT = range(5)  # positions in a profile


class Alike:
    """Tickets alike in their profile (and grouping): how many, the waits of those called and the
    service times of those that have one."""

    __slots__ = ("count", "waits", "service_times")

    def __init__(self):
        self.count = 0
        self.waits: list[float] = []
        self.service_times: list[float] = []


def _services(conn, site) -> dict[int, dict]:
    order = {s.code: i for i, s in enumerate(site.config.services)}
    rows = conn.execute(select(SV.c.id, SV.c.code, SV.c.name, SV.c.name_en, SV.c.target_wait_minutes, SV.c.active)
                        .where(SV.c.site_id == site.id))
    return {r.id: {"code": r.code, "name": r.name, "name_en": r.name_en, "target": r.target_wait_minutes * 60.0,
                   "active": bool(r.active), "order": order.get(r.code, len(order) + r.id)} for r in rows}


def _in_period(conn, site, period: Period) -> tuple:
    """The period's tickets. SQLite finds them through ix_tickets_queue (site_id, status,
    service_id, issued_at), whose entries hold the issue time: fast for a small share of the
    site's tickets (a day: 24 ms in a year's database, 50 ms reading the table), but a lookup in
    random order per ticket when the period holds many of them (a fifth of a year's report). Then
    ``site_id || ''`` keeps SQLite off the index, and it reads the table in order."""
    start, end = period.utc_bounds()
    site_id = T.c.site_id.concat("") if _holds_many(conn, site, period) else T.c.site_id
    return site_id == site.id, T.c.issued_at >= start, T.c.issued_at < end


def _holds_many(conn, site, period: Period) -> bool:
    """Whether the period covers a quarter or more of the days the site has tickets on, as the
    number sequences tell (a row per service and day: far fewer than tickets)."""
    services = select(SV.c.id).where(SV.c.site_id == site.id)
    first, last = conn.execute(select(func.min(SEQ.c.business_day), func.max(SEQ.c.business_day))
                               .where(SEQ.c.service_id.in_(services))).one()
    if first is None:
        return False
    covered = (min(last, period.last_day) - max(first, period.first_day)).days + 1
    return 4 * covered >= (last - first).days + 1


def _times(conn) -> tuple:
    """A ticket's wait and service time (s)."""
    return (_seconds(conn, T.c.called_at, T.c.issued_at),
            _seconds(conn, T.c.finished_at, func.coalesce(T.c.started_at, T.c.last_called_at)))


def _read_tickets(conn, site, period: Period, *extra) -> list[tuple]:
    """The period's tickets as (wait s | None, service s | None, *extra, *profile)."""
    rated = has_ratings(conn)
    columns = [
        *_times(conn),
        *extra,
        T.c.origin_service_id, T.c.service_id, case(STATUS_CODES, value=T.c.status, else_=0),
        case((T.c.transfers > 0, 1), else_=0),
        case(LEVEL_CODES, value=RATINGS.c.level, else_=0) if rated else literal(0),
    ]
    source = T.outerjoin(RATINGS, RATINGS.c.ticket_id == T.c.id) if rated else T
    return _tuples(conn, select(*columns).select_from(source).where(*_in_period(conn, site, period)))


def _gather(tickets: list[tuple], key_of=None) -> dict[tuple, Alike]:
    """The tickets gathered by ``key_of(ticket)`` (by default all their columns but the two times);
    a key ends with the ticket's profile."""
    gathered: dict[tuple, Alike] = {}
    for ticket in tickets:
        key = ticket[2:] if key_of is None else key_of(ticket)
        alike = gathered.get(key)
        if alike is None:
            alike = gathered[key] = Alike()
        alike.count += 1
        if ticket[0] is not None:
            alike.waits.append(ticket[0])
        if ticket[1] is not None:
            alike.service_times.append(ticket[1])
    return gathered


def _rating_who(conn, column):
    return column if has_ratings(conn) else null()


_KIND = case(KIND_CODES, value=E.c.kind)


def _events_of(conn, ticket_ids: list[int], who) -> list[tuple]:
    """The counter actions on these tickets: (ticket id, kind code, ``who`` did it), each ticket's in order."""
    found: list[tuple] = []
    for chunk in range(0, len(ticket_ids), 500):
        found += _tuples(conn, select(E.c.ticket_id, _KIND, who)
                         .where(E.c.ticket_id.in_(ticket_ids[chunk:chunk + 500]), E.c.kind.in_(ACTION_KINDS))
                         .order_by(E.c.id))
    return found


# --- the summary report ---------------------------------------------------------------------------

def summary(db, site, period: Period, group_by: str = "service", now: dt.datetime | None = None) -> dict:
    """The figures of ``period`` per ``group_by`` (service, counter, clerk, day, hour) and in total."""
    if group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(GROUPS)}")
    conn = _conn(db)
    services = _services(conn, site)
    targets = {sid: s["target"] for sid, s in services.items()}
    count_rows = {"service": _by_service, "day": _by_time, "hour": _by_time, "counter": _by_counter,
                  "clerk": _by_clerk}[group_by]
    rows, total = count_rows(conn, site, period, group_by, targets)

    labels = _labels(conn, site, group_by, services, rows)
    keys = _row_order(site, period, group_by, services, rows, labels)
    by_ticket = group_by in ("service", "day", "hour")
    view_rows = []
    numbers = dict(conn.execute(select(C.c.id, C.c.number).where(C.c.site_id == site.id)).all()) \
        if group_by == "counter" else {}
    for key in keys:
        tally = rows.get(key) or Tally()
        label_vi, label_en = labels.get(key, (str(key), str(key)))
        # the row's key: a service code, a counter number, "user:<id>", a date or an hour
        shown = services[key]["code"] if group_by == "service" else numbers.get(key) if group_by == "counter" \
            else _key_view(key)
        view_rows.append({"key": shown, "label": label_vi, "label_en": label_en,
                          **tally.view(with_issued=by_ticket)})
    return {
        "report": "summary",
        "group_by": group_by,
        "site": {"id": site.id, "name": site.config.site.name},
        "period": period.view(),
        "generated_at": _iso(now or utcnow()),
        "ratings_available": has_ratings(conn),
        "rows": view_rows,
        "total": {"key": None, "label": translate("report_total", "vi"), "label_en": translate("report_total", "en"),
                  **total.view()},
    }


def _merged(tallies) -> Tally:
    """The sum of rows that share out the tickets, each row's lists sorted first: sorting the
    total's lists, made of sorted runs, is then nearly free."""
    total = Tally()
    for t in tallies:
        t.waits.sort()
        t.service_times.sort()
        for name in ("issued", "called", "served", "no_show", "transferred", "not_called", "expired", "met", "early",
                     "late"):
            setattr(total, name, getattr(total, name) + getattr(t, name))
        total.waits += t.waits
        total.service_times += t.service_times
        total.ratings = [a + b for a, b in zip(total.ratings, t.ratings)]
    return total


def _add_to_total(total: Tally, alike: Alike, profile: tuple, targets: dict) -> None:
    total.add_issue(alike, profile, targets[profile[ORIGIN_AT]])
    total.add_outcome(alike, profile)


def _by_service(conn, site, period, group_by, targets) -> tuple[dict, Tally]:
    """Issued, called, waits and transfers to the service chosen; the outcome to the one it ended in."""
    rows: dict[int, Tally] = {}
    for profile, alike in _gather(_read_tickets(conn, site, period)).items():
        _row(rows, profile[ORIGIN_AT]).add_issue(alike, profile, targets[profile[ORIGIN_AT]])
        _row(rows, profile[FINAL_AT]).add_outcome(alike, profile)
    return rows, _merged(rows.values())


def _by_time(conn, site, period, group_by, targets) -> tuple[dict, Tally]:
    """Everything to the local day or hour of day of the issue."""
    by_day = group_by == "day"
    if by_day:  # the business day is the local date of the issue (engine.business_day)
        gathered = _gather(_read_tickets(conn, site, period, T.c.business_day))
    else:
        clock = LocalClock(period.zone)
        offset = clock.fixed_offset(period)  # one UTC offset all through: no lookup per ticket
        gathered = _gather(_read_tickets(conn, site, period, _epoch(conn, T.c.issued_at)), lambda t: (
            int(((t[2] + offset) if offset is not None else clock.local(t[2])) // 3600) % 24, *t[3:]))
    rows: dict = {}
    for (key, *profile), alike in gathered.items():
        tally = _row(rows, _date(key) if by_day else key)
        tally.add_issue(alike, profile, targets[profile[ORIGIN_AT]])
        tally.add_outcome(alike, profile)
    return rows, _merged(rows.values())


def _date(value) -> dt.date:
    """A DATE column's value: a date from PostgreSQL, ISO text from SQLite."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _by_counter(conn, site, period, group_by, targets) -> tuple[dict, Tally]:
    """Each step to the counter that did it; ratings to the counter the rating names."""
    return _by_actor(conn, site, period, targets, T.c.counter_id, T.c.counter_id, RATINGS.c.counter_id,
                     E.c.counter_id)


def _by_actor(conn, site, period, targets, caller, ender, rater, event_actor) -> tuple[dict, Tally]:
    """Each step to whoever did it. A ticket never transferred was called once, by ``caller`` of its
    row, and ended (served or absent) by ``ender``: the ticket row says who (``counter_id``, or
    ``called_by_*`` and ``ended_by_*``), so only transferred tickets need their events, whose
    ``event_actor`` did each step. Ratings go to the ``rater`` the rating names."""
    rows: dict = {}
    total = Tally()
    moved: dict[int, tuple] = {}  # transferred ticket id -> (wait, service time, origin service)
    tickets = _read_tickets(conn, site, period, case((T.c.transfers > 0, T.c.id)), caller, ender,
                            _rating_who(conn, rater))
    for (moved_id, calling, ending, rating, *profile), alike in _gather(tickets).items():
        _add_to_total(total, alike, profile, targets)
        if profile[LEVEL_AT]:
            _row(rows, rating).add_ratings(alike, profile)
        if moved_id is not None:
            moved[moved_id] = (alike.waits[0] if alike.waits else None,
                               alike.service_times[0] if alike.service_times else None, profile[ORIGIN_AT])
        elif alike.waits:
            tally = _row(rows, calling)
            tally.called += len(alike.waits)
            tally.add_waits(alike.waits, targets[profile[ORIGIN_AT]])
            if profile[STATUS_AT] in (DONE, NO_SHOW):  # called, so not expired
                _row(rows, ending).add_end(alike, profile)
    _count_steps([(ticket_id, kind, who, *moved[ticket_id])
                  for ticket_id, kind, who in _events_of(conn, list(moved), event_actor)], rows, targets)
    return rows, total


def _count_steps(actions, rows: dict, targets: dict) -> None:
    """Counter actions, in order, to whoever did them: (ticket id, kind code, who, the ticket's wait,
    its service time, its origin service)."""
    called: set[int] = set()
    for ticket_id, kind, key, wait, service, origin in actions:
        tally = _row(rows, key)
        if kind == CALLED:
            tally.called += 1
            if ticket_id not in called:  # the first call ends the wait
                called.add(ticket_id)
                if wait is not None:
                    tally.add_waits([wait], targets[origin])
        elif kind == FINISHED:
            if service is not None:
                tally.served += 1
                tally.service_times.append(service)
        elif kind == MARKED_NO_SHOW:
            tally.no_show += 1
        else:
            tally.transferred += 1


def _by_clerk(conn, site, period, group_by, targets) -> tuple[dict, Tally]:
    """Each step to the clerk (or device) that did it; ratings to the clerk the rating names."""
    rows, total = _by_actor(conn, site, period, targets, _who(T.c.called_by_user_id, T.c.called_by_token_id),
                            _who(T.c.ended_by_user_id, T.c.ended_by_token_id), RATINGS.c.user_id,
                            _who(E.c.user_id, E.c.token_id))
    # who: a user id, or minus a token id
    return {who if who is None else ("user", who) if who > 0 else ("token", -who): tally
            for who, tally in rows.items()}, total


def _who(user_id, token_id):
    """One number for who did a step: the user id, minus the token id for a device, or None."""
    return func.coalesce(user_id, -token_id)


def _labels(conn, site, group_by, services, rows) -> dict:
    if group_by == "service":
        return {sid: (s["name"], s["name_en"] or s["name"]) for sid, s in services.items()}
    if group_by == "counter":
        labels = {r.id: (r.name or f"Quầy {r.number}", translate("report_counter_n", "en", number=r.number))
                  for r in conn.execute(select(C.c.id, C.c.number, C.c.name).where(C.c.site_id == site.id))}
        labels[None] = (translate("report_unknown", "vi"), translate("report_unknown", "en"))
        return labels
    if group_by == "clerk":
        labels = {None: (translate("report_unknown", "vi"), translate("report_unknown", "en"))}
        users = [k[1] for k in rows if k and k[0] == "user"]
        tokens = [k[1] for k in rows if k and k[0] == "token"]
        if users:
            for r in conn.execute(select(U.c.id, U.c.username, U.c.full_name).where(U.c.id.in_(users))):
                # the name people know (set in /admin), with the login name that tells two namesakes apart
                label = f"{r.full_name} ({r.username})" if r.full_name else r.username
                labels[("user", r.id)] = (label, label)
        if tokens:
            for r in conn.execute(select(TOK.c.id, TOK.c.name).where(TOK.c.id.in_(tokens))):
                labels[("token", r.id)] = (translate("report_device", "vi", name=r.name),
                                           translate("report_device", "en", name=r.name))
        return labels
    if group_by == "day":
        return {day: (vn_date(day), vn_date(day)) for day in rows if isinstance(day, dt.date)}
    return {}


def _hour_label(hour: int) -> str:
    return f"{hour:02d}:00–{(hour + 1) % 24:02d}:00"


def _row_order(site, period: Period, group_by, services, rows, labels) -> list:
    config = site.config
    if group_by == "service":
        known = [sid for sid, s in services.items() if s["active"]]
        return sorted(set(known) | set(rows), key=lambda sid: services[sid]["order"])
    if group_by == "counter":
        active = [site.counter_ids[c.number] for c in config.counters]
        extra = sorted((k for k in rows if k not in active), key=lambda k: (k is None, labels.get(k, ("",))[0]))
        return active + extra
    if group_by == "clerk":
        return sorted(rows, key=lambda k: (k is None, k is not None and k[0] == "token", labels.get(k, ("",))[0]))
    if group_by == "day":
        hours = config.site.hours
        open_days = {d for d in period.days()
                     if ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[d.weekday()] in hours.days
                     and d not in hours.holidays}
        for day in open_days | set(rows):
            labels.setdefault(day, (vn_date(day), vn_date(day)))
        return sorted(open_days | set(rows))
    # hour of day
    span_hours = (period.end - period.start).total_seconds() / 3600
    if span_hours < MAX_DAYS_OF_HOURS:  # e.g. 22:00 to 02:00: 22, 23, 0, 1 in that order
        start_hour = period.start.hour
        touched = {(start_hour + i) % 24 for i in range(math.ceil(span_hours + period.start.minute / 60))}
        keys = sorted(touched | set(rows), key=lambda h: (h - start_hour) % 24)
    else:
        hours = config.site.hours
        last = hours.close.hour if hours.close.minute == 0 else hours.close.hour + 1
        keys = sorted(set(range(hours.open.hour, last)) | set(rows))
    for hour in keys:
        labels[hour] = (_hour_label(hour), _hour_label(hour))
    return keys


def _key_view(key):
    if isinstance(key, dt.date):
        return key.isoformat()
    if isinstance(key, tuple):
        return f"{key[0]}:{key[1]}"
    return key


def _iso(value: dt.datetime) -> str:
    return value.isoformat(timespec="seconds") + "Z"


# --- peak hours -----------------------------------------------------------------------------------

def peak_hours(db, site, period: Period, now: dt.datetime | None = None) -> dict:
    """Per hour of day: arrivals (in all and per day), people waiting (average and most at once)
    and the wait of the tickets issued in that hour. "Per day" divides by the days that had tickets.

    A ticket waits from its issue until its first call; one never called counts as waiting until
    the end of its local day (or now, for today).
    """
    conn = _conn(db)
    now = now or utcnow()
    tickets = _tuples(conn, select(T.c.origin_service_id, _epoch(conn, T.c.issued_at),
                                   _seconds(conn, T.c.called_at, T.c.issued_at)).where(*_in_period(conn, site, period)))
    services = _services(conn, site)
    targets = {sid: s["target"] for sid, s in services.items()}
    clock = LocalClock(period.zone)
    offset = clock.fixed_offset(period)
    now_epoch = _utc_epoch(now)
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
    keys = _row_order(site, period, "hour", services, {h: None for h in range(24) if arrivals[h]}, {})
    for hour in keys:
        hours_view.append({
            "hour": hour, "label": _hour_label(hour), "arrivals": arrivals[hour],
            "arrivals_per_day": _r(arrivals[hour] / day_count) if day_count else 0.0,
            "waiting_avg": _r(waiting_seconds[hour] / 3600 / day_count) if day_count else 0.0,
            "waiting_max": most[hour],
            "wait_avg": _r(sum(waits[hour]) / len(waits[hour])) if waits[hour] else None,
            "target_met_pct": _pct(met[hour], len(waits[hour])),
        })
    busiest = max(hours_view, key=lambda h: (h["arrivals"], -h["hour"]), default=None)
    return {
        "report": "peak_hours",
        "site": {"id": site.id, "name": site.config.site.name},
        "period": period.view(),
        "generated_at": _iso(now),
        "days_with_tickets": day_count,
        "hours": hours_view,
        "peak": busiest if busiest and busiest["arrivals"] else None,
    }


# --- the daily summary -----------------------------------------------------------------------------

def vn_number(value: float | int | None, decimals: int = 0) -> str:
    """1234.5 -> "1.234,5": Vietnamese grouping and decimal comma."""
    if value is None:
        return "–"
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def en_number(value: float | int | None, decimals: int = 0) -> str:
    return "–" if value is None else f"{value:,.{decimals}f}"


def minutes_text(seconds: float | None, language: str = "vi") -> str:
    if seconds is None:
        return "–"
    number = vn_number(seconds / 60, 1) if language == "vi" else en_number(seconds / 60, 1)
    return translate("report_minutes", language, n=number)


def daily_summary(db, site, period: Period, now: dt.datetime | None = None) -> dict:
    """What a centre pastes into its report: received, served, no-show, early / on time / late
    against the target wait, satisfaction, the busiest hour, and a row per service; with the
    same in a ready sentence (``text``, ``text_en``)."""
    by_service = summary(db, site, period, "service", now)
    peaks = peak_hours(db, site, period, now)
    total = by_service["total"]
    result = {
        "report": "daily",
        "site": by_service["site"],
        "period": by_service["period"],
        "generated_at": by_service["generated_at"],
        "ratings_available": by_service["ratings_available"],
        "received": total["issued"],
        "served": total["served"],
        "served_pct": _pct(total["served"], total["issued"]),
        "no_show": total["no_show"],
        "transferred": total["transferred"],
        "not_called": total["not_called"],
        "expired": total["expired"],
        "wait_avg": total["wait"]["avg"],
        "wait_max": total["wait"]["max"],
        "service_avg": total["service_time"]["avg"],
        "early": total["early"],
        "on_time": total["on_time"],
        "late": total["late"],
        "target_met_pct": total["target_met_pct"],
        "ratings": total["ratings"],
        "peak": peaks["peak"],
        "days_with_tickets": peaks["days_with_tickets"],
        "services": by_service["rows"],
        "total": total,
    }
    result["text"] = summary_text(result, site.config.site.name, "vi")
    result["text_en"] = summary_text(result, site.config.site.name, "en")
    return result


def summary_text(s: dict, centre: str, language: str = "vi") -> str:
    number = vn_number if language == "vi" else en_number
    period = s["period"]["label"] if language == "vi" else s["period"]["label_en"]
    parts = [translate("report_text_received", language, period=period, centre=centre,
                       received=number(s["received"]), served=number(s["served"]),
                       served_pct=number(s["served_pct"], 1), no_show=number(s["no_show"]),
                       transferred=number(s["transferred"]))]
    if s.get("expired"):
        parts.append(translate("report_text_expired", language, expired=number(s["expired"])))
    if s["wait_avg"] is not None:
        parts.append(translate("report_text_wait", language, wait=minutes_text(s["wait_avg"], language),
                               early=number(s["early"]), on_time=number(s["on_time"]), late=number(s["late"]),
                               met_pct=number(s["target_met_pct"], 1)))
    ratings = s["ratings"]
    if ratings["total"]:
        parts.append(translate("report_text_ratings", language, total=number(ratings["total"]),
                               pct=number(ratings["satisfied_pct"], 1),
                               very=number(ratings["very_satisfied"]), satisfied=number(ratings["satisfied"]),
                               unsatisfied=number(ratings["unsatisfied"])))
    if s["peak"] and s.get("days_with_tickets", 0) > 1:
        parts.append(translate("report_text_peak", language, hour=s["peak"]["label"],
                               per_day=number(s["peak"]["arrivals_per_day"], 1)))
    elif s["peak"]:
        parts.append(translate("report_text_peak_day", language, hour=s["peak"]["label"],
                               n=number(s["peak"]["arrivals"])))
    return " ".join(parts)


# --- the dashboard's live overview -----------------------------------------------------------------

def _local_midnight_utc(site, now: dt.datetime) -> tuple[dt.date, dt.datetime]:
    zone = site.config.site.zone
    day = now.replace(tzinfo=dt.timezone.utc).astimezone(zone).date()
    return day, dt.datetime.combine(day, dt.time(), zone).astimezone(dt.timezone.utc).replace(tzinfo=None)


def live_overview(db, site, now: dt.datetime | None = None) -> dict:
    """What a supervisor watches now: per service the people waiting and the longest wait against
    its target; per counter its state and since when (serving which number, idle, paused and why);
    today's figures so far. Times are UTC ISO strings; the page counts the seconds on from them."""
    conn = _conn(db)
    now = now or utcnow()
    day, since = _local_midnight_utc(site, now)
    services = _services(conn, site)
    waiting = {sid: (count, prio, oldest) for sid, count, prio, oldest in conn.execute(
        select(T.c.service_id, func.count(), func.count(T.c.priority_id), func.min(T.c.issued_at))
        .where(T.c.site_id == site.id, T.c.business_day == day, T.c.status == "waiting")
        .group_by(T.c.service_id))}
    service_view = []
    for s in site.config.services:
        sid = site.service_ids[s.code]
        count, prio, oldest = waiting.get(sid, (0, 0, None))
        longest = (now - oldest).total_seconds() if oldest else None
        service_view.append({
            "code": s.code, "name": s.name.vi, "name_en": s.name.en, "waiting": count, "priority": prio,
            "oldest_issued_at": _iso_ms(oldest), "longest_wait_seconds": _r(longest),
            "target_wait_minutes": s.target_wait_minutes,
            "over_target": longest is not None and longest > s.target_wait_minutes * 60,
        })
    held = {r.counter_id: r for r in conn.execute(
        select(T.c.counter_id, T.c.number, T.c.service_id, T.c.status, T.c.last_called_at, T.c.started_at,
               T.c.called_at).where(T.c.site_id == site.id, T.c.status.in_(m.HELD_STATES)))}
    last_step = {r.counter_id: (r.kind, r.at) for r in conn.execute(
        select(E.c.counter_id, E.c.kind, E.c.at).where(E.c.id.in_(
            select(func.max(E.c.id)).where(
                E.c.site_id == site.id, E.c.at >= since, E.c.counter_id.is_not(None),
                E.c.kind.in_(("called", "finished", "no_show", "transferred", "paused", "resumed", "opened",
                              "closed")))
            .group_by(E.c.counter_id))))}
    counter_view = []
    for r in conn.execute(select(C.c.id, C.c.number, C.c.name, C.c.state, C.c.pause_reason)
                          .where(C.c.site_id == site.id, C.c.active.is_(True)).order_by(C.c.number)):
        ticket = held.get(r.id)
        step = last_step.get(r.id)
        if ticket is not None:
            activity = "serving" if ticket.status == "serving" else "called"
            since_at = ticket.started_at if ticket.status == "serving" else ticket.last_called_at
        elif r.state in ("paused", "closed"):  # nobody serves there: since the pause or the closing
            activity = r.state
            since_at = step[1] if step and step[0] == r.state else None
        else:
            activity = "idle"
            since_at = step[1] if step else None
        counter_view.append({
            "number": r.number, "name": r.name, "state": r.state, "activity": activity,
            "pause_reason": r.pause_reason, "since": _iso_ms(since_at),
            "services": [site.service_codes[s] for s in site.counter_service_ids.get(r.number, [])],
            "ticket": None if ticket is None else {
                "number": ticket.number, "service": site.service_codes.get(ticket.service_id),
                "status": ticket.status, "called_at": _iso_ms(ticket.called_at)},
        })
    today = _today_figures(conn, site, day, {sid: s["target"] for sid, s in services.items()})
    return {"day": day.isoformat(), "now": _iso_ms(now), "services": service_view, "counters": counter_view,
            "today": today}


def _today_figures(conn, site, day: dt.date, targets: dict) -> dict:
    total = Tally()
    today = named_period(day.isoformat(), site.config.site.zone)  # the business day, as its hours
    for profile, alike in _gather(_read_tickets(conn, site, today)).items():
        _add_to_total(total, alike, profile, targets)
    view = total.view()
    return {"issued": view["issued"], "served": view["served"], "no_show": view["no_show"],
            "wait_avg": view["wait"]["avg"], "target_met_pct": view["target_met_pct"]}


def _iso_ms(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="milliseconds") + "Z" if value else None


PRINTER_ALERT_STATES = ("paper_near_end", "paper_out", "offline")


def alerts(overview: dict, printers: list[dict]) -> list[dict]:
    """Waits past their service's target, and printers that need paper or are offline."""
    found = []
    for s in overview["services"]:
        if s["over_target"]:
            found.append({"kind": "wait", "service": s["code"], "longest_wait_seconds": s["longest_wait_seconds"],
                          "target_wait_minutes": s["target_wait_minutes"],
                          "message": translate("dash_alert_wait", "vi", service=s["name"],
                                               minutes=int(s["longest_wait_seconds"] // 60),
                                               target=s["target_wait_minutes"]),
                          "message_en": translate("dash_alert_wait", "en", service=s["name_en"] or s["name"],
                                                  minutes=int(s["longest_wait_seconds"] // 60),
                                                  target=s["target_wait_minutes"])})
    for p in printers:
        if p.get("state") in PRINTER_ALERT_STATES:
            found.append({"kind": "printer", "printer": p["printer"], "state": p["state"],
                          "message": translate("dash_alert_printer", "vi", printer=p["printer"],
                                               state=translate(f"printer_state_{p['state']}", "vi")),
                          "message_en": translate("dash_alert_printer", "en", printer=p["printer"],
                                                  state=translate(f"printer_state_{p['state']}", "en"))})
    return found
