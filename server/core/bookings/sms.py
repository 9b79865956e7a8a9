"""A one-time code by SMS (booking.sms_code): the request checked before a code is sent, the code and
its proof, nothing stored until the code comes back."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets

from ..db import SiteRuntime
from ..errors import Invalid, QueueError
from .people import person
from .records import service_name
from .slots import check_day, settings_of, slot_of

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
    settings, service_id = settings_of(site, service)
    person(b"", phone, id_number)
    if day is None:
        if not settings.remote:
            raise QueueError("remote_not_offered", service=service_name(site, service_id))
        return
    check_day(site, settings, day, now)
    slot_of(site, settings, day, start or "", now)


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
