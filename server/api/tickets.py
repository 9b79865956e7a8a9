"""Issuing and following tickets, the queue overview, health and the OpenAPI document."""

from __future__ import annotations

from pathlib import Path

import yaml
from flask import current_app, jsonify, request
from pydantic import BaseModel, ConfigDict, Field

from .. import engine as q
from . import bp, parse_body, run, state

OPENAPI = Path(__file__).resolve().parent.parent / "openapi.yaml"


class IssueRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    service: str = Field(min_length=1, max_length=32)
    priority: str | None = Field(default=None, min_length=1, max_length=32)
    kiosk: str | None = Field(default=None, min_length=1, max_length=32)


def _with_track_url(view: dict) -> dict:
    return {**view, "track_url": f"{request.host_url}t/{view['id']}"}


@bp.post("/tickets")
def issue_ticket():
    body = parse_body(IssueRequest)
    outcome = run(q.issue, body.service, priority=body.priority, kiosk=body.kiosk,
                  check_hours=not state().ignore_hours)
    return jsonify(_with_track_url(outcome.ticket)), 201


@bp.get("/tickets/<ticket_id>")
def get_ticket(ticket_id: str):
    app_state = state()
    with app_state.Session() as db:
        view = q.ticket_status(db, app_state.site, ticket_id)
    return jsonify(_with_track_url(view))


@bp.get("/queue")
def get_queue():
    app_state = state()
    site = app_state.site
    with app_state.Session() as db:
        waiting = q.waiting_counts(db, site)
        counters = q.counter_states(db, site)
    services = [
        {"code": s.code, "name": s.name.vi, "name_en": s.name.en, **waiting[s.code]}
        for s in site.config.services
    ]
    return jsonify({"site": {"id": site.id, "name": site.config.site.name}, "services": services,
                    "counters": counters})


@bp.get("/openapi.json")
def openapi_document():
    cache = current_app.extensions.setdefault("queuekiosk_openapi", {})
    if "doc" not in cache:
        cache["doc"] = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    return jsonify(cache["doc"])


def health():
    """GET /healthz (registered on the app): the server answers and the database too."""
    app_state = state()
    with app_state.Session() as db:
        db.connection().exec_driver_sql("SELECT 1")
    return jsonify({"status": "ok", "site": app_state.site.id})
