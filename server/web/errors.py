"""One error format everywhere: {"error": {"code": ..., "message": ...}} with a 4xx status.

The message is a sentence a person can act on, in the language of Accept-Language
(Vietnamese unless English is asked for). ``translations`` has it in every language (a page
switched to another language says the error it shows again in that one).

One exception, for people: a 404 or 405 outside /api/ asked for by a browser (text/html
preferred to application/json in Accept) is a short HTML page, Vietnamese with English
below, with a link to the start page (template server/web/templates/errors/page.html).
Programs (Accept: */*, application/json, or none) keep getting the JSON error.
"""

from __future__ import annotations

import logging
import sqlite3

from flask import current_app, has_app_context, jsonify, render_template, request
from flask.globals import _cv_request, request_ctx
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from ..core import faults
from ..core import models as m
from ..core.errors import Invalid, NotAllowed, NotFound, NotSignedIn, QueueError, TooMany, Unavailable
from ..core.i18n import LANGUAGES, Phrase, install_jinja, pick_language, translate
from .extensions import socketio

log = logging.getLogger(__name__)


class NotJson(Invalid):
    """A body that is not JSON where only JSON is taken."""


# The one place a kind of refusal becomes an HTTP status (most specific kind first).
STATUS_OF_KIND = [
    (NotJson, 415),
    (NotFound, 404),
    (Invalid, 422),
    (NotSignedIn, 401),
    (NotAllowed, 403),
    (TooMany, 429),
    (Unavailable, 503),
    (QueueError, 409),
]


def status_of(error: QueueError) -> int:
    return next(status for kind, status in STATUS_OF_KIND if isinstance(error, kind))


def _said(code: str, language: str, params: dict) -> dict:
    """The error's sentence in ``language``; for a field, also what is wrong with that field alone
    (``problem``: a page says it beside its own label). ``message_key``: a sentence of its own for the
    code (the code stays, for programs)."""
    said = {"message": translate(params.get("message_key", code), language, **params)}
    problem = params.get("problem")
    if "field" in params and isinstance(problem, (str, Phrase)):
        said["problem"] = problem.said(language) if isinstance(problem, Phrase) else problem
    return said


def error_body(code: str, language: str, **params) -> dict:
    """A refusal's ``error``: its code, its sentence in ``language``, the field it names, and the sentence
    in every language (``translations``); ``params`` fill it, each Phrase said in each language. Socket.IO
    refuses alike (server/web/realtime.py)."""
    translations = {each: _said(code, each, params) for each in LANGUAGES}
    return {
        "code": code,
        **translations[language],
        **({"field": params["field"]} if "field" in params else {}),
        "translations": translations,
    }


MAX_OTHERS = 10  # fields named in a refusal's ``others``: a body of thousands of keys buys a short answer


def refusal_body(code: str, language: str, **params) -> dict:
    """A refusal's ``error`` (``error_body``), as the HTTP API answers it and a Socket.IO event is
    acknowledged with it (server/web/realtime.py). ``others``: more fields refused at once (each {"field",
    "problem"}), answered in ``others`` in the same shape: the first ``MAX_OTHERS``, then the rest counted
    in one last entry without a field ("… và 3 trường khác")."""
    others = params.pop("others", None)
    own_site = params.get("own") if code == "forbidden_site" else None
    if own_site is not None:
        params = _sites_named(params)
    body = error_body(code, language, **params)
    if own_site is not None:  # the token's own site by its id, for the address to use (the kiosk agent says it)
        body["own_site"] = own_site
    if others:
        body["others"] = [error_body(code, language, **other) for other in others[:MAX_OTHERS]]
        if len(others) > MAX_OTHERS:
            more = len(others) - MAX_OTHERS
            body["others"].append(error_body(code, language, message_key="more_fields_refused", count=more))
    return body


def _sites_named(params: dict) -> dict:
    """``forbidden_site``'s sites (``own``, ``site``: raised with their ids, server/core/auth.py) by the names
    people know them by, as this process serves them (an id it does not serve stays as it is)."""
    state = current_app.extensions.get("queuekiosk") if has_app_context() else None
    sites = getattr(state, "sites", None) or {}
    named = {key: sites[params[key]].config.site.name for key in ("own", "site") if params.get(key) in sites}
    return {**params, **named}


def error_response(code: str, status: int, **params):
    """The HTTP answer of a refusal, in the language the caller asks for (``refusal_body``)."""
    language = pick_language(request.headers.get("Accept-Language"))
    return jsonify({"error": refusal_body(code, language, **params)}), status


def _is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def _wants_html() -> bool:
    """A person's browser: HTML preferred to JSON (``*/*`` alone, or no Accept, means JSON)."""
    accept = request.accept_mimetypes
    return accept["text/html"] > accept["application/json"]


def _html_error(title_key: str, code: str, status: int, **params):
    from .app import SITE_KEY

    state = current_app.extensions.get("queuekiosk")
    home = request.script_root  # the site's own home (/s/{site}/), or the installation's (/)
    site_id = request.environ.get(SITE_KEY)
    if site_id and (state is None or site_id not in state.sites):  # no such site: nothing under its prefix
        site, home = None, home.removesuffix(f"/s/{site_id}")
        request.environ["SCRIPT_NAME"] = home  # the page's stylesheet (url_for) from the installation's root too
        request_ctx.url_adapter = current_app.create_url_adapter(request)
    else:
        site = state.site.config.site if state is not None else None
    page = render_template(
        "errors/page.html", site=site, home=home, title_key=title_key, message_key=code, params=params
    )
    return page, status, {"Content-Type": "text/html; charset=utf-8"}


def not_found_page(site, message_key: str, **params):
    """A page's answer for what it does not know (a kiosk, a counter, a ticket): the error page,
    Vietnamese with English below, and 404."""
    return render_template(
        "errors/page.html", site=site, title_key="page_not_found", message_key=message_key, params=params
    ), 404


def _page_or_json(title_key: str, code: str, status: int, **params):
    """Outside /api/: HTML for a browser, the JSON error for a program; either answer varies with Accept."""
    if _is_api_path(request.path):
        return error_response(code, status, **params)
    if _wants_html():
        response = current_app.make_response(_html_error(title_key, code, status, **params))
    else:
        response = current_app.make_response(error_response(code, status, **params))
    response.vary.add("Accept")
    return response


def _refuse_nul_in_url():
    """No address or query holds a NUL character, and PostgreSQL could not even look one up."""
    environ = _cv_request.get().request.environ  # not through the proxies: at every request
    if "\x00" in environ.get("PATH_INFO", ""):  # request.path is PATH_INFO decoded: a NUL in one is in both
        return _page_or_json("page_not_found", "not_found", 404, path=request.path.replace("\x00", "\\0"))
    if not environ.get("QUERY_STRING"):  # no query (most requests): no arguments to look at
        return None
    for name, value in request.args.items(multi=True):
        if "\x00" in name or "\x00" in value:
            raise Invalid(
                "invalid_field",
                field=name.replace("\x00", "\\0"),
                problem=Phrase("problem_invalid"),
            )
    return None


def fault_site(state):
    """The site whose dashboards hear of a database fault: the request's or the event's, or the first
    one if it was removed meanwhile (the database is the whole installation's)."""
    try:
        return state.site
    except NotFound:
        return state.sites[state.first_site_id]


def site_removed(error: Exception) -> NotFound | None:
    """``site_unknown`` for an IntegrityError of a write for the request's or event's site removed while
    the write was on its way (a number asked for at that moment: its rows are gone and a foreign key
    fails), answered as at any unknown site; else None."""
    from .app import SITE_KEY

    site_id = request.environ.get(SITE_KEY)
    if site_id is None or not isinstance(error, (IntegrityError, sqlite3.IntegrityError)):
        return None
    with current_app.extensions["queuekiosk"].reads.connect() as conn:
        if conn.scalar(select(m.sites.c.id).where(m.sites.c.id == site_id)) is None:
            return NotFound("site_unknown", site=site_id)
    return None


def report_database_fault(error: Exception, where: str, site, background: bool = False, reading: bool = False) -> str:
    """Say a database fault once (faults.report) and, when it is news, tell the site's dashboards, whose
    fresh snapshot carries it (faults.notes). Returns the fault's code: ``internal`` for a fault of the
    server (a query the database refuses as wrong), logged with its traceback; ``database_outcome_unknown``
    for a lost COMMIT PostgreSQL did not tell of (faults.outcome_unknown: it may have been done, so
    never "nothing was written"), logged each time. Every answer of a request or a Socket.IO event that
    failed on the database takes its code from here; ``background``: ``where`` is one of the server's own
    loops (its own line a minute, at each site); ``reading``: what failed only read (a GET), and the log says so."""
    code, news = faults.report(error, where, reading=reading, loop_at=site.id if background else None)
    if news:
        socketio.emit("system.changed", {}, to=f"{site.id}:dashboard")
    return code


def _asked_path() -> str:
    """The address as the caller wrote it: with its /s/{site} or /api/v1/sites/{site} part (routing takes
    it out before Flask sees the request)."""
    from .app import ASKED_PATH_KEY

    asked = request.environ.get(ASKED_PATH_KEY)  # (the raw WSGI path: its UTF-8 bytes read as Latin-1)
    if asked is None:
        return request.script_root + request.path
    return asked.encode("latin-1", "replace").decode("utf-8", "replace")


def register_error_handlers(app):
    install_jinja(app)  # the HTML error page uses t()/bi()
    app.before_request(_refuse_nul_in_url)

    @app.errorhandler(QueueError)
    def _queue_error(error: QueueError):
        if error.code == "site_unknown" and not _is_api_path(request.path):  # /s/{site}/... in a browser: a page
            return _page_or_json("page_not_found", error.code, 404, **error.params)
        body, status = error_response(error.code, status_of(error), **error.params)
        if "retry_after" in error.params:  # a rate limit (server/web/ratelimits.py)
            body.headers["Retry-After"] = str(error.params["retry_after"])
        return body, status

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        if error.code == 405:
            response = current_app.make_response(
                _page_or_json("page_not_allowed", "method_not_allowed", 405, path=_asked_path(), method=request.method)
            )
            response.headers["Allow"] = ", ".join(sorted(error.valid_methods or ()))  # RFC 9110: what is allowed
            return response
        if error.code == 404:
            return _page_or_json("page_not_found", "not_found", 404, path=_asked_path())
        return jsonify(
            {"error": {"code": error.name.lower().replace(" ", "_"), "message": error.description}}
        ), error.code

    def _database_error(error: Exception):  # faults.DATABASE_ERRORS (an IntegrityError has its own, below)
        # the transaction was rolled back whole: a full disk, the database out of reach, busy or damaged, or
        # a query it refuses as wrong (a fault of the server: 500, its traceback in the log)
        state = current_app.extensions["queuekiosk"]
        reading = request.method in ("GET", "HEAD")  # (a look writes nothing: "nothing was written" would mislead)
        code = report_database_fault(error, f"{request.method} {request.path}", fault_site(state), reading=reading)
        if code == faults.INTERNAL:
            return error_response(code, 500)
        body, status = error_response(code, 503)
        if code in faults.RETRY_AFTER:  # (not database_outcome_unknown: check first, then try again)
            body.headers["Retry-After"] = str(faults.RETRY_AFTER[code])
        return body, status

    for kind in faults.DATABASE_ERRORS:  # SQLAlchemy's, its pool's timeout, the driver's own unwrapped
        app.register_error_handler(kind, _database_error)

    @app.errorhandler(IntegrityError)
    @app.errorhandler(sqlite3.IntegrityError)
    def _integrity_error(error: Exception):
        gone = site_removed(error)
        return _queue_error(gone) if gone is not None else _unexpected(error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        if isinstance(error, faults.DATABASE_ERRORS):  # without the values PostgreSQL's DETAIL quotes
            faults.log_internal(error, f"unexpected error on {request.method} {request.path}", log)
        else:
            log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response("internal", 500)
