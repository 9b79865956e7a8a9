"""The tables bookings work on and the small steps every part takes: the caller's connection, an event
of a ticket, a ticket's row id and number, a day's waiting count."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from .. import engine as q
from .. import models as m
from ..db import SiteRuntime

B = m.Booking.__table__
SLOTS = m.BookingSlot.__table__
PD = m.PersonDay.__table__
T = m.Ticket.__table__
SEQ = m.NumberSequence.__table__
E = m.Event.__table__


def connection(db: Session | Connection) -> Connection:
    """Like the engine's functions, these take an ORM Session or a Core Connection in a transaction."""
    return db.connection() if isinstance(db, Session) else db


def record_event(
    conn, site, kind: str, now, actor: q.Actor | None, ticket_id: int, service_id: int, detail: dict
) -> None:
    """A step of a ticket in the append-only events log, as the engine writes its own."""
    actor = actor or q.Actor()
    conn.execute(
        insert(E).values(
            site_id=site.id,
            kind=kind,
            at=now,
            ticket_id=ticket_id,
            service_id=service_id,
            user_id=actor.user_id,
            token_id=actor.token_id,
            detail=detail,
        )
    )


def ticket_row_id(conn, public_id: str) -> int:
    return conn.execute(select(T.c.id).where(T.c.public_id == public_id)).scalar_one()


def add_waiting(conn, service_id: int, day: dt.date, delta: int) -> None:
    conn.execute(
        update(SEQ)
        .where(SEQ.c.service_id == service_id, SEQ.c.business_day == day)
        .values(waiting=SEQ.c.waiting + delta)
    )


def number_of(conn, ticket_id: int | None) -> int | None:
    if ticket_id is None:
        return None
    return conn.execute(select(T.c.number).where(T.c.id == ticket_id)).scalar()


def service_name(site: SiteRuntime, service_id: int) -> str:
    code = site.service_codes[service_id]
    service = site.config.service(code)
    return service.name.vi if service else code
