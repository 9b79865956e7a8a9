"""A citizen's opt-in to be told when their turn nears: /api/v1/tickets/{id}/notifications, and
/api/v1/bookings/{code}/notifications before the booking has its ticket.

The ticket's public id, or the booking's code, is the key, as for the tracking page and the
booking's own page: whoever holds it may opt in or out (server/core/notifications.py has the
rules). The answers never hold the address in full, only its masked form.
"""

from __future__ import annotations

from typing import Literal

from flask import current_app, jsonify, request

from ...core import notifications
from ..delivery import wake
from ..push_worker import service_worker_response
from ..sealing import address_box
from . import bp, parse_body, state
from .request_model import request_model


@request_model
def OptIn():
    from pydantic import BaseModel, ConfigDict, Field

    class OptIn(BaseModel):
        model_config = ConfigDict(extra="forbid")
        channel: str = Field(min_length=1, max_length=16)
        address: str = Field(min_length=3, max_length=1000)  # a phone, an e-mail address, or a push subscription (JSON)
        language: Literal["vi", "en"] = "vi"

    return OptIn


@bp.get("/push/key")
def push_key():
    """The VAPID public key a page subscribes with (PushManager.subscribe's applicationServerKey)."""
    from ...core.vapid import VapidKey  # (not at the top: a page that offers Web Push asks)

    return jsonify({"public_key": VapidKey(current_app.config["SECRET_KEY"]).public})


@bp.get("/push/sw.js")
def push_service_worker():
    """The service worker that shows a pushed message; allowed to serve the tracking pages (/t/), or,
    asked for under /api/v1/sites/{site}/, that site's tracking pages (/s/{site}/t/)."""
    from ..app import SITE_KEY

    site_id = request.environ.get(SITE_KEY)
    return service_worker_response(allowed_scope=f"/s/{site_id}/t/" if site_id else "/t/")


@bp.get("/tickets/<ticket_id>/notifications")
def ticket_notifications(ticket_id: str):
    """The channels offered, N, and this ticket's opt-ins (masked)."""
    app_state = state()
    with app_state.reads.connect() as conn:
        return jsonify(notifications.subscriptions(conn, app_state.site, ticket_id))


@bp.post("/tickets/<ticket_id>/notifications")
def opt_in(ticket_id: str):
    body = parse_body(OptIn)
    box = address_box(current_app.config["SECRET_KEY"])
    view = state().write(notifications.subscribe, ticket_id, body.channel, body.address, body.language, box)
    wake()  # already near the front: told at once
    return jsonify(view), 201


@bp.delete("/tickets/<ticket_id>/notifications/<channel>")
def opt_out(ticket_id: str, channel: str):
    state().write(notifications.unsubscribe, ticket_id, channel)
    return "", 204


@bp.post("/bookings/<code>/notifications")
def booking_opt_in(code: str):
    """Made when booking: it becomes the ticket's at check-in."""
    body = parse_body(OptIn)
    box = address_box(current_app.config["SECRET_KEY"])
    view = state().write(notifications.booking_subscribe, code, body.channel, body.address, body.language, box)
    return jsonify(view), 201


@bp.delete("/bookings/<code>/notifications/<channel>")
def booking_opt_out(code: str, channel: str):
    state().write(notifications.booking_unsubscribe, code, channel)
    return "", 204
