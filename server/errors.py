"""One error format everywhere: {"error": {"code": ..., "message": ...}} with a 4xx status.

The message is a sentence a person can act on, in the language of Accept-Language
(Vietnamese unless English is asked for).
"""

from __future__ import annotations

import logging

from flask import jsonify, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from .engine import QueueError
from .i18n import pick_language, translate

log = logging.getLogger(__name__)


def error_response(code: str, status: int, extra: dict | None = None, **params):
    language = pick_language(request.headers.get("Accept-Language"))
    body = {"code": code, "message": translate(code, language, **params), **(extra or {})}
    return jsonify({"error": body}), status


def register_error_handlers(app):
    @app.errorhandler(QueueError)
    def _queue_error(error: QueueError):
        extra = {"field": error.params["field"]} if "field" in error.params else None
        return error_response(error.code, error.status, extra, **error.params)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        if error.code == 405:
            return error_response("method_not_allowed", 405, path=request.path, method=request.method)
        if error.code == 404:
            return error_response("not_found", 404, path=request.path)
        return jsonify({"error": {"code": error.name.lower().replace(" ", "_"), "message": error.description}}), error.code

    @app.errorhandler(OperationalError)
    def _database_error(error: OperationalError):
        # e.g. SQLite "database is locked" past busy_timeout: the transaction was rolled back
        log.error("database error on %s %s: %s", request.method, request.path, error)
        return error_response("database_busy", 503)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response("internal", 500)
