"""A one-time code by SMS (booking.sms_code): the request checked before a code is sent, the code and
its proof, nothing stored until the code comes back; then the wrong codes typed for it are counted
(``sms_code_guesses``), and SMS_CODE_TRIES of them make it void."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import importlib
import json
import secrets

from sqlalchemy import delete, update
from sqlalchemy.engine import Connection

from .. import models as m
from ..db import SiteRuntime
from ..errors import Invalid, QueueError
from ..i18n import Phrase
from .people import person
from .records import connection, service_name
from .slots import check_day, settings_of, slot_of

SMS_CODE_MINUTES = 10
# wrong codes after which a code is void, even typed right: guessing one of a million codes then
# needs a new SMS every few tries (each counted against limits.bookings_per_address's refused attempts)
SMS_CODE_TRIES = 5
G = m.sms_code_guesses


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


def _pending_tag(key: bytes, issued: int, proof: str) -> str:
    """The server's signature of a ``pending`` it sent: only those are checked and counted."""
    return hmac.new(key, f"sms-pending:{issued}.{proof}".encode(), hashlib.sha256).hexdigest()[:32]


def sms_challenge(key: bytes, request: list, now: dt.datetime) -> tuple[str, str]:
    """A new 6-digit code for ``request`` (the booking's fields, the phone normalised), and the
    ``pending`` the citizen sends back with it (when, the code's proof, signed): nothing is stored
    until the code comes back."""
    code = f"{secrets.randbelow(10**6):06d}"
    issued = int(now.replace(tzinfo=dt.UTC).timestamp())
    proof = _sms_proof(key, issued, code, request)
    return code, f"{issued}.{proof}.{_pending_tag(key, issued, proof)}"


def _fresh(key: bytes, code: str | None, pending: str | None, now: dt.datetime) -> tuple[int, str]:
    """When ``pending``'s code was sent (s since 1970) and its proof; refused with no code, a pending
    the server did not sign (made up: nothing to count), or past SMS_CODE_MINUTES."""
    issued, _, rest = (pending or "").partition(".")
    proof, _, tag = rest.partition(".")
    if not (issued.isascii() and issued.isdigit() and rest.isascii()) or not code:
        raise _wrong()
    if not hmac.compare_digest(tag, _pending_tag(key, int(issued), proof)):
        raise _wrong()
    age = now.replace(tzinfo=dt.UTC).timestamp() - int(issued)
    if not 0 <= age <= SMS_CODE_MINUTES * 60:
        raise Invalid("sms_code_expired", field="sms_code", minutes=SMS_CODE_MINUTES)
    return int(issued), proof


def _wrong(tries_left: int | None = None) -> Invalid:
    """A wrong code; with how many more may be typed when it was counted (not for a made-up one)."""
    left = Phrase("sms_code_tries_left", tries=tries_left) if tries_left else ""
    return Invalid("sms_code_wrong", field="sms_code", left=left)


def check_sms_code(key: bytes, request: list, code: str | None, pending: str | None, now: dt.datetime) -> None:
    """Refuse unless ``code`` is the one sent for this very request less than SMS_CODE_MINUTES ago."""
    issued, proof = _fresh(key, code, pending, now)
    if not hmac.compare_digest(proof, _sms_proof(key, issued, code, request)):
        raise _wrong()


def guess_sms_code(
    conn: Connection,
    site: SiteRuntime,
    key: bytes,
    request: list,
    code: str | None,
    pending: str | None,
    now: dt.datetime,
) -> Invalid | None:
    """``check_sms_code``, counting the wrong codes typed for the code sent (a hash of ``pending``'s
    proof: the same code whatever else the request says): the SMS_CODE_TRIES-th makes it void, and
    a void code is refused even when right (the citizen asks for a new one). The refusal is
    returned, not raised: the count is written whatever the answer, so the caller commits, then
    raises it. (``site``: unused, as the web layer's ``write`` gives every action one.)"""
    conn = connection(conn)
    void = Invalid("sms_code_void", field="sms_code", tries=SMS_CODE_TRIES)
    try:
        issued, proof = _fresh(key, code, pending, now)  # (no code, not signed, too late: no guess made)
        guess = hashlib.sha256(proof.encode()).hexdigest()
        wrong = _count_guess(conn, guess, dt.datetime.fromtimestamp(issued + SMS_CODE_MINUTES * 60, dt.UTC), now)
        if wrong is None:
            raise void
        if not hmac.compare_digest(proof, _sms_proof(key, issued, code, request)):  # as check_sms_code, once fresh
            if wrong >= SMS_CODE_TRIES:
                raise void
            raise _wrong(SMS_CODE_TRIES - wrong)
        conn.execute(update(G).where(G.c.proof_hash == guess).values(wrong=G.c.wrong - 1))  # right: not a wrong one
    except Invalid as refusal:
        return refusal
    return None


def _count_guess(conn, guess: str, expires: dt.datetime, now: dt.datetime) -> int | None:
    """One more guess of a code counted as wrong (until it proves right), unless the code is void
    already (None); the wrong ones counted with it. One conditional upsert, so that guesses sent at
    once are each counted: no more than SMS_CODE_TRIES are ever checked."""
    conn.execute(delete(G).where(G.c.expires_at < now))  # codes past their time, guessed no more
    dialect = importlib.import_module(f"sqlalchemy.dialects.{conn.dialect.name}")  # (as reports' inserts)
    upsert = (
        dialect.insert(G)
        .values(proof_hash=guess, wrong=1, expires_at=expires.replace(tzinfo=None))
        .on_conflict_do_update(
            index_elements=[G.c.proof_hash], set_={"wrong": G.c.wrong + 1}, where=G.c.wrong < SMS_CODE_TRIES
        )
        .returning(G.c.wrong)
    )
    return conn.execute(upsert).scalar()
