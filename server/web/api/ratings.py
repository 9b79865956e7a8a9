"""Citizens' ratings from the rating tablet at each counter (counter_client/rating.py is its page).

``POST /api/v1/tickets/{id}/rating`` is taken only from a ``rating`` token bound to the
counter that finished the ticket last, within ``rating.window_minutes`` of the finish, once
per ticket. A clerk's login, a counter device and an admin are refused: the person served
rates, not the one serving. The tablet learns of each finish through the Socket.IO room
``{"rating": n}`` (``rating.ask``), which carries the number and service only.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from flask import jsonify
from sqlalchemy.exc import IntegrityError

from ...core import engine as q
from ...core.auth import may_rate, require_role
from ..extensions import socketio
from . import _problem, bp, current_principal, parse_body, run, state
from .request_model import request_model


@request_model
def RatingRequest():
    from pydantic import BaseModel, ConfigDict, Field

    class RatingRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        level: Literal["very_satisfied", "satisfied", "unsatisfied"]
        reasons: list[str] = Field(default_factory=list, max_length=12)

    return RatingRequest


def rating_room(site, counter: int) -> str:
    return f"{site.id}:rating:{counter}"


def ask_for_rating(site, outcome: q.Outcome) -> None:
    """After a committed action: ask the rating tablet of each counter that finished a ticket."""
    seconds = site.config.rating.ask_seconds
    for happened in outcome.happened:
        if happened.kind != "ticket.finished" or happened.counter is None or happened.ticket is None:
            continue
        ticket = happened.ticket
        finished = ticket.get("finished_at")
        until = None
        if finished:
            at = dt.datetime.fromisoformat(finished.removesuffix("Z"))
            until = q._iso(at + dt.timedelta(seconds=seconds))
        socketio.emit(
            "rating.ask",
            {
                "ticket": {key: ticket[key] for key in ("id", "number", "display", "service")},
                "counter": happened.counter,
                "finished_at": finished,
                "until": until,
            },
            to=rating_room(site, happened.counter),
        )


@bp.post("/tickets/<ticket_id>/rating")
def rate_ticket(ticket_id: str):
    body = parse_body(RatingRequest)
    principal = current_principal()
    may_rate(principal, principal.counter if principal is not None else None)  # only a rating tablet
    settings = state().site.config.rating
    if body.reasons and body.level != "unsatisfied":
        raise q.Invalid("invalid_field", field="reasons", problem=_problem("reasons_when_unsatisfied"))
    unknown = [code for code in body.reasons if settings.reason(code) is None]
    if unknown:
        raise q.Invalid(
            "invalid_field",
            field="reasons",
            problem=_problem(
                "unknown_reason", reason=unknown[0], known=", ".join(r.code for r in settings.reasons) or "—"
            ),
        )
    reasons = list(dict.fromkeys(body.reasons))
    site = state().site
    try:
        outcome = run(q.rate, ticket_id, principal.counter, body.level, reasons, actor=principal.actor)
    except IntegrityError:  # the same ticket rated at the same moment by a second request
        raise q.QueueError("already_rated", number="?") from None
    socketio.emit(
        "rating.done", {"ticket": ticket_id, "counter": principal.counter}, to=rating_room(site, principal.counter)
    )
    return jsonify(outcome.ticket), 201


@bp.get("/tickets/<ticket_id>/rating")
def ticket_rating(ticket_id: str):
    """A ticket's rating, for a supervisor or an admin (a clerk does not see single ratings)."""
    require_role(current_principal(), "admin", "supervisor")
    app_state = state()
    with app_state.Session() as db:
        rating = q.ticket_rating(db, app_state.site, ticket_id)
    if rating is None:
        raise q.NotFound("not_rated", ticket=ticket_id)
    return jsonify(rating)
