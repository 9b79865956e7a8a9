"""Who is asking: bearer API tokens, logged-in users, and what each role may do.

Users: admin, supervisor, clerk, province (hashed passwords, session cookie after login).
Tokens: admin, supervisor, counter (bound to one counter), kiosk, display, rating (the citizen
rating tablet of one counter), integration (the city's app or the public-service portal: books and
cancels for citizens, docs/bookings.md), province. Issuing a ticket needs no login; everything that
changes a counter does. Only a rating tablet rates: a clerk, a counter device or an admin cannot.

Sites: a user or token belongs to one site (``site_id``) and is refused at every other
(``may_use_site``), or to the whole installation (``site_id`` None). ``province`` reads what a
supervisor reads, at every site, and changes nothing: the web layer refuses its every write
(``refuse_province_write``), and ``require_role`` counts it as a supervisor for the reads.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.engine import Connection
from werkzeug.security import check_password_hash, generate_password_hash

from . import audit
from . import models as m
from .db import driver_error
from .engine import Actor
from .errors import NotAllowed, NotSignedIn
from .i18n import Phrase

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

USER_ROLES = ("admin", "supervisor", "clerk", "province")
TOKEN_ROLES = ("admin", "supervisor", "counter", "kiosk", "display", "rating", "integration", "province")
READ_ONLY_ROLES = ("province",)  # read every site's dashboard and reports; refused every write
COUNTER_BOUND_ROLES = ("counter", "rating")  # token roles that belong to one counter
TOKEN_PREFIX = "qk_"
# a login name, as /admin's API asks for it (server/web/api/admin.py NewUser): a clerk types it, and
# SQLite's lower() folds only these letters, so the names are alike regardless of case on either database
USERNAME_FORM = re.compile(r"[A-Za-z0-9_.-]{1,64}")

# a real hash (of a discarded random password) to compare against when the user does not exist,
# so timing reveals nothing. A constant: hashing one at import cost every process 0.1-0.6 s of
# scrypt; tests/test_password_hashing.py checks it has the method and cost of new passwords.
_DUMMY_HASH = (
    "scrypt:32768:8:1$ZUfDyxoMzUwHoyWF$cff6f631bb359a4e22cc640f64fb6a0d20156c4385a2081826fb748088e07"
    "aba700d4df12968671dfbde535aa579f9207ab1e64f3ad9047adbf5f492933608bf"
)


@dataclass(frozen=True)
class Principal:
    role: str
    name: str
    counter: int | None = None  # the only counter a clerk or counter token may act on
    kiosk: str | None = None  # the only kiosk a bound kiosk token may act as
    user_id: int | None = None
    token_id: int | None = None
    full_name: str | None = None  # a user's name as people know it (set in /admin)
    site_id: str | None = None  # the only site it may act at; None: every site of the installation
    login_event: int | None = None  # a session's "login" audit event (principal_for_session)

    @property
    def actor(self) -> Actor:
        return Actor(self.user_id, self.token_id)


class AccountRefused(ValueError):
    """An account or token that cannot be made or changed as asked: ``problem``, what is wrong, said in
    each reader's language (the admin API's field, the command line's two lines); its text is English."""

    def __init__(self, key: str, **params):
        self.problem = Phrase(key, **params)
        super().__init__(self.problem.said("en"))


def role_name(role: str) -> Phrase:
    """A role as /admin names it ("Nhân viên quầy", "Clerk"), in the language of the sentence it is in."""
    return Phrase(f"admin_role_{role}")


def role_refused(role: str, field: str | None = None, section: str = "site") -> NotAllowed:
    """403 ``forbidden_role``, naming the role as /admin does rather than by its code; given ``field`` (a
    path of ``section``: "site", "displays"), the field the role may not change, in the body as its path
    and in the sentence as /admin labels it."""
    if field is None:
        return NotAllowed("forbidden_role", role=role_name(role))
    from .field_labels import field_label  # (not at the top: a rare refusal's, not an idle server's)

    label = field_label(field, section)
    return NotAllowed(
        "forbidden_role", role=role_name(role), field=field, label=label, message_key="forbidden_role_field"
    )


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session,
    role: str,
    name: str,
    counter: int | None = None,
    site_id: str | None = None,
    kiosk: str | None = None,
) -> str:
    """Store a new token's hash and return the token itself: it is shown once and never stored."""
    if role not in TOKEN_ROLES:
        raise AccountRefused("problem_role_unknown", known=", ".join(TOKEN_ROLES))
    if (role in COUNTER_BOUND_ROLES) != (counter is not None):
        raise AccountRefused("problem_token_counter")
    if kiosk is not None and role != "kiosk":
        raise AccountRefused("problem_token_kiosk")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        m.ApiToken(
            name=name, role=role, counter_number=counter, kiosk_id=kiosk, site_id=site_id, token_hash=hash_token(token)
        )
    )
    return token


def add_user(
    session: Session, username: str, password: str, role: str, counter: int | None = None, site_id: str | None = None
) -> m.User:
    """A new account; its name (surrounding spaces dropped) must differ from every other one in more
    than case: "Lan" is refused where "lan" exists, as the sign-in takes either for the other."""
    if role not in USER_ROLES:
        raise AccountRefused("problem_role_unknown", known=", ".join(USER_ROLES))
    username = username.strip()
    if not USERNAME_FORM.fullmatch(username):
        raise AccountRefused("problem_login_name_form")
    _check_password(password)
    taken = session.scalars(select(m.User).where(_same_name(username)).order_by(m.User.id)).first()
    if taken is not None:
        key = "problem_username_taken" if taken.username == username else "problem_username_taken_case"
        raise AccountRefused(key, username=taken.username)
    user = m.User(
        username=username,
        password_hash=generate_password_hash(password),
        role=role,
        counter_number=counter,
        site_id=site_id,
    )
    session.add(user)
    return user


def _same_name(username: str):
    """The accounts whose name is ``username`` but for case (the expression of the unique index
    uq_users_username_lower, server/core/models.py)."""
    return func.lower(m.User.username) == func.lower(username)


def find_user(session: Session, username: str, active_only: bool = False, site_id: str | None = None) -> m.User | None:
    """The account named ``username``, in any case and with surrounding spaces: the one of exactly that
    name when there is one, else the one name that differs only in case. A database from before names
    were unique regardless of case may hold two such accounts ("Lan" and "lan": `queuekiosk user list`
    names them); a name that is neither is refused as ambiguous. ``active_only``: among active accounts;
    ``site_id``: among that site's accounts."""
    wanted = username.strip()
    query = select(m.User).where(or_(m.User.username == username, _same_name(wanted)))
    if active_only:
        query = query.where(m.User.active.is_(True))
    if site_id is not None:
        query = query.where(m.User.site_id == site_id)
    found = session.scalars(query.order_by(m.User.id)).all()
    exact = [u for u in found if u.username == username] or [u for u in found if u.username == wanted]
    if exact or len(found) == 1:
        return (exact or found)[0]
    if found:
        raise AccountRefused("problem_username_ambiguous", names=", ".join(u.username for u in found))
    return None


def name_clashes(session: Session) -> list[list[str]]:
    """The groups of account names that differ only in case (kept from before names were unique
    regardless of case), each sorted; none on a database whose unique index is in place."""
    key = func.lower(m.User.username)
    clashing = select(key).group_by(key).having(func.count() > 1)
    groups: dict[str, list[str]] = {}
    for lowered, name in session.execute(
        select(key, m.User.username).where(key.in_(clashing)).order_by(key, m.User.username)
    ):
        groups.setdefault(lowered, []).append(name)
    return list(groups.values())


def revoke_token(session: Session, token_id: int) -> m.ApiToken:
    """Stop a token from working from its next request on (a lost keypad, a stolen tablet)."""
    row = session.get(m.ApiToken, token_id)
    if row is None:
        raise AccountRefused("problem_token_unknown", token=token_id)
    if row.revoked_at is not None:
        raise AccountRefused("problem_token_revoked", token=token_id, name=row.name)
    row.revoked_at = m.utcnow()
    return row


def _user(session: Session, username: str) -> m.User:
    user = find_user(session, username)
    if user is None:
        raise AccountRefused("problem_user_unknown", username=username)
    return user


def set_user_active(session: Session, username: str, active: bool) -> m.User:
    """A disabled user can no longer log in, and a session already open stops working."""
    user = _user(session, username)
    user.active = active
    return user


def set_password(session: Session, username: str, password: str) -> m.User:
    _check_password(password)
    user = _user(session, username)
    user.password_hash = generate_password_hash(password)
    return user


def _check_password(password: str) -> None:
    if len(password) < 8:
        raise AccountRefused("problem_password_short", least=8)


# every request with a bearer token runs this: built once, on the table (no ORM object, no statement
# built per request: the ORM lookup was about half the cost of a counter action's own route code)
_TOKENS = m.api_tokens
_VALID_TOKEN = select(
    _TOKENS.c.id, _TOKENS.c.role, _TOKENS.c.name, _TOKENS.c.counter_number, _TOKENS.c.kiosk_id, _TOKENS.c.site_id
).where(_TOKENS.c.token_hash == bindparam("token_hash"), _TOKENS.c.revoked_at.is_(None))


def principal_for_token(db: Session | Connection, token: str) -> Principal:
    """The holder of a token not revoked, read afresh (one statement): a revoked token is refused
    from its next request on, whichever process revoked it."""
    row = _valid_token(_connection(db), hash_token(token))
    if row is None:
        raise NotSignedIn("bad_token")
    token_id, role, name, counter, kiosk, site_id = row
    return Principal(role, name, counter, kiosk=kiosk, token_id=token_id, site_id=site_id)


_valid_token_sql: dict = {}  # dialect -> _VALID_TOKEN's SQL (SQLite)


def _valid_token(conn: Connection, token_hash: str) -> tuple | None:
    """_VALID_TOKEN's row. On SQLite, outside a transaction, straight on the cursor: the one SELECT is
    its own read transaction, without SQLAlchemy's BEGIN and ROLLBACK around it (a quarter of the cost;
    its columns are plain integers and text, nothing to convert)."""
    if conn.dialect.name != "sqlite" or conn.in_transaction():
        return conn.execute(_VALID_TOKEN, {"token_hash": token_hash}).first()
    sql = _valid_token_sql.get(conn.dialect)
    if sql is None:
        sql = _valid_token_sql[conn.dialect] = str(_VALID_TOKEN.compile(dialect=conn.dialect))
    dbapi = conn.dialect.loaded_dbapi
    try:
        cursor = conn.connection.dbapi_connection.execute(sql, (token_hash,))
        try:
            return cursor.fetchone()
        finally:
            cursor.close()
    except dbapi.Error as error:  # as SQLAlchemy raises it (a busy or broken database: 503 with a sentence)
        raise driver_error(conn, sql, (token_hash,), error) from error


def _connection(db: Session | Connection) -> Connection:
    return db if isinstance(db, Connection) else db.connection()


def principal_for_login(session: Session, username: str, password: str) -> m.User:
    """The active account ``username`` names in any case ("Lan" signs in "lan"), if the password is its own."""
    try:
        user = find_user(session, username, active_only=True)
    except AccountRefused:  # two active accounts differ from it only in case: neither is taken for it
        user = None
    if not check_password_hash(user.password_hash if user else _DUMMY_HASH, password) or user is None:
        raise NotSignedIn("bad_login")
    return user


# what principal_for_login and the login route's checks read of the account
_LOGIN_CHECKED = ("password_hash", "active", "role", "counter_number", "site_id")


def record_login(conn: Connection, site, seen: m.User, **detail) -> int:
    """The "login" event of ``seen`` (the account as principal_for_login read it, its password checked
    there), and its id; ``bad_login`` if the account changed since that read (a password changed, the
    account disabled or moved in between: a session of the old one would outlive the change). The row
    is locked FOR SHARE before the event takes its id: a change under way (staffing.signed_in_where
    locks it FOR NO KEY UPDATE) commits first and is seen here, or waits and ends this login."""
    columns = [m.users.c[name] for name in _LOGIN_CHECKED]
    current = conn.execute(select(*columns).where(m.users.c.id == seen.id).with_for_update(read=True)).first()
    if current is None or tuple(current) != tuple(getattr(seen, name) for name in _LOGIN_CHECKED):
        raise NotSignedIn("bad_login")
    return audit.record(conn, site, "login", Actor(user_id=seen.id), **detail)


# audit events after which a session opened before them no longer works (server/core/audit.py); "user_added":
# an account made again under the name of one removed with its site (a saved cookie names it)
SESSION_ENDING_EVENTS = ("logout", "password_changed", "user_disabled", "user_changed", "user_added")


_USERS = m.users
_SESSION_USER = select(_USERS.c.role, _USERS.c.username, _USERS.c.full_name, _USERS.c.site_id).where(
    _USERS.c.id == bindparam("user_id"), _USERS.c.active.is_(True)
)
_EVENTS = m.events
# the session-ending events after an id, and the newest event of all (where to start next time), in one statement
_ENDING_SINCE = select(_EVENTS.c.id, _EVENTS.c.kind, _EVENTS.c.detail).where(
    _EVENTS.c.id > bindparam("after"),
    or_(
        _EVENTS.c.kind.in_(SESSION_ENDING_EVENTS),
        _EVENTS.c.id == select(func.max(_EVENTS.c.id)).scalar_subquery(),
    ),
)
# How far back a session's next check reads again: PostgreSQL hands out event ids before commit, so
# an event may commit after one with a higher id was seen; no transaction lasts this long.
RECHECK_OVERLAP_SECONDS = 60.0
SESSION_CHECKS_KEPT = 5000  # sessions whose checks a process remembers (each a few ids)


class _SessionChecks:
    """What the session checks of this process have read of the events, per session (its login
    event): a request reads only the events since the newest one seen at a check made at least
    ``RECHECK_OVERLAP_SECONDS`` before, not every session-ending event since the login (the events
    have no index on their kind, and a session lasts the day)."""

    def __init__(self):
        self.tops: dict[int, list[tuple[float, int]]] = {}  # login -> [(when, newest event id)], oldest first
        self.ended: set[int] = set()

    def read_from(self, login: int, now: float) -> int:
        checks = self.tops.get(login, ())
        settled = [top for at, top in checks if now - at >= RECHECK_OVERLAP_SECONDS]
        return max(login, settled[-1]) if settled else login

    def seen(self, login: int, now: float, top: int) -> None:
        if len(self.tops) >= SESSION_CHECKS_KEPT and login not in self.tops:
            self.tops.clear()  # a rare reset: every session reads from its login once more
            self.ended.clear()
        checks = self.tops.setdefault(login, [])
        checks.append((now, top))
        # keep the newest check that is settled, and those after it
        settled = [i for i, (at, _top) in enumerate(checks) if now - at >= RECHECK_OVERLAP_SECONDS]
        if settled:
            del checks[: settled[-1]]
        if len(checks) > 8:  # many requests within the overlap: one per few seconds is enough to keep
            del checks[1:-4]


_session_checks = _SessionChecks()


def principal_for_session(session: Session | Connection, cookie) -> Principal | None:
    """The user of a session cookie (``user_id``, ``username``, ``counter``, ``login_event``) while
    the session lasts: it ends at its own logout, and at any change of the user's password, account
    or role made after the login, even for a cookie someone saved. ``login_event`` is the id of the
    session's "login" audit event: the events after it tell whether one of those happened (read
    since what this process's previous checks of the session read, ``_SessionChecks``). The user
    must still bear the cookie's name: on SQLite a user removed with its site may leave its id to
    a new account (server/core/sites.py remove_site)."""
    user_id, login_event, username = cookie.get("user_id"), cookie.get("login_event"), cookie.get("username")
    if user_id is None or login_event is None or username is None:  # a cookie from before (signed in again)
        return None
    if login_event in _session_checks.ended:
        return None
    conn = _connection(session)
    user = conn.execute(_SESSION_USER, {"user_id": user_id}).first()
    if user is None or user.username != username:
        return None
    now = time.monotonic()
    top = after = _session_checks.read_from(login_event, now)
    for event_id, kind, detail in conn.execute(_ENDING_SINCE, {"after": after}):
        top = max(top, event_id)
        if kind in SESSION_ENDING_EVENTS and _ends(login_event, user.username, event_id, kind, detail):
            _session_checks.ended.add(login_event)
            return None
    _session_checks.seen(login_event, now, top)
    return Principal(
        user.role,
        user.username,
        cookie.get("counter"),
        user_id=user_id,
        full_name=user.full_name,
        site_id=user.site_id,
        login_event=login_event,
    )


def _ends(login: int, username: str, event_id: int, kind: str, detail) -> bool:
    """Whether a session-ending event ends the session of ``login``: its own logout, or a change of its
    user (one whose detail is not an object names neither, and ends none)."""
    detail = detail if isinstance(detail, dict) else {}
    return event_id > login and (
        detail.get("session") == login if kind == "logout" else detail.get("username") == username
    )


def ended_sessions(db: Session | Connection, logins: dict[int, str]) -> set[int]:
    """Those of ``logins`` (a session's login event -> its user name) that ended since: their own
    logout, or a change of that user's password, account or role made after the login."""
    if not logins:
        return set()
    later = db.execute(
        select(_EVENTS.c.id, _EVENTS.c.kind, _EVENTS.c.detail).where(
            _EVENTS.c.id > min(logins), _EVENTS.c.kind.in_(SESSION_ENDING_EVENTS)
        )
    )
    ended = set()
    for event_id, kind, detail in later:
        for login, username in logins.items():
            if _ends(login, username, event_id, kind, detail):
                ended.add(login)
    return ended


_NEWEST_EVENT = select(func.max(_EVENTS.c.id))
_LIVE_TOKENS = select(_TOKENS.c.id).where(
    _TOKENS.c.id.in_(bindparam("ids", expanding=True)), _TOKENS.c.revoked_at.is_(None)
)
_ACTIVE_USERS = select(_USERS.c.id).where(_USERS.c.id.in_(bindparam("ids", expanding=True)), _USERS.c.active.is_(True))


class SessionWatch:
    """One look a round at the session-ending events (server/web/realtime.py follow_session_ends) for
    both things a server process follows in them: which of its live connections lapsed (a token
    revoked, a user disabled, a session ended since they connected: a Socket.IO connection resolves
    its caller once, at connect, and outlives that), and the sign-outs another process recorded on a
    change of an account (``queuekiosk user password``, ``disable``: ``signed_out`` in its event), for
    its dashboards. A round reads only the events since the newest id of two rounds before, not all
    of them since the oldest login of a connection open for weeks (the events have no index on their
    kind): the overlap of one round sees an event committed a little after one with a higher id
    (PostgreSQL hands out ids before commit). A connection seen for the first time is checked from
    its login once."""

    def __init__(self):
        self.known: set = set()  # the keys of the previous round
        self.tops: list[int | None] = [None, None]  # the newest event id at the last two rounds, older first
        self.told: set[int] = set()  # the sign-out events told, after the oldest of those tops

    def round(self, conn: Connection, principals: dict) -> tuple[list, list[tuple[str, int]]]:
        """The keys of ``principals`` (key -> the Principal of a signed-in client) that lapsed, and the
        (site id, counter number) of each sign-out recorded since the previous round (none at the first:
        it only finds where to start)."""
        settled = self.tops[0]
        telling_from = settled if settled is not None else self.tops[1]
        logins = {key: (p.login_event, p.name) for key, p in principals.items() if p.login_event is not None}
        seen = {login: name for key, (login, name) in logins.items() if key in self.known and settled is not None}
        fresh = {login: name for key, (login, name) in logins.items() if key not in self.known or settled is None}
        starts = [*fresh, *([] if telling_from is None else [telling_from])]
        every = {**seen, **fresh}
        ended, signed_out, told = set(), [], set()
        if not starts:  # the first round, with nobody signed in: only where to start
            top = conn.scalar(_NEWEST_EVENT) or 0
        else:  # one read from the oldest of those starts
            top = min(starts)
            for event_id, kind, detail in conn.execute(_ENDING_SINCE, {"after": top}):
                top = max(top, event_id)
                if kind not in SESSION_ENDING_EVENTS:  # (the newest event, read for ``top``)
                    continue
                unread = fresh if settled is None or event_id <= settled else every  # (seen: read up to settled)
                ended.update(login for login, name in unread.items() if _ends(login, name, event_id, kind, detail))
                if telling_from is not None and event_id > telling_from and event_id not in self.told:
                    told.add(event_id)
                    signed_out += _signed_out(event_id, kind, detail)
        lapsed = _lapsed(conn, principals, ended)
        self.known, self.tops = set(logins), [self.tops[1], top]
        self.told = {event_id for event_id in self.told if event_id > (telling_from or 0)} | told
        return lapsed, signed_out


def _signed_out(event_id: int, kind: str, detail) -> list[tuple[str, int]]:
    """The (site id, counter number) pairs of an event's ``signed_out``. Entries of another shape are
    skipped and logged (once: an event is told once): one bad event must not stop every round, each of
    which would read it again."""
    if detail is not None and not isinstance(detail, dict):
        log.warning("event %s (%s): its detail is not an object, so no signed_out; skipped", event_id, kind)
        return []
    entries = (detail or {}).get("signed_out", [])
    if not isinstance(entries, list):
        log.warning("event %s (%s): signed_out is not a list of [site, counter]; skipped", event_id, kind)
        return []
    pairs = [tuple(entry) for entry in entries if _is_site_counter(entry)]
    if len(pairs) < len(entries):
        bad = len(entries) - len(pairs)
        log.warning("event %s (%s): %s entries of signed_out are not [site, counter]; skipped", event_id, kind, bad)
    return pairs


def _is_site_counter(entry) -> bool:
    return (
        isinstance(entry, list)
        and len(entry) == 2
        and isinstance(entry[0], str)
        and isinstance(entry[1], int)
        and not isinstance(entry[1], bool)
    )


def _lapsed(conn: Connection, principals: dict, ended: set[int]) -> list:
    """The keys of ``principals`` whose token was revoked, whose user was disabled, or whose session is
    among ``ended`` (login events)."""
    tokens = [p.token_id for p in principals.values() if p.token_id is not None]
    users = [p.user_id for p in principals.values() if p.user_id is not None]
    live_tokens = set(conn.scalars(_LIVE_TOKENS, {"ids": tokens})) if tokens else set()
    active_users = set(conn.scalars(_ACTIVE_USERS, {"ids": users})) if users else set()
    return [
        key
        for key, p in principals.items()
        if (p.token_id is not None and p.token_id not in live_tokens)
        or (p.user_id is not None and p.user_id not in active_users)
        or p.login_event in ended
    ]


def may_act_on_counter(principal: Principal | None, counter: int, *, closing: bool = False) -> None:
    """Raise unless ``principal`` may change ``counter``. ``closing``: a supervisor signed in (the
    dashboard) may also close any counter of its site, one left open by a clerk who signed out, was
    disabled or lost the device's token (a number it holds goes back to the queue only when the close
    names it: engine.close_counter). A supervisor's token, given to report programs, stays read-only."""
    if principal is None:
        raise NotSignedIn("unauthorized")
    if principal.role == "admin":
        return
    if closing and principal.role == "supervisor":
        if principal.user_id is None:
            raise NotAllowed("supervisor_token_no_close")
        return
    if principal.role not in ("clerk", "counter"):
        raise role_refused(principal.role)
    if principal.counter != counter:
        raise NotAllowed("forbidden_counter", own=principal.counter, counter=counter)


def may_act_as_kiosk(principal: Principal, kiosk: str | None, *, bound: bool = False) -> None:
    """Raise unless a kiosk token may act as ``kiosk``: a bound token only as its own kiosk, and
    where ``bound`` (a kiosk agent, a reprint) only a bound one. Other roles are checked elsewhere."""
    if principal.role != "kiosk":
        return
    if principal.kiosk is None:
        if bound:
            raise NotAllowed("kiosk_token_unbound", kiosk=kiosk or "")
        return
    if kiosk != principal.kiosk:
        raise NotAllowed("forbidden_kiosk", own=principal.kiosk, kiosk=kiosk or "")


def require_role(principal: Principal | None, *roles: str) -> Principal:
    """Raise unless someone signed in with one of ``roles``; ``province`` counts as ``supervisor``
    (it reaches only reads: its writes are refused before, ``refuse_province_write``)."""
    if principal is None:
        raise NotSignedIn("unauthorized")
    if principal.role not in roles and not (principal.role == "province" and "supervisor" in roles):
        raise role_refused(principal.role)
    return principal


def may_use_site(principal: Principal | None, site, *, acting: bool = True, reading_history: bool = False) -> None:
    """Raise unless ``principal`` (when there is one) belongs to ``site`` (a SiteRuntime) or to every
    site; the accounts and devices of a retired site act nowhere (the installation's still read it).
    ``acting=False``: a live connection only, which a retired site's kiosk still opens to hear that
    it is retired (what it may watch is checked at each subscription). ``reading_history``: a look
    at the site's reports, which an admin or supervisor of the site a retired site's citizens were
    sent to (its successor, sites.link_successors) may have too: that site took over its work."""
    if principal is None or principal.site_id is None:
        return
    if principal.site_id != site.id:
        if reading_history and principal.role in ("admin", "supervisor") and successor_of(site) == principal.site_id:
            return
        raise NotAllowed("forbidden_site", own=principal.site_id, site=site.id)
    if acting and site.config.site.retired:
        if principal.role == "kiosk":  # a citizen at its kiosk hears where to go, not about accounts
            raise site.retired_refusal()
        raise NotAllowed("site_retired_account", site=site.config.site.name)


def successor_of(site) -> str | None:
    """The id of the serving site a retired ``site`` sends its citizens to, or None."""
    return site.successor.id if site.config.site.retired and site.successor else None


def refuse_province_write(principal: Principal | None) -> None:
    """A read-only role (``province``) changes nothing, at any site."""
    if principal is not None and principal.role in READ_ONLY_ROLES:
        raise NotAllowed("province_read_only")


def may_watch(principal: Principal | None, room: str, counter: int | None = None) -> None:
    """Who may subscribe to which live room: displays, kiosks and tickets are public; counters and the dashboard are not."""
    if room in ("display", "kiosk", "ticket"):
        return
    if principal is None:
        raise NotSignedIn("unauthorized")
    if principal.role in ("admin", "supervisor", "province"):
        return
    if room == "rating":  # the rating tablet of that counter
        may_rate(principal, counter)
        return
    if room == "counter":
        may_act_on_counter(principal, counter)
        return
    raise role_refused(principal.role)


def may_rate(principal: Principal | None, counter: int) -> None:
    """Raise unless ``principal`` is the rating tablet of ``counter``: nobody else rates, least of all a clerk."""
    if principal is None:
        raise NotSignedIn("unauthorized")
    if principal.role != "rating":
        raise role_refused(principal.role)
    if principal.counter != counter:
        raise NotAllowed("forbidden_counter", own=principal.counter, counter=counter)
