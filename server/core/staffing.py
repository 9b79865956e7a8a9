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
    holding, today_at, last_closed = _holding(conn, site, today, numbers)
    for user_id, _, counter in holding.values():
        working[counter].add(("user", user_id))
    for counter_id, last, token_id in conn.execute(
        _pressed(today_at)
        .add_columns(E.c.token_id)
        .join(K, K.c.id == E.c.token_id)
        .where(K.c.revoked_at.is_(None), K.c.role == "counter")
        .group_by(E.c.counter_id, E.c.token_id)
    ):
        if last > last_closed.get(counter_id, 0):
            working[numbers[counter_id]].add(("token", token_id))
    return working


def _pressed(today_at):
    return select(E.c.counter_id, func.max(E.c.id)).where(*today_at, E.c.kind.in_(COUNTER_ACTIONS))


def _holding(conn, site: SiteRuntime, today: dt.datetime, numbers: dict[int, int], latest_only: bool = False):
    """The sessions of today at one of the counters ``numbers`` (id -> number) that still hold there
    (docs/admin.md "Who works at a counter"): not ended, and signed in since the counter last closed, or
    whose person pressed a counter's key there since (a close ends a session's hold on its counter).
    ``latest_only``: each person's latest sign-in at a counter only (one person sits at one counter).
    -> ({login event: (user id, name shown, counter number)}, the "today at these counters" clauses,
    {counter id: its last "closed" event today})."""
    today_at = (E.c.site_id == site.id, E.c.at >= today, E.c.counter_id.in_(list(numbers)))
    last_closed = dict(
        conn.execute(
            select(E.c.counter_id, func.max(E.c.id)).where(*today_at, E.c.kind == "closed").group_by(E.c.counter_id)
        ).all()
    )
    user_pressed = {  # (counter id, user id) -> their last press there
        (counter_id, user_id): last
        for counter_id, last, user_id in conn.execute(
            _pressed(today_at)
            .add_columns(E.c.user_id)
            .where(E.c.user_id.is_not(None))
            .group_by(E.c.counter_id, E.c.user_id)
        ).all()
    }
    ids = {number: counter_id for counter_id, number in numbers.items()}
    sessions = _sessions(conn, site, today, set(numbers.values()))
    if latest_only:
        latest = {user_id: login for login, (user_id, _, _) in sessions.items()}  # (oldest first: the last wins)
        sessions = {login: held for login, held in sessions.items() if latest[held[0]] == login}
    holding = {}
    for login, (user_id, shown, counter) in sessions.items():
        since = last_closed.get(ids[counter], 0)
        if login > since or user_pressed.get((ids[counter], user_id), 0) > since:
            holding[login] = (user_id, shown, counter)
    return holding, today_at, last_closed


def _sessions(conn, site: SiteRuntime, today: dt.datetime, counters) -> dict[int, tuple[int, str, int]]:
    """The sessions signed in today at one of ``counters`` (numbers) and not ended, oldest first: their
    login event -> (user id, the name the dashboard shows: full name, else login name, counter number).
    A sign-in that said it was not at a counter (a supervisors' page's form: ``at_counter`` false) is at none."""
    logins = {}
    for login, user_id, username, full_name, detail in conn.execute(
        select(E.c.id, E.c.user_id, U.c.username, U.c.full_name, E.c.detail)
        .join(U, U.c.id == E.c.user_id)
        .where(E.c.site_id == site.id, E.c.kind == "login", E.c.at >= today)
    ):
        detail = detail or {}
        if detail.get("at_counter", True):
            logins[login] = (user_id, username, full_name or username, detail.get("counter"))
    at_counters = {login: username for login, (_, username, _, counter) in logins.items() if counter in counters}
    ended = ended_sessions(conn, at_counters)
    return {
        login: (user_id, shown, counter)
        for login, (user_id, _, shown, counter) in sorted(logins.items())
        if login in at_counters and login not in ended
    }


def signed_in(conn, site: SiteRuntime, now: dt.datetime) -> dict[int, list[str]]:
    """Who is signed in at each counter of ``site`` now, whatever its state: counter number -> names,
    first signed in first. As at_work counts people (docs/admin.md): a session of today that named the
    counter, has not ended, and was signed in since the counter last closed (or its person pressed a
    counter's key there since): a close ends a session's hold there, even of a browser left open. A
    person signed in at two counters is at the one signed in last. So a closed counter with someone
    signed in is mostly one an admin signed in at (only a clerk's sign-in opens a counter): someone is
    there to open it."""
    names: dict[int, list[str]] = {number: [] for number in site.counter_ids}
    for _, shown, counter in _signed_in(conn, site, now):
        names[counter].append(shown)
    return names


def signed_in_at(conn, site: SiteRuntime, user_id: int, now: dt.datetime) -> list[int]:
    """The counters of ``site`` where ``signed_in`` names the user ``user_id`` now (before a change of
    the account ends its sessions: the dashboard is told they signed out there)."""
    return sorted({counter for holder, _, counter in _signed_in(conn, site, now) if holder == user_id})


def signed_in_where(conn, sites: list[SiteRuntime], user_id: int, now: dt.datetime) -> list[tuple[str, int]]:
    """(site id, counter number) of each counter of ``sites`` where ``signed_in`` names the user
    ``user_id`` now: before a change of the account ends its sessions (/admin, the command line), the
    counters whose dashboards are told it signed out. Read only at the sites where the account signed in
    today, as one query finds them: an account of the whole installation is mostly signed in at one
    site, or none. The user's row is locked first (FOR NO KEY UPDATE: it conflicts with a login's FOR
    SHARE, not with the FK checks of the user's other inserts, so their actions neither wait nor
    deadlock): a login of the user under way (auth.record_login locks the row before its event takes an id)
    commits before this reads, and one after waits for the change and gets a later id, which the change
    does not end (PostgreSQL; SQLite has one writer)."""
    if not sites:
        return []
    conn.execute(select(U.c.id).where(U.c.id == user_id).with_for_update(key_share=True))
    since = min(since_local_midnight(where, now) for where in sites)  # (the earliest of their days)
    signed_at = set(
        conn.scalars(
            select(E.c.site_id)
            .where(E.c.site_id.in_([where.id for where in sites]), E.c.at >= since, E.c.kind == "login")
            .where(E.c.user_id == user_id)
            .distinct()
        )
    )
    return [
        (where.id, counter)
        for where in sites
        if where.id in signed_at
        for counter in signed_in_at(conn, where, user_id, now)
    ]


# the session-ending events after an id, and the newest event of all (where to read from next time), in one statement
def _signed_in(conn, site: SiteRuntime, now: dt.datetime):
    """(user id, name shown, counter number) of each session ``signed_in`` counts."""
    numbers = {counter_id: number for number, counter_id in site.counter_ids.items()}
    holding, _, _ = _holding(conn, site, since_local_midnight(site, now), numbers, latest_only=True)
    return holding.values()


def leave(conn, site: SiteRuntime, worker: Worker, by: str, actor: q.Actor | None = None, now=None) -> q.Outcome:
    """Close the counters of ``site`` where ``worker`` is the only one at work; ``by`` (why:
    "user_disabled", "token_revoked") is kept on their ``closed`` events."""
    now = now or q.utcnow()
    happened = []
    for number, workers in sorted(at_work(conn, site, now).items()):
        if workers == {worker}:
            happened += q.close_left_counter(conn, site, number, by, actor, now).happened
    return q.Outcome(None, happened)
