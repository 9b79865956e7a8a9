"""The web admin, GET /admin: the centre's setup edited live by an admin (everything) or a supervisor
(the ticker, the displays' slides and the holidays).

The page logs in like /reports and then works only through the admin API (/api/v1/admin/...,
server/web/api/admin.py) with the session cookie and its CSRF token; every saved change reaches the
open screens by itself (``config.changed``). The one route of its own draws a device's pairing
address as a QR code: POST, admins only, and the token in the body is never written to any log.
The script is server/web/static/admin.js (the page: loading, tabs), loaded after its parts in the
order templates/admin/page.html gives (docs/architecture.md, "A page"); docs/admin.md describes the page.
"""

from __future__ import annotations

from urllib.parse import urljoin

from flask import Blueprint, current_app, jsonify, render_template, request

from ..core import engine as q
from ..core.auth import require_role
from ..core.i18n import Phrase, install_jinja, messages_for
from .api import current_principal, state
from .api.csrf import csrf
from .printing import tracking_base

bp = Blueprint("admin_page", __name__)
bp.record_once(lambda setup: install_jinja(setup.app))
# like the API: a bearer token needs no CSRF token, a session sends it (current_principal checks)
csrf.exempt(bp)

PAGE_MESSAGES = ("page_", "sup_", "admin_", "kiosk_day_")  # (the days' names: the kiosk's, one source)
PAIR_PATH_MAX = 300


@bp.get("/admin")
def admin_page():
    config = state().site.config
    from ..core.field_labels import LABELS  # (the page's, not an idle server's)

    # the labels of the site's and the displays' fields: the server's refusals name the fields with them too
    page = {"field_labels": LABELS}
    return render_template("admin/page.html", site=config.site, messages=messages_for(*PAGE_MESSAGES), page=page)


@bp.post("/admin/pair-qr")
def pair_qr():
    """``{"path": "/kiosk/kiosk-1#token=..."}`` -> the full address and its QR code as SVG text."""
    from ...kiosk.web import qr_svg

    require_role(current_principal(), "admin")
    body = request.get_json(silent=True)
    path = body.get("path") if isinstance(body, dict) else None
    # a path of this server only: never a QR code that sends a device somewhere else
    if not isinstance(path, str) or not path.startswith("/") or path.startswith("//") or len(path) > PAIR_PATH_MAX:
        raise q.Invalid("invalid_field", field="path", problem=Phrase("admin_pair_path"))
    base = tracking_base(current_app).rstrip("/")
    home = f"/s/{state().site_id}"  # a second site's base ends in it, and its pair path starts with it
    if base.endswith(home) and path.startswith(f"{home}/"):
        path = path.removeprefix(home)
    url = urljoin(base + "/", path.lstrip("/"))
    response = jsonify({"url": url, "svg": qr_svg(url).decode("ascii")})
    response.headers["Cache-Control"] = "no-store"  # it holds a device token
    return response
