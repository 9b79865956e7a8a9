"""Bookings, same-day remote numbers and check-in, in one queue with walk-ins (docs/bookings.md).

Flask-free, like the engine: each action runs inside the caller's transaction and returns an
``Outcome``; a refusal raises before anything is written, or the caller rolls back.

- A service takes bookings when its setup has ``booking`` (config.Booking). Its slots run from
  the site's opening to its closing time on working days that are not holidays.
- A slot is never oversold: its places taken are one row (``booking_slots``) raised by one
  conditional upsert, ``taken + 1 WHERE taken < per_slot``, in the booking's transaction. The
  row lock (PostgreSQL) or the write lock (SQLite) makes concurrent bookings wait for each other,
  and the condition is checked again on the latest row: the last place goes to one of them.
- One number per person (ID number, else phone) per service and business day, walk-in, remote or
  booked: ``person_days`` has that key, and an insert that finds it taken names what is held.
- Personal data: the ID number and the phone are kept only as a keyed hash (HMAC-SHA256 with the
  installation's person key, kept outside the database) and a masked form (``0010******45``).
  The card's name, birth date, sex and address are read from its QR text and dropped at once.
- A remote number is a real ticket of the day's sequence, issued at once but held out of the
  queue (status ``remote``: not called, not counted waiting) until its citizen checks in; past
  its deadline it lapses (``lapse_overdue``). A booking checked in within its grace window gets
  a ticket due at its slot's start (``tickets.due_at``): from then on it is called ahead of
  walk-ins; checked in later, it is an ordinary walk-in ticket (still marked booked).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Date, DateTime, bindparam, delete, func, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from . import engine as q
from . import models as m
from .config import Booking as BookingSettings
from .db import SiteRuntime
from .engine.estimates import Estimator
from .errors import Invalid, NotFound, QueueError
from .models import REMOTE_STATUS, utcnow
from .periods import vn_date

B = m.Booking.__table__
SLOTS = m.BookingSlot.__table__
PD = m.PersonDay.__table__
T = m.Ticket.__table__
SEQ = m.NumberSequence.__table__
E = m.Event.__table__

PERSON_KEY_ENV = "QUEUEKIOSK_PERSON_KEY"
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud and typed without doubt
CODE_LENGTH = 8  # 32^8 ≈ 10^12 codes: a code is also what lets its holder cancel
CCCD_QR_MAX = 600  # a card's QR text is about 150 characters; anything far longer is not one

_TAKE_PLACE = text(
    "INSERT INTO booking_slots (service_id, slot_start, taken) VALUES (:service, :start, 1) "
    "ON CONFLICT (service_id, slot_start) DO UPDATE SET taken = booking_slots.taken + 1 "
    "WHERE booking_slots.taken < :capacity RETURNING taken"
).bindparams(bindparam("start", type_=DateTime()))
_CLAIM = text(
    "INSERT INTO person_days (service_id, business_day, person_hash, booking_id, ticket_id) "
    "VALUES (:service, :day, :person, :booking, :ticket) "
    "ON CONFLICT (service_id, business_day, person_hash) DO NOTHING RETURNING service_id"
).bindparams(bindparam("day", type_=Date()))


def _conn(db: Session | Connection) -> Connection:
    """Like the engine's functions, these take an ORM Session or a Core Connection in a transaction."""
    return db.connection() if isinstance(db, Session) else db


def _event(conn, site, kind: str, now, actor: q.Actor | None, ticket_id: int, service_id: int, detail: dict) -> None:
    """A step of a ticket in the append-only events log, as the engine writes its own."""
    actor = actor or q.Actor()
    conn.execute(
        insert(E).values(
            site_id=site.id,
            kind=kind,
            at=now,
            ticket_id=ticket_id,
            service_id=service_id,
            user_id=actor.user_id,
            token_id=actor.token_id,
            detail=detail,
        )
    )


# --- who: the keyed hash and the masked forms ---------------------------------------------


def person_key(instance_dir: Path) -> bytes:
    """The installation's secret for hashing ID numbers and phones: $QUEUEKIOSK_PERSON_KEY, else
    ``person_key`` in the instance folder (made once, readable by the server's user only). Kept out
    of the database, so that a copy of the database alone cannot test guesses of a number."""
    if os.environ.get(PERSON_KEY_ENV):
        return os.environ[PERSON_KEY_ENV].encode()
    path = Path(instance_dir) / "person_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".person_key.{os.getpid()}")
        with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(secrets.token_hex(32))
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(draft, path)  # whole or not at all; when processes start at once, the first key wins
        except FileExistsError:
            pass
        finally:
            os.unlink(draft)
    return path.read_text().strip().encode()


def _hash(key: bytes, kind: str, value: str) -> str:
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def normal_phone(raw: str) -> str:
    """A Vietnamese phone number as ten or eleven digits from 0; +84 / 84 written in front is taken."""
    digits = re.sub(r"[\s.\-()]", "", raw or "")
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if not re.fullmatch(r"0[0-9]{9,10}", digits):
        raise Invalid("invalid_phone", field="phone")
    return digits


def normal_id(raw: str) -> str:
    digits = re.sub(r"\s", "", raw or "")
    if not re.fullmatch(r"[0-9]{12}", digits):
        raise Invalid("invalid_id_number", field="id_number")
    return digits


def mask_id(id_number: str) -> str:
    return id_number[:4] + "*" * (len(id_number) - 6) + id_number[-2:]


def mask_phone(phone: str) -> str:
    return phone[:3] + "*" * (len(phone) - 6) + phone[-3:]


@dataclass(frozen=True)
class Person:
    """Whom a number belongs to: the hash that keys "one number per person", and what may be shown."""

    hash: str
    phone_masked: str
    id_masked: str | None


def person(key: bytes, phone: str, id_number: str | None) -> Person:
    phone = normal_phone(phone)
    if id_number:
        id_number = normal_id(id_number)
        return Person(_hash(key, "id", id_number), mask_phone(phone), mask_id(id_number))
    return Person(_hash(key, "phone", phone), mask_phone(phone), None)


def id_hash(key: bytes, id_number: str) -> str:
    return _hash(key, "id", normal_id(id_number))


@dataclass(frozen=True)
class Card:
    """What check-in keeps of a chip ID card's QR text: the number (to hash) and nothing else
    personal. The name, birth date, sex and address are checked for shape, then dropped."""

    id_number: str


def parse_cccd_qr(raw: str) -> Card:
    """The front QR of a CCCD: ``id(12)|old id(9 or empty)|full name|DDMMYYYY birth|sex|address|DDMMYYYY issued``.

    A USB scanner types it like a keyboard: surrounding spaces and the final Enter are taken, and
    Vietnamese letters may arrive garbled or not at all, so only the number and the two dates must be right.
    A refusal never repeats the text (it is personal data).
    """
    value = (raw or "").strip()
    parts = value.split("|")
    if (
        len(value) > CCCD_QR_MAX
        or len(parts) < 7
        or not re.fullmatch(r"[0-9]{12}", parts[0])
        or not re.fullmatch(r"([0-9]{9})?", parts[1])
    ):
        raise Invalid("invalid_cccd_qr", field="cccd_qr")
    for date_text in (parts[3], parts[6]):
        try:
            dt.datetime.strptime(date_text, "%d%m%Y")
        except ValueError:
            raise Invalid("invalid_cccd_qr", field="cccd_qr") from None
    return Card(parts[0])


# --- slots --------------------------------------------------------------------------------


def _settings(site: SiteRuntime, service: str) -> tuple[BookingSettings, int]:
    service_cfg = site.config.service(service)
    service_id = site.service_ids.get(service)
    if service_cfg is None or service_id is None:
        raise NotFound("unknown_service", service=service)
    if service_cfg.booking is None:
        raise QueueError("booking_not_offered", service=service)
    return service_cfg.booking, service_id


def _utc(local: dt.datetime) -> dt.datetime:
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def _local(site: SiteRuntime, utc_naive: dt.datetime) -> dt.datetime:
    return q.local_time(site, utc_naive)


def slot_times(site: SiteRuntime, settings: BookingSettings, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    """The day's slots as (start, end), local and aware: from opening to closing time, none on a
    day the site is closed (its weekdays and holidays, as the kiosk keeps them)."""
    hours, zone = site.config.site.hours, site.config.site.zone
    opening = dt.datetime.combine(day, hours.open, zone)
    if not hours.is_open(opening):
        return []
    closing = dt.datetime.combine(day, hours.close, zone)
    step = dt.timedelta(minutes=settings.slot_minutes)
    slots, start = [], opening
    while start + step <= closing:
        slots.append((start, start + step))
        start += step
    return slots


def booking_window(site: SiteRuntime, settings: BookingSettings, now: dt.datetime) -> tuple[dt.date, dt.date]:
    today = q.business_day(site, now)
    return today, today + dt.timedelta(days=settings.days_ahead)


def _check_day(site, settings, day: dt.date, now: dt.datetime) -> None:
    first, last = booking_window(site, settings, now)
    if not first <= day <= last:
        raise Invalid("invalid_booking_date", field="date", first=vn_date(first), last=vn_date(last))


def slots(
    conn: Connection, site: SiteRuntime, service: str, day: dt.date, now: dt.datetime | None = None
) -> list[dict]:
    """The slots of ``day`` still ahead, each with its free places."""
    now = now or utcnow()
    settings, service_id = _settings(site, service)
    _check_day(site, settings, day, now)
    times = [(s, e) for s, e in slot_times(site, settings, day) if _utc(s) > now]
    if not times:
        return []
    taken = dict(
        _conn(conn)
        .execute(
            select(SLOTS.c.slot_start, SLOTS.c.taken).where(
                SLOTS.c.service_id == service_id, SLOTS.c.slot_start.in_([_utc(s) for s, _ in times])
            )
        )
        .all()
    )
    return [
        {"start": f"{s:%H:%M}", "end": f"{e:%H:%M}", "free": max(0, settings.per_slot - taken.get(_utc(s), 0))}
        for s, e in times
    ]


def open_days(site: SiteRuntime, service: str, now: dt.datetime | None = None) -> list[str]:
    """The days of the booking window on which the service has slots (what the /book page offers)."""
    now = now or utcnow()
    settings, _ = _settings(site, service)
    first, last = booking_window(site, settings, now)
    days = (first + dt.timedelta(days=i) for i in range((last - first).days + 1))
    return [d.isoformat() for d in days if any(_utc(s) > now for s, _ in slot_times(site, settings, d))]


# --- views --------------------------------------------------------------------------------


def booking_view(site: SiteRuntime, row, number: int | None = None, ticket: str | None = None) -> dict:
    """A booking as its holder (and staff) may see it: masked numbers only; ``ticket``: its ticket's
    public id (a remote number's from the start, a slot's once checked in), for the tracking page."""
    start = _local(site, row.slot_start) if row.slot_start else None
    end = _local(site, row.slot_end) if row.slot_end else None
    deadline = _local(site, row.deadline) if row.deadline else None
    return {
        "code": row.code,
        "kind": row.kind,
        "service": site.service_codes.get(row.service_id),
        "date": row.business_day.isoformat(),
        "start": f"{start:%H:%M}" if start else None,
        "end": f"{end:%H:%M}" if end else None,
        "deadline": f"{deadline:%H:%M}" if deadline else None,
        "name": row.name,
        "phone": row.phone_masked,
        "id_number": row.id_masked,
        "status": row.status,
        "number": number,
        "ticket": ticket,
        "created_at": q._iso(row.created_at),
        "checked_in_at": q._iso(row.checked_in_at),
    }


def _number_of(conn, ticket_id: int | None) -> int | None:
    if ticket_id is None:
        return None
    return conn.execute(select(T.c.number).where(T.c.id == ticket_id)).scalar()


def _with_ticket(conn, site, row) -> dict:
    """``booking_view`` with its ticket's number and public id."""
    if row.ticket_id is None:
        return booking_view(site, row)
    ticket = conn.execute(select(T.c.number, T.c.public_id).where(T.c.id == row.ticket_id)).first()
    return booking_view(site, row, ticket.number, ticket.public_id) if ticket else booking_view(site, row)


def _view(conn, site, booking_id: int) -> dict:
    return _with_ticket(conn, site, conn.execute(select(B).where(B.c.id == booking_id)).one())


def remote_of_ticket(conn: Connection, site: SiteRuntime, public_id: str) -> dict | None:
    """For the tracking page: the remote number behind a ticket not yet checked in, as
    ``{"deadline": "HH:MM" (local)}``; None for any other ticket."""
    conn = _conn(conn)
    deadline = conn.execute(
        select(B.c.deadline)
        .join(T, T.c.id == B.c.ticket_id)
        .where(T.c.public_id == public_id, T.c.site_id == site.id, B.c.kind == "remote", B.c.status == "booked")
    ).scalar()
    return {"deadline": f"{_local(site, deadline):%H:%M}"} if deadline is not None else None


# --- booking ------------------------------------------------------------------------------


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _claim(
    conn,
    site: SiteRuntime,
    service_id: int,
    day: dt.date,
    person_hash: str,
    booking_id: int | None = None,
    ticket_id: int | None = None,
) -> None:
    """Take the person's one number of the day for the service, or say what they already hold."""
    taken = conn.execute(
        _CLAIM, {"service": service_id, "day": day, "person": person_hash, "booking": booking_id, "ticket": ticket_id}
    ).first()
    if taken is not None:
        return
    held = conn.execute(
        select(PD.c.booking_id, PD.c.ticket_id).where(
            PD.c.service_id == service_id, PD.c.business_day == day, PD.c.person_hash == person_hash
        )
    ).one()
    service = _service_name(site, service_id)
    if held.ticket_id is not None:
        raise QueueError(
            "already_holds_number", number=_number_of(conn, held.ticket_id), service=service, date=vn_date(day)
        )
    slot_start = conn.execute(select(B.c.slot_start).where(B.c.id == held.booking_id)).scalar()
    raise QueueError(
        "already_booked",
        service=service,
        date=vn_date(day),
        start=f"{_local(site, slot_start):%H:%M}" if slot_start else "",
    )


def _service_name(site: SiteRuntime, service_id: int) -> str:
    code = site.service_codes[service_id]
    service = site.config.service(code)
    return service.name.vi if service else code


def _insert_booking(conn, site, **values) -> int:
    return conn.execute(
        insert(B).values(site_id=site.id, code=_new_code(), status="booked", **values).returning(B.c.id)
    ).scalar_one()


def _parse_start(site, settings, day: dt.date, start: str, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    for s, e in slot_times(site, settings, day):
        if f"{s:%H:%M}" == start:
            if _utc(s) <= now:
                break  # begun already
            return _utc(s), _utc(e)
    raise Invalid("invalid_slot", field="start", start=start, date=vn_date(day))


def book(
    conn: Connection,
    site: SiteRuntime,
    service: str,
    day: dt.date,
    start: str,
    name: str,
    phone: str,
    id_number: str | None,
    key: bytes,
    now: dt.datetime | None = None,
    actor: q.Actor | None = None,
) -> q.Outcome:
    """A place in the slot of ``day`` starting at ``start`` ("08:15"), if one is free."""
    now = now or utcnow()
    conn = _conn(conn)
    settings, service_id = _settings(site, service)
    who = person(key, phone, id_number)
    _check_day(site, settings, day, now)
    slot_start, slot_end = _parse_start(site, settings, day, start, now)
    if (
        conn.execute(_TAKE_PLACE, {"service": service_id, "start": slot_start, "capacity": settings.per_slot}).first()
        is None
    ):
        raise QueueError("slot_full", start=start, date=vn_date(day))
    booking_id = _insert_booking(
        conn,
        site,
        service_id=service_id,
        kind="slot",
        business_day=day,
        slot_start=slot_start,
        slot_end=slot_end,
        name=name.strip(),
        phone_masked=who.phone_masked,
        id_masked=who.id_masked,
        person_hash=who.hash,
        token_id=(actor or q.Actor()).token_id,
        created_at=now,
    )
    _claim(conn, site, service_id, day, who.hash, booking_id=booking_id)
    view = _view(conn, site, booking_id)
    return q.Outcome(view, [q.Happened("booking.created", detail={"booking": _public(view)})])


def _public(view: dict) -> dict:
    """What goes to dashboards and webhooks: no name, and numbers only masked."""
    return {k: v for k, v in view.items() if k != "name"}


def take_remote(
    conn: Connection,
    site: SiteRuntime,
    service: str,
    name: str,
    phone: str,
    id_number: str | None,
    key: bytes,
    now: dt.datetime | None = None,
    actor: q.Actor | None = None,
    check_hours: bool = True,
) -> q.Outcome:
    """A same-day number taken from a phone ("lấy số từ xa"): the day's next number, first come first
    served with walk-ins, held out of the queue until its citizen checks in before the deadline."""
    now = now or utcnow()
    conn = _conn(conn)
    settings, service_id = _settings(site, service)
    if not settings.remote:
        raise QueueError("remote_not_offered", service=service)
    who = person(key, phone, id_number)
    issued = q.issue(conn, site, service, now=now, actor=actor, check_hours=check_hours).ticket
    ticket_id = _ticket_id(conn, issued["id"])
    day = q.business_day(site, now)
    conn.execute(update(T).where(T.c.id == ticket_id).values(status=REMOTE_STATUS, origin="remote"))
    _waiting_delta(conn, service_id, day, -1)  # not in the queue until checked in
    deadline = now + dt.timedelta(minutes=settings.remote_checkin_minutes)
    if check_hours:  # and never after closing time
        deadline = min(deadline, _utc(dt.datetime.combine(day, site.config.site.hours.close, site.config.site.zone)))
    booking_id = _insert_booking(
        conn,
        site,
        service_id=service_id,
        kind="remote",
        business_day=day,
        deadline=deadline,
        name=name.strip(),
        phone_masked=who.phone_masked,
        id_masked=who.id_masked,
        person_hash=who.hash,
        ticket_id=ticket_id,
        token_id=(actor or q.Actor()).token_id,
        created_at=now,
    )
    _claim(conn, site, service_id, day, who.hash, booking_id=booking_id, ticket_id=ticket_id)
    view = _view(conn, site, booking_id)
    view["waiting_ahead"] = q.waiting_counts(conn, site, now)[service]["waiting"]
    return q.Outcome(view, [q.Happened("booking.created", detail={"booking": _public(view)})])


def _ticket_id(conn, public_id: str) -> int:
    return conn.execute(select(T.c.id).where(T.c.public_id == public_id)).scalar_one()


def _waiting_delta(conn, service_id: int, day: dt.date, delta: int) -> None:
    conn.execute(
        update(SEQ)
        .where(SEQ.c.service_id == service_id, SEQ.c.business_day == day)
        .values(waiting=SEQ.c.waiting + delta)
    )


# --- a one-time code by SMS (booking.sms_code) --------------------------------------------

SMS_CODE_MINUTES = 10


def check_request(
    site: SiteRuntime,
    service: str,
    day: dt.date | None,
    start: str | None,
    phone: str,
    id_number: str | None,
    now: dt.datetime,
) -> None:
    """Refuse, naming the field, what ``book`` or ``take_remote`` would refuse for its input alone
    (before a code is sent for it); places and the person's other numbers are checked when booking."""
    settings, _ = _settings(site, service)
    person(b"", phone, id_number)
    if day is None:
        if not settings.remote:
            raise QueueError("remote_not_offered", service=service)
        return
    _check_day(site, settings, day, now)
    _parse_start(site, settings, day, start or "", now)


def _sms_proof(key: bytes, issued: int, code: str, request: list) -> str:
    text = json.dumps([issued, code, *request], ensure_ascii=False)
    return hmac.new(key, f"sms:{text}".encode(), hashlib.sha256).hexdigest()


def sms_challenge(key: bytes, request: list, now: dt.datetime) -> tuple[str, str]:
    """A new 6-digit code for ``request`` (the booking's fields, the phone normalised), and the
    ``pending`` proof the citizen sends back with it: nothing is stored until the code comes back."""
    code = f"{secrets.randbelow(10**6):06d}"
    issued = int(now.replace(tzinfo=dt.UTC).timestamp())
    return code, f"{issued}.{_sms_proof(key, issued, code, request)}"


def check_sms_code(key: bytes, request: list, code: str | None, pending: str | None, now: dt.datetime) -> None:
    """Refuse unless ``code`` is the one sent for this very request less than SMS_CODE_MINUTES ago."""
    issued, _, proof = (pending or "").partition(".")
    if not issued.isdigit() or not code:
        raise Invalid("sms_code_wrong", field="sms_code")
    age = now.replace(tzinfo=dt.UTC).timestamp() - int(issued)
    if not 0 <= age <= SMS_CODE_MINUTES * 60:
        raise Invalid("sms_code_expired", field="sms_code", minutes=SMS_CODE_MINUTES)
    if not hmac.compare_digest(proof, _sms_proof(key, int(issued), code, request)):
        raise Invalid("sms_code_wrong", field="sms_code")


# --- reading, cancelling, lapsing ---------------------------------------------------------


def _row_by_code(conn, site, code: str):
    code = (code or "").strip().upper()
    row = (
        conn.execute(select(B).where(B.c.code == code, B.c.site_id == site.id)).first()
        if re.fullmatch(rf"[{CODE_ALPHABET}]{{{CODE_LENGTH}}}", code)
        else None
    )
    if row is None:
        raise NotFound("booking_not_found", booking=code[: CODE_LENGTH * 2])
    return row


def get_booking(conn: Connection, site: SiteRuntime, code: str) -> dict:
    conn = _conn(conn)
    return _with_ticket(conn, site, _row_by_code(conn, site, code))


def bookings_of_day(conn: Connection, site: SiteRuntime, day: dt.date, service: str | None = None) -> list[dict]:
    """The day's bookings and remote numbers, by slot (staff: the dashboard's upcoming bookings)."""
    conn = _conn(conn)
    query = (
        select(B, T.c.number, T.c.public_id)
        .outerjoin(T, T.c.id == B.c.ticket_id)
        .where(B.c.site_id == site.id, B.c.business_day == day)
        .order_by(B.c.slot_start.is_(None), B.c.slot_start, B.c.id)
    )
    if service is not None:
        if service not in site.service_ids:
            raise NotFound("unknown_service", service=service)
        query = query.where(B.c.service_id == site.service_ids[service])
    return [booking_view(site, row, row.number, row.public_id) for row in conn.execute(query)]


def _refuse_unless_booked(conn, site, row, now: dt.datetime) -> None:
    if row.status == "checked_in":
        raise QueueError("booking_checked_in", booking=row.code, number=_number_of(conn, row.ticket_id))
    if row.status == "cancelled":
        raise QueueError("booking_cancelled", booking=row.code)
    if row.status == "lapsed" or (row.kind == "remote" and row.deadline < now):
        raise QueueError(
            "booking_lapsed", booking=row.code, deadline=f"{_local(site, row.deadline):%H:%M}" if row.deadline else ""
        )


def _take_booking(conn, row, status: str, **values):
    """Move the booking from ``booked`` to ``status`` before anything else is done for it, or return
    the row as it now stands. The UPDATE is conditional: on PostgreSQL it waits for another
    transaction holding the same booking (a second kiosk's scan, a cancel, the lapse loop of another
    process) and then matches nothing, so one booking is never checked in twice, nor checked in and
    cancelled or lapsed at once. None when claimed."""
    claimed = conn.execute(update(B).where(B.c.id == row.id, B.c.status == "booked").values(status=status, **values))
    if claimed.rowcount == 1:
        return None
    return conn.execute(select(B).where(B.c.id == row.id)).one()


def cancel(
    conn: Connection, site: SiteRuntime, code: str, now: dt.datetime | None = None, actor: q.Actor | None = None
) -> q.Outcome:
    """Give the place back (and the person's number of the day). Cancelling twice is no error."""
    now = now or utcnow()
    conn = _conn(conn)
    row = _row_by_code(conn, site, code)
    if row.status == "cancelled":
        return q.Outcome(booking_view(site, row), [])
    _refuse_unless_booked(conn, site, row, now)
    if row.business_day < q.business_day(site, now):
        raise QueueError("booking_past", booking=row.code, date=vn_date(row.business_day))
    taken = _take_booking(conn, row, "cancelled", cancelled_at=now)
    if taken is not None:  # another transaction got there first
        if taken.status == "cancelled":
            return q.Outcome(booking_view(site, taken), [])
        _refuse_unless_booked(conn, site, taken, now)
    if row.kind == "slot":
        conn.execute(
            update(SLOTS)
            .where(SLOTS.c.service_id == row.service_id, SLOTS.c.slot_start == row.slot_start)
            .values(taken=SLOTS.c.taken - 1)
        )
    else:
        _end_remote_ticket(conn, site, row, now, actor, "cancelled")
    conn.execute(delete(PD).where(PD.c.booking_id == row.id))
    view = _view(conn, site, row.id)
    return q.Outcome(view, [q.Happened("booking.cancelled", detail={"booking": _public(view)})])


def _end_remote_ticket(conn, site, row, now, actor, reason: str) -> None:
    changed = conn.execute(
        update(T).where(T.c.id == row.ticket_id, T.c.status == REMOTE_STATUS).values(status="expired", finished_at=now)
    )
    if changed.rowcount:
        _event(conn, site, "expired", now, actor, row.ticket_id, row.service_id, detail={"reason": reason})


def lapse_overdue(
    conn: Connection, site: SiteRuntime, now: dt.datetime | None = None, actor: q.Actor | None = None
) -> q.Outcome:
    """Remote numbers not checked in by their deadline lapse: the booking says so and the ticket
    expires (reports count it as not called). The person keeps the day's number: no second one."""
    now = now or utcnow()
    conn = _conn(conn)
    rows = conn.execute(
        select(B).where(B.c.site_id == site.id, B.c.kind == "remote", B.c.status == "booked", B.c.deadline < now)
    ).all()
    happened = []
    for row in rows:
        if (
            conn.execute(update(B).where(B.c.id == row.id, B.c.status == "booked").values(status="lapsed")).rowcount
            != 1
        ):
            continue  # another process lapsed it
        _end_remote_ticket(conn, site, row, now, actor, "lapsed")
        happened.append(q.Happened("booking.lapsed", detail={"booking": _public(_view(conn, site, row.id))}))
    return q.Outcome(None, happened)


# --- check-in -----------------------------------------------------------------------------

OnTicket = Callable[[Connection, SiteRuntime, dict], None]


def check_in(
    conn: Connection,
    site: SiteRuntime,
    key: bytes,
    *,
    code: str | None = None,
    cccd_qr: str | None = None,
    id_number: str | None = None,
    service: str | None = None,
    kiosk: str | None = None,
    now: dt.datetime | None = None,
    actor: q.Actor | None = None,
    check_hours: bool = True,
    on_ticket: OnTicket | None = None,
    estimator: Estimator | None = None,
) -> q.Outcome:
    """The citizen is here: by booking code, by the ID card's QR text or by ID number. Returns the
    ticket (with ``booking`` and ``late``). Without a booking today, an ID card with ``service``
    takes a walk-in number, still one per person. ``on_ticket(conn, site, ticket)`` runs for the
    ticket in the same transaction (the web layer queues its print job there)."""
    now = now or utcnow()
    conn = _conn(conn)
    if sum(v is not None for v in (code, cccd_qr, id_number)) != 1:
        raise Invalid("check_in_one_of", field="code")
    if code is not None:
        row = _row_by_code(conn, site, code)
    else:
        holder = id_hash(key, parse_cccd_qr(cccd_qr).id_number if cccd_qr is not None else id_number)
        row = _booking_of_person(conn, site, holder, service, now)
        if row is None:
            if service is None:
                raise NotFound("booking_not_found_for_card")
            return _walk_in(conn, site, holder, service, kiosk, now, actor, check_hours, on_ticket, estimator)
    _refuse_unless_booked(conn, site, row, now)
    today = q.business_day(site, now)
    if row.business_day != today:
        raise QueueError("booking_other_day", booking=row.code, date=vn_date(row.business_day))
    taken = _take_booking(conn, row, "checked_in", checked_in_at=now)
    if taken is not None:  # another transaction got there first
        _refuse_unless_booked(conn, site, taken, now)
    service_code = site.service_codes[row.service_id]
    late = False
    if row.kind == "slot":
        # the wait is promised below, once the ticket's due time is written (the predictor reads it)
        issued = q.issue(conn, site, service_code, kiosk=kiosk, now=now, actor=actor, check_hours=check_hours)
        ticket_id = _ticket_id(conn, issued.ticket["id"])
        late = now > row.slot_start + _grace(site, row.service_id)
        conn.execute(
            update(T).where(T.c.id == ticket_id).values(origin="booked", due_at=None if late else row.slot_start)
        )
        conn.execute(update(PD).where(PD.c.booking_id == row.id).values(ticket_id=ticket_id))
    else:  # the remote number's ticket joins the queue, where its number has always been
        ticket_id = row.ticket_id
        conn.execute(update(T).where(T.c.id == ticket_id, T.c.status == REMOTE_STATUS).values(status="waiting"))
        _waiting_delta(conn, row.service_id, today, +1)
        _event(conn, site, "checked_in", now, actor, ticket_id, row.service_id, detail={"kiosk": kiosk})
    conn.execute(update(B).where(B.c.id == row.id).values(status="checked_in", checked_in_at=now, ticket_id=ticket_id))
    public_id = conn.execute(select(T.c.public_id).where(T.c.id == ticket_id)).scalar_one()
    ticket = q.ticket_status(conn, site, public_id, estimator, now=now)
    if on_ticket is not None:
        on_ticket(conn, site, ticket)
    booking = _view(conn, site, row.id)
    waiting = q.waiting_counts(conn, site, now)[service_code]
    return q.Outcome(
        {**ticket, "late": late, "booking": booking},
        [
            q.Happened("ticket.issued", ticket),
            q.Happened("queue.changed", detail={"waiting": {service_code: waiting}}),
            q.Happened("booking.checked_in", detail={"booking": _public(booking)}),
        ],
    )


def _booking_of_person(conn, site, person_hash: str, service: str | None, now: dt.datetime):
    """Today's booking of the person (of ``service`` when named): one still to check in first, the
    earliest slot first; else any other of today's, so that a refusal can say why."""
    query = select(B).where(
        B.c.site_id == site.id, B.c.person_hash == person_hash, B.c.business_day == q.business_day(site, now)
    )
    if service is not None:
        if service not in site.service_ids:
            raise NotFound("unknown_service", service=service)
        query = query.where(B.c.service_id == site.service_ids[service])
    rows = conn.execute(query.order_by(B.c.slot_start.is_(None), B.c.slot_start, B.c.id)).all()
    return next((r for r in rows if r.status == "booked"), None) or next(
        (r for r in rows if r.status != "cancelled"), None
    )


def _walk_in(
    conn, site, person_hash: str, service: str, kiosk, now, actor, check_hours, on_ticket, estimator
) -> q.Outcome:
    outcome = q.issue(
        conn, site, service, kiosk=kiosk, now=now, actor=actor, check_hours=check_hours, estimator=estimator
    )
    ticket_id = _ticket_id(conn, outcome.ticket["id"])
    _claim(conn, site, site.service_ids[service], q.business_day(site, now), person_hash, ticket_id=ticket_id)
    if on_ticket is not None:
        on_ticket(conn, site, outcome.ticket)
    return q.Outcome({**outcome.ticket, "late": False, "booking": None}, outcome.happened)


# --- figures for the reports --------------------------------------------------------------


def booking_figures(
    conn: Connection, site: SiteRuntime, first: dt.date, last: dt.date, now: dt.datetime | None = None
) -> dict:
    """Per service and day from ``first`` to ``last``: slots booked and numbers taken remotely,
    cancelled, checked in (on time or late), no-shows (a slot whose grace window passed with nobody
    checked in), lapsed remote numbers, and the day's tickets by origin; with totals, the no-show
    rate, punctuality (on time / checked in) and the booked share of all tickets."""
    now = now or utcnow()
    conn = _conn(conn)
    rows: dict[tuple, dict] = {}

    def row(day, service_id) -> dict:
        key = (day, site.service_codes.get(service_id))
        return rows.setdefault(key, {"date": day.isoformat(), "service": key[1], **dict.fromkeys(FIGURES, 0)})

    bookings = conn.execute(
        select(B.c.kind, B.c.status, B.c.business_day, B.c.service_id, B.c.slot_start, T.c.due_at)
        .outerjoin(T, T.c.id == B.c.ticket_id)
        .where(B.c.site_id == site.id, B.c.business_day.between(first, last))
    )
    for kind, status, day, service_id, slot_start, due_at in bookings:
        figures = row(day, service_id)
        figures["booked" if kind == "slot" else "remote"] += 1
        if status == "cancelled":
            figures["cancelled"] += 1
        elif kind == "slot" and status == "checked_in":
            figures["on_time" if due_at is not None else "late"] += 1
        elif kind == "slot" and status == "booked" and now > slot_start + _grace(site, service_id):
            figures["no_show"] += 1
        elif kind == "remote" and status == "lapsed":
            figures["lapsed"] += 1
    tickets = conn.execute(
        select(T.c.business_day, T.c.origin_service_id, T.c.origin, func.count())
        .where(T.c.site_id == site.id, T.c.business_day.between(first, last))
        .group_by(T.c.business_day, T.c.origin_service_id, T.c.origin)
    )
    for day, service_id, origin, count in tickets:
        row(day, service_id)["walk_in" if origin is None else "tickets_booked"] += count
    days = [rows[key] for key in sorted(rows, key=lambda k: (k[0], k[1] or ""))]
    totals = {name: sum(r[name] for r in days) for name in FIGURES}
    slots_due = totals["on_time"] + totals["late"] + totals["no_show"]
    checked_in = totals["on_time"] + totals["late"]
    tickets_all = totals["walk_in"] + totals["tickets_booked"]
    totals.update(
        no_show_rate=round(totals["no_show"] / slots_due, 3) if slots_due else None,
        punctuality=round(totals["on_time"] / checked_in, 3) if checked_in else None,
        booked_share=round(totals["tickets_booked"] / tickets_all, 3) if tickets_all else None,
    )
    return {"from": first.isoformat(), "to": last.isoformat(), "days": days, "totals": totals}


FIGURES = ("booked", "remote", "cancelled", "on_time", "late", "no_show", "lapsed", "walk_in", "tickets_booked")


def _grace(site: SiteRuntime, service_id: int) -> dt.timedelta:
    service = site.config.service(site.service_codes.get(service_id, ""))
    return dt.timedelta(minutes=service.booking.grace_minutes if service and service.booking else 0)
