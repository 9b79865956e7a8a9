"""Webhooks, /api/v1/admin/webhooks: register, list, delete, and read or replay the delivery log.

Admins only. The secret is in the answer to the POST that made the webhook and nowhere after
(masked: "…abcd"). Deliveries are made by the worker of server/web/delivery.py.
"""

from __future__ import annotations

from flask import jsonify, request

from ...core import audit, outbox
from ...core import engine as q
from ...core.auth import require_role
from ..delivery import wake
from . import bp, current_principal, parse_body, state
from .request_model import request_model

DELIVERY_STATES = ("pending", "delivered", "failed")  # webhook_deliveries.status: the log's ?status= filter


@request_model
def NewWebhook():
    from pydantic import BaseModel, ConfigDict, Field

    class NewWebhook(BaseModel):
        model_config = ConfigDict(extra="forbid")
        url: str = Field(min_length=1, max_length=500)
        events: list[str] = Field(min_length=1, max_length=len(outbox.EVENT_KINDS))
        secret: str | None = Field(default=None, min_length=16, max_length=100)

    return NewWebhook


def _admin():
    return require_role(current_principal(), "admin")


def _read(function, *args, **kwargs):
    app_state = state()
    with app_state.reads.connect() as conn:
        return function(conn, app_state.site, *args, **kwargs)


@bp.get("/admin/webhooks")
def admin_webhooks():
    _admin()
    return jsonify({"webhooks": _read(outbox.webhooks), "events": list(outbox.EVENT_KINDS)})


@bp.post("/admin/webhooks")
def admin_add_webhook():
    """The answer holds the secret in full, this once."""
    principal = _admin()
    body = parse_body(NewWebhook)

    def action(conn, site):
        view = outbox.add_webhook(conn, site, body.url, body.events, body.secret)
        audit.record(
            conn, site, "webhook_added", principal.actor, webhook=view["id"], url=view["url"], events=view["events"]
        )
        return view

    return jsonify(state().write(action)), 201


@bp.delete("/admin/webhooks/<int(max=2147483647):webhook_id>")
def admin_remove_webhook(webhook_id: int):
    principal = _admin()

    def action(conn, site):
        view = outbox.remove_webhook(conn, site, webhook_id)
        audit.record(conn, site, "webhook_removed", principal.actor, webhook=webhook_id, url=view["url"])
        return view

    return jsonify(state().write(action))


@bp.get("/admin/webhooks/<int(max=2147483647):webhook_id>/deliveries")
def admin_webhook_deliveries(webhook_id: int):
    """The latest deliveries first; ``?status=pending|delivered|failed``, ``?limit=`` (1-1000, 100)."""
    _admin()
    status = request.args.get("status")
    if status is not None and status not in DELIVERY_STATES:
        raise q.Invalid("delivery_status_unknown", field="status", value=status, known=", ".join(DELIVERY_STATES))
    limit = request.args.get("limit", "100")
    if not (limit.isascii() and limit.isdigit()) or not 1 <= int(limit) <= 1000:
        raise q.Invalid("delivery_limit_invalid", field="limit")
    return jsonify({"deliveries": _read(outbox.deliveries, webhook_id, int(limit), status)})


@bp.post("/admin/webhooks/<int(max=2147483647):webhook_id>/deliveries/<int(max=2147483647):delivery>/replay")
def admin_replay_delivery(webhook_id: int, delivery: int):
    """The delivery is sent again at once, with the same X-Queuekiosk-Delivery id."""
    principal = _admin()

    def action(conn, site):
        view = outbox.replay(conn, site, webhook_id, delivery)
        audit.record(conn, site, "webhook_replayed", principal.actor, webhook=webhook_id, delivery=view["delivery"])
        return view

    view = state().write(action)
    wake()
    return jsonify(view), 202
