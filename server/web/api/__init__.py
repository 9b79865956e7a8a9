"""REST API /api/v1: the blueprint and what every endpoint shares (body parsing, auth, actions)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from flask import Blueprint, current_app, g, request, session
from flask.globals import _cv_app, _cv_request

from ...core import engine as q
from ...core import outbox
from ...core.auth import (
    Principal,
    may_use_site,
    principal_for_session,
    principal_for_token,
    refuse_province_write,
)
from ...core.i18n import Phrase, problem_of
from ..delivery import wake as wake_delivery
from ..realtime import publish
from .csrf import require_csrf

if TYPE_CHECKING:
    from pydantic import BaseModel

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def state():
    return the_app().extensions["queuekiosk"]


# Flask's ``request`` and ``current_app`` are proxies: reading any attribute through one first fails
# the proxy's own lookup (an AttributeError, its message formatted, then dropped) before the proxy
# finds it on the object. A ticket read about twenty that way (callgrind: 3 % of its instructions in
# PyErr_Format). The hot path reads the objects themselves.
def the_app():
    """``current_app`` itself (outside an app context: the proxy's usual RuntimeError)."""
    ctx = _cv_app.get(None)
    return ctx.app if ctx is not None else current_app._get_current_object()


def the_request():
    """``request`` itself (outside a request context: the proxy's usual RuntimeError)."""
    ctx = _cv_request.get(None)
    return ctx.request if ctx is not None else request._get_current_object()


def request_body(req) -> bytes:
    """``req.get_data(cache=True)``. Werkzeug first looks for the body it cached with
    ``getattr(req, "_cached_data", None)``: before the first read that lookup fails, and its
    AttributeError is formatted and dropped (every request with a body). The attribute set to None
    first gives the same answer without it (a werkzeug that no longer reads it ignores it).
    Where the server ends the body itself (``wsgi.input_terminated``, gevent's) and there is no body
    limit, werkzeug's ``stream`` is ``wsgi.input`` as it is (``get_input_stream``): read here, without
    the cached property, the Content-Length parsing and the casts around it (every ticket)."""
    held = req.__dict__
    data = held.get("_cached_data")
    if data is not None:
        return data
    environ = req.environ
    if (
        "stream" not in held
        and "wsgi.input_terminated" in environ
        and not req.shallow
        and req.max_content_length is None
    ):
        held["stream"] = stream = environ["wsgi.input"]
        data = held["_cached_data"] = stream.read()
        return data
    held.setdefault("_cached_data", None)
    return req.get_data(cache=True)


def parse_body(model: type[BaseModel]) -> BaseModel:
    """The JSON body validated by ``model`` (a request_model: pydantic is imported at the first
    body checked, not at start); a refusal names the field and what is wrong with it. An empty
    body of a model whose fields are all optional is its ``empty`` (request_model.py), unchecked."""
    return checked(model, body_json())


def body_json():
    """The request's JSON body as parsed (an empty body: {}), or refused as ``bad_json``."""
    raw = request_body(the_request())
    try:
        return json.loads(raw) if raw.strip() else {}
    except (ValueError, RecursionError) as error:  # RecursionError: arrays or objects nested thousands deep
        raise q.Invalid("bad_json", detail=str(error)) from None


def checked(model: type[BaseModel], data) -> BaseModel:
    """``data`` (a JSON body, or a Socket.IO event's payload) validated by ``model``: refused as one
    ``invalid_field`` naming the first field refused, every other one in ``others`` (the HTTP answer and
    the Socket.IO acknowledgement alike: errors.refusal_body)."""
    if not isinstance(data, dict):
        raise q.Invalid("invalid_field", field="(body)", problem=_problem("not_object"))
    nul_field = _field_with_nul(data)
    if nul_field is not None:  # PostgreSQL stores no NUL character; no person types one
        raise q.Invalid("invalid_field", field=nul_field, problem=_problem("nul_character"))
    if not data and getattr(model, "empty", None) is not None:
        return model.empty  # nothing to check: a clerk's press loads no pydantic
    from pydantic import ValidationError

    try:
        return model.model_validate(data)
    except ValidationError as error:
        named = refused_fields(error.errors(include_url=False))
        raise q.Invalid("invalid_field", **named[0], others=named[1:]) from None  # (errors.MAX_OTHERS answered)


MAX_UNKNOWN_NAMED = 5  # unknown keys named in their one entry ("a, b, c, d, e, … (1000)")
MAX_KEY_SHOWN = 40  # characters of an unknown key echoed: a key of 60,000 buys no answer of 60,000 five times


def refused_fields(errors: list[dict]) -> list[dict]:
    """Every field refused, at once (as /admin names them): the first in the message, the rest in
    ``others``. All unknown keys make one entry, where the first of them stood, naming a few."""
    named, unknown = [], []
    for each in errors:
        field = ".".join(str(p) for p in each["loc"]) or "(body)"
        if each["type"] == "extra_forbidden":
            if not unknown:
                named.append({"field": "", "problem": _problem("extra_forbidden")})
            unknown.append(field)
        else:
            named.append({"field": field, "problem": _problem(each["type"], **(each.get("ctx") or {}))})
    if unknown:
        cut = [
            key if len(key) <= MAX_KEY_SHOWN else key[: MAX_KEY_SHOWN - 1] + "…" for key in unknown[:MAX_UNKNOWN_NAMED]
        ]
        shown = ", ".join(cut)
        if len(unknown) > MAX_UNKNOWN_NAMED:
            shown += f", … ({len(unknown)})"
        next(entry for entry in named if not entry["field"])["field"] = shown
    return named


def _field_with_nul(data: dict) -> str | None:
    """The first field (or key) of ``data`` whose text holds a NUL character, walked without recursion."""
    pending = [((), data)]
    while pending:
        path, value = pending.pop()
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, item in items:
            here = (*path, str(key))
            if "\x00" in here[-1] or (isinstance(item, str) and "\x00" in item):
                return ".".join(here).replace("\x00", "\\0")
            pending.append((here, item))
    return None


def _problem(kind: str, **params) -> Phrase:
    """What is wrong with a field (a generic sentence for rare cases), said in the language of each
    answer and translation (server/web/errors.py)."""
    return problem_of(kind, params)


def current_principal() -> Principal | None:
    """The bearer token's holder, or the logged-in user; a wrong token is refused, never ignored,
    and so is one of another site (403 naming both sites) or a read-only role asking to change something."""
    principal = _signed_in()
    if principal is not None:
        if principal.token_id is None:
            require_csrf()  # the session cookie alone never changes anything (server/web/api/csrf.py)
        may_use_site(principal, state().site, reading_history=_reading_history())
        if request.method not in READING_METHODS:
            refuse_province_write(principal)
    return principal


READING_METHODS = ("GET", "HEAD", "OPTIONS")
# a retired site's reports, which the site it was merged into reads too (auth.may_use_site), and who
# reads them (the reports page asks first)
HISTORY_PATHS = frozenset(
    f"/api/v1/reports/{name}" for name in ("summary", "peak-hours", "daily", "periods", "bookings", "procedures")
)


def _reading_history() -> bool:
    return request.method in READING_METHODS and (request.path in HISTORY_PATHS or request.path == "/api/v1/auth/me")


def _signed_in() -> Principal | None:
    """Who the request's token or session is (looked up once per request)."""
    if "qk_principal" not in g:
        g.qk_principal = _look_up()
    return g.qk_principal


def signed_in() -> Principal | None:
    """The bearer token's holder or the logged-in user, before any check of its site (``current_principal``
    checks it): to refuse a role first, whatever site it belongs to."""
    return _signed_in()


def _look_up() -> Principal | None:
    header = request.headers.get("Authorization", "")
    with state().reads.connect() as db:  # a Core connection: one statement per token, no ORM session
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise q.NotSignedIn("bad_token")
            return principal_for_token(db, token.strip())
        if "user_id" in session:
            return principal_for_session(db, session)
    return None


def refuse_foreign_writes() -> None:
    """Before every request that changes something, on any route (even one anyone may call): a
    token or user of another site, or of the read-only ``province`` role, is refused (403). Logging
    in and out stays open; a wrong token is left to the route (it refuses it, or ignores it)."""
    req = the_request()
    if req.method in READING_METHODS or req.path.startswith("/api/v1/auth/"):
        return
    environ = req.environ
    if "HTTP_AUTHORIZATION" not in environ and "HTTP_COOKIE" not in environ:
        return  # no token, no cookie: nobody to refuse (a kiosk's tap), and the session is not opened
    if not request.headers.get("Authorization") and "user_id" not in session:
        return
    try:
        principal = _signed_in()
    except q.QueueError:
        return
    if principal is not None:
        may_use_site(principal, state().site)
        refuse_province_write(principal)


def run(action, *args, actor: q.Actor | None = None, **kwargs) -> q.Outcome:
    """Run an engine action in one transaction, with its events for the outside world (the outbox);
    tell the live clients and the webhook worker only after it committed."""
    app_state = state()
    site = app_state.site  # looked up once, for the write and the live clients alike
    outcome = app_state.write_for(site, outbox.recording(action), *args, actor=actor, **kwargs)
    publish(site, outcome)
    if outcome.recorded:
        wake_delivery()
    return outcome


from . import (  # noqa: E402,F401  (routes register on bp)
    admin,
    audit_log,
    bookings,  # noqa: E402,F401  (bookings, remote numbers, check-in: issue 14)
    counters,
    dossiers,  # noqa: E402,F401  (the dossier code and procedure at the counter: issue 15)
    notify,  # noqa: E402,F401  (citizens told their turn is near: issue 15)
    ratings,
    session_routes,
    tickets,
    webhooks,
)
