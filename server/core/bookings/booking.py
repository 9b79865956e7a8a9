"""Taking a place: a slot of a day (``book``), or a same-day remote number (``take_remote``); one number
per person, service and day."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import Date, DateTime, bindparam, insert, select, text, update
from sqlalchemy.engine import Connection

from .. import engine as q
from ..db import SiteRuntime
from ..errors import QueueError
from ..i18n import Phrase
from ..models import REMOTE_STATUS, utcnow
from ..periods import vn_date
from .people import person
from .records import PD, B, T, add_waiting, connection, service_name, ticket_row_id
from .slots import (
    booked_over,
    check_day,
    check_hours_saved,
    closing_at,
    most_at_once,
    settings_of,
    slot_of,
    to_local,
)
from .views import CODE_ALPHABET, CODE_LENGTH, public, view_of

_TAKE_PLACE = text(
    "INSERT INTO booking_slots (service_id, slot_start, taken) VALUES (:service, :start, 1) "
    "ON CONFLICT (service_id, slot_start) DO UPDATE SET taken = booking_slots.taken + 1 "
    "WHERE booking_slots.taken < :capacity RETURNING taken"
).bindparams(bindparam("start", type_=DateTime()))


# the slot's places taken (its own bookings), read first and on PostgreSQL held: a cancellation, which
# gives a place back on this row, then commits before slots.booked_over reads the bookings, or waits for the
# booking; text statements, as _TAKE_PLACE, since every booking runs them
_TAKEN = "SELECT taken FROM booking_slots WHERE service_id = :service AND slot_start = :start"
_TAKEN_SQLITE = text(_TAKEN).bindparams(bindparam("start", type_=DateTime()))
_TAKEN_PG = text(_TAKEN + " FOR UPDATE").bindparams(bindparam("start", type_=DateTime()))

_CLAIM = text(
    "INSERT INTO person_days (service_id, business_day, person_hash, booking_id, ticket_id) "
    "VALUES (:service, :day, :person, :booking, :ticket) "
    "ON CONFLICT (service_id, business_day, person_hash) DO NOTHING RETURNING service_id"
).bindparams(bindparam("day", type_=Date()))


# a person's number of the day that ended: what the refusal of another one says happened to it
ENDED = {"expired": "held_number_expired", "done": "held_number_done", "no_show": "held_number_no_show"}


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def claim(
    conn,
    site: SiteRuntime,
    service_id: int,
    day: dt.date,
    person_hash: str,
    booking_id: int | None = None,
    ticket_id: int | None = None,
) -> None:
    """Take the person's one number of the day for the service, or say what they already hold."""
    taken = conn.execute(
        _CLAIM, {"service": service_id, "day": day, "person": person_hash, "booking": booking_id, "ticket": ticket_id}
    ).first()
    if taken is not None:
        return
    held = conn.execute(
        select(PD.c.booking_id, PD.c.ticket_id).where(
            PD.c.service_id == service_id, PD.c.business_day == day, PD.c.person_hash == person_hash
        )
    ).one()
    service = service_name(site, service_id)
    if held.ticket_id is not None:
        ticket = conn.execute(select(T.c.number, T.c.status, T.c.finished_at).where(T.c.id == held.ticket_id)).one()
        if ticket.status in ENDED:  # not "you already have 1003" for a number that no longer stands
            # a remote number lapsed at its deadline (the ticket ends a little later, when that is seen)
            deadline = conn.execute(select(B.c.deadline).where(B.c.id == held.booking_id)).scalar()
            ended = deadline if ticket.status == "expired" and deadline else ticket.finished_at
            how = Phrase(ENDED[ticket.status], time=f"{to_local(site, ended):%H:%M}" if ended else "")
            raise QueueError("held_number_ended", number=ticket.number, service=service, how=how)
        raise QueueError("already_holds_number", number=ticket.number, service=service, date=vn_date(day))
    slot_start = conn.execute(select(B.c.slot_start).where(B.c.id == held.booking_id)).scalar()
    raise QueueError(
        "already_booked",
        service=service,
        date=vn_date(day),
        start=f"{to_local(site, slot_start):%H:%M}" if slot_start else "",
    )


def _insert_booking(conn, site, **values) -> int:
    return conn.execute(
        insert(B).values(site_id=site.id, code=_new_code(), status="booked", **values).returning(B.c.id)
    ).scalar_one()


def book(
    conn: Connection,
    site: SiteRuntime,
    service: str,
    day: dt.date,
    start: str,
    name: str,
    phone: str,
    id_number: str | None,
    key: bytes,
    now: dt.datetime | None = None,
    actor: q.Actor | None = None,
) -> q.Outcome:
    """A place in the slot of ``day`` starting at ``start`` ("08:15"), if one is free."""
    now = now or utcnow()
    conn = connection(conn)
    settings, service_id = settings_of(site, service)
    who = person(key, phone, id_number)
    check_day(site, settings, day, now)
    slot_start, slot_end = slot_of(site, settings, day, start, now)
    # first: a save of other hours waits, or is waited for
    check_hours_saved(conn, site, day, slot_start, slot_end, service)
    # the places left: the most bookings at one moment of the slot (with another grid's overlapping it, not
    # their sum), read after the slot's row; the upsert's condition then counts the bookings of its own
    # start made since (of this grid, so holding the whole slot) as in with one grid
    places = {"service": service_id, "start": slot_start}
    seen = conn.execute(_TAKEN_PG if conn.dialect.name == "postgresql" else _TAKEN_SQLITE, places).scalar() or 0
    overlapping = booked_over(conn, site, service_id, day, slot_start, slot_end)
    left = settings.per_slot - most_at_once(overlapping, slot_start, slot_end)
    if left <= 0 or conn.execute(_TAKE_PLACE, {**places, "capacity": seen + left}).first() is None:
        raise QueueError("slot_full", start=start, date=vn_date(day))
    booking_id = _insert_booking(
        conn,
        site,
        service_id=service_id,
        kind="slot",
        business_day=day,
        slot_start=slot_start,
        slot_end=slot_end,
        name=name.strip(),
        phone_masked=who.phone_masked,
        id_masked=who.id_masked,
        person_hash=who.hash,
        token_id=(actor or q.Actor()).token_id,
        created_at=now,
    )
    claim(conn, site, service_id, day, who.hash, booking_id=booking_id)
    view = view_of(conn, site, booking_id)
    return q.Outcome(view, [q.Happened("booking.created", detail={"booking": public(view)})])


def take_remote(
    conn: Connection,
    site: SiteRuntime,
    service: str,
    name: str,
    phone: str,
    id_number: str | None,
    key: bytes,
    now: dt.datetime | None = None,
    actor: q.Actor | None = None,
    check_hours: bool = True,
) -> q.Outcome:
    """A same-day number taken from a phone ("lấy số từ xa"): the day's next number, first come first
    served with walk-ins, held out of the queue until its citizen checks in before the deadline."""
    now = now or utcnow()
    conn = connection(conn)
    settings, service_id = settings_of(site, service)
    if not settings.remote:
        raise QueueError("remote_not_offered", service=service_name(site, service_id))
    who = person(key, phone, id_number)
    day = q.business_day(site, now)
    check_hours_saved(conn, site, day)  # first, as a booking's
    issued = q.issue(conn, site, service, now=now, actor=actor, check_hours=check_hours).ticket
    ticket_id = ticket_row_id(conn, issued["id"])
    conn.execute(update(T).where(T.c.id == ticket_id).values(status=REMOTE_STATUS, origin="remote"))
    add_waiting(conn, service_id, day, -1)  # not in the queue until checked in
    deadline = now + dt.timedelta(minutes=settings.remote_checkin_minutes)
    if check_hours:  # and never after closing time
        deadline = min(deadline, closing_at(site, day))
    booking_id = _insert_booking(
        conn,
        site,
        service_id=service_id,
        kind="remote",
        business_day=day,
        deadline=deadline,
        name=name.strip(),
        phone_masked=who.phone_masked,
        id_masked=who.id_masked,
        person_hash=who.hash,
        ticket_id=ticket_id,
        token_id=(actor or q.Actor()).token_id,
        created_at=now,
    )
    claim(conn, site, service_id, day, who.hash, booking_id=booking_id, ticket_id=ticket_id)
    view = view_of(conn, site, booking_id)
    view["waiting_ahead"] = q.waiting_counts(conn, site, now)[service]["waiting"]
    return q.Outcome(view, [q.Happened("booking.created", detail={"booking": public(view)})])
