"""Logging in and out: a clerk's session is bound to one counter.

The login takes JSON only (``Content-Type: application/json``): a form on another site cannot
send that without the browser asking the server first, which it refuses, so no other page can
log a browser in. The login answer carries ``csrf_token``, the header value (``X-CSRFToken``)
that every state-changing call of the new session needs (server/api/csrf.py). Wrong
passwords are throttled: past ``LOGIN_FAILURES`` from one address or for one user name, the
login answers 429 ``too_many_logins`` with Retry-After.
"""

from __future__ import annotations

from flask import jsonify, request, session
from flask_wtf.csrf import generate_csrf
from pydantic import BaseModel, ConfigDict, Field

from .. import audit
from .. import engine as q
from ..auth import principal_for_login
from ..extensions import limiter
from . import _problem, bp, current_principal, parse_body, state
from .csrf import fresh_token, require_csrf


LOGIN_FAILURES = "10/minute;50/hour"  # wrong passwords before a 429 (a clerk mistyping is far below)


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    counter: int | None = Field(default=None, ge=1)


def _login_name() -> str:
    body = request.get_json(silent=True, cache=True)
    name = body.get("username") if isinstance(body, dict) else None
    return f"login-user:{name.strip().lower()}" if isinstance(name, str) else "login-user:-"


def _wrong_password(response) -> bool:
    return response.status_code == 401  # only failed logins count against the limits


@bp.post("/auth/login")
# guessing passwords is slowed down per address and per user name, however many addresses try
@limiter.limit(LOGIN_FAILURES, key_func=lambda: f"login-address:{request.remote_addr}", deduct_when=_wrong_password)
@limiter.limit(LOGIN_FAILURES, key_func=_login_name, deduct_when=_wrong_password)
def login():
    if not request.is_json:
        raise q.QueueError("json_required", 415)
    body = parse_body(LoginRequest)
    app_state = state()
    refusal = None
    with app_state.Session() as db:
        try:
            user = principal_for_login(db, body.username, body.password)
        except q.QueueError as error:
            refusal = error
    if refusal is not None:  # logged once the read is closed (SQLite has one connection)
        app_state.write(audit.record, "login_failed", username=body.username, address=request.remote_addr)
        raise refusal
    counter = body.counter if body.counter is not None else user.counter_number
    if counter is not None and counter not in app_state.site.counter_ids:
        raise q.QueueError("unknown_counter", 404, counter=counter)
    if user.role == "clerk":
        if counter is None:
            raise q.QueueError("invalid_field", 422, field="counter", problem=_problem("clerk_needs_counter"))
        if user.counter_number is not None and counter != user.counter_number:
            raise q.QueueError("forbidden_counter", 403, own=user.counter_number, counter=counter)
    session.clear()  # a new session, and with it a new CSRF token
    session["user_id"] = user.id
    session["counter"] = counter
    app_state.write(audit.record, "login", q.Actor(user_id=user.id), counter=counter, address=request.remote_addr)
    return jsonify({"user": user.username, "role": user.role, "counter": counter, "csrf_token": fresh_token()})


@bp.post("/auth/logout")
def logout():
    if "user_id" in session:
        require_csrf()
        state().write(audit.record, "logout", q.Actor(user_id=session["user_id"]))
    session.clear()
    return "", 204


@bp.get("/auth/me")
def me():
    principal = current_principal()
    if principal is None:
        raise q.QueueError("unauthorized", 401)
    answer = {"name": principal.name, "role": principal.role, "counter": principal.counter}
    if principal.user_id is not None:  # a session: the header value its calls need
        answer["csrf_token"] = generate_csrf()
    return jsonify(answer)
