"""The public booking page, phone first: GET /book (service -> day -> slot -> name and phone -> the
booking's code, QR code, calendar file and manage link; or a same-day remote number) and GET
/book/<code> (the booking's own page, to show at the kiosk or cancel); GET /book/page.json, the page's data
again for an open page after a saved setup change. No login; every word from
the catalogs, Vietnamese first with English at one tap. Its script is server/web/static/book.js,
which calls the bookings API (server/web/api/bookings.py); docs/bookings.md.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template

from ..core import bookings as bk
from ..core.i18n import install_jinja, messages_for
from .push_worker import service_worker_response

bp = Blueprint("book", __name__)
bp.record_once(lambda setup: install_jinja(setup.app))


def takes_bookings() -> bool:
    """Whether a service takes bookings: the kiosk page then offers "Tôi đã đặt lịch" (kiosk/static/checkin.js)."""
    return any(s.booking is not None for s in current_app.extensions["queuekiosk"].site.config.services)


bp.record_once(lambda setup: setup.app.jinja_env.globals.setdefault("takes_bookings", takes_bookings))


def book_page_data(site) -> dict:
    """The services that take bookings, each with the days it has slots on (what the page draws)."""
    services = []
    # a retired site (merged into another) offers nothing to book: the page says where to go instead
    for service in [] if site.config.site.retired else site.config.services:
        if service.booking is None or service.code not in site.service_ids or not site.config.served(service.code):
            continue  # (no counter serves it: nobody would call the booked citizen)
        services.append(
            {
                "code": service.code,
                "vi": service.name.vi,
                "en": service.name.en,
                "examples": {"vi": service.examples.vi, "en": service.examples.en} if service.examples else None,
                "days": bk.open_days(site, service.code),
                "remote": service.booking.remote,
                "slot_minutes": service.booking.slot_minutes,
            }
        )
    return {
        "services": services,
        "languages": list(site.config.site.languages),
        "timezone": site.config.site.timezone,
        "notify": _notify(site),
        "push": {"ahead": site.config.notifications.ahead} if "push" in site.config.notifications.channels else None,
    }


def _notify(site) -> dict | None:
    """The opt-in the form offers ("Nhắn cho tôi khi sắp đến lượt"): by the centre's first phone
    channel, told at ``ahead`` numbers before the turn; None when no channel reaches a phone."""
    settings = site.config.notifications
    channel = next((name for name in settings.channels if name in ("sms", "zalo")), None)
    return {"channel": channel, "ahead": settings.ahead} if channel else None


def _remote_today(app_state, site) -> dict:
    """Whether a number for today can be taken now (the centre is open, as issuing checks it), and the
    hours to say when not: the page offers "Lấy số hôm nay" only then, before anything is typed. A page
    left open follows the hours by itself (``opening``, none under --ignore-hours) on the server's clock
    (``server_time``): it offers the number from the opening time and stops at the closing time."""
    from ...kiosk.web import opening_hours
    from ..core import engine as q

    hours = site.config.site.hours
    now = q.utcnow()
    open_now = app_state.ignore_hours or hours.is_open(q.local_time(site, now))
    return {
        "remote_open": open_now,
        "hours": {"open": f"{hours.open:%H:%M}", "close": f"{hours.close:%H:%M}"},
        "opening": None if app_state.ignore_hours else opening_hours(site.config.site),
        "server_time": q._iso(now),
    }


def _page_data(code: str | None) -> dict:
    app_state = current_app.extensions["queuekiosk"]
    site = app_state.site
    return {**book_page_data(site), **_remote_today(app_state, site), "code": code, "retired": site.retirement}


def _page(code: str | None):
    site = current_app.extensions["queuekiosk"].site
    data = _page_data(code)
    response = current_app.make_response(
        render_template(
            "book/page.html", site=site.config.site, page=data, messages=messages_for("book_", "page_", "kiosk_day")
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/book")
def book():
    return _page(None)


@bp.get("/book/page.json")
def page_data():
    """The page's data as the page would embed it now: an open page takes it again when the server says
    ``config.changed`` (English turned off or on in /admin, services, hours), and draws it without a reload."""
    response = jsonify(_page_data(None))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/book/sw.js")
def push_service_worker():
    """The Web Push service worker again (server/web/static/push-sw.js, also /api/v1/push/sw.js for
    the tracking pages), served under /book/ so that a booking's page registers it with the scope
    /book/<code>: a tapped notification opens that booking (server/web/static/push.js)."""
    return service_worker_response()


@bp.get("/book/<code>")
def manage(code: str):
    return _page(code[:32])
