"""Who works at a counter, as the server can tell, and closing the counters a clerk or a device leaves.

Nothing at a counter says who sits there; the event log says part of it. A clerk's sign-in names
its counter (the "login" audit event) and holds until that session ends (its logout, the account
disabled or changed: auth.ended_sessions); a device (a keypad's counter token) shows only by what it
does at the counter. So those at work at a counter that is not closed are taken to be the people
whose session signed in there today and has not ended, and who signed in since the counter last
closed or pressed a counter's key there since (a clerk whose counter was closed under them and who
pressed "next" again), and the counter devices (tokens of role "counter", not revoked) that pressed a
counter's key there since it last closed. A rating tablet's ratings, or an admin program's presses,
are nobody at work. A browser closed without signing out cannot be told from one still open: its
session counts as someone at work until the counter closes or the day ends (docs/admin.md).

``leave`` closes the counters where a clerk being disabled, or a device whose token is being
revoked, is the only one at work (engine.close_left_counter: a number held goes back to the queue);
where a colleague is still signed in, or another device acted, the counter stays open for a
supervisor to close from the dashboard. It runs before the change is recorded: the change's own
event ends the sessions read here.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from . import engine as q
from . import models as m
from .auth import ended_sessions
from .db import SiteRuntime
from .engine.clock import since_local_midnight

E, C, U, K = m.events, m.counters, m.users, m.api_tokens

Worker = tuple[str, int]  # ("user", id) or ("token", id)


# a clerk's or a keypad's own presses at a counter (not "closed", "requeued": a supervisor's; not "rated")
COUNTER_ACTIONS = ("opened", "called", "recalled", "started", "finished", "no_show", "transferred", "paused", "resumed")


def at_work(conn, site: SiteRuntime, now: dt.datetime) -> dict[int, set[Worker]]:
    """Who works at each counter of ``site`` not closed: counter number -> workers (none: nobody)."""
    today = since_local_midnight(site, now)
    numbers = dict(
        conn.execute(
            select(C.c.id, C.c.number).where(C.c.site_id == site.id, C.c.active.is_(True), C.c.state != "closed")
        ).all()
    )
    working: dict[int, set[Worker]] = {number: set() for number in numbers.values()}
    today_at = (E.c.site_id == site.id, E.c.at >= today, E.c.counter_id.in_(list(numbers)))
    last_closed = dict(
        conn.execute(
            select(E.c.counter_id, func.max(E.c.id)).where(*today_at, E.c.kind == "closed").group_by(E.c.counter_id)
        ).all()
    )
    pressed = select(E.c.counter_id, func.max(E.c.id)).where(*today_at, E.c.kind.in_(COUNTER_ACTIONS))
    user_pressed = {  # (counter id, user id) -> their last press there
        (counter_id, user_id): last
        for counter_id, last, user_id in conn.execute(
            pressed.add_columns(E.c.user_id).where(E.c.user_id.is_not(None)).group_by(E.c.counter_id, E.c.user_id)
        ).all()
    }
    ids = {number: counter_id for counter_id, number in numbers.items()}
    for login, (user_id, _, counter) in _sessions(conn, site, today, working).items():
        since = last_closed.get(ids[counter], 0)
        if login > since or user_pressed.get((ids[counter], user_id), 0) > since:
            working[counter].add(("user", user_id))
    for counter_id, last, token_id in conn.execute(
        pressed.add_columns(E.c.token_id)
        .join(K, K.c.id == E.c.token_id)
        .where(K.c.revoked_at.is_(None), K.c.role == "counter")
        .group_by(E.c.counter_id, E.c.token_id)
    ):
        if last > last_closed.get(counter_id, 0):
            working[numbers[counter_id]].add(("token", token_id))
    return working


def _sessions(conn, site: SiteRuntime, today: dt.datetime, counters) -> dict[int, tuple[int, str, int]]:
    """The sessions signed in today at one of ``counters`` (numbers) and not ended: their login event ->
    (user id, the name the dashboard shows: full name, else login name, counter number)."""
    logins = {
        login: (user_id, username, full_name or username, (detail or {}).get("counter"))
        for login, user_id, username, full_name, detail in conn.execute(
            select(E.c.id, E.c.user_id, U.c.username, U.c.full_name, E.c.detail)
            .join(U, U.c.id == E.c.user_id)
            .where(E.c.site_id == site.id, E.c.kind == "login", E.c.at >= today)
        )
    }
    at_counters = {login: username for login, (_, username, _, counter) in logins.items() if counter in counters}
    ended = ended_sessions(conn, at_counters)
    return {
        login: (user_id, shown, counter)
        for login, (user_id, _, shown, counter) in sorted(logins.items())
        if login in at_counters and login not in ended
    }


def signed_in(conn, site: SiteRuntime, now: dt.datetime) -> dict[int, list[str]]:
    """Who is signed in at each counter of ``site`` now (a session of today that named it and has not
    ended), whatever its state: counter number -> names, first signed in first. A counter closed under a
    clerk (the dashboard's close), or where an admin signed in (only a clerk's sign-in opens it), is not
    staffed, but someone is there to open it (their first "next" does); a browser closed without signing
    out counts until the day ends."""
    numbers = list(site.counter_ids)
    names: dict[int, list[str]] = {number: [] for number in numbers}
    for _, shown, counter in _sessions(conn, site, since_local_midnight(site, now), numbers).values():
        if shown not in names[counter]:  # (signed in twice: on two screens, or again after a reload)
            names[counter].append(shown)
    return names


def leave(conn, site: SiteRuntime, worker: Worker, by: str, actor: q.Actor | None = None, now=None) -> q.Outcome:
    """Close the counters of ``site`` where ``worker`` is the only one at work; ``by`` (why:
    "user_disabled", "token_revoked") is kept on their ``closed`` events."""
    now = now or q.utcnow()
    happened = []
    for number, workers in sorted(at_work(conn, site, now).items()):
        if workers == {worker}:
            happened += q.close_left_counter(conn, site, number, by, actor, now).happened
    return q.Outcome(None, happened)
