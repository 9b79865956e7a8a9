"""The audit log: who did what, read from the one append-only ``events`` table.

Counter actions are events already (the engine writes who, which counter, when). Here the
other acts an administrator wants to see are added (logins, failed logins, logouts, users
and tokens made with the command line), and ``recent`` lists them all with names, not ids.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select

from . import engine as q
from . import models as m

E, U, K, T, C = (m.events, m.users, m.api_tokens, m.tickets, m.counters)


def record(conn, site, kind: str, actor: q.Actor | None = None, **detail) -> int:
    """One audit event (``kind`` such as "login_failed"), and its id; ``detail`` never holds a password."""
    actor = actor or q.Actor()
    return conn.execute(
        insert(E).values(
            site_id=site.id,
            kind=kind,
            at=q.utcnow(),
            user_id=actor.user_id,
            token_id=actor.token_id,
            detail=detail or None,
        )
    ).inserted_primary_key[0]


def recent(conn, site, since: dt.datetime | None = None, limit: int = 200) -> list[dict]:
    """The latest events, newest first: every step of every ticket and every audit event."""
    query = (
        select(
            E.c.id,
            E.c.kind,
            E.c.at,
            E.c.detail,
            U.c.username,
            K.c.name.label("token"),
            K.c.role.label("token_role"),
            C.c.number.label("counter"),
            T.c.number.label("ticket"),
        )
        .outerjoin(U, U.c.id == E.c.user_id)
        .outerjoin(K, K.c.id == E.c.token_id)
        .outerjoin(C, C.c.id == E.c.counter_id)
        .outerjoin(T, T.c.id == E.c.ticket_id)
        .where(E.c.site_id == site.id)
        .order_by(E.c.id.desc())
        .limit(limit)
    )
    if since is not None:
        query = query.where(E.c.at >= since)
    return [
        {
            "id": row.id,
            "kind": row.kind,
            "at": q._iso(row.at),
            # (a command's own events say where they came from: "command line")
            "by": row.username
            or (f"{row.token} ({row.token_role} token)" if row.token else None)
            or (row.detail or {}).get("by"),
            "counter": row.counter,
            "ticket": row.ticket,
            "detail": row.detail,
        }
        for row in conn.execute(query)
    ]
