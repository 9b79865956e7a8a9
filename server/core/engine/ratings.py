"""The citizens' ratings: what a counter's rating tablet asks about, storing a rating, reading it."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, insert, select

from .. import models as m
from ..db import SiteRuntime
from ..errors import Invalid, NotFound, QueueError
from ..models import utcnow
from .clock import business_day
from .named_rows import Named
from .prepared import Prepared
from .records import E, R, T, connection, record_event, reload
from .types import NOBODY, Actor, Happened, Outcome
from .views import iso

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# a rating is stored at every other finish: its statements are compiled once and run straight on the
# driver where that is safe (prepared.py, named_rows.py), as a finish's own are
_LAST_FINISH = Named(
    select(E.c.ticket_id, E.c.at, E.c.user_id)
    .where(
        E.c.site_id == bindparam("site_id"),
        E.c.at >= bindparam("since"),
        E.c.counter_id == bindparam("counter_id"),
        E.c.kind == "finished",
    )
    .order_by(E.c.id.desc())
    .limit(1)
)
_TICKET_OF_PUBLIC_ID = Named(
    select(T).where(T.c.public_id == bindparam("public_id"), T.c.site_id == bindparam("site_id"))
)
_RATING_OF_TICKET = Named(select(R.c.id).where(R.c.ticket_id == bindparam("ticket_id")))
_RATING_COLUMNS = (
    "site_id",
    "ticket_id",
    "counter_id",
    "user_id",
    "service_id",
    "token_id",
    "level",
    "reasons",
    "at",
    "business_day",
)
_INSERT_RATING = Prepared(insert(R), keys=_RATING_COLUMNS)
_USERNAME = Named(select(m.users.c.username).where(m.users.c.id == bindparam("user_id")))


def _last_finish(conn, site: SiteRuntime, counter_id: int, since: dt.datetime):
    """The latest "finished" event of a counter since ``since``: (ticket_id, at, user_id) or None."""
    return _LAST_FINISH.first(conn, {"site_id": site.id, "since": since, "counter_id": counter_id})


def rating_view(site: SiteRuntime, ticket_row) -> dict:
    """What a rating tablet may know of a ticket: its number and service, nothing about the person."""
    return {
        "id": ticket_row.public_id,
        "number": ticket_row.number,
        "display": str(ticket_row.number),
        "service": site.service_codes.get(ticket_row.service_id),
    }


def rating_prompt(session: Session, site: SiteRuntime, counter: int, now: dt.datetime | None = None) -> dict | None:
    """What the counter's rating tablet should ask about now: the ticket finished last at the
    counter, while the tablet still asks (``rating.ask_seconds``) and before anyone rated it; else None."""
    now = now or utcnow()
    conn = connection(session)
    settings = site.config.rating
    last = _last_finish(conn, site, site.counter_ids[counter], now - dt.timedelta(seconds=settings.ask_seconds))
    if last is None:
        return None
    if _RATING_OF_TICKET.first(conn, {"ticket_id": last.ticket_id}) is not None:
        return None
    return {
        "ticket": rating_view(site, reload(conn, last.ticket_id)),
        "counter": counter,
        "finished_at": iso(last.at),
        "until": iso(last.at + dt.timedelta(seconds=settings.ask_seconds)),
    }


def rate(
    session: Session,
    site: SiteRuntime,
    public_id: str,
    counter: int,
    level: str,
    reasons: list[str] | None = None,
    actor: Actor | None = None,
    now: dt.datetime | None = None,
) -> Outcome:
    """Store a citizen's rating of ticket ``public_id``, sent by the rating tablet of ``counter``.

    Only the ticket finished last at that counter, within ``rating.window_minutes`` of its
    finish, and only once. The rating keeps the ticket, counter, clerk (who finished it),
    service and time.
    """
    now = now or utcnow()
    conn = connection(session)
    if level not in m.RATING_LEVELS:
        raise Invalid("invalid_field", field="level", problem=", ".join(m.RATING_LEVELS))
    counter_id = site.counter_ids.get(counter)
    if counter_id is None:
        raise NotFound("unknown_counter", counter=counter)
    row = _TICKET_OF_PUBLIC_ID.first(conn, {"public_id": public_id, "site_id": site.id})
    if row is None:
        raise NotFound("unknown_ticket", ticket=public_id)
    if _RATING_OF_TICKET.first(conn, {"ticket_id": row.id}) is not None:
        raise QueueError("already_rated", number=row.number)
    window = dt.timedelta(minutes=site.config.rating.window_minutes)
    last = _last_finish(conn, site, counter_id, now - window)
    if last is None or last.ticket_id != row.id:
        raise QueueError("rating_closed", number=row.number, counter=counter)
    reasons = list(reasons or [])
    actor = actor or NOBODY
    _INSERT_RATING.rows(
        conn,
        dict(
            site_id=site.id,
            ticket_id=row.id,
            counter_id=counter_id,
            user_id=last.user_id,
            service_id=row.service_id,
            token_id=actor.token_id,
            level=level,
            reasons=reasons,
            at=now,
            business_day=business_day(site, now),
        ),
    )
    record_event(
        conn, site, "rated", now, actor, row.id, row.service_id, counter_id, {"level": level, "reasons": reasons}
    )
    view = {
        "ticket": row.public_id,
        "number": row.number,
        "service": site.service_codes.get(row.service_id),
        "counter": counter,
        "clerk": _username(conn, last.user_id),
        "level": level,
        "reasons": reasons,
        "at": iso(now),
    }
    return Outcome(view, [Happened("rating.received", None, counter, {"rating": view})])


def _username(conn, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    row = _USERNAME.first(conn, {"user_id": user_id})
    return None if row is None else row.username


def ticket_rating(session: Session, site: SiteRuntime, public_id: str) -> dict | None:
    """The stored rating of a ticket (for supervisors), or None."""
    conn = connection(session)
    ticket = conn.execute(select(T).where(T.c.public_id == public_id, T.c.site_id == site.id)).first()
    if ticket is None:
        raise NotFound("unknown_ticket", ticket=public_id)
    row = conn.execute(select(R).where(R.c.ticket_id == ticket.id)).first()
    if row is None:
        return None
    return {
        "ticket": ticket.public_id,
        "number": ticket.number,
        "service": site.service_codes.get(row.service_id),
        "counter": site.counter_numbers.get(row.counter_id),
        "clerk": _username(conn, row.user_id),
        "level": row.level,
        "reasons": row.reasons,
        "at": iso(row.at),
    }
