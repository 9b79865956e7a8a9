"""A booking as its holder and staff see it, found by code, by ticket or by day."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.engine import Connection

from .. import engine as q
from ..db import SiteRuntime
from ..errors import NotFound
from .records import B, T, connection
from .slots import to_local

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed without doubt
CODE_LENGTH = 8  # 32^8 ≈ 10^12 codes: a code is also what lets its holder cancel


def booking_view(site: SiteRuntime, row, number: int | None = None, ticket: str | None = None) -> dict:
    """A booking as its holder (and staff) may see it: masked numbers only; ``ticket``: its ticket's
    public id (a remote number's from the start, a slot's once checked in), for the tracking page."""
    start = to_local(site, row.slot_start) if row.slot_start else None
    end = to_local(site, row.slot_end) if row.slot_end else None
    deadline = to_local(site, row.deadline) if row.deadline else None
    service = site.service_codes.get(row.service_id)
    named = site.config.service(service) if service else None
    return {
        "code": row.code,
        "kind": row.kind,
        "service": service,
        # its name, for a page that no longer offers it (a retired site's, one that stopped taking bookings)
        "service_name": {"vi": named.name.vi, "en": named.name.en} if named else None,
        "date": row.business_day.isoformat(),
        "start": f"{start:%H:%M}" if start else None,
        "end": f"{end:%H:%M}" if end else None,
        "deadline": f"{deadline:%H:%M}" if deadline else None,
        "name": row.name,
        "phone": row.phone_masked,
        "id_number": row.id_masked,
        "status": row.status,
        # the centre's reason where it cancelled it (bookings/ending.py CENTRE_REASONS), None where its holder did
        "cancel_reason": row.cancel_reason,
        "number": number,
        "ticket": ticket,
        "created_at": q._iso(row.created_at),
        "checked_in_at": q._iso(row.checked_in_at),
    }


def with_ticket(conn, site, row) -> dict:
    """``booking_view`` with its ticket's number and public id."""
    if row.ticket_id is None:
        return booking_view(site, row)
    ticket = conn.execute(select(T.c.number, T.c.public_id).where(T.c.id == row.ticket_id)).first()
    return booking_view(site, row, ticket.number, ticket.public_id) if ticket else booking_view(site, row)


def view_of(conn, site, booking_id: int) -> dict:
    return with_ticket(conn, site, conn.execute(select(B).where(B.c.id == booking_id)).one())


def public(view: dict) -> dict:
    """What goes to dashboards and webhooks: no name, and numbers only masked."""
    return {k: v for k, v in view.items() if k != "name"}


def remote_of_ticket(conn: Connection, site: SiteRuntime, public_id: str) -> dict | None:
    """For the tracking page: the remote number behind a ticket not yet checked in, as
    ``{"deadline": "HH:MM" (local)}``; None for any other ticket."""
    conn = connection(conn)
    deadline = conn.execute(
        select(B.c.deadline)
        .join(T, T.c.id == B.c.ticket_id)
        .where(T.c.public_id == public_id, T.c.site_id == site.id, B.c.kind == "remote", B.c.status == "booked")
    ).scalar()
    return {"deadline": f"{to_local(site, deadline):%H:%M}"} if deadline is not None else None


def remote_ending(conn: Connection, site: SiteRuntime, public_id: str) -> str | None:
    """For the tracking page of an expired remote number: how it ended, "cancelled" (by its citizen),
    "lapsed" (not checked in by its deadline) or "checked_in" (checked in, then the day ended); None
    for any other ticket."""
    conn = connection(conn)
    status = conn.execute(
        select(B.c.status)
        .join(T, T.c.id == B.c.ticket_id)
        .where(T.c.public_id == public_id, T.c.site_id == site.id, B.c.kind == "remote")
    ).scalar()
    return status if status in ("cancelled", "lapsed", "checked_in") else None


def row_by_code(conn, site, code: str):
    code = (code or "").strip().upper()
    row = (
        conn.execute(select(B).where(B.c.code == code, B.c.site_id == site.id)).first()
        if re.fullmatch(rf"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}", code)
        else None
    )
    if row is None:
        raise NotFound("booking_not_found", booking=code[: CODE_LENGTH * 2])
    return row


def get_booking(conn: Connection, site: SiteRuntime, code: str) -> dict:
    conn = connection(conn)
    return with_ticket(conn, site, row_by_code(conn, site, code))


def bookings_of_day(conn: Connection, site: SiteRuntime, day: dt.date, service: str | None = None) -> list[dict]:
    """The day's bookings and remote numbers, by slot (staff: the dashboard's upcoming bookings)."""
    conn = connection(conn)
    query = (
        select(B, T.c.number, T.c.public_id)
        .outerjoin(T, T.c.id == B.c.ticket_id)
        .where(B.c.site_id == site.id, B.c.business_day == day)
        .order_by(B.c.slot_start.is_(None), B.c.slot_start, B.c.id)
    )
    if service is not None:
        if service not in site.service_ids:
            raise NotFound("unknown_service", service=service)
        query = query.where(B.c.service_id == site.service_ids[service])
    return [booking_view(site, row, row.number, row.public_id) for row in conn.execute(query)]
