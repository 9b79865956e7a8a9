"""``Idempotency-Key``: a repeated request gets the first answer back instead of acting twice.

A client that may send an action again (a keypad that lost the server's answer in a restart,
a kiosk page retrying a tap after a network error, a program retrying after a timeout) sends
a key of its own making with the request, e.g. a UUID per key press or tap. The answer is stored with the key in the same transaction as the action,
so when the same key comes again from the same caller the stored answer is returned (with
``Idempotent-Replayed: true``) and nothing is done. Keys are kept for ``KEEP``. A refused
action (4xx) writes nothing, so its key is not remembered and a retry is tried afresh.
The same key with another request (another path or body) is refused.

What is kept to tell "the same request" is an HMAC of method, path and body under the
installation's secret (``person_key``, the one ID numbers are hashed with), never a plain hash:
a booking's body carries a name, a phone and a CCCD number, and a plain SHA-256 of it could be
tested against guesses by whoever reads the database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import itertools
import re

from flask import current_app, make_response, request
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ...core import engine as q
from ...core import models as m
from ...core.auth import Principal
from ...core.models import utcnow
from . import request_body, run, the_app, the_request  # defined before the package imports its routes (this module)

HEADER = "Idempotency-Key"
_ENVIRON_KEY = "HTTP_" + HEADER.upper().replace("-", "_")
KEEP = dt.timedelta(hours=24)
_KEY = re.compile(r"^[\x21-\x7e]{1,100}$")  # printable ASCII, no spaces: a UUID fits
SCOPE_MAX = 40  # idempotency_keys.scope
_CLEAN_EVERY = 200  # forget expired keys once every this many stored answers
_stored = itertools.count(1)

K = m.idempotency_keys

# every key press of a console or keypad runs these: built once (building a statement costs more than
# running it on SQLite), the key's scope, key and times as parameters
_STORED = select(K).where(
    K.c.scope == bindparam("scope"), K.c.key == bindparam("key"), K.c.created_at >= bindparam("since")
)
_FORGET_EXPIRED_KEY = delete(K).where(
    K.c.scope == bindparam("scope"), K.c.key == bindparam("key"), K.c.created_at < bindparam("before")
)
_CLAIM = insert(K).values(
    scope=bindparam("scope"),
    key=bindparam("key"),
    fingerprint=bindparam("fingerprint"),
    status=0,
    created_at=bindparam("now", type_=K.c.created_at.type),
)
_ANSWER = (
    update(K)
    .where(K.c.scope == bindparam("of_scope"), K.c.key == bindparam("of_key"))
    .values(
        status=bindparam("answer_status", type_=K.c.status.type), body=bindparam("answer_body", type_=K.c.body.type)
    )
)


def request_key() -> str | None:
    value = the_request().environ.get(_ENVIRON_KEY)  # request.headers.get(HEADER), without its lookup machinery
    if value is None:
        return None
    if not _KEY.match(value):
        from . import _problem

        raise q.Invalid("invalid_field", field=HEADER, problem=_problem("idempotency_key"))
    return value


def _scope(principal: Principal | None) -> str:
    """Whose keys these are: a token's, a user's, or (issuing needs no login) an address's."""
    if principal is None:
        scope = f"address:{request.remote_addr}"
        if len(scope) <= SCOPE_MAX:
            return scope
        # an IPv6 address does not fit the column (40): its hash does, as distinct per address
        return "address#" + hashlib.sha256(str(request.remote_addr).encode()).hexdigest()[: SCOPE_MAX - 8]
    return f"token:{principal.token_id}" if principal.token_id is not None else f"user:{principal.user_id}"


def person_key() -> bytes:
    """The installation's secret (core ``bookings.person_key``), read once per process."""
    from ...core import bookings as bk

    cache = current_app.extensions.setdefault("queuekiosk_person_key", {})
    if "key" not in cache:
        cache["key"] = bk.person_key(current_app.extensions["queuekiosk"].instance_dir)
    return cache["key"]


def _fingerprint() -> str:
    """A keyed hash (HMAC-SHA256 with the installation's secret) of method, path and body."""
    digest = hmac.new(person_key(), b"idempotency\0", hashlib.sha256)
    req = the_request()
    for part in (req.method.encode(), req.path.encode(), request_body(req)):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


def _answer(status: int, body, replayed: bool = False):
    if status == 204:
        response = make_response("", 204)
    else:  # make_response(jsonify(body), status), without going through its tuple and proxies (every ticket)
        response = the_app().json.answer(body, status)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def _replay(row, fingerprint: str):
    if row.fingerprint != fingerprint:
        raise q.Invalid("idempotency_key_reused", field=HEADER)
    return _answer(row.status, row.body, replayed=True)


def _lookup(scope: str, key: str):
    app_state = current_app.extensions["queuekiosk"]
    with app_state.reads.connect() as conn:
        return conn.execute(_STORED, {"scope": scope, "key": key, "since": utcnow() - KEEP}).first()


def run_once(principal: Principal | None, action, respond, *args, after=None, **kwargs):
    """Run ``action`` like ``api.run`` and answer ``respond(conn, site, outcome) -> (status, body)``;
    with an Idempotency-Key, at most once per key. ``after(outcome)`` runs once after a real action.
    ``principal`` None: an anonymous caller (a kiosk), whose keys are kept per address."""
    key = (
        request_key() if principal is None or principal.token_id is not None or principal.user_id is not None else None
    )
    if key is None:

        def act(conn, site, *a, **kw):
            outcome = action(conn, site, *a, **kw)
            outcome.answer = respond(conn, site, outcome)
            return outcome

        outcome = run(act, *args, **kwargs)
        if after is not None:
            after(outcome)
        return _answer(*outcome.answer)

    scope, fingerprint = _scope(principal), _fingerprint()
    stored = _lookup(scope, key)
    if stored is not None:
        return _replay(stored, fingerprint)

    def act_once(conn, site, *a, **kw):
        now = utcnow()
        # the key first: a second request with it waits here (PostgreSQL) or fails, and rolls back
        conn.execute(_FORGET_EXPIRED_KEY, {"scope": scope, "key": key, "before": now - KEEP})
        conn.execute(_CLAIM, {"scope": scope, "key": key, "fingerprint": fingerprint, "now": now})
        outcome = action(conn, site, *a, **kw)
        status, body = respond(conn, site, outcome)
        conn.execute(_ANSWER, {"of_scope": scope, "of_key": key, "answer_status": status, "answer_body": body})
        if next(_stored) % _CLEAN_EVERY == 0:
            conn.execute(delete(K).where(K.c.created_at < now - KEEP))
        outcome.answer = (status, body)
        return outcome

    try:
        outcome = run(act_once, *args, **kwargs)
    except IntegrityError:  # the same key at the same moment: the other request acted
        stored = _lookup(scope, key)
        if stored is None:
            raise
        return _replay(stored, fingerprint)
    if after is not None:
        after(outcome)
    return _answer(*outcome.answer)
