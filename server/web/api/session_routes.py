"""Logging in and out: a clerk's session is bound to one counter.

The login takes JSON only (``Content-Type: application/json``): a form on another site cannot
send that without the browser asking the server first, which it refuses, so no other page can
log a browser in. The login answer carries ``csrf_token``, the header value (``X-CSRFToken``)
that every state-changing call of the new session needs (server/web/api/csrf.py). Wrong
passwords are throttled: past ``ratelimits.LOGIN_ATTEMPTS`` from one address or for one user
name, the login answers 429 ``too_many_logins`` with Retry-After.
"""

from __future__ import annotations

import functools

from flask import jsonify, request, session

from ...core import audit
from ...core import engine as q
from ...core.auth import may_use_site, principal_for_login, record_login
from ..errors import NotJson
from ..extensions import socketio
from ..realtime import later
from . import _problem, bp, current_principal, parse_body, state
from .counters import INT32_MAX
from .csrf import fresh_token, generate_csrf, require_csrf
from .request_model import request_model


@request_model
def LoginRequest():
    from pydantic import BaseModel, ConfigDict, Field

    class LoginRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        username: str = Field(min_length=1, max_length=64)
        password: str = Field(min_length=1, max_length=256)
        counter: int | None = Field(default=None, ge=1, le=INT32_MAX)
        # false: signing in to watch or report (the supervisors' pages), not to work at the account's counter
        at_counter: bool = True

    return LoginRequest


@bp.post("/auth/login")
def login():
    if not request.is_json:
        raise NotJson("json_required")
    body = parse_body(LoginRequest)
    app_state = state()
    # guessing passwords is slowed down per address and per user name (server/web/ratelimits.py); the
    # attempt is counted before the password is checked, so parallel guesses cannot outrun the count
    app_state.limits.count_login(request.remote_addr, body.username)
    refusal = None
    with app_state.Session() as db:
        try:
            user = principal_for_login(db, body.username, body.password)
        except q.QueueError as error:
            refusal = error
    if refusal is not None:  # logged once the read is closed (SQLite has one connection)
        app_state.write(audit.record, "login_failed", username=body.username, address=request.remote_addr)
        raise refusal
    app_state.limits.login_succeeded(request.remote_addr, body.username)
    may_use_site(user, app_state.site)  # a user of another site, or of a retired one: refused here
    counter = body.counter if body.counter is not None else user.counter_number
    if counter is not None and counter not in app_state.site.counter_ids:
        raise q.NotFound("unknown_counter", counter=counter)
    if user.role == "clerk":
        if counter is None:
            raise q.Invalid("invalid_field", field="counter", problem=_problem("clerk_needs_counter"))
        if user.counter_number is not None and counter != user.counter_number:
            raise q.NotAllowed("forbidden_counter", own=user.counter_number, counter=counter)
    # at a counter: a clerk's sign-in, or another's at a counter (named, or the account's own) unless its
    # page says it is not (the dashboard's form: a supervisor signing in there is at none, core/staffing.py)
    at_counter = counter is not None and (user.role == "clerk" or body.at_counter)
    try:  # bad_login if the account changed since the read (auth.record_login): a failed attempt, logged
        login_event = app_state.write(
            record_login,
            user,
            counter=counter,
            at_counter=at_counter,
            address=request.remote_addr,
        )
    except q.NotSignedIn:  # counted again: the attempt given back above did not sign in
        address = request.remote_addr
        app_state.write(audit.record, "login_failed", username=body.username, address=address, reason="account_changed")
        app_state.limits.count_login(address, body.username)
        raise
    session.clear()  # a new session, and with it a new CSRF token
    session["user_id"] = user.id
    session["username"] = user.username  # the same id may name another account later (auth.principal_for_session)
    session["counter"] = counter
    session["login_event"] = login_event  # the session lasts until an event after it ends it (auth.py)
    session["site"] = user.site_id  # kept in its site's cookie, or the installation's (server/web/sessions.py)
    if user.role == "clerk":  # a clerk signing in at a counter opens it (the lobby sees it staffed)
        from . import run

        run(q.open_counter, counter, actor=q.Actor(user_id=user.id))
    tell_dashboard("counter.signed_in", counter if at_counter else None)
    return jsonify(
        {
            "user": user.username,
            "full_name": user.full_name,
            "role": user.role,
            "counter": counter,
            "site": user.site_id,  # None: every site of the installation (as /auth/me)
            "csrf_token": fresh_token(),
        }
    )


@bp.post("/auth/logout")
def logout():
    if "user_id" in session:
        require_csrf()
        # ends this session for good, even for a copy of its cookie (auth.principal_for_session)
        state().write(audit.record, "logout", q.Actor(user_id=session["user_id"]), session=session.get("login_event"))
        tell_dashboard("counter.signed_out", session.get("counter"))
    session.clear()
    return "", 204


def tell_dashboard(event: str, counter: int | None, site_id: str | None = None) -> None:
    """Someone signed in at a counter, or out (also a session /admin ended: admin.py): the dashboard of
    ``site_id`` (the request's site by default) says who is there (reports.live_overview's ``signed_in``,
    e.g. at a counter closed under its clerk), so it takes a fresh snapshot. After the commit, in order
    with the actions' own messages (``later``)."""
    if counter is not None:
        room = f"{site_id or state().site.id}:dashboard"
        later(functools.partial(socketio.emit, event, {"counter": counter}, to=room))


@bp.get("/auth/me")
def me():
    principal = current_principal()
    if principal is None:
        raise q.NotSignedIn("unauthorized")
    answer = {
        "name": principal.name,
        "full_name": principal.full_name,
        "role": principal.role,
        "counter": principal.counter,
        "site": principal.site_id,  # None: every site of the installation
    }
    if principal.user_id is not None:  # a session: the header value its calls need
        answer["csrf_token"] = generate_csrf()
    return jsonify(answer)
