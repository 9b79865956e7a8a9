"""A booking that ends without a check-in: cancelled by its holder or by the centre (its site retired, its
day or its hours closed), or a remote number lapsed past its deadline; and the one step that takes a
booking out of ``booked`` (for a check-in too)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from .. import engine as q
from ..config import Hours
from ..db import SiteRuntime
from ..errors import QueueError
from ..models import REMOTE_STATUS, utcnow
from ..periods import vn_date
from .records import PD, SLOTS, B, T, connection, number_of, record_event
from .slots import closed_by, closing_at, to_local
from .views import booking_view, public, row_by_code, view_of


def refuse_unless_booked(conn, site, row, now: dt.datetime, shown: str | None = None) -> None:
    """``shown``: how the refusal names the booking (its code, unless the asker did not give it)."""
    shown = shown or row.code
    if row.status == "checked_in":
        raise QueueError("booking_checked_in", booking=shown, number=number_of(conn, row.ticket_id))
    if row.status == "cancelled":
        raise QueueError("booking_cancelled", booking=shown)
    if row.status == "lapsed" or (row.kind == "remote" and row.deadline < now):
        raise QueueError(
            "booking_lapsed", booking=shown, deadline=f"{to_local(site, row.deadline):%H:%M}" if row.deadline else ""
        )


def masked_code(code: str) -> str:
    """A booking's code as said to whoever found it by an ID number: its code cancels it, so only
    its last two characters (the holder recognises them)."""
    return "•" * (len(code) - 2) + code[-2:]


def take_booking(conn, row, status: str, **values):
    """Move the booking from ``booked`` to ``status`` before anything else is done for it, or return
    the row as it now stands. The UPDATE is conditional: on PostgreSQL it waits for another
    transaction holding the same booking (a second kiosk's scan, a cancel, the lapse loop of another
    process) and then matches nothing, so one booking is never checked in twice, nor checked in and
    cancelled or lapsed at once. None when claimed."""
    claimed = conn.execute(update(B).where(B.c.id == row.id, B.c.status == "booked").values(status=status, **values))
    if claimed.rowcount == 1:
        return None
    return conn.execute(select(B).where(B.c.id == row.id)).one()


def cancel(
    conn: Connection, site: SiteRuntime, code: str, now: dt.datetime | None = None, actor: q.Actor | None = None
) -> q.Outcome:
    """Give the place back (and the person's number of the day). Cancelling twice is no error."""
    now = now or utcnow()
    conn = connection(conn)
    row = row_by_code(conn, site, code)
    if row.status == "cancelled":
        return q.Outcome(booking_view(site, row), [])
    refuse_unless_booked(conn, site, row, now)
    if row.business_day < q.business_day(site, now):
        raise QueueError("booking_past", booking=row.code, date=vn_date(row.business_day))
    taken = take_booking(conn, row, "cancelled", cancelled_at=now)
    if taken is not None:  # another transaction got there first
        if taken.status == "cancelled":
            return q.Outcome(booking_view(site, taken), [])
        refuse_unless_booked(conn, site, taken, now)
    view, happened = _cancelled(conn, site, row, now, actor)
    return q.Outcome(view, [happened])


def _cancelled(conn, site, row, now, actor, reason: str = "cancelled") -> tuple[dict, q.Happened]:
    """What follows a booking taken to ``cancelled``: its place back, its remote number ended, its
    opt-ins gone; its view, and its event."""
    if row.kind == "slot":
        _give_place_back(conn, row)
    return _ended(conn, site, row, now, actor, reason)


def _give_place_back(conn, row) -> None:
    conn.execute(
        update(SLOTS)
        .where(SLOTS.c.service_id == row.service_id, SLOTS.c.slot_start == row.slot_start)
        .values(taken=SLOTS.c.taken - 1)
    )


def _ended(conn, site, row, now, actor, reason: str) -> tuple[dict, q.Happened]:
    """A cancelled booking's remote number ended and the person's number of the day freed; its view and event."""
    if row.kind != "slot":
        _end_remote_ticket(conn, site, row, now, actor, reason)
    conn.execute(delete(PD).where(PD.c.booking_id == row.id))
    view = view_of(conn, site, row.id)
    return view, q.Happened("booking.cancelled", detail={"booking": public(view)})


def cancel_from_today(
    conn: Connection, site: SiteRuntime, now: dt.datetime | None = None, actor: q.Actor | None = None
) -> q.Outcome:
    """Every booking of the site from today on, slots and remote numbers not yet checked in, cancelled as
    its holder would (``booking.cancelled``): a retired site's (server/core/sites.py ``wind_up``)."""
    now = now or utcnow()
    conn = connection(conn)
    return cancel_by_centre(conn, site, [(row, "site_retired") for row in _to_come(conn, site, now)], now, actor)


# why the centre cancelled a booking (bookings.cancel_reason: its page and its webhook event say it)
CENTRE_REASONS = ("site_retired", "closed_day", "hours_changed")
# the part of the opening hours that closes a booking's time, and the reason it is cancelled for
STRANDED_BY = {
    "hours.holidays": "closed_day",
    "hours.days": "closed_day",
    "hours.open": "hours_changed",
    "hours.close": "hours_changed",
}


def _to_come(conn, site, now: dt.datetime) -> list:
    """The site's bookings from today on, not yet checked in, cancelled or lapsed."""
    today = q.business_day(site, now)
    return conn.execute(
        select(B)
        .where(B.c.site_id == site.id, B.c.status == "booked", B.c.business_day >= today)
        .order_by(B.c.business_day, B.c.slot_start.is_(None), B.c.slot_start, B.c.id)
    ).all()


def stranded(
    conn: Connection, site: SiteRuntime, hours: Hours, now: dt.datetime | None = None, among: list | None = None
) -> list[tuple]:
    """The site's bookings still to come that ``hours`` (a new setup's opening hours) would leave at a
    closed door, each with the field of the hours that closes it (``STRANDED_BY``): its day a holiday
    ("hours.holidays") or no longer a working day ("hours.days"), or its slot, at the local time its
    holder was told, beginning before the opening time ("hours.open") or ending after the closing time
    ("hours.close"). A slot begun already is left as it goes (its citizen may be checking in, within its
    grace window, as ``slot_of`` takes a begun slot as taken place; or checked in, or a no-show), and a
    remote number is stranded by its day closing, or, today's, by a closing time already past before its
    deadline (one still ahead is due by it instead: ``remote_due_by_close``); else it may be checked in at
    any time the centre is open until its deadline. ``among``: only those of these rows (of an earlier
    answer, for other hours), not read again."""
    now = now or utcnow()
    found = []
    closing = _closing_today(site, hours, now)
    for row in _to_come(connection(conn), site, now) if among is None else among:
        if row.kind == "slot" and row.slot_start <= now:  # begun: its citizen may be at the kiosk, in its grace
            continue
        field = closed_by(site, hours, row.business_day, row.slot_start, row.slot_end)
        if field is None and row.kind == "remote" and row.deadline > closing[1] and closing[1] <= now:
            field = "hours.close"  # today's, due after a closing time already past: nothing more can come of it
        if field is not None:
            found.append((row, field))
    return found


def _closing_today(site: SiteRuntime, hours: Hours, now: dt.datetime) -> tuple[dt.date, dt.datetime]:
    """Today and its closing time under ``hours`` (UTC)."""
    today = q.business_day(site, now)
    return today, closing_at(site, today, hours)


def remote_due_by_close(conn: Connection, site: SiteRuntime, hours: Hours, now: dt.datetime | None = None) -> int:
    """Today's remote numbers due after the closing time of ``hours`` (a new, earlier one still ahead) due
    by it instead, as one taken now would be (``take_remote``): their pages say the new time. How many."""
    now = now or utcnow()
    today, close = _closing_today(site, hours, now)
    if close <= now:
        return 0  # (past already: ``stranded`` cancels them)
    return (
        connection(conn)
        .execute(
            update(B)
            .where(
                B.c.site_id == site.id,
                B.c.kind == "remote",
                B.c.status == "booked",
                B.c.business_day == today,
                B.c.deadline > close,
            )
            .values(deadline=close)
        )
        .rowcount
    )


def cancel_by_centre(
    conn: Connection, site: SiteRuntime, rows: list[tuple], now: dt.datetime | None = None, actor: q.Actor | None = None
) -> q.Outcome:
    """Each booking of ``rows`` ((row, a reason of ``CENTRE_REASONS`` or a field of ``STRANDED_BY``))
    cancelled by the centre with its reason kept: its place and its remote number end as its holder's
    cancel ends them, and ``booking.cancelled`` says the reason. One another process has checked in,
    cancelled or lapsed meanwhile is left as it is."""
    now = now or utcnow()
    conn = connection(conn)
    claimed = []
    for row, why in rows:  # all taken first: a citizen's own cancel of one waits for this, or this for it
        reason = STRANDED_BY.get(why, why)
        if take_booking(conn, row, "cancelled", cancelled_at=now, cancel_reason=reason) is None:
            claimed.append((row, reason))
    # then the places back in one (service, slot) order, before any person's day is freed: no lock
    # taken here is waited for by a booking or a cancel that holds one this wants (PostgreSQL)
    for row in sorted((row for row, _ in claimed if row.kind == "slot"), key=lambda r: (r.service_id, r.slot_start)):
        _give_place_back(conn, row)
    from .. import cancel_notices  # (not at the top: a centre's cancel's, not an idle server's)

    cancel_notices.record(conn, site, claimed, now)  # each opted-in citizen told (their opt-ins move there)
    return q.Outcome(None, [_ended(conn, site, row, now, actor, reason)[1] for row, reason in claimed])


def _end_remote_ticket(conn, site, row, now, actor, reason: str) -> None:
    changed = conn.execute(
        update(T).where(T.c.id == row.ticket_id, T.c.status == REMOTE_STATUS).values(status="expired", finished_at=now)
    )
    if changed.rowcount:
        record_event(conn, site, "expired", now, actor, row.ticket_id, row.service_id, detail={"reason": reason})


def lapse_overdue(
    conn: Connection, site: SiteRuntime, now: dt.datetime | None = None, actor: q.Actor | None = None
) -> q.Outcome:
    """Remote numbers not checked in by their deadline lapse: the booking says so and the ticket
    expires (reports count it as not called). The person keeps the day's number: no second one."""
    now = now or utcnow()
    conn = connection(conn)
    rows = conn.execute(
        select(B).where(B.c.site_id == site.id, B.c.kind == "remote", B.c.status == "booked", B.c.deadline < now)
    ).all()
    happened = []
    for row in rows:
        if (
            conn.execute(update(B).where(B.c.id == row.id, B.c.status == "booked").values(status="lapsed")).rowcount
            != 1
        ):
            continue  # another process lapsed it
        _end_remote_ticket(conn, site, row, now, actor, "lapsed")
        happened.append(q.Happened("booking.lapsed", detail={"booking": public(view_of(conn, site, row.id))}))
    return q.Outcome(None, happened)
