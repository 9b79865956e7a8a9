"""The citizen is here: check-in by booking code, ID card QR or ID number; a walk-in number for a card
without a booking."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from .. import engine as q
from .. import models as m
from ..db import SiteRuntime
from ..engine.estimates import Estimator
from ..errors import Invalid, NotFound, QueueError
from ..i18n import Phrase
from ..models import REMOTE_STATUS, utcnow
from ..notifications import carry_to_ticket
from ..periods import vn_date
from .booking import claim
from .ending import masked_code, refuse_unless_booked, take_booking
from .people import id_hash, parse_cccd_qr
from .records import PD, SETUPS, SITES, B, T, add_waiting, connection, record_event, service_name, ticket_row_id
from .slots import grace, saved_settings, to_local
from .views import public, row_by_code, view_of

SV = m.services

OnTicket = Callable[[Connection, SiteRuntime, dict], None]

# A booked citizen may check in this long before the centre opens (QA C7: the first slot's citizen
# arrives a few minutes early): the ticket waits, due at its slot, and nobody is called before the
# clerks open their counters. Walk-in numbers, by card too, wait for the opening.
CHECK_IN_EARLY = dt.timedelta(minutes=30)


def before_opening(site: SiteRuntime, now: dt.datetime) -> bool:
    """Whether ``now`` is in the CHECK_IN_EARLY before today's opening."""
    hours, local = site.config.site.hours, to_local(site, now)
    return not hours.is_open(local) and hours.is_open(local + CHECK_IN_EARLY)


def check_in(
    conn: Connection,
    site: SiteRuntime,
    key: bytes,
    *,
    code: str | None = None,
    cccd_qr: str | None = None,
    id_number: str | None = None,
    service: str | None = None,
    priority: str | None = None,
    kiosk: str | None = None,
    now: dt.datetime | None = None,
    actor: q.Actor | None = None,
    check_hours: bool = True,
    on_ticket: OnTicket | None = None,
    estimator: Estimator | None = None,
    at_kiosk: bool = False,
) -> q.Outcome:
    """The citizen is here: by booking code, by the ID card's QR text or by ID number. Returns the
    ticket (with ``booking`` and ``late``). Without a booking today, an ID card with ``service``
    takes a walk-in number (of ``priority``'s class, if given), still one per person. ``at_kiosk``: the
    caller proved to be a kiosk of the installation (its token), the only one a card's QR text is told
    where else it is booked today or on which later day here.
    ``on_ticket(conn, site, ticket)`` runs for the ticket in the same transaction (the web layer queues
    its print job there)."""
    now = now or utcnow()
    conn = connection(conn)
    if sum(v is not None for v in (code, cccd_qr, id_number)) != 1:
        raise Invalid("check_in_one_of", field="code")
    if code is not None:
        try:
            row = row_by_code(conn, site, code)
        except NotFound:  # the booking's QR code shown at another centre than its own: which one
            _refuse_if_booked_elsewhere(conn, site, now, B.c.code == code.strip().upper())
            raise
    else:
        if cccd_qr is not None:
            holder = id_hash(key, parse_cccd_qr(cccd_qr).id_number, card=True)
        else:
            holder = id_hash(key, id_number)
        row = _booking_of_person(conn, site, holder, service, now)
        if row is None:
            if service is None:
                held = _number_held(conn, site, holder, now)
                if held is not None:  # said at once, not after the citizen chose that service again
                    raise NotFound("card_holds_number", number=held.number, service=service_name(site, held.service_id))
                # the card itself is here, so its holder: their booking of today at another centre, or of
                # another day. A typed number can be anyone's, and where a person will be is theirs to tell
                # (Decree 13/2023): the same answer as for a number with no booking anywhere; and so is a
                # card's QR text (made up from a known number as easily) sent by other than a kiosk
                if cccd_qr is not None and at_kiosk:
                    _refuse_if_booked_elsewhere(conn, site, now, B.c.person_hash == holder)
                    _refuse_if_booked_later(conn, site, holder, now)
                raise NotFound("booking_not_found_for_card")
            return _walk_in(
                conn,
                site,
                holder,
                service,
                priority=priority,
                kiosk=kiosk,
                now=now,
                actor=actor,
                check_hours=check_hours,
                on_ticket=on_ticket,
                estimator=estimator,
            )
    shown = row.code if code is not None else masked_code(row.code)  # typed ID digits cancel nothing
    refuse_unless_booked(conn, site, row, now, shown)
    today = q.business_day(site, now)
    if row.business_day != today:
        raise QueueError("booking_other_day", booking=shown, date=vn_date(row.business_day))
    taken = take_booking(conn, row, "checked_in", checked_in_at=now)
    if taken is not None:  # another transaction got there first
        refuse_unless_booked(conn, site, taken, now, shown)
    service_code = site.service_codes[row.service_id]
    late = False
    if row.kind == "slot":
        # the wait is promised below, once the ticket's due time is written (the predictor reads it)
        early = check_hours and before_opening(site, now)
        issued = q.issue(  # booked while a counter served it: its number is owed, as a remote number's is
            conn,
            site,
            service_code,
            kiosk=kiosk,
            now=now,
            actor=actor,
            check_hours=check_hours and not early,
            check_served=False,
        )
        ticket_id = ticket_row_id(conn, issued.ticket["id"])
        late = now > row.slot_start + grace(site, row.service_id)
        conn.execute(
            update(T).where(T.c.id == ticket_id).values(origin="booked", due_at=None if late else row.slot_start)
        )
        conn.execute(update(PD).where(PD.c.booking_id == row.id).values(ticket_id=ticket_id))
    else:  # the remote number's ticket joins the queue, where its number has always been
        ticket_id = row.ticket_id
        conn.execute(  # its wait starts now (the ticket view's queued_at), not at the phone request
            update(T)
            .where(T.c.id == ticket_id, T.c.status == REMOTE_STATUS)
            .values(status="waiting", checked_in_at=now)
        )
        add_waiting(conn, row.service_id, today, +1)
        record_event(conn, site, "checked_in", now, actor, ticket_id, row.service_id, detail={"kiosk": kiosk})
    conn.execute(update(B).where(B.c.id == row.id).values(status="checked_in", checked_in_at=now, ticket_id=ticket_id))
    carry_to_ticket(conn, site, row.id, ticket_id, now)  # its opt-ins: the ticket's, shown on its page at once
    public_id = conn.execute(select(T.c.public_id).where(T.c.id == ticket_id)).scalar_one()
    ticket = q.ticket_status(conn, site, public_id, estimator, now=now)
    if on_ticket is not None:
        on_ticket(conn, site, ticket)
    booking = view_of(conn, site, row.id)
    waiting = q.waiting_counts(conn, site, now)[service_code]
    # found by an ID number (typed: no card needed): the answer names neither the holder nor the code,
    # which would cancel what is left of the booking
    answered = booking if code is not None else {**public(booking), "code": shown}
    return q.Outcome(
        {**ticket, "late": late, "booking": answered},
        [
            q.Happened("ticket.issued", ticket),
            q.Happened("queue.changed", detail={"waiting": {service_code: waiting}}),
            q.Happened("booking.checked_in", detail={"booking": public(booking)}),
        ],
    )


def _booking_of_person(conn, site, person_hash: str, service: str | None, now: dt.datetime):
    """Today's booking of the person (of ``service`` when named): one still to check in first, the
    earliest slot first; else any other of today's, so that a refusal can say why."""
    query = select(B).where(
        B.c.site_id == site.id, B.c.person_hash == person_hash, B.c.business_day == q.business_day(site, now)
    )
    if service is not None:
        if service not in site.service_ids:
            raise NotFound("unknown_service", service=service)
        query = query.where(B.c.service_id == site.service_ids[service])
    rows = conn.execute(query.order_by(B.c.slot_start.is_(None), B.c.slot_start, B.c.id)).all()
    return next((r for r in rows if r.status == "booked"), None) or next(
        (r for r in rows if r.status != "cancelled"), None
    )


def _refuse_if_booked_later(conn, site, person_hash: str, now: dt.datetime) -> None:
    """A citizen come early (a day before the booking): the refusal says when the booking is, and for
    which service; they may still take a walk-in number today. Only to a card scanned at a kiosk of the
    installation (its holder is here), as _refuse_if_booked_elsewhere."""
    later = conn.execute(
        select(B.c.service_id, B.c.business_day, B.c.slot_start)
        .where(
            B.c.site_id == site.id,
            B.c.person_hash == person_hash,
            B.c.status == "booked",
            B.c.business_day > q.business_day(site, now),
            B.c.service_id.in_(list(site.service_codes)),
        )
        .order_by(B.c.business_day, B.c.slot_start)
    ).first()
    if later is None:
        return
    date = vn_date(later.business_day)
    when = (
        Phrase("booking_when_slot", date=date, time=to_local(site, later.slot_start).strftime("%H:%M"))
        if later.slot_start is not None
        else Phrase("booking_when_day", date=date)
    )
    raise NotFound("card_booked_other_day", service=service_name(site, later.service_id), when=when)


def _refuse_if_booked_elsewhere(conn, site, now: dt.datetime, whose) -> None:
    """A citizen at the kiosk of another centre of the installation than the one booked today (``whose``:
    the bookings of their scanned card's hash, or of the booking's code they scanned): the refusal says
    where to go, and when. The person key is the installation's, so the card's hash is the same at every
    site. What it says is kept to what the citizen needs (Decree 13/2023): the centre's name and the booked
    time, never the name, the service or the code; only to the card or the code shown (its holder is here,
    check_in never calls it for a typed number, nor for a card's QR text sent by other than a kiosk). A slot
    whose time and that service's grace have passed is said to have passed, not as a time to be served at
    (a later one of the day is named first). They may still take a number here."""
    today = q.business_day(site, now)
    rows = conn.execute(
        select(
            B.c.business_day,
            B.c.kind,
            B.c.slot_start,
            B.c.deadline,
            SITES.c.name,
            SITES.c.timezone,
            SV.c.code,
            SETUPS.c.document,
        )
        .join(SITES, SITES.c.id == B.c.site_id)
        .join(SV, SV.c.id == B.c.service_id)
        .outerjoin(SETUPS, SETUPS.c.site_id == B.c.site_id)
        .where(
            whose,
            B.c.business_day.between(today - dt.timedelta(days=1), today + dt.timedelta(days=1)),
            B.c.site_id != site.id,
            B.c.status == "booked",
        )
        .order_by(B.c.slot_start.is_(None), B.c.slot_start, B.c.id)
    ).all()
    passed = None
    for row in rows:  # today at that site, in its own time zone; a remote number not past its deadline
        zone = ZoneInfo(row.timezone)
        if row.business_day != q.local_time(site, now).astimezone(zone).date():
            continue
        if row.kind == "remote" and row.deadline < now:
            continue
        moment = q.local_time(site, row.slot_start or row.deadline).astimezone(zone)
        if row.kind == "slot" and now > row.slot_start + _grace_there(row.document, row.code):
            passed = (row.name, moment)  # the latest missed, said if nothing later is booked
            continue
        when = Phrase("booking_at_time" if row.kind == "slot" else "booking_remote_by", time=f"{moment:%H:%M}")
        raise NotFound("booked_other_site", site=row.name, when=when)
    if passed is not None:
        raise NotFound("booked_other_site_passed", site=passed[0], time=f"{passed[1]:%H:%M}")


def _grace_there(document: dict | None, service: str) -> dt.timedelta:
    """The grace of ``service`` in another site's saved setup ``document`` (slots.grace is this site's)."""
    settings = saved_settings(document, service)
    return dt.timedelta(minutes=settings.grace_minutes if settings else 0)


def _number_held(conn, site, person_hash: str, now: dt.datetime):
    """The person's number of today still in the queue (waiting, called or being served), if any."""
    return conn.execute(
        select(T.c.number, PD.c.service_id)
        .join(T, T.c.id == PD.c.ticket_id)
        .where(
            PD.c.person_hash == person_hash,
            PD.c.business_day == q.business_day(site, now),
            PD.c.service_id.in_(list(site.service_codes)),
            T.c.status.in_(("waiting", "called", "serving")),
        )
        .order_by(T.c.number)
    ).first()


def _walk_in(
    conn, site, person_hash: str, service: str, *, priority, kiosk, now, actor, check_hours, on_ticket, estimator
) -> q.Outcome:
    outcome = q.issue(
        conn,
        site,
        service,
        priority,
        kiosk=kiosk,
        now=now,
        actor=actor,
        check_hours=check_hours,
        estimator=estimator,
    )
    ticket_id = ticket_row_id(conn, outcome.ticket["id"])
    claim(conn, site, site.service_ids[service], q.business_day(site, now), person_hash, ticket_id=ticket_id)
    if on_ticket is not None:
        on_ticket(conn, site, outcome.ticket)
    return q.Outcome({**outcome.ticket, "late": False, "booking": None}, outcome.happened)
