"""Bookings, same-day remote numbers and check-in (server/core/bookings/; docs/bookings.md).

GET    /api/v1/services/{code}/slots?date=YYYY-MM-DD   the day's slots still ahead, with free places
POST   /api/v1/bookings                               a slot ({"service","date","start",...}) or a
                                                      same-day remote number ({"service","remote":true,...})
GET    /api/v1/bookings?date=&service=                the day's bookings (staff)
GET    /api/v1/bookings/{code}                        one booking: its code is its key
DELETE /api/v1/bookings/{code}                        cancel (the citizen's manage link, or an integration)
GET    /api/v1/bookings/{code}/qr.svg | booking.ics   the QR code of its manage link; a calendar entry
POST   /api/v1/check-in                               the citizen is here: the ticket (printed at the kiosk)
GET    /api/v1/reports/bookings?from=&to=             bookings per service and day (supervisors)

Booking needs no login; a caller past the site's ``limits.bookings_per_address`` (reading and
cancelling by code: ``limits.lookups_per_address``) gets 429, counted per site (integrations, which
book for many people from one address, and the site's exempt addresses are not counted).
A service with ``booking.sms_code`` first sends a one-time code to the phone (202) and books when the
same request comes back with it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re

from flask import current_app, jsonify, request

from ....printers import jobs
from ...core import bookings as bk
from ...core import engine as q
from ...core.auth import Principal, require_role
from ...core.i18n import Phrase, pick_language, translate
from .. import printing
from ..sealing import address_box
from ..waits import estimator
from . import body_json, bp, checked, current_principal, idempotency, parse_body, run, state
from .reports import json_only, requested_days
from .request_model import request_model
from .tickets import CHECK_IN_ROLES, issuing_kiosk

log = logging.getLogger("queuekiosk.bookings")

STAFF = ("admin", "supervisor", "clerk")


def _person_key() -> bytes:
    return idempotency.person_key()


def _caller() -> Principal | None:
    """An integration (or staff) token's holder; a session cookie is not asked for: these are public."""
    return current_principal() if "Authorization" in request.headers else None


def _limit(kind: str, principal: Principal | None):
    """Count one booking (``kind`` "booking") or lookup by code ("booking_lookup") from the caller's
    address against the request's site's config ``limits``; 429 past it. A booking counts only if it
    is accepted: returns what to call once it is answered, ``settle(accepted)`` (server/web/ratelimits.py)."""
    app_state = state()
    if principal is not None and principal.role in ("integration", "admin"):
        return _nothing
    limits = app_state.site.config.limits
    if limits.exempt(request.remote_addr):
        return _nothing
    if kind == "booking":
        return app_state.limits.check_accepted(
            limits.bookings_per_address, kind, request.remote_addr, code="too_many_bookings"
        )
    app_state.limits.check(limits.lookups_per_address, kind, request.remote_addr, code="too_many_bookings")
    return _nothing


def _nothing(*_accepted) -> None:
    pass


def _language() -> str:
    return pick_language(request.headers.get("Accept-Language"))


def _date(value: str | None) -> dt.date:
    if not value or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise q.Invalid("invalid_date", field="date")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise q.Invalid("invalid_date", field="date") from None


def _with_links(view: dict, base: str | None = None) -> dict:
    """The booking's links; ``base`` (the tracking base) given where no app context is (the writer)."""
    base = (base or printing.tracking_base(current_app)).rstrip("/")
    code = view["code"]
    links = {"manage_url": f"{base}/book/{code}", "qr_url": f"{base}/api/v1/bookings/{code}/qr.svg"}
    if view["kind"] == "slot":
        links["ics_url"] = f"{base}/api/v1/bookings/{code}/booking.ics"
    if view.get("ticket"):  # a remote number's (or a checked-in booking's) ticket: its tracking page
        links["track_url"] = printing.track_url(base, view["ticket"])
    return {**view, **links}


@bp.get("/services/<code>/slots")
def service_slots(code: str):
    app_state = state()
    day = _date(request.args.get("date"))
    with app_state.Session() as db:
        return jsonify(bk.slots(db, app_state.site, code, day))


@request_model
def BookingRequest():
    from typing import Annotated

    from pydantic import BaseModel, ConfigDict, Field, StringConstraints

    class BookingRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        service: str = Field(min_length=1, max_length=32)
        remote: bool = False
        date: str | None = Field(default=None, max_length=10)
        start: str | None = Field(default=None, max_length=5)
        # (spaces alone are no name: refused with the other fields left empty)
        name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
        phone: str = Field(min_length=1, max_length=20)
        id_number: str | None = Field(default=None, max_length=20)
        sms_code: str | None = Field(default=None, max_length=6)  # the code sent by SMS (booking.sms_code)
        pending: str | None = Field(default=None, max_length=120)  # ... and the proof that came with it
        notify: bool = False  # "Nhắn cho tôi khi sắp đến lượt": told at N ahead and at the call, on the phone given

    return BookingRequest


@bp.post("/bookings")
def create_booking():
    body = _booking_request()
    principal = _caller()
    settle = _limit("booking", principal)
    try:
        response = current_app.make_response(_create_booking(body, principal))
    except q.QueueError:  # a wrong phone, a full slot, one number per person: not counted as a booking
        settle(False)
        raise
    settle(response.status_code == 201)  # (202: an SMS code sent, the booking comes with its answer)
    return response


def _booking_request():
    """The booking's request: every field refused is named at once (parse_body), a name of spaces as
    empty, with the phone's and the CCCD's own checks (an empty name, a phone of 5 digits and a made-up
    CCCD in one answer, not three round trips on a phone); a slot's missing ``start`` is named, not looked
    for as a time "" . One refusal alone keeps its own code (``invalid_phone``, ``invalid_id_province``...)."""
    data = body_json()
    body, named = None, []
    try:
        body = checked(BookingRequest, data)
    except q.Invalid as refused:
        if refused.code != "invalid_field" or not isinstance(data, dict):
            raise
        named = [{"field": refused.params["field"], "problem": refused.params["problem"]}]
        named += refused.params.get("others", [])
    # the phone's and the CCCD's own checks, on the texts sent (the model keeps them as they are), each
    # unless its field is refused already
    said = {each["field"] for each in named}
    values = {key: data.get(key) for key in ("phone", "id_number") if key not in said}
    named += _person_refusals(**{key: value for key, value in values.items() if isinstance(value, str)})
    if body is not None and not body.remote and body.date is not None and body.start is None:
        named.append({"field": "start", "problem": Phrase("problem_missing")})
    if len(named) == 1 and "message_key" in named[0]:  # as before: its own code
        raise q.Invalid(named[0]["message_key"], field=named[0]["field"])
    if named:
        raise q.Invalid("invalid_field", **named[0], others=named[1:])
    return body


def _person_refusals(phone: str | None = None, id_number: str | None = None) -> list[dict]:
    """The phone's and the CCCD's refusals (bookings.normal_phone, normal_id), each {"field", "message_key"}:
    its own sentence, which names the field."""
    named = []
    for field, value, check in (("phone", phone, bk.normal_phone), ("id_number", id_number, bk.normal_id)):
        if value:  # (an empty phone is pydantic's to name)
            try:
                check(value)
            except q.Invalid as refused:
                named.append({"field": field, "message_key": refused.code})
    return named


def _create_booking(body, principal: Principal | None):
    app_state = state()
    actor = principal.actor if principal else None
    id_number = body.id_number or None
    day = None
    if body.remote:
        if body.date is not None or body.start is not None:
            raise q.Invalid("remote_takes_no_slot", field="date" if body.date is not None else "start")
    else:
        day = _date(body.date)
    service = app_state.site.config.service(body.service)
    if (
        service is not None
        and service.booking is not None
        and service.booking.sms_code
        and (principal is None or principal.role not in ("integration", "admin"))
    ):  # they check people themselves
        request_ = [
            body.service,
            body.remote,
            body.date,
            body.start,
            body.name.strip(),
            bk.normal_phone(body.phone),
            id_number,
        ]
        if body.sms_code is None:
            return _send_sms_code(body, day, id_number, request_)
        # its own transaction: a wrong code is counted even though the booking is refused
        refusal = app_state.write(bk.guess_sms_code, _person_key(), request_, body.sms_code, body.pending, q.utcnow())
        if refusal is not None:
            raise refusal
    action = bk.take_remote if body.remote else bk.book
    if body.notify:  # the opt-in is made in the booking's own transaction: both or neither
        action = _with_opt_in(action, notify_channel(app_state.site), body.phone, _language())
    # with an Idempotency-Key, a retried request (a phone that lost the answer) gets the same booking
    base = printing.tracking_base(current_app)
    respond = lambda conn, site, outcome: (201, _with_links(outcome.ticket, base))  # noqa: E731
    if body.remote:
        return idempotency.run_once(
            principal,
            action,
            respond,
            body.service,
            body.name,
            body.phone,
            id_number,
            _person_key(),
            actor=actor,
            check_hours=not app_state.ignore_hours,
        )
    return idempotency.run_once(
        principal,
        action,
        respond,
        body.service,
        day,
        body.start,
        body.name,
        body.phone,
        id_number,
        _person_key(),
        actor=actor,
    )


PHONE_CHANNELS = ("sms", "zalo")  # the channels that reach the phone number a booking gives


def notify_channel(site) -> str:
    """The channel an opt-in made when booking goes through: the first phone channel the centre
    offers (notifications.channels); 422 naming ``notify`` when it offers none."""
    settings = site.config.notifications
    for name in settings.channels:
        if name in PHONE_CHANNELS:
            return name
    raise q.Invalid("notify_phone_unavailable", field="notify")


def _with_opt_in(action, channel: str, phone: str, language: str):
    """``action`` (book or take_remote), then the citizen's opt-in on the booking, in one transaction."""
    from ...core import notifications

    box = address_box(current_app.config["SECRET_KEY"])

    def act(conn, site, *args, **kwargs):
        outcome = action(conn, site, *args, **kwargs)
        told = notifications.booking_subscribe(conn, site, outcome.ticket["code"], channel, phone, language, box)
        outcome.ticket = {**outcome.ticket, "notify": {**told, "ahead": site.config.notifications.ahead}}
        return outcome

    return act


def _send_sms_code(body: BookingRequest, day, id_number, request_: list):
    """202: a one-time code went to the phone; the same request again with it (and ``pending``) books."""
    from ...core import notification_channels as channels
    from ...core import sms_length

    site = state().site
    now = q.utcnow()
    bk.check_request(site, body.service, day, body.start, body.phone, id_number, now)
    settings = site.config.notifications
    if settings.sms is None:
        raise q.Unavailable("sms_unavailable")
    code, pending = bk.sms_challenge(_person_key(), request_, now)
    language = _language()
    name = site.config.site.sms_name or site.config.site.name  # (an SMS: the site's short name for SMS, if any)

    def text(site_name: str) -> str:
        return translate("book_sms_text", language, code=code, minutes=bk.SMS_CODE_MINUTES, site=site_name)

    message = channels.Message("code", text(name), name, {}, sms_length.shorter(text, name))  # name cut to fit
    try:
        channels.channel(settings, "sms").send(bk.normal_phone(body.phone), message)
    except channels.ChannelError as error:
        log.warning("a booking's SMS code was not sent: %s", error)  # the error names no phone number
        raise q.Unavailable("sms_failed") from None
    return jsonify(
        {
            "sms_code_sent": True,
            "phone": bk.mask_phone(bk.normal_phone(body.phone)),
            "pending": pending,
            "minutes": bk.SMS_CODE_MINUTES,
        }
    ), 202


@bp.get("/bookings")
def list_bookings():
    require_role(current_principal(), *STAFF)
    app_state = state()
    day = _date(request.args.get("date")) if request.args.get("date") else q.business_day(app_state.site, q.utcnow())
    with app_state.Session() as db:
        views = bk.bookings_of_day(db, app_state.site, day, request.args.get("service") or None)
    return jsonify({"date": day.isoformat(), "bookings": [_with_links(v) for v in views]})


@bp.get("/bookings/<code>")
def get_booking(code: str):
    _limit("booking_lookup", _caller())
    app_state = state()
    with app_state.Session() as db:
        return jsonify(_with_links(bk.get_booking(db, app_state.site, code)))


@bp.delete("/bookings/<code>")
def cancel_booking(code: str):
    principal = _caller()
    _limit("booking_lookup", principal)
    outcome = run(bk.cancel, code, actor=principal.actor if principal else None)
    return jsonify(_with_links(outcome.ticket))


@bp.get("/bookings/<code>/qr.svg")
def booking_qr(code: str):
    from ....kiosk.web import qr_svg

    app_state = state()
    with app_state.Session() as db:
        view = _with_links(bk.get_booking(db, app_state.site, code))
    response = current_app.make_response(qr_svg(view["manage_url"]))
    response.headers["Content-Type"] = "image/svg+xml"
    response.headers["Cache-Control"] = "private, max-age=86400"  # a booking's link never changes
    return response


@bp.get("/bookings/<code>/booking.ics")
def booking_ics(code: str):
    app_state = state()
    with app_state.Session() as db:
        view = _with_links(bk.get_booking(db, app_state.site, code))
    if view["kind"] != "slot":
        raise q.NotFound("booking_not_found", booking=view["code"])
    response = current_app.make_response(calendar_entry(app_state.site, view))
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="lich-hen-{view["code"]}.ics"'
    return response


def calendar_entry(site, view: dict) -> bytes:
    """The booking as an RFC 5545 event (icalendar), in UTC so that no calendar needs our time zone."""
    from icalendar import Calendar, Event

    zone = site.config.site.zone
    day = dt.date.fromisoformat(view["date"])
    start = dt.datetime.combine(day, dt.time.fromisoformat(view["start"]), zone).astimezone(dt.UTC)
    end = dt.datetime.combine(day, dt.time.fromisoformat(view["end"]), zone).astimezone(dt.UTC)
    service = site.config.service(view["service"])
    centre = site.config.site.name
    calendar = Calendar()
    calendar.add("prodid", "-//queuekiosk//booking//VI")
    calendar.add("version", "2.0")
    event = Event()
    event.add("uid", f"{view['code']}@{site.id}.queuekiosk")
    event.add("dtstamp", dt.datetime.now(dt.UTC).replace(microsecond=0))
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", f"{service.name.vi if service else view['service']} — {centre}")
    event.add("location", centre)
    event.add("description", translate("book_ics_description", "vi", code=view["code"], url=view["manage_url"]))
    event.add("url", view["manage_url"])
    calendar.add_component(event)
    return calendar.to_ical()


@request_model
def CheckInRequest():
    from pydantic import BaseModel, ConfigDict, Field

    class CheckInRequest(BaseModel):
        model_config = ConfigDict(extra="forbid")
        code: str | None = Field(default=None, min_length=1, max_length=200)  # a code, or the manage link in the QR
        cccd_qr: str | None = Field(default=None, min_length=1, max_length=bk.CCCD_QR_MAX)
        id_number: str | None = Field(default=None, min_length=1, max_length=20)
        service: str | None = Field(default=None, min_length=1, max_length=32)  # without a booking: a walk-in
        priority: str | None = Field(default=None, min_length=1, max_length=32)  # that walk-in's priority class
        kiosk: str | None = Field(default=None, min_length=1, max_length=32)

    return CheckInRequest


def booked_mark(site, ticket: dict) -> str | None:
    """What the screen and the paper say of a booked ticket (Vietnamese, as the printed ticket)."""
    if ticket.get("origin") == "remote":
        return translate("kiosk_remote_mark")
    if ticket.get("origin") != "booked":
        return None
    if ticket.get("due_at") is None:
        return translate("kiosk_booked_late")
    due = q.local_time(site, dt.datetime.fromisoformat(ticket["due_at"].removesuffix("Z")))
    return translate("kiosk_booked_mark", start=f"{due:%H:%M}")


def code_of(scanned: str) -> str:
    """A booking code typed, or read from the QR code of its manage link (``.../book/CODE``)."""
    return scanned.strip().rstrip("/").rpartition("/")[2]


@bp.post("/check-in")
def check_in():
    body = parse_body(CheckInRequest)
    app_state = state()
    kiosk, kiosk_proven = issuing_kiosk(body.kiosk, app_state.site.config.limits.require_kiosk_token, CHECK_IN_ROLES)
    principal = _caller()
    if principal is None or principal.role not in ("integration", "admin"):  # they check in many people
        app_state.limits.check_issue(app_state.site.config.limits, request.remote_addr, kiosk, kiosk_proven)
    printer = jobs.printer_of_kiosk(app_state.site, kiosk)
    track_base = printing.tracking_base(current_app)

    def print_ticket(conn, site, ticket):
        if printer is not None:
            content = jobs.ticket_content(
                site, ticket, printing.track_url(track_base, ticket["id"]), app_state.config_dir
            )
            mark = booked_mark(site, ticket)
            if mark:  # the paper says it is a booking, on its own line above the centre's footer
                content = dataclasses.replace(content, mark=mark)
            jobs.enqueue(conn, site, printer, ticket["id"], content)

    outcome = run(
        bk.check_in,
        _person_key(),
        code=code_of(body.code) if body.code is not None else None,
        cccd_qr=body.cccd_qr,
        id_number=body.id_number,
        service=body.service,
        priority=body.priority,
        kiosk=kiosk,
        actor=principal.actor if principal else None,
        check_hours=not app_state.ignore_hours,
        on_ticket=print_ticket,
        estimator=estimator(app_state),
        # the card scanned at a kiosk of the installation (its token): a QR text sent by anyone else
        # could be made up from a known ID number, and is told nothing of other centres or later days
        at_kiosk=principal is not None and principal.role == "kiosk",
    )
    if printer is not None:
        printing.job_added(app_state, printer)
    ticket = outcome.ticket
    return jsonify({**ticket, "track_url": printing.track_url(track_base, ticket["id"])}), 201


@bp.get("/reports/bookings")
def booking_report():
    """Bookings per service and day over ``from``..``to`` (dates): booked, remote, cancelled, on time,
    late, no-shows, lapsed, the tickets by origin; totals with the no-show rate, punctuality and the
    booked share (supervisors)."""
    require_role(current_principal(), "admin", "supervisor")
    json_only()
    app_state = state()
    period = requested_days(app_state.site)
    with app_state.Session() as db:
        return jsonify(bk.booking_figures(db, app_state.site, period.first_day, period.last_day))
