"""CSRF protection of browser sessions (Flask-WTF).

Forms of the pages carry the session's token in ``csrf_token`` and Flask-WTF's CSRFProtect checks
them before any view. The JSON API is exempt from that blanket check, because bearer tokens and
anonymous calls (the kiosk issuing tickets) carry no cookie to abuse; instead a state-changing
API call authorised by the *session cookie* must send the token in the ``X-CSRFToken`` header
(``require_csrf``, called by ``current_principal``). Pages get the token from their
``<meta name="csrf-token">``; a program that logs in gets it in the login answer.

Flask-WTF (and WTForms) are imported by the first check or token that needs them (a form or call
that changes something outside the exempt blueprints, a session's API call, a login, a page with
the token), not at start: a server that only issues tickets and shows displays never loads them
(about 0.6 MB of an idle server, issue 21). The checks are Flask-WTF's own, as before.
"""

from __future__ import annotations

from flask import Blueprint, g, request
from flask.globals import _cv_request

from ...core.errors import NotAllowed

HEADERS = ("X-CSRFToken", "X-CSRF-Token")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def generate_csrf(secret_key=None, token_key=None) -> str:
    """Flask-WTF's ``generate_csrf``: the session's token (made for the session the first time)."""
    from flask_wtf.csrf import generate_csrf as generate

    return generate(secret_key, token_key)


def validate_csrf(data, secret_key=None, time_limit=None, token_key=None) -> None:
    """Flask-WTF's ``validate_csrf``: raises WTForms' ValidationError for a token that is not the session's."""
    from flask_wtf.csrf import validate_csrf as validate

    validate(data, secret_key, time_limit, token_key)


def csrf_meta_tag(name=None, secret_key=None, token_key=None):
    """Flask-WTF's ``csrf_meta_tag``: ``<meta name="csrf-token" content="...">``."""
    from flask_wtf.csrf import csrf_meta_tag as meta_tag

    return meta_tag(name, secret_key, token_key)


class LazyCSRFProtect:
    """Flask-WTF's ``CSRFProtect``, made (and Flask-WTF imported) by the first request it checks.
    ``exempt`` takes views and blueprints as CSRFProtect's does, and a request of an exempt one
    is let through without loading Flask-WTF; the others are checked by CSRFProtect's ``protect``."""

    def __init__(self):
        self._exempt_views: set[str] = set()
        self._exempt_blueprints: set = set()
        self._protect = None

    def exempt(self, view):
        """A view (function or ``"module.name"``) or a blueprint left out of the check before every view."""
        if isinstance(view, Blueprint):
            self._exempt_blueprints.add(view)
        else:
            self._exempt_views.add(view if isinstance(view, str) else f"{view.__module__}.{view.__name__}")
        return view

    def is_exempt(self, app, req) -> bool:
        """CSRFProtect's ``_is_exempt`` for ``req``."""
        if app.blueprints.get(req.blueprint) in self._exempt_blueprints:
            return True
        view = app.view_functions.get(req.endpoint)
        return view is not None and f"{view.__module__}.{view.__name__}" in self._exempt_views

    def protect(self) -> None:
        """CSRFProtect's ``protect`` of the current request (exemptions already applied): raises
        Flask-WTF's CSRFError for a missing or wrong token, or, over HTTPS, a Referer of another origin."""
        if self._protect is None:
            from flask_wtf.csrf import CSRFProtect

            self._protect = CSRFProtect()
        self._protect.protect()


csrf = LazyCSRFProtect()


def init_csrf(app, api_blueprint) -> None:
    """What ``CSRFProtect.init_app`` sets up (its settings, the templates' ``csrf_token()`` and
    ``csrf_meta_tag()``, the check before every view), without importing Flask-WTF; the API
    blueprint is exempt (it checks a session's calls itself: ``require_csrf``)."""
    config = app.config
    config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid while the session lasts: a console is open all day
    # the rest of CSRFProtect.init_app's settings (Flask-WTF 1.3; tests/api/test_idle_server.py compares them)
    config.setdefault("WTF_CSRF_ENABLED", True)
    config.setdefault("WTF_CSRF_CHECK_DEFAULT", True)
    config["WTF_CSRF_METHODS"] = set(config.get("WTF_CSRF_METHODS", ["POST", "PUT", "PATCH", "DELETE"]))
    config.setdefault("WTF_CSRF_FIELD_NAME", "csrf_token")
    config.setdefault("WTF_CSRF_HEADERS", ["X-CSRFToken", "X-CSRF-Token"])
    config.setdefault("WTF_CSRF_META_NAME", "csrf-token")
    config.setdefault("WTF_CSRF_SSL_STRICT", True)
    app.jinja_env.globals["csrf_token"] = generate_csrf
    app.jinja_env.globals["csrf_meta_tag"] = csrf_meta_tag
    app.context_processor(lambda: {"csrf_token": generate_csrf, "csrf_meta_tag": csrf_meta_tag})
    csrf.exempt(api_blueprint)
    app.before_request(_csrf_protect(app, api_blueprint.name))


def _csrf_protect(app, exempt_blueprint: str):
    """CSRFProtect's check before every request, minus its cost where it would let the request
    through anyway: a method it does not check (GET, HEAD, OPTIONS), no view, a view of the exempt API
    blueprint (``request.blueprint`` is the part of the endpoint before its last dot) or of another
    exempt one. A refusal is answered here, as ``NotAllowed("csrf_failed")`` is (``require_csrf``)."""
    config = app.config

    def csrf_protect():
        req = _cv_request.get().request  # not through the proxy: at every request (api.the_request)
        if req.method not in config["WTF_CSRF_METHODS"]:
            return None
        endpoint = req.endpoint
        if endpoint is None or endpoint.rpartition(".")[0] == exempt_blueprint:
            return None
        if not config["WTF_CSRF_ENABLED"] or not config["WTF_CSRF_CHECK_DEFAULT"] or csrf.is_exempt(app, req):
            return None
        from flask_wtf.csrf import CSRFError

        try:
            csrf.protect()
        except CSRFError:
            from ..errors import error_response, status_of

            refusal = NotAllowed("csrf_failed")  # as require_csrf refuses; its status from the one map
            return error_response(refusal.code, status_of(refusal))
        return None

    return csrf_protect


def require_csrf() -> None:
    """Refuse a state-changing request authorised by the session cookie without the session's token."""
    if request.method in SAFE_METHODS:
        return
    from wtforms import ValidationError

    token = next((request.headers[h] for h in HEADERS if request.headers.get(h)), None)
    try:
        validate_csrf(token)
    except ValidationError:
        raise NotAllowed("csrf_failed") from None


def fresh_token() -> str:
    """The CSRF token of the current session, made anew after the session changed (a login)."""
    g.pop("csrf_token", None)
    return generate_csrf()
