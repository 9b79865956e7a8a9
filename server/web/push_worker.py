"""The Web Push service worker (server/web/static/push-sw.js) as a response: served under /t/
for the tracking pages (server/web/api/notify.py) and under /book/ for a booking's page."""

from __future__ import annotations

from pathlib import Path

from flask import make_response

SERVICE_WORKER = Path(__file__).resolve().parent / "static" / "push-sw.js"


def service_worker_response(allowed_scope: str | None = None):
    """``allowed_scope``: a scope above the worker's own folder that pages may register it for."""
    response = make_response(SERVICE_WORKER.read_text(encoding="utf-8"))
    response.headers.update({"Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-cache"})
    if allowed_scope:
        response.headers["Service-Worker-Allowed"] = allowed_scope
    return response
