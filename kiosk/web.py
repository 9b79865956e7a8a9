"""The touch kiosk page: one big button per service of the kiosk; a tap issues a ticket.

GET /kiosk/<kiosk_id>. The page calls POST /api/v1/tickets itself; printing is the kiosk
agent's and the printers' business (later issues). Its script is kiosk/static/kiosk.js,
served at /kiosk/assets/kiosk.js.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from ..server.i18n import install_jinja, messages_for

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk", template_folder="templates",
               static_folder="static", static_url_path="/assets")
bp.record_once(lambda setup: install_jinja(setup.app))


def _config():
    return current_app.extensions["queuekiosk"].site.config


@bp.get("/<kiosk_id>")
def page(kiosk_id: str):
    config = _config()
    kiosk = config.kiosk(kiosk_id)
    if kiosk is None:
        return render_template("kiosk/not_found.html", site=config.site, kiosk_id=kiosk_id), 404
    codes = [s.code for s in config.services] if kiosk.services == "all" else list(kiosk.services)
    services = [config.service(code) for code in codes]
    data = {
        "kiosk": kiosk.id,
        "timezone": config.site.timezone,
        "services": {s.code: {"vi": s.name.vi, "en": s.name.en} for s in services},
        "result_seconds": 8,
        "error_seconds": 6,
    }
    return render_template("kiosk/page.html", site=config.site, kiosk=kiosk, services=services,
                           priorities=config.priorities, page=data,
                           messages=messages_for("page_", "kiosk_"))
