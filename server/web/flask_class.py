"""The Flask class the app runs on: Flask, with what it works out again for every request worked out
once (issue 21): JSON through orjson, URL matching and building compiled once, the request cycle's
hooks and signals without their per-request look-ups. tests/test_request_cycle.py and
tests/test_url_rules.py hold it to Flask's own behaviour."""

from __future__ import annotations

import json
import sys

import orjson
from flask import Flask, Request, Response
from flask.ctx import AppContext
from flask.globals import _cv_app, _cv_request
from flask.json.provider import DefaultJSONProvider
from flask.sansio.scaffold import _sentinel as _SENTINEL  # Flask's "no exception given" to its teardown calls
from flask.signals import (
    appcontext_popped,
    appcontext_pushed,
    appcontext_tearing_down,
    request_finished,
    request_started,
    request_tearing_down,
)
from werkzeug._internal import _wsgi_decoding_dance
from werkzeug.datastructures import Headers
from werkzeug.routing import Map, MapAdapter, Rule
from werkzeug.routing.matcher import StateMachineMatcher

# what orjson hands to the provider's ``default`` (Flask's) instead of writing its own way: the same text
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


class _JSONProvider(DefaultJSONProvider):
    """Flask's, but the compact JSON of an answer (``jsonify``, every API answer) is written by orjson:
    a ticket's 480 bytes 2 us instead of 8-16 us with the standard library. The same JSON: UTF-8
    text as with ``ensure_ascii=False``, keys in their order, dates and dataclasses through Flask's
    ``default``; what orjson does not take (an int past 64 bits, a key that is not a str) is written
    by the standard library as before. Differences left: a float's exponent is written ``1e16`` (not
    ``1e+16``), NaN as null. Other calls keep one ``JSONEncoder`` each instead of one per call."""

    def __init__(self, app):
        super().__init__(app)
        self._encoders: dict[tuple, json.JSONEncoder] = {}

    def _orjson(self, obj) -> bytes | None:
        if self.ensure_ascii or self.sort_keys:
            return None
        try:
            return orjson.dumps(obj, default=self.default, option=_ORJSON_OPTIONS)
        except orjson.JSONEncodeError:
            return None

    def dumps(self, obj, **kwargs) -> str:
        if kwargs.keys() - {"separators"}:
            return super().dumps(obj, **kwargs)
        separators = kwargs.get("separators")
        if separators == (",", ":"):
            data = self._orjson(obj)
            if data is not None:
                return data.decode()
        key = (self.ensure_ascii, self.sort_keys, separators)
        encoder = self._encoders.get(key)
        if encoder is None:
            encoder = self._encoders[key] = json.JSONEncoder(
                ensure_ascii=self.ensure_ascii, sort_keys=self.sort_keys, separators=separators, default=self.default
            )
        return encoder.encode(obj)

    def response(self, *args, **kwargs):
        """Flask's: compact JSON and a newline, written straight as bytes."""
        return self.answer(self._prepare_response_obj(args, kwargs), 200)

    def answer(self, obj, status: int) -> Response:
        """``response(obj)`` with the status ``status`` (``response.status_code = status`` after it),
        the response made as werkzeug makes it from bytes and a mimetype, without its checks of
        what is known to be fine here (``_Response.of_bytes``): every API answer."""
        if (self.compact is None and self._app.debug) or self.compact is False:
            return self._status(super().response(obj), status)
        data = self._orjson(obj)
        if data is None:
            return self._status(super().response(obj), status)
        response_class = self._app.response_class
        if response_class is _Response:
            return response_class.of_bytes(data + b"\n", self.mimetype, status)
        return self._status(response_class(data + b"\n", mimetype=self.mimetype), status)

    @staticmethod
    def _status(response: Response, status: int) -> Response:
        if status != 200:
            response.status_code = status
        return response


class _Matcher(StateMachineMatcher):
    """werkzeug's matcher of paths to rules, with its answers kept: matching /api/v1/tickets walks
    a state machine over the app's ~100 rules (10-20 microseconds); a path met before is one dict
    look-up. Only found rules are kept (redirects, 404 and 405 are worked out each time), a bounded
    number (paths are the clients'), each time with a dict of values of its own; forgotten whenever
    a rule is added or the rules are compiled again."""

    KEPT = 1024

    def __init__(self, merge_slashes: bool):
        super().__init__(merge_slashes)
        self._found: dict[tuple, tuple] = {}

    def add(self, rule) -> None:
        self._found.clear()
        super().add(rule)

    def update(self) -> None:
        self._found.clear()
        super().update()

    def match(self, domain: str, path: str, method: str, websocket: bool):
        key = (domain, path, method, websocket, self.merge_slashes)
        found = self._found.get(key)
        if found is not None:
            return found[0], dict(found[1])
        rule, values = super().match(domain, path, method, websocket)
        if len(self._found) >= self.KEPT:
            self._found.clear()
        self._found[key] = (rule, dict(values))
        return rule, values


class _Map(Map):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        matcher = _Matcher(self._matcher.merge_slashes)
        for rule in self._rules:  # none when Flask makes it
            if not rule.build_only:
                matcher.add(rule)
        self._matcher = matcher


class _Rule(Rule):
    """werkzeug's rule, whose two URL-building functions (``build`` with and without the values the
    rule does not take) are made by the first ``url_for`` that needs them, not as the rule is added:
    werkzeug writes and compiles Python code for each, about 2 KB of code a rule, ~0.2 MB for the
    app's ~100 rules, most of which no page ever builds a URL for (issue 21: an idle server's memory).
    The functions are werkzeug's own, made from the same rule; a rule compiled again starts over."""

    def _compile_builder(self, append_unknown: bool = True):
        def build_at_first_use(rule, /, **values):
            built = Rule._compile_builder(rule, append_unknown).__get__(rule, None)
            setattr(rule, "_build_unknown" if append_unknown else "_build", built)
            return built(**values)

        return build_at_first_use


class _Response(Response):
    """Flask's response. One whose body is a single buffered bytes object with its Content-Length
    set (what ``jsonify`` and a returned text make) and no Location header to rewrite goes to the
    server as it is: werkzeug copies and scans the headers of every answer and wraps its body in a
    generator and a ClosingIterator (several microseconds). The same status, headers and bytes."""

    # (mimetype, status code) -> the Content-Type and status (line, code) werkzeug's constructor gave them
    _made: dict[tuple[str, int], tuple[str, str, int]] = {}

    @classmethod
    def of_bytes(cls, data: bytes, mimetype: str, status: int = 200) -> _Response:
        """``cls(data, status, mimetype=mimetype)``: the same object (attributes, headers in the same
        order, status), set straight instead of through werkzeug's constructor, which looks for a
        Content-Type among no headers, checks each header's value for line breaks as it sets it and
        works out the status line from the code (~30k instructions, every JSON answer; tests/
        test_request_cycle.py compares the two). The first response of a mimetype and status is
        made by the constructor, which checks them, and what it set is kept for the next ones."""
        made = cls._made.get((mimetype, status))
        if made is None:
            response = cls(data, status, mimetype=mimetype)
            if type(status) is int and len(cls._made) < 64:  # (a handful: the JSON answers' codes)
                cls._made[(mimetype, status)] = (response.headers["Content-Type"], response._status, status)
            return response
        content_type, response_status, status_code = made
        response = cls.__new__(cls)
        headers = response.headers = Headers()
        headers._list = [("Content-Type", content_type), ("Content-Length", str(len(data)))]
        response._status = response_status
        response._status_code = status_code
        response.direct_passthrough = False
        response._on_close = []
        response.response = [data]
        return response

    def get_wsgi_response(self, environ):
        body, status = self.response, self.status_code
        if (
            type(body) is list
            and len(body) == 1
            and type(body[0]) is bytes
            and 200 <= status
            and status not in (204, 304)
            and not self._on_close
            and not self.direct_passthrough
            and environ["REQUEST_METHOD"] != "HEAD"
        ):
            headers = self.headers.to_wsgi_list()
            names = {name.lower() for name, _ in headers}
            if "content-length" in names and "location" not in names and "content-location" not in names:
                return body, self.status, headers
        return super().get_wsgi_response(environ)


class _Request(Request):
    """Flask's request, whose body limit (``max_content_length``, read before every body) reads the app
    from its context variable: through the ``current_app`` proxy each read first fails a lookup whose
    AttributeError is formatted and dropped. The same limit: the request's own, else the app's config."""

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is not None:
            return self._max_content_length
        app_context = _cv_app.get(None)
        if app_context is None:
            return super().max_content_length
        return app_context.app.config["MAX_CONTENT_LENGTH"]

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value


class _AppContext(AppContext):
    """Flask 3.1's app context (every request pushes one), its two signals sent only when someone listens
    to them: an empty send costs ~2.9k instructions, two a request."""

    def push(self) -> None:
        self._cv_tokens.append(_cv_app.set(self))
        if appcontext_pushed.receivers:
            appcontext_pushed.send(self.app, _async_wrapper=self.app.ensure_sync)

    def pop(self, exc: BaseException | None = _SENTINEL) -> None:
        try:
            if len(self._cv_tokens) == 1:
                if exc is _SENTINEL:
                    exc = sys.exc_info()[1]
                self.app.do_teardown_appcontext(exc)
        finally:
            ctx = _cv_app.get()
            _cv_app.reset(self._cv_tokens.pop())
        if ctx is not self:
            raise AssertionError(f"Popped wrong app context. ({ctx!r} instead of {self!r})")
        if appcontext_popped.receivers:
            appcontext_popped.send(self.app, _async_wrapper=self.app.ensure_sync)


class QueueKioskFlask(Flask):
    """Flask, with what it works out again for every request worked out once (issue 21)."""

    json_provider_class = _JSONProvider
    request_class = _Request
    response_class = _Response
    url_map_class = _Map
    url_rule_class = _Rule

    HOSTS_KEPT = 64  # the Host header is the client's: a bounded memory of hosts

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync: dict = {}
        self._hosts: dict[tuple, tuple[str, str, str]] = {}

    def create_url_adapter(self, request_):
        """Flask's URL adapter for ``request_``, with what depends on the host and scheme alone (the
        host checked and encoded for IDNA, the WebSocket scheme: ~9 microseconds) worked out once
        per host; any setting that changes that (TRUSTED_HOSTS, SERVER_NAME, host or subdomain
        matching) goes Flask's way each time. A host that is refused is refused every time."""
        config = self.config
        if request_ is None:  # an app context's: none without SERVER_NAME (Flask's answer, without its call)
            return None if config["SERVER_NAME"] is None else super().create_url_adapter(None)
        if (
            config["TRUSTED_HOSTS"] is not None
            or config["SERVER_NAME"] is not None
            or self.url_map.host_matching
            or self.subdomain_matching
        ):
            return super().create_url_adapter(request_)
        environ = request_.environ
        key = tuple(map(environ.get, _HOST_KEYS))
        known = self._hosts.get(key)
        if known is None:
            adapter = super().create_url_adapter(request_)
            if len(self._hosts) >= self.HOSTS_KEPT:
                self._hosts.clear()
            self._hosts[key] = (request_.host, adapter.server_name, adapter.url_scheme)
            return adapter
        request_.host, server_name, scheme = known
        script_name, path_info, query = map(environ.get, ("SCRIPT_NAME", "PATH_INFO", "QUERY_STRING"))
        return MapAdapter(
            self.url_map,
            server_name,
            "/" if script_name is None else _wsgi_decoding_dance(script_name),
            self.url_map.default_subdomain or "",
            scheme,
            "/" if path_info is None else _wsgi_decoding_dance(path_info),
            environ["REQUEST_METHOD"],
            None if query is None else _wsgi_decoding_dance(query),
        )

    def app_context(self) -> AppContext:
        return _AppContext(self)

    def dispatch_request(self):
        """Flask 3.1's, the request read from its context variable rather than through the
        ``request_ctx`` proxy: each read through a proxy first fails a lookup whose AttributeError is
        formatted and dropped (~3k instructions; issuing's gdb count in CLAIMS.md)."""
        req = _cv_request.get().request
        if req.routing_exception is not None:
            self.raise_routing_exception(req)
        rule = req.url_rule
        # the automatic answer to OPTIONS for this URL, if Flask provides one
        if getattr(rule, "provide_automatic_options", False) and req.method == "OPTIONS":
            return self.make_default_options_response()
        return self.ensure_sync(self.view_functions[rule.endpoint])(**req.view_args)

    def preprocess_request(self):
        """Flask 3.1's (the url_value_preprocessors, then the before_request functions of the app and
        of the request's blueprints; the first answer that is not None stops the request), the
        request read from its context variable as in ``dispatch_request``."""
        req = _cv_request.get().request
        names = (None, *reversed(req.blueprints))
        for name in names:
            if name in self.url_value_preprocessors:
                for url_func in self.url_value_preprocessors[name]:
                    url_func(req.endpoint, req.view_args)
        for name in names:
            if name in self.before_request_funcs:
                for before_func in self.before_request_funcs[name]:
                    answer = self.ensure_sync(before_func)()
                    if answer is not None:
                        return answer
        return None

    # Flask 3.1's request cycle below, the request read from its context variable (each read through the
    # ``request`` proxy formats and drops an AttributeError first) and a signal sent only when someone
    # listens to it (an empty send costs about a microsecond, four of them a request).

    def full_dispatch_request(self) -> Response:
        self._got_first_request = True
        try:
            if request_started.receivers:
                request_started.send(self, _async_wrapper=self.ensure_sync)
            rv = self.preprocess_request()
            if rv is None:
                rv = self.dispatch_request()
        except Exception as e:  # noqa: BLE001 - Flask's: the app's error handlers answer it
            rv = self.handle_user_exception(e)
        return self.finalize_request(rv)

    def finalize_request(self, rv, from_error_handler: bool = False) -> Response:
        response = self.make_response(rv)
        try:
            response = self.process_response(response)
            if request_finished.receivers:
                request_finished.send(self, _async_wrapper=self.ensure_sync, response=response)
        except Exception:
            if not from_error_handler:
                raise
            self.logger.exception("Request finalizing failed with an error while handling an error")
        return response

    def process_response(self, response: Response) -> Response:
        ctx = _cv_request.get()
        for func in ctx._after_request_functions:
            response = self.ensure_sync(func)(response)
        for name in (*ctx.request.blueprints, None):
            if name in self.after_request_funcs:
                for func in reversed(self.after_request_funcs[name]):
                    response = self.ensure_sync(func)(response)
        if not self.session_interface.is_null_session(ctx._session):
            self.session_interface.save_session(self, ctx._session, response)
        return response

    def do_teardown_request(self, exc: BaseException | None = _SENTINEL) -> None:
        if exc is _SENTINEL:
            exc = sys.exc_info()[1]
        for name in (*_cv_request.get().request.blueprints, None):
            if name in self.teardown_request_funcs:
                for func in reversed(self.teardown_request_funcs[name]):
                    self.ensure_sync(func)(exc)
        if request_tearing_down.receivers:
            request_tearing_down.send(self, _async_wrapper=self.ensure_sync, exc=exc)

    def do_teardown_appcontext(self, exc: BaseException | None = _SENTINEL) -> None:
        if exc is _SENTINEL:
            exc = sys.exc_info()[1]
        for func in reversed(self.teardown_appcontext_funcs):
            self.ensure_sync(func)(exc)
        if appcontext_tearing_down.receivers:
            appcontext_tearing_down.send(self, _async_wrapper=self.ensure_sync, exc=exc)

    def ensure_sync(self, func):
        """Flask asks of every hook, view and error handler of every request whether it is a
        coroutine function (``inspect``, a few calls each): asked once per function here."""
        try:
            return self._sync[func]
        except KeyError:
            sync = self._sync[func] = super().ensure_sync(func)
            if len(self._sync) > 4096:  # after_this_request's functions are new at each request
                self._sync.clear()
            return sync
        except TypeError:  # an unhashable callable
            return super().ensure_sync(func)


# what werkzeug's host check and Map.bind_to_environ read from the environ besides the path
_HOST_KEYS = ("HTTP_HOST", "SERVER_NAME", "SERVER_PORT", "wsgi.url_scheme", "HTTP_CONNECTION", "HTTP_UPGRADE")
