"""CSRF protection of browser sessions (Flask-WTF).

Forms of the pages carry the session's token in ``csrf_token`` and CSRFProtect checks them
before any view. The JSON API is exempt from that blanket check, because bearer tokens and
anonymous calls (the kiosk issuing tickets) carry no cookie to abuse; instead a state-changing
API call authorised by the *session cookie* must send the token in the ``X-CSRFToken`` header
(``require_csrf``, called by ``current_principal``). Pages get the token from their
``<meta name="csrf-token">``; a program that logs in gets it in the login answer.
"""

from __future__ import annotations

from flask import g, request
from flask.globals import _cv_request
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf, validate_csrf
from wtforms import ValidationError

from ...core.errors import NotAllowed

HEADERS = ("X-CSRFToken", "X-CSRF-Token")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

csrf = CSRFProtect()


def init_csrf(app, api_blueprint) -> None:
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid while the session lasts: a console is open all day
    csrf.init_app(app)
    csrf.exempt(api_blueprint)
    hooks = app.before_request_funcs[None]
    (index,) = [i for i, hook in enumerate(hooks) if getattr(hook, "__module__", "") == "flask_wtf.csrf"]
    hooks[index] = _quick_csrf_protect(app, hooks[index], api_blueprint.name)

    @app.errorhandler(CSRFError)
    def _csrf_error(_error):
        from ..errors import error_response, status_of

        refusal = NotAllowed("csrf_failed")  # as require_csrf refuses; its status from the one map
        return error_response(refusal.code, status_of(refusal))


def _quick_csrf_protect(app, csrf_protect, exempt_blueprint: str):
    """Flask-WTF's check before every request, minus its cost where it would let the request
    through anyway: a method it does not check (GET, HEAD, OPTIONS), or a view of the exempt API
    blueprint (``request.blueprint`` is the part of the endpoint before its last dot)."""
    config = app.config

    def csrf_protect_checked():
        req = _cv_request.get().request  # not through the proxy: at every request (api.the_request)
        if req.method not in config["WTF_CSRF_METHODS"]:
            return None
        endpoint = req.endpoint
        if endpoint is not None and endpoint.rpartition(".")[0] == exempt_blueprint:
            return None
        return csrf_protect()

    return csrf_protect_checked


def require_csrf() -> None:
    """Refuse a state-changing request authorised by the session cookie without the session's token."""
    if request.method in SAFE_METHODS:
        return
    token = next((request.headers[h] for h in HEADERS if request.headers.get(h)), None)
    try:
        validate_csrf(token)
    except ValidationError:
        raise NotAllowed("csrf_failed") from None


def fresh_token() -> str:
    """The CSRF token of the current session, made anew after the session changed (a login)."""
    g.pop("csrf_token", None)
    return generate_csrf()
