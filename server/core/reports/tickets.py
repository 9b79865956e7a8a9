"""Reading the period's tickets: the tables, the SQL that differs between SQLite and PostgreSQL,
and the tickets gathered by *profile*.

A year of a busy centre is 150,000 tickets, and reading them is most of a report's time: each
column read costs about as much as the rest of the work on it. So a ticket is read as its wait,
its service time, the few columns its grouping needs, and its *profile*: five small numbers
(origin service, final service, status code, transferred 0/1, rating level code) that are all
the counts need. Tickets alike in all of these are then counted together (``Alike``): a year has
a few hundred profiles, so the rest of the work is per profile, not per ticket.
"""

from __future__ import annotations

import datetime as dt
import importlib

from sqlalchemy import Float, and_, case, cast, column, func, inspect, literal, null, select, table
from sqlalchemy.engine import Connection

from .. import models as m
from ..periods import Period

T = m.tickets
E = m.events
SV = m.services
C = m.counters
U = m.users
TOK = m.api_tokens
SEQ = m.number_sequences
# the ratings table comes with the rating tablets (migration 0003); a report reads it when it exists
RATINGS = table(
    "ratings", column("ticket_id"), column("level"), column("counter_id"), column("user_id"), column("service_id")
)

LEVELS = ("very_satisfied", "satisfied", "unsatisfied")
ACTION_KINDS = ("called", "finished", "no_show", "transferred")
# statuses, rating levels and event kinds are read as small numbers: a year's report then makes
# no string object per ticket or event (Python keeps one copy of each small int)
DONE, NO_SHOW, EXPIRED, CANCELLED, LAPSED = 1, 2, 3, 4, 5  # any other status (waiting, called, serving) reads as 0
STATUS_CODES = {"done": DONE, "no_show": NO_SHOW, "expired": EXPIRED}
ENDED_BOOKING_CODES = {"cancelled": CANCELLED, "lapsed": LAPSED}  # a remote number's booking that ended unclaimed
LEVEL_CODES = {level: code for code, level in enumerate(LEVELS, start=1)}  # no rating reads as 0
CALLED, FINISHED, MARKED_NO_SHOW, TRANSFERRED = range(len(ACTION_KINDS))  # in the order of ACTION_KINDS
KIND_CODES = {kind: code for code, kind in enumerate(ACTION_KINDS)}
ORIGIN_AT, FINAL_AT, STATUS_AT, TRANSFERRED_AT, LEVEL_AT = range(5)  # positions in a profile


def insert_ignoring_conflicts(conn, table):
    """``INSERT ... ON CONFLICT DO NOTHING`` in the connection's own dialect, loaded when first used:
    importing SQLAlchemy's PostgreSQL dialect at start costs a SQLite server about 2 MB."""
    return importlib.import_module(f"sqlalchemy.dialects.{conn.dialect.name}").insert(table).on_conflict_do_nothing()


def connection(db):
    return db if isinstance(db, Connection) else db.connection()


# --- SQL helpers that differ between SQLite and PostgreSQL --------------------------------------


def seconds_between(conn, later, earlier):
    """Seconds from ``earlier`` to ``later``, to the millisecond (julianday's float error rounded off)."""
    if conn.dialect.name == "sqlite":
        return func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0, 3)
    return cast(func.extract("epoch", later - earlier), Float)


def epoch_seconds(conn, value):
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


def tuples(conn, statement) -> list[tuple]:
    """All rows as plain tuples, straight from the driver's cursor: for the large reads of a report,
    whose columns (numbers and short strings) need no conversion. SQLAlchemy's Row objects would
    cost a third of a year's report."""
    result = conn.execute(statement)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


class Alike:
    """Tickets alike in their profile (and grouping): how many, the waits of those called and the
    service times of those that have one."""

    __slots__ = ("count", "waits", "service_times")

    def __init__(self):
        self.count = 0
        self.waits: list[float] = []
        self.service_times: list[float] = []


def read_services(conn, site) -> dict[int, dict]:
    order = {s.code: i for i, s in enumerate(site.config.services)}
    rows = conn.execute(
        select(SV.c.id, SV.c.code, SV.c.name, SV.c.name_en, SV.c.target_wait_minutes, SV.c.active).where(
            SV.c.site_id == site.id
        )
    )
    return {
        r.id: {
            "code": r.code,
            "name": r.name,
            "name_en": r.name_en,
            "target": r.target_wait_minutes * 60.0,
            "active": bool(r.active),
            "order": order.get(r.code, len(order) + r.id),
        }
        for r in rows
    }


def in_period(conn, site, period: Period) -> tuple:
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
    first, last = conn.execute(
        select(func.min(SEQ.c.business_day), func.max(SEQ.c.business_day)).where(SEQ.c.service_id.in_(services))
    ).one()
    if first is None:
        return False
    covered = (min(last, period.last_day) - max(first, period.first_day)).days + 1
    return 4 * covered >= (last - first).days + 1


def _booking(column):
    """The ``column`` of the ticket's booking (of the query's ``tickets``), looked up by the ticket
    alone (ix_bookings_ticket): one index probe per ticket. Used only under a case that asks it for a
    remote number."""
    return select(column).where(m.bookings.c.ticket_id == T.c.id).scalar_subquery()


def queued_at():
    """When a ticket joined the queue, its wait's start: its issue, or for a remote number (taken from a
    phone, ``origin`` "remote") its holder's check-in at the centre, kept on the ticket (as the ticket's
    view reads it: engine/views.py ``queued_at``); None while never checked in (it was never in the
    lobby). A slot's ticket is issued at its check-in: its wait runs from the arrival, in arrival order
    until its slot (docs/bookings.md). The engine's place in line and max_wait rule count from the issue
    instead (docs/configuration.md)."""
    return case((T.c.origin == "remote", T.c.checked_in_at), else_=T.c.issued_at)


def wait_seconds(conn):
    """A ticket's wait (s): from joining the queue (``queued_at``) to its first call."""
    return seconds_between(conn, T.c.called_at, queued_at())


def _times(conn, site, period: Period) -> tuple:
    """A ticket's wait and service time (s): a service has a time only when it was started (by
    "start", or by "finish" dated from the call); one ended by "next" without a start has none,
    nor has one a close or its day's end ended (``finished_untimed``)."""
    return (
        wait_seconds(conn),
        case(
            (and_(T.c.status == "done", finished_untimed()), null()),
            else_=seconds_between(conn, T.c.finished_at, T.c.started_at),
        ),
    )


def tickets_with_event(site_id: int, kind: str, start, end):
    """The ids of the period's tickets (``start``, ``end``: its naive UTC bounds) that have a ``kind``
    event; a ticket lives within its business day, so that event comes before ``end`` plus a day."""
    return select(E.c.ticket_id).where(
        E.c.site_id == site_id, E.c.kind == kind, E.c.at >= start, E.c.at < end + dt.timedelta(days=1)
    )


def finished_untimed():
    """Whether the ticket (of the query's ``tickets``) was ended as served by a counter's close (engine
    close_counter's "finish", or its clerk disabled or device revoked while serving) or by the end of
    its business day (engine day_end): served, with no service time, since nobody knows when the clerk
    stopped serving. Its ``finished`` event says so (its ``by``). Looked up by the ticket (its events'
    index), not within a window of time: a day end runs when the server next starts, days later maybe."""
    untimed = E.c.detail["by"].as_string().in_(m.UNTIMED_FINISHES)
    return select(E.c.id).where(E.c.ticket_id == T.c.id, E.c.kind == "finished", untimed).exists()


def status_code():
    """A ticket's status as its code. A remote number that ended before its holder checked in
    (bookings/ending.py) has the ticket status "expired", as one the day ended on: cancelled (by its
    holder, or its site retired) it reads as CANCELLED, lapsed (not checked in by its deadline) as
    LAPSED; only its booking's status tells. The booking is looked up only for such a ticket."""
    ended = case(ENDED_BOOKING_CODES, value=_booking(m.bookings.c.status), else_=EXPIRED)  # (checked in: the day's end)
    return case(
        (and_(T.c.status == "expired", T.c.origin == "remote"), ended),
        else_=case(STATUS_CODES, value=T.c.status, else_=0),
    )


def read_tickets(conn, site, period: Period, *extra) -> list[tuple]:
    """The period's tickets as (wait s | None, service s | None, *extra, *profile)."""
    rated = has_ratings(conn)
    columns = [
        *_times(conn, site, period),
        *extra,
        T.c.origin_service_id,
        T.c.service_id,
        status_code(),
        case((T.c.transfers > 0, 1), else_=0),
        case(LEVEL_CODES, value=RATINGS.c.level, else_=0) if rated else literal(0),
    ]
    source = T.outerjoin(RATINGS, RATINGS.c.ticket_id == T.c.id) if rated else T
    return tuples(conn, select(*columns).select_from(source).where(*in_period(conn, site, period)))


def gather(tickets: list[tuple], key_of=None) -> dict[tuple, Alike]:
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


def rating_who(conn, column):
    return column if has_ratings(conn) else null()


_KIND = case(KIND_CODES, value=E.c.kind)


def events_of(conn, ticket_ids: list[int], who) -> list[tuple]:
    """The counter actions on these tickets: (ticket id, kind code, ``who`` did it), each ticket's in order."""
    found: list[tuple] = []
    for chunk in range(0, len(ticket_ids), 500):
        found += tuples(
            conn,
            select(E.c.ticket_id, _KIND, who)
            .where(E.c.ticket_id.in_(ticket_ids[chunk : chunk + 500]), E.c.kind.in_(ACTION_KINDS))
            .order_by(E.c.id),
        )
    return found
