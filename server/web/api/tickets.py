"""Issuing and following tickets, the queue overview, health and the OpenAPI document."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import orjson
from flask import current_app, jsonify

from ....printers import jobs
from ...core import engine as q
from ...core.auth import may_act_as_kiosk, require_role
from ...core.config import yaml_data
from .. import printing
from ..waits import estimator
from . import bp, current_principal, parse_body, request_body, state, the_app, the_request
from .idempotency import run_once
from .request_model import request_model

OPENAPI = Path(__file__).resolve().parent.parent / "openapi.yaml"


@request_model
def IssueRequest():
    from pydantic import BaseModel, ConfigDict, Field

    class IssueRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        service: str = Field(min_length=1, max_length=32)
        priority: str | None = Field(default=None, min_length=1, max_length=32)
        kiosk: str | None = Field(default=None, min_length=1, max_length=32)

    return IssueRequest


class _Issue(NamedTuple):
    service: str
    priority: str | None
    kiosk: str | None


_ISSUE_FIELDS = frozenset({"service", "priority", "kiosk"})  # IssueRequest's, without making it


def _issue_body() -> IssueRequest | _Issue:
    """``parse_body(IssueRequest)``: a kiosk's usual body (a service code, maybe a priority and a
    kiosk, texts of 1 to 32 characters) is checked here without building a pydantic model, in
    microseconds at every ticket; any other body goes through ``parse_body``, which refuses it
    naming the field."""
    raw = request_body(the_request())
    try:  # orjson: a fifth of the standard library's time; what it refuses goes to parse_body, which decides
        data = orjson.loads(raw)
    except (ValueError, RecursionError):  # orjson.JSONDecodeError is a ValueError
        data = None
    if type(data) is dict and "service" in data and data.keys() <= _ISSUE_FIELDS:
        service, priority, kiosk = data["service"], data.get("priority"), data.get("kiosk")
        if (
            _short_text(service)
            and (priority is None or _short_text(priority))
            and (kiosk is None or _short_text(kiosk))
        ):
            return _Issue(service, priority, kiosk)
    return parse_body(IssueRequest)


def _short_text(value) -> bool:
    """What IssueRequest's fields take: a str of 1 to 32 characters, no NUL (parse_body's rule)."""
    return type(value) is str and 0 < len(value) <= 32 and "\x00" not in value


def _track_base(site=None) -> str:
    return printing.tracking_base(the_app(), site)


def _with_track_url(view: dict, base: str | None = None) -> dict:
    return {**view, "track_url": printing.track_url(base or _track_base(), view["id"])}


ISSUING_ROLES = ("kiosk", "admin", "supervisor", "clerk", "counter")  # with limits.require_kiosk_token
CHECK_IN_ROLES = (*ISSUING_ROLES, "integration")  # the city's app checks in the citizens it booked for


def issuing_kiosk(
    kiosk: str | None, token_required: bool, roles: tuple[str, ...] = ISSUING_ROLES
) -> tuple[str | None, bool]:
    """The kiosk a ticket is issued at, once the caller may issue there: anyone, unless config
    ``limits.require_kiosk_token`` (then ``roles`` only); a kiosk token bound to a kiosk only as that
    kiosk. And whether the caller proved to be that kiosk (its bound token): only then does it count
    as that kiosk."""
    if not token_required and "HTTP_AUTHORIZATION" not in the_request().environ:  # the usual case reads no token
        return kiosk, False
    principal = current_principal()
    if token_required:
        if principal is None:
            raise q.NotSignedIn("kiosk_token_required")
        require_role(principal, *roles)
    if principal is not None:
        kiosk = kiosk or principal.kiosk
        may_act_as_kiosk(principal, kiosk)
    return kiosk, principal is not None and principal.kiosk is not None and principal.kiosk == kiosk


@bp.post("/tickets")
def issue_ticket():
    body = _issue_body()
    app_state = state()
    site = app_state.site  # the request's site, looked up once
    limits = site.config.limits
    kiosk, kiosk_proven = issuing_kiosk(body.kiosk, limits.require_kiosk_token)
    app_state.limits.check_issue(limits, the_request().remote_addr, kiosk, kiosk_proven)
    printer = jobs.printer_of_kiosk(site, kiosk)
    track_base = _track_base(site)
    return run_once(  # with an Idempotency-Key, a tap retried after a network error issues one ticket
        None,
        printing.issue_with_print,
        lambda conn, site, outcome: (201, _with_track_url(outcome.ticket, track_base)),
        body.service,
        priority=body.priority,
        kiosk=kiosk,
        check_hours=not app_state.ignore_hours,
        printer=printer,
        track_base=track_base,
        config_dir=app_state.config_dir if printer is not None else None,  # a ticket's print job's logo
        estimator=estimator(app_state),
        after=lambda outcome: printer is not None and printing.job_added(app_state, printer),
    )


@bp.get("/tickets/<ticket_id>")
def get_ticket(ticket_id: str):
    app_state = state()
    with app_state.Session() as db:
        view = q.ticket_status(db, app_state.site, ticket_id, estimator(app_state))
    return jsonify(_with_track_url(view))


@request_model
def ReprintRequest():
    from pydantic import BaseModel, ConfigDict, Field

    class ReprintRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        printer: str | None = Field(default=None, min_length=1, max_length=32)

    return ReprintRequest


@bp.post("/tickets/by-number/<int(max=2147483647):number>/reprint")
def reprint_number(number: int):
    """Print today's ticket ``number`` again: what a clerk or supervisor knows when a citizen lost it."""
    body = parse_body(ReprintRequest)
    principal = require_role(current_principal(), "admin", "supervisor", "clerk", "counter")
    return _reprint(state().read(q.ticket_of_number, number), body, principal)


@bp.post("/tickets/<ticket_id>/reprint")
def reprint_ticket(ticket_id: str):
    """Print a ticket again (a citizen lost it, the paper jammed): staff, or a kiosk on its own printer."""
    body = parse_body(ReprintRequest)
    principal = require_role(current_principal(), "admin", "supervisor", "clerk", "counter", "kiosk")
    return _reprint(ticket_id, body, principal)


def _reprint(ticket_id: str, body: ReprintRequest, principal):
    app_state = state()
    printer = body.printer
    if principal.role == "kiosk":
        may_act_as_kiosk(principal, principal.kiosk, bound=True)
        own = app_state.site.config.kiosk(principal.kiosk).printer
        if own is None or printer not in (None, own):
            raise q.NotAllowed("forbidden_printer", kiosk=principal.kiosk)
        printer = own
    job = app_state.write(jobs.reprint, ticket_id, printer)
    printing.job_added(app_state, job["printer"])
    return jsonify(job), 202


@bp.get("/tickets/<ticket_id>/print-jobs")
def ticket_print_jobs(ticket_id: str):
    app_state = state()
    with app_state.Session() as db:
        q.ticket_status(db, app_state.site, ticket_id)  # an unknown ticket is a 404, not an empty list
        return jsonify({"jobs": jobs.jobs_of_ticket(db, app_state.site, ticket_id)})


@bp.get("/printers")
def list_printers():
    require_role(current_principal(), "admin", "supervisor")
    app_state = state()
    with app_state.Session() as db:
        return jsonify({"printers": printing.printers_view(app_state, db)})


@bp.get("/queue")
def get_queue():
    app_state = state()
    site = app_state.site
    with app_state.Session() as db:
        waiting = q.waiting_counts(db, site)
        counters = q.counter_states(db, site)
    services = [
        {"code": s.code, "name": s.name.vi, "name_en": s.name.en, **waiting[s.code]} for s in site.config.services
    ]
    return jsonify({"site": {"id": site.id, "name": site.config.site.name}, "services": services, "counters": counters})


@bp.get("/openapi.json")
def openapi_document():
    cache = current_app.extensions.setdefault("queuekiosk_openapi", {})
    if "doc" not in cache:  # (read at the first ask: an idle server holds no PyYAML, about 1 MB, issue 21)
        cache["doc"] = yaml_data(OPENAPI.read_text(encoding="utf-8"))
    return jsonify(cache["doc"])


def health():
    """GET /healthz (registered on the app): the server answers and the database too."""
    app_state = state()
    with app_state.reads.connect() as conn:  # Core: a health check does not load the ORM into an idle server
        conn.exec_driver_sql("SELECT 1")
    predictor = app_state.predictor  # the wait prediction in use: None while tickets get the usual formula
    return jsonify(
        {
            "status": "ok",
            "site": app_state.site.id,
            "wait_prediction": {"trained_days": predictor.model.days} if predictor else None,
        }
    )
