"""The touch kiosk page: one big button per service of the kiosk; a tap issues a ticket.

GET /kiosk/<kiosk_id>. The page calls POST /api/v1/tickets itself; printing is the kiosk
agent's and the printers' business (later issues). Its script is kiosk/static/kiosk.js,
served at /kiosk/assets/kiosk.js.

GET /t/<ticket_id> (blueprint ``track``, outside /kiosk: it is the ticket's ``track_url``,
where the QR code of the printed ticket points): a citizen's phone follows that one ticket,
live through Socket.IO (``subscribe {"ticket": id}``). It shows only that ticket's own data.
Its script is kiosk/static/track.js, served at /kiosk/assets/track.js.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from ..server import engine as q
from ..server.i18n import install_jinja, messages_for

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk", template_folder="templates",
               static_folder="static", static_url_path="/assets")
bp.record_once(lambda setup: install_jinja(setup.app))

track_bp = Blueprint("track", __name__, template_folder="templates")
track_bp.record_once(lambda setup: install_jinja(setup.app))

TICKET_ID_MAX = 64  # ids are 12 characters; anything much longer is not worth a query
# the fields of a ticket the tracking page uses (the snapshot and events carry a few more, all its own)
TRACK_FIELDS = ("id", "display", "service", "status", "counter", "target_counter", "waiting_ahead", "eta_minutes")


def _config():
    return current_app.extensions["queuekiosk"].site.config


@bp.get("/<kiosk_id>")
def page(kiosk_id: str):
    config = _config()
    kiosk = config.kiosk(kiosk_id)
    if kiosk is None:
        return render_template("errors/page.html", site=config.site, title_key="page_not_found",
                               message_key="unknown_kiosk", params={"kiosk": kiosk_id}), 404
    services = [config.service(code) for code in config.kiosk_services(kiosk)]
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


@track_bp.get("/t/<ticket_id>")
def track(ticket_id: str):
    state = current_app.extensions["queuekiosk"]
    config = state.site.config
    try:
        if len(ticket_id) > TICKET_ID_MAX:
            raise q.QueueError("unknown_ticket", 404, ticket=ticket_id)
        with state.Session() as db:
            view = q.ticket_status(db, state.site, ticket_id)
    except q.QueueError as error:
        if error.code != "unknown_ticket":
            raise
        return render_template("errors/page.html", site=config.site, title_key="page_not_found",
                               message_key="track_unknown_ticket", params={}), 404
    ticket = {key: view.get(key) for key in TRACK_FIELDS}
    service = config.service(ticket["service"])
    data = {
        "ticket": ticket,
        "services": {s.code: {"vi": s.name.vi, "en": s.name.en} for s in config.services},
    }
    response = current_app.make_response(render_template(
        "kiosk/track.html", site=config.site, ticket=ticket, service=service, page=data,
        messages=messages_for("page_", "track_")))
    response.headers["Cache-Control"] = "no-store"  # a phone reopening the tab asks again
    return response
