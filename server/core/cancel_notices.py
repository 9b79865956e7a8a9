"""Telling a citizen "Lịch hẹn … bị hủy" when the centre cancels their booking.

A booking the centre cancels (``bookings.cancel_booking``'s ``cancel_by_centre``: its day made a
holiday or no longer a working day, its hours changed, its site retired) would otherwise take its
citizen's opt-ins with it unsent, and the citizen would walk to a closed door. ``record`` runs in the
cancel's own transaction: each opt-in of the booking (a slot's, kept sealed until check-in; a remote
number's, its ticket's subscription already) becomes one row of ``cancel_notices``, its sealed address
moved there, and the opt-in is erased as before. The delivery worker (server/web/delivery.py) sends
them as the queue's notices: claimed ("sending", its claim's time in ``next_attempt_at``) before each
goes, by one worker only (never twice), retried on the notifications' schedule, the address erased once
sent, given up or no longer sendable; one left "sending" by a process that stopped is given up
(``settle_cut_off``), its address erased.

Unlike the queue's notices, these go at any hour: a day made a holiday in the evening for the next
morning must reach its citizen before they set out, and held for the opening hours it would come on
a day the centre does not open at all. They are told only of the centre's cancels: a citizen's own
cancel tells them nothing they do not know.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update

from . import models as m
from .i18n import translate
from .models import utcnow
from .notification_channels import Message
from .notifications import Due, _end_subscriptions, attempt_outcome
from .unoffered import offered_only

C = m.cancel_notices
BO = m.booking_opt_ins
S = m.notification_subscriptions


CHUNK = 500  # ids in one IN (...): well under SQLite's limit of bound parameters


def _chunks(ids: list[int]):
    return (ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK))


def record(conn, site, cancelled: list[tuple], now: dt.datetime | None = None) -> int:
    """For each (booking row, reason) the centre just cancelled, a notice per channel its citizen opted
    in on, in their language, from the opt-in's sealed address; the opt-ins erased. How many made.
    A few statements for them all, not a few per booking: a holiday cancels hundreds in one transaction."""
    now = now or utcnow()
    booking_ids = [row.id for row, _ in cancelled]
    ticket_ids = [row.ticket_id for row, _ in cancelled if row.ticket_id is not None]
    opt_ins: dict[int, list] = {}
    for ids in _chunks(booking_ids):
        for opt_in in conn.execute(select(BO).where(BO.c.booking_id.in_(ids)).order_by(BO.c.id)):
            opt_ins.setdefault(opt_in.booking_id, []).append(opt_in)
    subscribed: dict[int, list] = {}  # a remote number's opt-ins are its ticket's subscriptions
    for ids in _chunks(ticket_ids):
        live = S.c.ticket_id.in_(ids), S.c.ended_at.is_(None), S.c.address_sealed.is_not(None)
        for s in conn.execute(select(S).where(*live).order_by(S.c.id)):
            subscribed.setdefault(s.ticket_id, []).append(s)
        _end_subscriptions(conn, (S.c.ticket_id.in_(ids),), "booking cancelled by the centre")
    for ids in _chunks(booking_ids):
        conn.execute(delete(BO).where(BO.c.booking_id.in_(ids)))
    notices = []
    for row, reason in cancelled:
        own = opt_ins.get(row.id, [])
        channels = {o.channel for o in own}
        params = _params(site, row, reason)
        for opt_in in own + [s for s in subscribed.get(row.ticket_id, []) if s.channel not in channels]:
            notices.append(
                {
                    "site_id": site.id,
                    "booking_id": row.id,
                    "channel": opt_in.channel,
                    "address_sealed": opt_in.address_sealed,
                    "address_masked": opt_in.address_masked,
                    "language": opt_in.language,
                    "params": params,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
    if notices:
        conn.execute(C.insert(), notices)  # (executemany)
    return len(notices)


def _params(site, row, reason: str) -> dict:
    """What the message says: the site, the booked day (and a slot's local start, as its holder was
    told), the booking's code and the reason."""
    zone = site.config.site.zone
    start = None
    if row.kind == "slot" and row.slot_start is not None:
        start = row.slot_start.replace(tzinfo=dt.UTC).astimezone(zone).strftime("%H:%M")
    day = row.business_day
    return {
        "site": site.config.site.name,
        "date": f"{day.day:02d}/{day.month:02d}",
        "start": start,
        "code": row.code,
        "reason": reason,
    }


UNLIMITED = ("email", "push")  # channels with no length limit: their text begins with the cancelling site's name


def message(
    params: dict,
    language: str,
    link: str,
    moved_to: str | None = None,
    channel: str = "sms",
    moved_sms: str | None = None,
) -> Message:
    """The text in ``language``: "Lịch hẹn ABC123 09:15 ngày 08/12 bị hủy vì ... Đặt lại: <link>" (an SMS
    of two parts at most: tests/test_cancel_sms_parts.py); an e-mail's or Web Push's (``channel``) after
    "<the cancelling site's name>: ".
    Its values (a Zalo template's parameters) as the text says them: the reason in words, not its code,
    and no ``start`` for a remote number (an empty parameter may be refused: ``when`` says the day).
    ``moved_to``: a retired site's successor (``link`` its booking page), named to its citizens: in an
    SMS only if it fits two parts as the gateway sends it (sms_length.py: a plain ASCII text holds more than
    one with Vietnamese letters, as does one sent without diacritics), else "điểm mới" (a new site) with its
    link: the message's ``shorter`` form, the gateway's choice (notification_channels.py ``SmsGateway``).
    ``moved_sms``: that successor's short name for SMS (its site.sms_name), which an SMS names it by instead
    (its ``sms`` text), else "điểm mới" as above; an e-mail, Web Push and Zalo's ``moved_to`` keep ``moved_to``."""
    when = translate(
        "notify_cancelled_when_slot" if params.get("start") else "notify_cancelled_when_day", language, **params
    )
    reason = translate(f"notify_cancelled_reason_{params['reason']}", language)
    values = {k: v for k, v in params.items() if v is not None} | {"when": when, "reason": reason, "link": link}
    key = f"notify_cancelled_{params['reason']}"
    if moved_to and params["reason"] == "site_retired":
        key, values["moved_to"] = "notify_cancelled_site_retired_to", moved_to
    text, shorter, sms = translate(key, language, **values), (), None
    if channel in UNLIMITED:
        text = translate("notify_from", language, site=params["site"], text=text)
    elif "moved_to" in values:
        shorter = (translate("notify_cancelled_site_retired_new", language, **values),)
        if moved_sms:
            sms = translate(key, language, **values | {"moved_to": moved_sms})
    subject = translate("notify_subject_cancelled", language, **values)
    return Message("cancelled", text, subject, values, shorter, sms=sms)


def waiting(conn, offered: dict | None = None) -> bool:
    """Whether any cancel notice is still to be sent (the worker's cheap look each round); ``offered``:
    on a channel its site offers (server/core/unoffered.py ``offered_only``), as ``due`` picks them."""
    pending = select(C.c.id).where(C.c.status == "pending", offered_only(C, offered))
    return conn.execute(pending.limit(1)).first() is not None


def _message_of(row, link: str, there) -> Message:
    """``message`` of a pending notice's row; ``there``: its retired site's successor, if any."""
    if there is None:
        return message(row.params, row.language, link, None, row.channel)
    return message(row.params, row.language, link, there.name, row.channel, there.sms_name)


def due(
    conn,
    links: dict[str, str],
    now: dt.datetime | None = None,
    limit: int = 100,
    moved: dict | None = None,
    offered: dict | None = None,
) -> list[Due]:
    """The notices whose (next) attempt is due, oldest first; ``links``: each site's booking page (the
    worker knows it); ``moved``: each retired site's successor (sites.Successor: its name, and its short name
    for SMS where it has one; its ``links`` that successor's page); ``offered``: only those on a channel
    their site offers (each site's channels: unoffered.py ``offered_only``), so that any number on one not
    offered never hold the others back."""
    moved = moved or {}
    now = now or utcnow()
    rows = conn.execute(
        select(C)
        .where(C.c.status == "pending", C.c.next_attempt_at <= now, C.c.address_sealed.is_not(None))
        .where(offered_only(C, offered))
        .order_by(C.c.id)
        .limit(limit)
    ).all()
    return [
        Due(
            r.id,
            r.channel,
            r.address_sealed,
            _message_of(r, links.get(r.site_id, ""), moved.get(r.site_id)),
            r.site_id,
        )
        for r in rows
    ]


def unsendable(settings, channel: str) -> str | None:
    """Why a notice on ``channel`` can never go by ``settings`` (a site's ``notifications``), or None:
    Zalo without a template approved for cancellations."""
    if channel == "zalo" and not getattr(settings.zalo, "template_cancelled", None):
        return "no Zalo template for cancellations (notifications.zalo.template_cancelled)"
    return None


def still_meant(conn, site, notice: int, now: dt.datetime | None = None, ignore_hours: bool = False) -> bool:
    """Mark it "sending" if it can still go (at any hour: see the module). True: send now. On a channel
    ``site`` does not offer (as this process knows its setup: another may have turned it on a moment
    ago) it is left pending, its address kept: sent once this process offers it, or ended by the
    sweep (server/core/unoffered.py) if it stays unoffered. (One that can never go, ``unsendable``, the
    worker has dropped instead, by the same ``site`` setup: it reaches no yield between the two.)"""
    row = conn.execute(select(C.c.channel, C.c.status).where(C.c.id == notice)).one()
    if row.status != "pending" or row.channel not in site.config.notifications.channels:
        return False
    # the claim wins only if it changed the row: another worker may have claimed it since
    claimed = update(C).where(C.c.id == notice, C.c.status == "pending")
    return conn.execute(claimed.values(status="sending", next_attempt_at=now or utcnow())).rowcount == 1


def drop(conn, site, notice: int, problem: str) -> bool:
    """A notice that can never go (``unsendable``: ``problem`` says why) dropped, its address erased, if
    it is still pending. Whether this call dropped it: another worker (in the seconds two may deliver
    together: server/web/delivery.py) may have dropped or claimed it since, and the log counts only once."""
    pending = update(C).where(C.c.id == notice, C.c.status == "pending")
    return conn.execute(pending.values(status="dropped", address_sealed=None, last_error=problem)).rowcount == 1


def any_cut_off(conn, before: dt.datetime) -> bool:
    """Whether ``settle_cut_off`` has anything to settle: a read, so that a start and a prune write
    nothing on a day with no notice cut off (a write at start met a damaged database before the queue's
    own work did, and said so in its name)."""
    cut_off = select(C.c.id).where(C.c.status == "sending", C.c.next_attempt_at < before)
    return conn.execute(cut_off.limit(1)).first() is not None


def settle_cut_off(conn, site, before: dt.datetime) -> int:
    """Notices claimed ("sending") before ``before`` by a process that is gone (stopped or killed while
    it sent): failed, their addresses erased. Not sent again: as the queue's notices, one cut off by a
    crash may have gone already (a citizen is never told twice). How many."""
    cut_off = update(C).where(C.c.status == "sending", C.c.next_attempt_at < before)
    return conn.execute(
        cut_off.values(status="failed", address_sealed=None, last_error="cut off while it went (the server stopped)")
    ).rowcount


def mark_sent(conn, site, notice: int, error: str | None, now: dt.datetime | None = None, delays: tuple = ()) -> str:
    """After an attempt: sent, or pending again on the retry schedule, or failed when it is over; the
    address erased once nothing more will be sent to it."""
    values = attempt_outcome(conn, C, notice, error, now or utcnow(), delays)
    if values["status"] != "pending":
        values["address_sealed"] = None
    # (one dropped while it went, its channel turned off, stays dropped: its address is gone)
    conn.execute(update(C).where(C.c.id == notice, C.c.status == "sending").values(attempts=C.c.attempts + 1, **values))
    return values["status"]


def forget(conn, site, before: dt.datetime) -> int:
    """Notices made before ``before`` that are over (their masked address too)."""
    return conn.execute(
        delete(C).where(C.c.created_at < before, C.c.status.in_(("sent", "failed", "dropped", "sending")))
    ).rowcount
