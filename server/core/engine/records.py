"""The rows every command reads and writes: the tables, the event log, the ticket state machine
and the locked counter row."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, insert, literal_column, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ClauseElement

from .. import models as m
from ..db import SiteRuntime
from ..errors import NotFound, QueueError
from .named_rows import Named
from .prepared import Prepared
from .types import NOBODY, Actor

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

T = m.tickets
E = m.events
C = m.counters
S = m.services
SEQ = m.number_sequences
R = m.ratings

# legal moves of the ticket state machine; recall keeps "called", transfer puts the ticket back to
# "waiting" in another queue. "expired" is reached only from "waiting", at the end of the day
# (day_end.expire_past_days), never by a counter.
TRANSITIONS = {
    "waiting": {"called"},
    "called": {"called", "serving", "done", "no_show", "waiting"},
    "serving": {"done", "waiting"},
    "done": set(),
    "no_show": set(),
}

# built once: issuing and the counter's commands are the hot path, and building a statement costs
# more than running it on SQLite (see numbering.py)
_INSERT_EVENT = Prepared(
    insert(E), keys=("site_id", "kind", "at", "ticket_id", "service_id", "counter_id", "user_id", "token_id", "detail")
)
# FOR UPDATE serialises two presses on one counter (PostgreSQL; SQLite's BEGIN IMMEDIATE already does)
# FOR UPDATE, not FOR NO KEY UPDATE: a transfer to the counter holds a KEY SHARE lock on its row until it
# commits (the foreign key check of tickets.target_counter_id), which only FOR UPDATE conflicts with, so a
# close waits for a transfer under way and then sends that number back (counter_actions
# ._send_back_transferred); a weaker lock, or dropping that foreign key, would let the close miss it and
# strand the number on a closed counter (tests/test_pg_counter_close.py)
# (these three run straight on the database's cursor, named_rows.py: every press of a clerk reads them)
_COUNTER_ROW = Named(select(C).where(C.c.id == bindparam("counter_id")).with_for_update())
# the held states written into the statement, not bound: the database then finds a counter's ticket through
# the partial index uq_tickets_held_by_counter (status IN ('called', 'serving')), which SQLite uses only
# where the query states the index's own condition; with the states as parameters it read every ticket
# ever issued at each press (8.7k presses of 19 simulated days: 10 s of scans)
HELD_STATUS = T.c.status.in_([literal_column(f"'{state}'") for state in m.HELD_STATES])
_HELD_TICKET = Named(select(T).where(T.c.counter_id == bindparam("counter_id"), HELD_STATUS))
_TICKET = Named(select(T).where(T.c.id == bindparam("ticket_id")))
_SET_TICKET = update(T).where(T.c.id == bindparam("ticket_id"), T.c.status == bindparam("expected_status"))
SET_COUNTER = update(C).where(C.c.id == bindparam("counter_id"))  # the columns to set are the other parameters


@functools.cache
def _set_ticket_of(columns: tuple[str, ...]) -> Prepared:
    """_SET_TICKET compiled for setting ``columns`` (a few sets in all: start, recall, ...)."""
    return Prepared(_SET_TICKET, keys=columns)


def connection(db: Session | Connection) -> Connection:
    """Engine functions take an ORM Session or a Core Connection, inside the caller's transaction."""
    return db if isinstance(db, Connection) else db.connection()  # (a Session: the ORM is loaded already)


def record_event(
    conn, site, kind, now, actor: Actor | None, ticket_id=None, service_id=None, counter_id=None, detail=None
):
    actor = actor or NOBODY
    _INSERT_EVENT.execute(
        conn,
        {
            "site_id": site.id,
            "kind": kind,
            "at": now,
            "ticket_id": ticket_id,
            "service_id": service_id,
            "counter_id": counter_id,
            "user_id": actor.user_id,
            "token_id": actor.token_id,
            "detail": detail,
        },
    )


def counter_row(conn, site: SiteRuntime, number: int):
    counter_id = site.counter_ids.get(number)
    if counter_id is None:
        raise NotFound("unknown_counter", counter=number)
    return _COUNTER_ROW.one(conn, {"counter_id": counter_id})


def held_ticket(conn, counter_id: int):
    return _HELD_TICKET.first(conn, {"counter_id": counter_id})


def require_held(conn, counter) -> Any:
    held = held_ticket(conn, counter.id)
    if held is None:
        raise QueueError("no_current_ticket", counter=counter.number)
    return held


def set_ticket(conn, ticket_id: int, expected_status: str, **values) -> None:
    new_status = values.get("status", expected_status)
    if new_status not in TRANSITIONS[expected_status]:  # a bug in the caller: refuse rather than corrupt
        raise QueueError("internal")
    if any(isinstance(value, ClauseElement) for value in values.values()):  # an SQL expression: built here
        result = conn.execute(update(T).where(T.c.id == ticket_id, T.c.status == expected_status).values(**values))
        changed = result.rowcount
    else:  # the columns to set are the parameters' other keys (a few sets in all: start, recall, ...)
        statement = _set_ticket_of(tuple(values))
        changed = statement.changed(conn, {"ticket_id": ticket_id, "expected_status": expected_status, **values})
    if changed != 1:  # cannot happen under the row lock; refuse rather than corrupt
        raise QueueError("internal")


def actor_columns(step: str, actor: Actor | None) -> dict:
    """The ticket's record of who made a step (``called_by``, ``ended_by``), as its event has it."""
    actor = actor or NOBODY
    return {f"{step}_user_id": actor.user_id, f"{step}_token_id": actor.token_id}


def reload(conn, ticket_id: int):
    return _TICKET.one(conn, {"ticket_id": ticket_id})
