"""Counter actions: next, recall, start, finish, no-show, transfer, pause, resume."""

from __future__ import annotations

from flask import jsonify
from pydantic import BaseModel, ConfigDict, Field

from .. import engine as q
from ..auth import may_act_on_counter, may_watch
from . import _problem, bp, current_principal, parse_body, run, state


class NoBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NextRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: int | None = Field(default=None, ge=1)  # call this number instead of the next in line


class TransferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service: str | None = Field(default=None, min_length=1, max_length=32)
    counter: int | None = Field(default=None, ge=1)


class PauseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(default=None, max_length=200)


def _counter_action(counter: int, action, **kwargs) -> q.Outcome:
    principal = current_principal()
    may_act_on_counter(principal, counter)
    if counter not in state().site.counter_ids:
        raise q.QueueError("unknown_counter", 404, counter=counter)
    return run(action, counter, actor=principal.actor, **kwargs)


def _counter_state(counter: int) -> dict:
    app_state = state()
    with app_state.Session() as db:
        return next(c for c in q.counter_states(db, app_state.site) if c["number"] == counter)


@bp.post("/counters/<int:counter>/next")
def counter_next(counter: int):
    body = parse_body(NextRequest)
    outcome = _counter_action(counter, q.call_next, number=body.number)
    if outcome.ticket is None:
        return "", 204
    return jsonify(outcome.ticket)


def _ticket_action(engine_action):
    def view(counter: int):
        parse_body(NoBody)  # no body expected; a malformed one is still refused
        return jsonify(_counter_action(counter, engine_action).ticket)
    return view


for _name, _action in (("recall", q.recall), ("start", q.start), ("finish", q.finish), ("no-show", q.no_show)):
    bp.add_url_rule(f"/counters/<int:counter>/{_name}", f"counter_{_name.replace('-', '_')}",
                    _ticket_action(_action), methods=["POST"])


@bp.post("/counters/<int:counter>/transfer")
def counter_transfer(counter: int):
    body = parse_body(TransferRequest)
    if (body.service is None) == (body.counter is None):
        raise q.QueueError("invalid_field", 422, field="service",
                           problem=_problem("counter_or_service"))
    return jsonify(_counter_action(counter, q.transfer, service=body.service, to_counter=body.counter).ticket)


@bp.post("/counters/<int:counter>/pause")
def counter_pause(counter: int):
    body = parse_body(PauseRequest)
    _counter_action(counter, q.pause, reason=body.reason)
    return jsonify(_counter_state(counter))


@bp.post("/counters/<int:counter>/resume")
def counter_resume(counter: int):
    parse_body(NoBody)
    _counter_action(counter, q.resume)
    return jsonify(_counter_state(counter))


@bp.get("/counters/<int:counter>")
def counter_detail(counter: int):
    """The counter's state, current ticket and waiting list (the clerk's or keypad's view)."""
    app_state = state()
    if counter not in app_state.site.counter_ids:
        raise q.QueueError("unknown_counter", 404, counter=counter)
    may_watch(current_principal(), "counter", counter)
    with app_state.Session() as db:
        queue = q.counter_queue(db, app_state.site, counter)
    return jsonify({**_counter_state(counter), "queue": queue})
