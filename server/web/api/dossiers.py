"""The dossier link at the counter (server/core/dossiers.py; issue 15).

PUT /api/v1/counters/{n}/dossier   {"dossier_code"?, "procedure"?}  the ticket counter n holds, with both
GET /api/v1/reports/procedures?from=&to=                            served per service and procedure (supervisors)

Who may: as the counter's actions (an admin, that counter's token or logged-in clerk).
"""

from __future__ import annotations

from flask import jsonify

from ...core import dossiers
from ...core.auth import may_act_on_counter, require_role
from . import bp, current_principal, parse_body, run, state
from .reports import json_only, requested_days
from .request_model import request_model


@request_model
def DossierRequest():
    from pydantic import BaseModel, ConfigDict, Field

    class DossierRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        dossier_code: str | None = Field(default=None, max_length=dossiers.CODE_MAX + 2)  # a scanner's CR LF
        procedure: str | None = Field(default=None, min_length=1, max_length=32)

    return DossierRequest


@bp.put("/counters/<int:counter>/dossier")
def counter_dossier(counter: int):
    body = parse_body(DossierRequest)
    principal = current_principal()
    may_act_on_counter(principal, counter)
    outcome = run(dossiers.record, counter, body.dossier_code, body.procedure, actor=principal.actor)
    return jsonify(outcome.ticket)


@bp.get("/reports/procedures")
def procedure_report():
    require_role(current_principal(), "admin", "supervisor")
    json_only()
    app_state = state()
    period = requested_days(app_state.site)
    with app_state.Session() as db:
        from ...core.reports import procedures  # loaded with the first report asked, not at start

        return jsonify(procedures.procedure_figures(db, app_state.site, period.first_day, period.last_day))
