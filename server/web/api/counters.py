"""Counter actions: next, recall, start, finish, no-show, transfer, pause, resume; the clerk's day.

Every action may carry an ``Idempotency-Key`` header (server/web/api/idempotency.py): the keypad
client sends one per key press, so an action repeated after a lost answer is done once.
"""

from __future__ import annotations

from flask import jsonify, request

from ...core import engine as q
from ...core.auth import may_act_on_counter, may_watch, role_refused
from ...core.i18n import pick_language
from ..errors import error_body, status_of
from ..realtime import later
from . import _problem, bp, current_principal, parse_body, state
from .idempotency import run_once
from .ratings import ask_for_rating
from .request_model import request_model

# the largest number an integer column holds on PostgreSQL (int4); larger ones are refused as input
INT32_MAX = 2**31 - 1


@request_model(empty={})  # start, finish, no-show...: a press with no body loads no pydantic
def NoBody():
    from pydantic import BaseModel, ConfigDict

    class NoBody(BaseModel):
        model_config = ConfigDict(extra="forbid")

    return NoBody


@request_model(empty={"number": None})
def NextRequest():
    from pydantic import BaseModel, ConfigDict, Field

    class NextRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        number: int | None = Field(default=None, ge=1, le=INT32_MAX)  # call this number instead of the next in line

    return NextRequest


@request_model
def TransferRequest():
    from pydantic import BaseModel, ConfigDict, Field

    class TransferRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        service: str | None = Field(default=None, min_length=1, max_length=32)
        counter: int | None = Field(default=None, ge=1, le=INT32_MAX)

    return TransferRequest


@request_model(empty={"requeue": None, "finish": None})
def CloseRequest():
    from pydantic import BaseModel, ConfigDict, Field

    class CloseRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        # the number the counter holds (as the dashboard showed it): back to the waiting list, or ended as served
        requeue: int | None = Field(default=None, ge=1, le=INT32_MAX, strict=True)
        finish: int | None = Field(default=None, ge=1, le=INT32_MAX, strict=True)

    return CloseRequest


@request_model(empty={"reason": None})
def PauseRequest():
    from pydantic import BaseModel, ConfigDict, Field

    class PauseRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        reason: str | None = Field(default=None, max_length=200)

    return PauseRequest


def _ticket_answer(_conn, _site, outcome: q.Outcome):
    return (204, None) if outcome.ticket is None else (200, outcome.ticket)


def _counter_answer(counter: int):
    def answer(conn, site, _outcome):
        return 200, next(c for c in q.counter_states(conn, site) if c["number"] == counter)

    return answer


def _counter_action(counter: int, action, respond=_ticket_answer, done=None, closing=False, **kwargs):
    """``done(outcome)``: also called once the action is committed (not for a replayed answer);
    ``closing``: a supervisor may do it too (auth.may_act_on_counter)."""
    principal = current_principal()
    may_act_on_counter(principal, counter, closing=closing)
    site = state().site
    if counter not in site.counter_ids:
        raise q.NotFound("unknown_counter", counter=counter)

    def after(outcome):
        if any(happened.kind == "ticket.finished" for happened in outcome.happened):  # a rating to ask for
            later(ask_for_rating, site, outcome)  # after the action's own messages (publish), as they go
        if done is not None:
            done(outcome)

    return run_once(principal, action, respond, counter, actor=principal.actor, after=after, **kwargs)


def _counter_state(counter: int) -> dict:
    app_state = state()
    with app_state.Session() as db:
        return next(c for c in q.counter_states(db, app_state.site) if c["number"] == counter)


# "next" over a ticket called and never started ends it as policy.unstarted_at_next says: the answer
# tells how ("no_show; ticket=ID" or "done; ticket=ID"), so a console need not ask the ticket again
UNSTARTED_ENDED = "Unstarted-Ended"


@bp.post("/counters/<int:counter>/next")
def counter_next(counter: int):
    body = parse_body(NextRequest)
    outcomes: list[q.Outcome] = []
    try:
        response = _counter_action(counter, q.call_next, done=outcomes.append, number=body.number)
    except q.QueueError as error:
        if error.code == "ticket_not_waiting" and body.number is not None:
            return _taken_refusal(error, counter, body.number)
        raise
    ended = _unstarted_ended(outcomes[0]) if outcomes else None
    if ended is not None:
        response.headers[UNSTARTED_ENDED] = f"{ended['status']}; ticket={ended['id']}"
    return response


def _unstarted_ended(outcome: q.Outcome) -> dict | None:
    """The ticket a "next" ended that was called and never started, if it ended one."""
    for happened in outcome.happened:
        if happened.kind in ("ticket.no_show", "ticket.finished"):
            return happened.ticket if happened.ticket["started_at"] is None else None
    return None


def _taken_refusal(error: q.QueueError, counter: int, number: int):
    """A number another counter has just called: say which (the code stays ticket_not_waiting)."""
    app_state = state()
    with app_state.Session() as db:
        holder = q.holder_of_number(db, app_state.site, number)
    if holder is None or holder == counter:
        raise error
    language = pick_language(request.headers.get("Accept-Language"))
    body = error_body(error.code, language, message_key="ticket_taken", number=number, holder=holder)
    return jsonify({"error": {**body, "counter": holder}}), status_of(error)


def _ticket_action(engine_action):
    def view(counter: int):
        parse_body(NoBody)  # no body expected; a malformed one is still refused
        return _counter_action(counter, engine_action)

    return view


for _name, _action in (("recall", q.recall), ("start", q.start), ("finish", q.finish), ("no-show", q.no_show)):
    bp.add_url_rule(
        f"/counters/<int:counter>/{_name}",
        f"counter_{_name.replace('-', '_')}",
        _ticket_action(_action),
        methods=["POST"],
    )


@bp.post("/counters/<int:counter>/transfer")
def counter_transfer(counter: int):
    body = parse_body(TransferRequest)
    if (body.service is None) == (body.counter is None):
        raise q.Invalid("invalid_field", field="service", problem=_problem("counter_or_service"))
    return _counter_action(counter, q.transfer, service=body.service, to_counter=body.counter)


@bp.post("/counters/<int:counter>/pause")
def counter_pause(counter: int):
    body = parse_body(PauseRequest)
    return _counter_action(counter, q.pause, _counter_answer(counter), reason=body.reason)


@bp.post("/counters/<int:counter>/resume")
def counter_resume(counter: int):
    parse_body(NoBody)
    return _counter_action(counter, q.resume, _counter_answer(counter))


@bp.post("/counters/<int:counter>/open")
def counter_open(counter: int):
    """A clerk or the counter's device starts work there: the counter serves (and counts for waits)."""
    parse_body(NoBody)
    return _counter_action(counter, q.open_counter, _counter_answer(counter))


@bp.post("/counters/<int:counter>/close")
def counter_close(counter: int):
    """Nobody works there any more: the displays show it closed and waits no longer count it. The
    clerk closes it on signing out; a supervisor closes one left open (the dashboard), and one left
    holding a number named by ``requeue`` (it goes back to the waiting list) or ``finish`` (served)."""
    body = parse_body(CloseRequest)
    return _counter_action(
        counter, q.close_counter, _counter_answer(counter), closing=True, requeue=body.requeue, finish=body.finish
    )


@bp.get("/counters/<int:counter>")
def counter_detail(counter: int):
    """The counter's state, current ticket and waiting list (the clerk's or keypad's view)."""
    app_state = state()
    if counter not in app_state.site.counter_ids:
        raise q.NotFound("unknown_counter", counter=counter)
    may_watch(current_principal(), "counter", counter)
    with app_state.Session() as db:
        queue = q.counter_queue(db, app_state.site, counter)
    return jsonify({**_counter_state(counter), "queue": queue})


@bp.get("/me/today")
def my_day():
    """The caller's own figures for today: a clerk's (or admin's) by login, a counter device's by its counter."""
    principal = current_principal()
    if principal is None:
        raise q.NotSignedIn("unauthorized")
    app_state = state()
    with app_state.Session() as db:
        if principal.user_id is not None:
            figures = q.figures_today(db, app_state.site, user_id=principal.user_id)
            who = {"user": principal.name, "counter": principal.counter}
        elif principal.role == "counter":
            figures = q.figures_today(db, app_state.site, counter=principal.counter)
            who = {"user": None, "counter": principal.counter}
        else:
            raise role_refused(principal.role)
    return jsonify({**who, **figures})
