"""The touch kiosk page, and the ticket's tracking page with its QR code.

GET /kiosk/<kiosk_id>: the page a citizen uses on a 15–24" touch screen (portrait or
landscape). Start screen: the kiosk's services, or first their fields ("lĩnh vực") when the
kiosk offers many services that carry a field; then, when the centre has priority classes,
"Ông/Bà có thuộc đối tượng ưu tiên không?"; then the number with people ahead, the estimated wait and a
QR code to the ticket's tracking page, and back to the start by itself. The page calls
POST /api/v1/tickets itself and follows the server through Socket.IO
(``subscribe {"kiosk": id}``: the kiosk's printer state; a dropped connection shows a
full-screen notice). The script draws the screens from the page data (``kiosk_page_data``), and
again from a snapshot after ``config.changed`` once the citizen is back at the start. Its script
is kiosk/static/kiosk.js, served at /kiosk/assets/kiosk.js; docs/kiosk.md describes each screen.

GET /t/<ticket_id> (blueprint ``track``, outside /kiosk: it is the ticket's ``track_url``,
where the QR code of the printed ticket points): a citizen's phone follows that one ticket,
live through Socket.IO (``subscribe {"ticket": id}``). It shows only that ticket's own data.
Its script is kiosk/static/track.js, served at /kiosk/assets/track.js.

GET /t/<ticket_id>/qr.svg: that tracking address as a QR code (SVG, white background), shown
on the kiosk's confirmation screen so that a citizen can follow the ticket even when the
printer is out of paper. It holds the same address as the API's ``track_url`` and the printed
ticket's QR code: the web layer that registers these blueprints gives the function that makes it
as ``app.extensions[TRACK_URL]`` (``ticket.tracking_url`` of config.yaml when set, else the address
the server was started on; never the Host header of the request).
"""

from __future__ import annotations

import datetime as dt
import io

from flask import Blueprint, current_app, render_template

from ..server.core import bookings
from ..server.core import engine as q
from ..server.core.i18n import install_jinja, messages_for
from ..server.core.models import REMOTE_STATUS
from ..server.web.errors import not_found_page
from ..server.web.waits import estimator

bp = Blueprint(
    "kiosk",
    __name__,
    url_prefix="/kiosk",
    template_folder="templates",
    static_folder="static",
    static_url_path="/assets",
)
bp.record_once(lambda setup: install_jinja(setup.app))

track_bp = Blueprint("track", __name__, template_folder="templates")
track_bp.record_once(lambda setup: install_jinja(setup.app))

# app.extensions key: the ticket id -> the address of its tracking page, the one its QR codes hold
TRACK_URL = "queuekiosk.track_url"
TICKET_ID_MAX = 64  # ids are 12 characters; anything much longer is not worth a query
# the fields of a ticket the tracking page uses (the snapshot and events carry a few more, all its own)
TRACK_FIELDS = (
    "id",
    "display",
    "service",
    "status",
    "origin",
    "counter",
    "target_counter",
    "waiting_ahead",
    "eta_minutes",
)

# the kiosk groups its services by field ("lĩnh vực") when it offers more than this many
# services and they fall into at least two fields; fewer fit on one screen and stay one tap away
GROUP_ABOVE = 8
RESULT_SECONDS = 8  # the confirmation screen returns to the start after this long
RESULT_SECONDS_NO_PRINT = 15  # ... or this long when no paper ticket comes out (printer trouble, no printer)
ERROR_SECONDS = 8  # a refusal or a network error is shown this long
IDLE_SECONDS = 45  # a half-finished choice (or English, larger text) goes back to the start after this long


def _state():
    return current_app.extensions["queuekiosk"]


def _config():
    return _state().site.config


def _names(name) -> dict:
    return {"vi": name.vi, "en": name.en}


def _fields(services) -> list[dict]:
    """The fields of ``services`` in the order they first appear, each with its service codes."""
    fields: dict[tuple, dict] = {}
    for service in services:
        if service.field is None:
            continue
        key = (service.field.vi, service.field.en)
        if key not in fields:
            fields[key] = {"key": f"f{len(fields) + 1}", **_names(service.field), "services": []}
        fields[key]["services"].append(service.code)
    return list(fields.values())


def opening_hours(site) -> dict:
    """The opening hours a page follows by itself (QK.openNow: the kiosk's closed screen, the booking
    page's number for today), on the server's clock."""
    hours = site.hours
    return {
        "open": hours.open.strftime("%H:%M:%S"),
        "close": hours.close.strftime("%H:%M:%S"),
        "open_label": hours.open.strftime("%H:%M"),
        "close_label": hours.close.strftime("%H:%M"),
        "days": list(hours.days),
        "holidays": [day.isoformat() for day in hours.holidays],
    }


def _early_check_in(site) -> str:
    """The time of day ("07:00:00") from which a booked citizen checks in: the opening less
    bookings.CHECK_IN_EARLY (not before midnight)."""
    opening = site.hours.open.hour * 60 + site.hours.open.minute
    minutes = max(0, opening - bookings.CHECK_IN_EARLY // dt.timedelta(minutes=1))
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


def kiosk_page_data(config, kiosk_id: str, ignore_hours: bool, retired: dict | None = None) -> dict | None:
    """What the kiosk page draws its screens from: services (grouped by field when many), priority
    classes, opening hours, timings, and where a retired site sends its citizens (``retired``,
    SiteRuntime.retirement). Embedded in the page, and sent again in every ``state`` snapshot
    (server/web/realtime.py), so an open kiosk shows a saved setup change without a reload."""
    kiosk = config.kiosk(kiosk_id)
    if kiosk is None:
        return None
    # a service no counter serves is not offered: nobody would call its numbers (it shows once one does)
    services = [config.service(code) for code in config.kiosk_services(kiosk) if config.served(code)]
    fields = _fields(services)
    grouped = len(services) > GROUP_ABOVE and len(fields) >= 2
    field_of = {code: f["key"] for f in fields for code in f["services"]} if grouped else {}
    return {
        "kiosk": kiosk.id,
        "printer": kiosk.printer,
        "timezone": config.site.timezone,
        "languages": list(config.site.languages),
        "service_order": [s.code for s in services],
        "services": {
            s.code: {
                **_names(s.name),
                "field": field_of.get(s.code),
                "examples": _names(s.examples) if s.examples else None,
            }
            for s in services
        },
        "fields": {f["key"]: {"vi": f["vi"], "en": f["en"], "count": len(f["services"])} for f in fields}
        if grouped
        else {},
        "priorities": {p.code: _names(p.name) for p in config.priorities},
        "priority_order": [p.code for p in config.priorities],  # the centre's order (the page's JSON sorts keys)
        # opening hours for the closed screen; none when the server ignores them (--ignore-hours)
        "hours": None if ignore_hours else opening_hours(config.site),
        # from when a booked citizen checks in before opening (the closed screen then offers it)
        "checkin_from": _early_check_in(config.site),
        "retired": retired,  # the closed screen for good, naming the site that took over
        "result_seconds": RESULT_SECONDS,
        "result_seconds_no_print": RESULT_SECONDS_NO_PRINT,
        "error_seconds": ERROR_SECONDS,
        "idle_seconds": IDLE_SECONDS,
    }


@bp.get("/<kiosk_id>")
def page(kiosk_id: str):
    state = _state()
    config = state.site.config
    data = kiosk_page_data(config, kiosk_id, state.ignore_hours, state.site.retirement)
    if data is None:
        return not_found_page(config.site, "unknown_kiosk", kiosk=kiosk_id)
    data["server_time"] = dt.datetime.now(dt.UTC).isoformat()
    response = current_app.make_response(
        render_template(
            "kiosk/page.html",
            site=config.site,
            page=data,
            messages=messages_for("page_", "kiosk_", "printer_state_", "database_"),
        )
    )
    response.headers["Cache-Control"] = "no-store"  # a reload after a server upgrade gets the new page
    return response


def ticket_view(ticket_id: str) -> dict | None:
    """The ticket's status view, or None when there is no such ticket (the tracking page, its QR code,
    and the kiosk's voice saying the issued number: sounds/web.py)."""
    state = _state()
    if len(ticket_id) > TICKET_ID_MAX:
        return None
    try:
        with state.Session() as db:
            return q.ticket_status(db, state.site, ticket_id, estimator(state))
    except q.QueueError as error:
        if error.code != "unknown_ticket":
            raise
        return None


def _unknown_ticket():
    return not_found_page(_config().site, "track_unknown_ticket")


@track_bp.get("/t/<ticket_id>")
def track(ticket_id: str):
    config = _config()
    view = ticket_view(ticket_id)
    if view is None:
        return _unknown_ticket()
    ticket = {key: view.get(key) for key in TRACK_FIELDS}
    if ticket["status"] == REMOTE_STATUS:  # a remote number not checked in yet: its deadline to come
        state = _state()
        with state.Session() as db:
            ticket.update(bookings.remote_of_ticket(db, state.site, ticket["id"]) or {})
    elif ticket["status"] == "expired" and ticket.get("origin") == "remote":  # cancelled, or lapsed
        state = _state()
        with state.Session() as db:
            ticket["ended_by"] = bookings.remote_ending(db, state.site, ticket["id"])
    service = config.service(ticket["service"])
    data = {
        "ticket": ticket,
        "services": {s.code: {"vi": s.name.vi, "en": s.name.en} for s in config.services},
    }
    response = current_app.make_response(
        render_template(
            "kiosk/track.html",
            site=config.site,
            ticket=ticket,
            service=service,
            page=data,
            messages=messages_for("page_", "track_"),
        )
    )
    response.headers["Cache-Control"] = "no-store"  # a phone reopening the tab asks again
    return response


def qr_svg(text: str) -> bytes:
    """``text`` as a QR code: SVG with a white background and a 4-module quiet zone, sized by CSS."""
    import qrcode.image.svg  # loaded at the first QR code, not by every server process at start

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=10, border=4)
    out = io.BytesIO()
    image.save(out)
    return out.getvalue()


@track_bp.get("/t/<ticket_id>/qr.svg")
def track_qr(ticket_id: str):
    view = ticket_view(ticket_id)
    if view is None:
        return _unknown_ticket()
    address = current_app.extensions[TRACK_URL](view["id"])  # as the API's track_url and the printed ticket
    response = current_app.make_response(qr_svg(address))
    response.headers["Content-Type"] = "image/svg+xml"
    response.headers["Cache-Control"] = "private, max-age=86400"  # a ticket's address never changes
    return response
