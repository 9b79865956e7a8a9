"""GET /api/v1/audit: the audit log for administrators (server/core/audit.py)."""

from __future__ import annotations

import datetime as dt
import re

from flask import jsonify, request

from ...core import audit
from ...core import engine as q
from ...core.auth import require_role
from ...core.i18n import Phrase
from . import bp, current_principal, state

MAX_ROWS = 1000
RFC3339_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


@bp.get("/audit")
def audit_log():
    """``?since=2026-11-21T00:00:00Z&limit=200``: newest first; admin only."""
    require_role(current_principal(), "admin")
    since = request.args.get("since")
    try:
        if since is not None and not RFC3339_DATE_TIME.fullmatch(since):  # the OpenAPI document's format date-time
            raise ValueError(since)
        since_at = dt.datetime.fromisoformat(since.upper().replace("Z", "+00:00")) if since else None
    except ValueError:
        raise q.Invalid("invalid_field", field="since", problem=Phrase("problem_date_time")) from None
    if since_at is not None and since_at.tzinfo is not None:
        since_at = since_at.astimezone(dt.UTC).replace(tzinfo=None)  # stored as naive UTC
    limit = request.args.get("limit", "200")
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_ROWS:
        raise q.Invalid("invalid_field", field="limit", problem=f"1–{MAX_ROWS}")
    app_state = state()
    with app_state.Session() as db:
        return jsonify({"events": audit.recent(db, app_state.site, since_at, int(limit))})
