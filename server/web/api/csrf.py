"""CSRF protection of browser sessions.

The session holds a random secret (``csrf_token``); the token a page carries in its
``<meta name="csrf-token">`` (``csrf_meta_tag()`` in templates) and a login answer carries is that
secret signed with the app's secret key, so that a page of another site can neither read nor make
it. Forms of the pages send it in ``csrf_token`` and a check before any view refuses a
state-changing request without it (over HTTPS also one whose Referer is another origin). The JSON
API is exempt from that blanket check, because bearer tokens and anonymous calls (the kiosk
issuing tickets) carry no cookie to abuse; instead a state-changing API call authorised by the
*session cookie* must send the token in the ``X-CSRFToken`` header (``require_csrf``, called by
``current_principal``). A program that logs in gets the token in the login answer.

This was Flask-WTF's CSRFProtect; the tokens are made the same way (the same salt and session
key), so a console left open across the upgrade keeps working, and the server does without
Flask-WTF and WTForms (about 0.8 MB of memory). A token is valid while its session lasts: a
console is open all day.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from flask import current_app, g, request, session
from itsdangerous import BadData, URLSafeTimedSerializer
from markupsafe import Markup

from ...core.errors import NotAllowed

SESSION_KEY = FORM_FIELD = "csrf_token"
HEADERS = ("X-CSRFToken", "X-CSRF-Token")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
CHECKED_METHODS = ("POST", "PUT", "PATCH", "DELETE")  # what the check before every view looks at
_SALT = "wtf-csrf-token"  # as Flask-WTF signed them: tokens handed out before the change stay valid


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_SALT)


def generate_csrf() -> str:
    """The signed token of the current session (its secret made on first use), the same all request long."""
    if "csrf_token" not in g:
        if not isinstance(session.get(SESSION_KEY), str):
            session[SESSION_KEY] = secrets.token_hex(20)
        g.csrf_token = _signer().dumps(session[SESSION_KEY])
    return g.csrf_token


def csrf_meta_tag() -> Markup:
    return Markup('<meta name="csrf-token" content="{}">').format(generate_csrf())


def _valid(token: str | None) -> bool:
    secret = session.get(SESSION_KEY)
    if not token or not isinstance(secret, str):
        return False
    try:
        signed = _signer().loads(token)  # no age limit: valid while the session lasts
    except BadData:
        return False
    return isinstance(signed, str) and hmac.compare_digest(secret, signed)


def _same_origin(referrer: str | None) -> bool:
    if not referrer:
        return False
    parts = urlsplit(referrer)
    return parts.scheme == "https" and parts.netloc == request.host


class CsrfProtection:
    """The check before every view of the app, except in the blueprints ``exempt`` names."""

    def __init__(self):
        self._exempt: set[str] = set()

    def exempt(self, blueprint) -> None:
        self._exempt.add(blueprint.name)

    def init_app(self, app) -> None:
        app.jinja_env.globals.update(csrf_token=generate_csrf, csrf_meta_tag=csrf_meta_tag)
        app.before_request(self._protect)

    def _protect(self) -> None:
        if request.method not in CHECKED_METHODS or not request.endpoint or request.blueprint in self._exempt:
            return
        token = request.form.get(FORM_FIELD) or next(
            (request.headers[h] for h in HEADERS if request.headers.get(h)), None
        )
        if not _valid(token) or (request.is_secure and not _same_origin(request.referrer)):
            raise NotAllowed("csrf_failed")


csrf = CsrfProtection()


def init_csrf(app, api_blueprint) -> None:
    csrf.init_app(app)
    csrf.exempt(api_blueprint)


def require_csrf() -> None:
    """Refuse a state-changing request authorised by the session cookie without the session's token."""
    if request.method in SAFE_METHODS:
        return
    if not _valid(next((request.headers[h] for h in HEADERS if request.headers.get(h)), None)):
        raise NotAllowed("csrf_failed")


def fresh_token() -> str:
    """The CSRF token of the current session, made anew after the session changed (a login)."""
    g.pop("csrf_token", None)
    return generate_csrf()
