"""Telling a citizen "còn N số nữa đến lượt Ông/Bà" and "Mời Ông/Bà đến quầy X", on the channel they chose.

A citizen opts in from the ticket's tracking page (``subscribe``); the address is sealed (AES-GCM,
with a key the web layer derives from the server's secret) and erased when the ticket ends. The
delivery worker (server/web/delivery.py) reads a ``plan`` after queue changes and ``apply``s it: a
notice for each subscriber now N or fewer places from the front ("near") and for each one just
called ("called"), each keyed so that the database refuses it twice; then ``due`` notices are sent
through their channel and marked. A notice is marked "sending" before it goes, so one cut off
by a crash is never sent again (never twice beats once more); a channel that fails is retried
on ``RETRY_DELAYS`` while the notice still makes sense. Nothing goes out outside the site's hours.

The channels (an SMS gateway, e-mail, Zalo ZNS, Web Push) are in server/core/notification_channels.py,
chosen by the site's settings (config.yaml ``notifications:``).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import secrets
import urllib.parse
from dataclasses import dataclass, field

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from . import models as m
from . import sms_length
from .errors import Invalid, NotFound, QueueError
from .i18n import Phrase, translate
from .models import utcnow
from .notification_channels import Message

# the settings (config.yaml ``notifications:``) live apart, so loading the config needs no SQLAlchemy
from .notification_settings import (  # noqa: F401  (notifications.NotificationSettings and the others, as before)
    EmailSettings,
    NotificationSettings,
    SmsGatewaySettings,
    WebPushSettings,
    ZaloZnsSettings,
)
from .unoffered import offered_only

S = m.notification_subscriptions
N = m.notices
T = m.tickets
BO = m.booking_opt_ins
B = m.bookings

RETRY_DELAYS = (5, 15, 30, 60, 120, 300)  # then given up: a message about the queue is soon stale


def retry_delays(text: str | None) -> tuple[float, ...]:
    """The retry schedule from "5,15,30" (seconds, ``QUEUEKIOSK_NOTIFY_RETRY_SECONDS``); None or
    empty: ``RETRY_DELAYS``."""
    if not text or not text.strip():
        return RETRY_DELAYS
    try:
        delays = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"the notification retry schedule {text!r} is not a list of seconds such as 5,15,30") from None
    if any(delay <= 0 for delay in delays):
        raise ValueError(f"the notification retry schedule {text!r} must be positive seconds")
    return delays


ENDED_STATES = ("done", "no_show", "expired")


# --- addresses ----------------------------------------------------------------------------

PHONE = re.compile(r"^(?:\+?84|0)(\d{9})$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def normalise(channel_name: str, address: str, settings: NotificationSettings | None = None) -> str:
    """A phone as 0xxxxxxxxx, an e-mail address as given, a push subscription as compact JSON (to one
    of the push services of ``settings``); anything else is refused naming the field."""
    address = address.strip()
    if channel_name == "push":
        return _push_subscription(address, settings.push.services)
    if channel_name == "email":  # ``problem``: what the tracking page says under its box (kiosk/static/notify.js)
        if not EMAIL.match(address) or len(address) > 254:
            raise Invalid("notify_address_invalid", field="address", channel="email", problem=Phrase("problem_email"))
        return address
    match = PHONE.match(re.sub(r"[\s.()-]", "", address))
    if match is None:
        raise Invalid("notify_address_invalid", field="address", channel=channel_name, problem=Phrase("problem_phone"))
    return "0" + match.group(1)


def _push_service_allowed(endpoint: str, services: list[str]) -> bool:
    parts = urllib.parse.urlsplit(endpoint)
    if parts.scheme == "http":
        return f"http://{parts.netloc}" in services
    host = parts.hostname or ""
    return parts.scheme == "https" and any(
        host == service or (service.startswith("*.") and host.endswith(service[1:])) for service in services
    )


def _push_subscription(text: str, services: list[str]) -> str:
    """A browser's PushSubscription.toJSON(): an endpoint at a known push service, its P-256 key and auth secret."""
    from .vapid import unb64  # (TLS and VAPID: a notice's or a subscription's, not an idle server's)

    try:
        data = json.loads(text)
        endpoint, keys = data["endpoint"], data["keys"]
        valid = (
            isinstance(endpoint, str)
            and len(endpoint) <= 500
            and _push_service_allowed(endpoint, services)
            and len(unb64(keys["p256dh"])) == 65
            and len(unb64(keys["auth"])) == 16
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        valid = False
    if not valid:
        raise Invalid("notify_address_invalid", field="address", channel="push")
    return json.dumps(
        {"endpoint": endpoint, "keys": {"p256dh": keys["p256dh"], "auth": keys["auth"]}}, separators=(",", ":")
    )


def mask(address: str) -> str:
    if address.startswith("{"):  # a push subscription: its push service only
        return "push: " + urllib.parse.urlsplit(json.loads(address)["endpoint"]).netloc
    if "@" in address:
        name, _, domain = address.partition("@")
        return name[:1] + "***@" + domain
    return address[:3] + "****" + address[-3:]


class AddressBox:
    """Seals addresses with AES-GCM; the key comes from the web layer (derived from the server's secret)."""

    def __init__(self, key: bytes):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._aead = AESGCM(key[:32])

    def seal(self, text: str) -> str:
        nonce = secrets.token_bytes(12)
        return base64.urlsafe_b64encode(nonce + self._aead.encrypt(nonce, text.encode(), b"address")).decode()

    def open(self, sealed: str) -> str:
        raw = base64.urlsafe_b64decode(sealed)
        return self._aead.decrypt(raw[:12], raw[12:], b"address").decode()


# --- opting in ----------------------------------------------------------------------------


def _ticket(conn, site, public_id: str, lock: bool = False):
    """``lock``: as ``_booking``'s (a remote number's ticket the centre is cancelling is waited for)."""
    query = select(T).where(T.c.public_id == public_id, T.c.site_id == site.id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound("unknown_ticket", ticket=public_id)
    return row


def _view(row) -> dict:
    return {
        "channel": row.channel,
        "address": row.address_masked,
        "language": row.language,
        "created_at": row.created_at.isoformat(timespec="seconds") + "Z",
    }


def subscriptions(conn, site, public_id: str) -> dict:
    ticket = _ticket(conn, site, public_id)
    settings = site.config.notifications
    rows = conn.execute(select(S).where(S.c.ticket_id == ticket.id, S.c.ended_at.is_(None)).order_by(S.c.id))
    return {"channels": list(settings.channels), "ahead": settings.ahead, "subscriptions": [_view(r) for r in rows]}


def subscribe(conn, site, public_id: str, channel_name: str, address: str, language: str, box: AddressBox) -> dict:
    """Opt in (again: the newer address replaces the older on that channel) while the ticket waits or is called."""
    settings = site.config.notifications
    if channel_name not in settings.channels:
        raise Invalid(
            "notify_channel_unknown", field="channel", channel=channel_name, known=", ".join(settings.channels) or "-"
        )
    address = normalise(channel_name, address, settings)
    ticket = _ticket(conn, site, public_id, lock=True)
    if ticket.status not in ("waiting", "called", m.REMOTE_STATUS):  # (a remote number waits for its check-in)
        raise QueueError("notify_ticket_ended", number=ticket.number)
    now = utcnow()
    old = conn.execute(select(S.c.id).where(S.c.ticket_id == ticket.id, S.c.channel == channel_name)).scalar()
    if old is not None:  # its notices stay: a new address is not told again what the old one was told
        conn.execute(
            update(S)
            .where(S.c.id == old)
            .values(address_sealed=box.seal(address), address_masked=mask(address), language=language, ended_at=None)
        )
    else:
        conn.execute(
            insert(S).values(
                site_id=site.id,
                ticket_id=ticket.id,
                channel=channel_name,
                address_sealed=box.seal(address),
                address_masked=mask(address),
                language=language,
                created_at=now,
            )
        )
    row = conn.execute(select(S).where(S.c.ticket_id == ticket.id, S.c.channel == channel_name)).one()
    return _view(row)


def unsubscribe(conn, site, public_id: str, channel_name: str) -> None:
    _end_subscription(conn, _ticket(conn, site, public_id).id, channel_name)


def _end_subscription(conn, ticket_id: int, channel_name: str) -> None:
    """The ticket's subscription on that channel ends (opted out)."""
    if _end_subscriptions(conn, (S.c.ticket_id == ticket_id, S.c.channel == channel_name), "opted out") != 1:
        raise NotFound("notify_not_subscribed", channel=channel_name)


def _end_subscriptions(conn, which: tuple, why: str) -> int:
    """The subscriptions ``which`` (conditions on them) still going end: their addresses erased, their
    pending notices dropped (``why``). How many ended."""
    ended = conn.execute(
        update(S).where(*which, S.c.ended_at.is_(None)).values(address_sealed=None, ended_at=utcnow())
    ).rowcount
    conn.execute(
        update(N)
        .where(N.c.subscription_id.in_(select(S.c.id).where(*which)), N.c.status == "pending")
        .values(status="dropped", last_error=why)
    )
    return ended


def _booking(conn, site, code: str, lock: bool = False):
    """``lock``: the row locked until commit (PostgreSQL), so a centre's cancel under way is waited for."""
    query = select(B).where(B.c.code == code.strip().upper(), B.c.site_id == site.id)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound("booking_not_found", booking=code)
    return row


def booking_subscribe(conn, site, code: str, channel_name: str, address: str, language: str, box: AddressBox) -> dict:
    """Opt in when booking: kept sealed until check-in gives the booking its ticket (``carry_to_ticket``)."""
    settings = site.config.notifications
    if channel_name not in settings.channels:
        raise Invalid(
            "notify_channel_unknown", field="channel", channel=channel_name, known=", ".join(settings.channels) or "-"
        )
    address = normalise(channel_name, address, settings)
    booking = _booking(conn, site, code, lock=True)  # (not opted in on a booking the centre is cancelling)
    if booking.status != "booked":
        raise QueueError("notify_booking_ended", booking=booking.code)
    values = {"address_sealed": box.seal(address), "address_masked": mask(address), "language": language}
    changed = conn.execute(
        update(BO).where(BO.c.booking_id == booking.id, BO.c.channel == channel_name).values(**values)
    )
    if changed.rowcount == 0:
        conn.execute(insert(BO).values(booking_id=booking.id, channel=channel_name, created_at=utcnow(), **values))
    if booking.ticket_id is not None:  # a remote number: its ticket exists already, the opt-in is that ticket's
        carry_to_ticket(conn, site, booking.id, booking.ticket_id)
    return {"channel": channel_name, "address": values["address_masked"], "language": language}


def carry_to_ticket(conn, site, booking_id: int, ticket_id: int, now: dt.datetime | None = None) -> None:
    """The booking's opt-ins become its ticket's (at check-in, or when a remote number's booking opts in):
    the tracking page shows them at once, with their cancel button, and they are told from then on."""
    _carry(conn, site, select(BO).where(BO.c.booking_id == booking_id), ticket_id, now or utcnow())


def _carry(conn, site, opt_ins, ticket_id: int, now: dt.datetime) -> None:
    """``opt_ins`` (a select of booking opt-ins) as the ticket's subscriptions, then gone from the booking.
    A subscription the ticket has on that channel takes the opt-in's address, as a new opt-in on the
    tracking page would (the opt-in is the newer: a slot booking's ticket is made at its check-in, and a
    remote number's opt-in is carried the moment it is made); its notices stay, so nothing is told twice."""
    rows = conn.execute(opt_ins).all()
    for row in rows:
        address = {"address_sealed": row.address_sealed, "address_masked": row.address_masked, "language": row.language}
        old = conn.execute(select(S.c.id).where(S.c.ticket_id == ticket_id, S.c.channel == row.channel)).scalar()
        if old is not None:
            conn.execute(update(S).where(S.c.id == old).values(**address, ended_at=None))
        else:
            conn.execute(
                insert(S).values(site_id=site.id, ticket_id=ticket_id, channel=row.channel, created_at=now, **address)
            )
    if rows:
        conn.execute(delete(BO).where(BO.c.id.in_([row.id for row in rows])))


def booking_unsubscribe(conn, site, code: str, channel_name: str) -> None:
    """Opt out from the booking's page: its opt-in, or, once it is its ticket's (checked in, or a remote
    number's), the ticket's subscription."""
    booking = _booking(conn, site, code)
    if conn.execute(delete(BO).where(BO.c.booking_id == booking.id, BO.c.channel == channel_name)).rowcount == 1:
        return
    if booking.ticket_id is None:
        raise NotFound("notify_not_subscribed", channel=channel_name)
    _end_subscription(conn, booking.ticket_id, channel_name)


# --- what to send, and when ---------------------------------------------------------------


def within_hours(site, now: dt.datetime) -> bool:
    local = now.replace(tzinfo=dt.UTC).astimezone(site.config.site.zone)
    return site.config.site.hours.is_open(local)


def newest_active(conn) -> tuple | None:
    """The newest opt-ins still waiting, of tickets and of bookings (None: nobody waits), so that the
    worker sees a new one."""
    newest = (
        conn.execute(select(func.max(S.c.id)).where(S.c.ended_at.is_(None))).scalar(),
        conn.execute(select(func.max(BO.c.id))).scalar(),
    )
    return None if newest == (None, None) else newest


@dataclass
class Plan:
    ended: list[int]  # subscriptions whose ticket ended: their addresses are to be erased
    notices: list[tuple[int, str, dict]]  # (subscription, key, params) not made before
    checked_in: list[tuple[int, int]] = field(default_factory=list)  # (booking opt-in, its ticket)
    gone: list[int] = field(default_factory=list)  # booking opt-ins of bookings that ended without a ticket

    def __bool__(self):
        return bool(self.ended or self.notices or self.checked_in or self.gone)


def plan(conn, site, now: dt.datetime | None = None, ignore_hours: bool = False) -> Plan:
    """What the queue now calls for, read without writing (``apply`` writes it): a "near" notice for
    each subscriber N or fewer places from the front, a "called" one for each subscriber called,
    none made before; and the subscriptions of tickets that ended."""
    from .engine.estimates import places_of

    now = now or utcnow()
    rows = conn.execute(
        select(S.c.id.label("subscription"), T)
        .join(T, T.c.id == S.c.ticket_id)
        .where(S.c.ended_at.is_(None), S.c.site_id == site.id)
    ).all()
    todo = Plan([r.subscription for r in rows if r.status in ENDED_STATES], [])
    today = now.replace(tzinfo=dt.UTC).astimezone(site.config.site.zone).date()
    for opt_in, ticket_id, status, day in conn.execute(
        select(BO.c.id, B.c.ticket_id, B.c.status, B.c.business_day)
        .join(B, B.c.id == BO.c.booking_id)
        .where(B.c.site_id == site.id)
    ):
        if ticket_id is not None:
            todo.checked_in.append((opt_in, ticket_id))
        elif status != "booked" or day < today:  # cancelled, lapsed, or its day passed without a check-in
            todo.gone.append(opt_in)
    if not ignore_hours and not within_hours(site, now):
        return todo
    made = set(
        conn.execute(
            select(N.c.subscription_id, N.c.key).where(N.c.subscription_id.in_([r.subscription for r in rows]))
        ).all()
    )
    base = {"site": site.config.site.name}
    if site.config.site.sms_name is not None:  # (an SMS's only: ``message`` keeps it from the other channels)
        base["sms_site"] = site.config.site.sms_name
    places: dict[tuple, dict[int, int]] = {}  # (service, target counter, day) -> places: each queue read once
    requeues = _requeues(conn, [row.id for row in rows if row.status in ("called", "waiting")])
    for row in rows:
        if row.status == "called" and row.counter_id is not None:
            counter = site.counter_numbers.get(row.counter_id)
            key = _key("called", counter, requeues.get(row.id, 0))
            params = {**base, "number": row.number, "counter": counter}
        elif row.status == "waiting":
            key, params = _key("near", _near_queue(site, row), requeues.get(row.id, 0)), None
        else:
            continue
        if (row.subscription, key) in made:
            continue
        if params is None:  # waiting: near enough yet? (counted only for those not told already)
            queue = (row.service_id, row.target_counter_id, row.business_day)
            if queue not in places:  # (a number sent to one counter: that counter's, none while it is not open)
                places[queue] = places_of(conn, site, row, now)
            ahead = places[queue].get(row.id)
            if ahead is None or ahead > site.config.notifications.ahead:
                continue
            params = {**base, "number": row.number, "ahead": ahead}
        todo.notices.append((row.subscription, key, params))
    return todo


def _requeues(conn, ticket_ids: list[int]) -> dict[int, int]:
    """How many times each ticket went back to the queue when its counter closed (under it, or while
    it waited for that counter alone)."""
    if not ticket_ids:
        return {}
    E = m.events
    return dict(
        conn.execute(
            select(E.c.ticket_id, func.count())
            .where(E.c.kind == "requeued", E.c.ticket_id.in_(ticket_ids))
            .group_by(E.c.ticket_id)
        ).all()
    )


def _near_queue(site, row) -> str:
    """The queue a waiting number's "near" counts its place in, as its notice's key names it: its
    service's ("HT"), or for a number sent to one counter that counter's ("DC@5"). Another queue, another
    notice: a citizen told near at the head of DC's queue, called, then sent to counter 5, waits behind
    counter 5's citizens and is told again when near there."""
    code = site.service_codes.get(row.service_id)
    if row.target_counter_id is None:
        return code
    return f"{code}@{site.counter_numbers.get(row.target_counter_id)}"


def _key(kind: str, value, requeues: int) -> str:
    """A notice's key, made once per subscription: "called:5" (the same for a recall there: never sent
    twice), "near:HT" ("near:DC@5" sent to counter 5: _near_queue); "called:5:1", "near:HT:1" once its counter closed and put it back in the queue
    (the citizen may have gone out to wait: told again when it comes near, and when it is called)."""
    return f"{kind}:{value}" if requeues == 0 else f"{kind}:{value}:{requeues}"


def apply(conn, site, todo: Plan, now: dt.datetime | None = None) -> int:
    """Write a ``plan``: end the subscriptions, make the notices (a notice made meanwhile, by a
    process that held the lease before, is refused by the database: never twice)."""
    now = now or utcnow()
    if todo.ended:
        conn.execute(update(S).where(S.c.id.in_(todo.ended)).values(address_sealed=None, ended_at=now))
    for opt_in, ticket_id in todo.checked_in:  # (carried at check-in already, but for a check-in before this)
        _carry(conn, site, select(BO).where(BO.c.id == opt_in), ticket_id, now)
    if todo.gone:
        conn.execute(delete(BO).where(BO.c.id.in_(todo.gone)))
    made = 0
    for subscription, key, params in todo.notices:
        savepoint = conn.begin_nested()
        try:
            conn.execute(
                insert(N).values(
                    subscription_id=subscription,
                    key=key,
                    params=params,
                    status="pending",
                    attempts=0,
                    next_attempt_at=now,
                    created_at=now,
                )
            )
        except IntegrityError:
            savepoint.rollback()
        else:
            savepoint.commit()
            made += 1
    return made


@dataclass(frozen=True)
class Due:
    notice: int
    channel: str
    address_sealed: str
    message: Message
    site_id: str = ""  # the site whose citizen it is: its channels' settings send it


def message(key: str, params: dict, language: str) -> Message:
    """``params["sms_site"]``: the site's short name for SMS (config site.sms_name), which an SMS begins with
    instead of its official name; e-mail, Zalo and Web Push keep the official one (their length is no cost,
    and a Zalo template's parameters are registered with Zalo: none is added)."""
    params = dict(params)
    sms_site = params.pop("sms_site", None)
    kind = key.partition(":")[0]
    if kind == "near" and params.get("ahead") == 0:
        kind = "next"
    sentence = translate(f"notify_{kind}", language, **params)  # the number, the counter: kept whole

    def text(site: str) -> str:
        return translate("notify_from", language, site=site, text=sentence)

    # an SMS: the site's name cut at a word while the text is over two parts, then left out (the SMS then begins
    # with the sentence: a capital, "Còn 2 số nữa...")
    sms_name = sms_site or params["site"]
    shorter = sms_length.shorter(text, sms_name, dropped=sentence[:1].upper() + sentence[1:])
    subject = translate(f"notify_subject_{'called' if kind == 'called' else 'near'}", language, **params)
    return Message(kind, text(params["site"]), subject, params, shorter, sms=text(sms_site) if sms_site else None)


def due(conn, now: dt.datetime | None = None, limit: int = 100, offered: dict | None = None) -> list[Due]:
    rows = conn.execute(
        select(N.c.id, N.c.key, N.c.params, S.c.channel, S.c.address_sealed, S.c.language, S.c.site_id)
        .join(S, S.c.id == N.c.subscription_id)
        .where(N.c.status == "pending", N.c.next_attempt_at <= (now or utcnow()), S.c.address_sealed.is_not(None))
        .where(offered_only(S, offered))  # (``offered``: each site's channels; only those on them)
        .order_by(N.c.id)
        .limit(limit)
    ).all()
    return [Due(r.id, r.channel, r.address_sealed, message(r.key, r.params, r.language), r.site_id) for r in rows]


def still_meant(conn, site, notice: int, now: dt.datetime | None = None, ignore_hours: bool = False) -> bool:
    """Mark the notice "sending" if it still makes sense (the ticket is where the message says, the
    centre is open); else drop it. True: send it now."""
    now = now or utcnow()
    row = conn.execute(
        select(
            N.c.key,
            N.c.status,
            T.c.id,
            T.c.status.label("ticket_status"),
            T.c.counter_id,
            T.c.service_id,
            T.c.target_counter_id,
        )
        .join(S, S.c.id == N.c.subscription_id)
        .join(T, T.c.id == S.c.ticket_id)
        .where(N.c.id == notice)
    ).one()
    kind, value = row.key.split(":")[:2]  # the counter or service ("called:5:1": after a requeue)
    meant = row.status == "pending" and (
        (  # a near notice made before the ticket's last requeue is void: the one made after it tells
            kind == "near"
            and row.ticket_status == "waiting"
            and value == _near_queue(site, row)  # (in the queue it counted, not sent elsewhere since)
            and row.key == _key(kind, value, _requeues(conn, [row.id]).get(row.id, 0))
        )
        or (
            kind == "called"
            and row.ticket_status in ("called", "serving")
            and str(site.counter_numbers.get(row.counter_id)) == value
        )
    )
    if meant and not ignore_hours and not within_hours(site, now):
        meant = False
    claimed = conn.execute(
        update(N)
        .where(N.c.id == notice, N.c.status == "pending")
        .values(
            status="sending" if meant else "dropped", last_error=None if meant else "no longer meant or outside hours"
        )
    )
    return meant and claimed.rowcount == 1  # another worker may have claimed it since the read


def mark_sent(
    conn, site, notice: int, error: str | None, now: dt.datetime | None = None, delays: tuple = RETRY_DELAYS
) -> str:
    """After an attempt: sent, or pending again on the retry schedule, or failed when it is over."""
    values = attempt_outcome(conn, N, notice, error, now or utcnow(), delays)
    conn.execute(update(N).where(N.c.id == notice).values(attempts=N.c.attempts + 1, **values))
    return values["status"]


def attempt_outcome(conn, table, notice: int, error: str | None, now: dt.datetime, delays: tuple) -> dict:
    """What an attempt to send notice ``notice`` of ``table`` (this module's, or cancel_notices') leaves
    on its row, its count of attempts aside: sent; or pending again after ``delays[attempts - 1]``
    seconds; or failed once the schedule is over."""
    if error is None:
        return {"status": "sent", "sent_at": now, "next_attempt_at": None, "last_error": None}
    attempts = conn.execute(select(table.c.attempts).where(table.c.id == notice)).scalar_one() + 1
    again = attempts <= len(delays)
    return {
        "status": "pending" if again else "failed",
        "next_attempt_at": now + dt.timedelta(seconds=delays[attempts - 1]) if again else None,
        "last_error": error[:300],
    }


def forget(conn, site, before: dt.datetime) -> int:
    """Subscriptions ended before ``before``, with their notices (the masked address too)."""
    old = select(S.c.id).where(S.c.ended_at < before)
    removed = conn.execute(delete(N).where(N.c.subscription_id.in_(old))).rowcount
    return removed + conn.execute(delete(S).where(S.c.ended_at < before)).rowcount
