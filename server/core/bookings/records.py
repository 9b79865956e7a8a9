"""The tables bookings work on and the small steps every part takes: the caller's connection and an event
of a ticket (the engine's own), a ticket's row id and number, a day's waiting count."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from .. import models as m
from ..db import SiteRuntime
from ..engine.records import connection, record_event  # noqa: F401 (the engine's, for the bookings' parts)
from ..i18n import Localized

B = m.bookings
SLOTS = m.booking_slots
SETUPS = m.site_setups
SITES = m.sites
PD = m.person_days
T = m.tickets
SEQ = m.number_sequences
E = m.events


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


def service_name(site: SiteRuntime, service_id: int) -> Localized:
    """The service's name as a message's parameter: its English in an English answer."""
    code = site.service_codes[service_id]
    service = site.config.service(code)
    return Localized(service.name.vi, service.name.en) if service else Localized(code)
