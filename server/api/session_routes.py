"""Logging in and out: a clerk's session is bound to one counter."""

from __future__ import annotations

from flask import jsonify, session
from pydantic import BaseModel, ConfigDict, Field

from .. import engine as q
from ..auth import principal_for_login
from . import _problem, bp, current_principal, parse_body, state


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    counter: int | None = Field(default=None, ge=1)


@bp.post("/auth/login")
def login():
    body = parse_body(LoginRequest)
    app_state = state()
    with app_state.Session() as db:
        user = principal_for_login(db, body.username, body.password)
    counter = body.counter if body.counter is not None else user.counter_number
    if counter is not None and counter not in app_state.site.counter_ids:
        raise q.QueueError("unknown_counter", 404, counter=counter)
    if user.role == "clerk":
        if counter is None:
            raise q.QueueError("invalid_field", 422, field="counter", problem=_problem("clerk_needs_counter"))
        if user.counter_number is not None and counter != user.counter_number:
            raise q.QueueError("forbidden_counter", 403, own=user.counter_number, counter=counter)
    session.clear()
    session["user_id"] = user.id
    session["counter"] = counter
    return jsonify({"user": user.username, "role": user.role, "counter": counter})


@bp.post("/auth/logout")
def logout():
    session.clear()
    return "", 204


@bp.get("/auth/me")
def me():
    principal = current_principal()
    if principal is None:
        raise q.QueueError("unauthorized", 401)
    return jsonify({"name": principal.name, "role": principal.role, "counter": principal.counter})
