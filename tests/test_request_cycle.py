"""QueueKioskFlask's request cycle (server/web/flask_class.py, issue 21) runs as Flask's own: the same hooks
in the same order with the same arguments, the same signals to whoever listens, the same body limit
(its request reads the app without the proxies, and sends a signal only when someone listens)."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from flask import Blueprint, Flask, request
from flask import signals as flask_signals

from queuekiosk.server.core.engine.views import iso
from queuekiosk.server.web.flask_class import QueueKioskFlask


def _app(cls, calls: list) -> Flask:
    app = cls(__name__)
    bp = Blueprint("bp", __name__, url_prefix="/bp")

    @bp.post("/echo")
    def echo():
        request.max_content_length = int(request.args["limit"]) if "limit" in request.args else None
        return request.get_data()

    @bp.get("/fail")
    def fail():
        raise KeyError("boom")

    @bp.get("/unhandled")
    def unhandled():
        raise ValueError("not handled")  # a 500, and the teardown functions are given it

    @bp.after_request
    def bp_after(response):
        calls.append(("bp_after", response.status_code))
        response.headers["X-Bp"] = "1"
        return response

    @bp.teardown_request
    def bp_teardown(exc):
        calls.append(("bp_teardown", repr(exc)))

    app.register_blueprint(bp)

    @app.get("/plain")
    def plain():
        from flask import after_this_request

        @after_this_request
        def once(response):
            calls.append(("after_this_request", response.status_code))
            return response

        return "plain"

    @app.after_request
    def app_after_1(response):
        calls.append(("app_after_1", response.headers.get("X-Bp")))
        return response

    @app.after_request
    def app_after_2(response):
        calls.append(("app_after_2", response.status_code))
        return response

    @app.teardown_request
    def app_teardown(exc):
        calls.append(("app_teardown", repr(exc)))

    @app.teardown_appcontext
    def appcontext_teardown(exc):
        calls.append(("appcontext_teardown", repr(exc)))

    @app.errorhandler(KeyError)
    def key_error(error):
        calls.append(("handler", repr(error)))
        return "handled", 500

    return app


def _run(cls, signals: bool) -> list:
    calls: list = []
    app = _app(cls, calls)
    receivers = []
    signals_listened: list = []
    if signals:
        for name in ("started", "finished", "tearing_down"):
            signals_listened.append(getattr(flask_signals, f"request_{name}"))
        for name in ("tearing_down", "pushed", "popped"):  # each request's app context's too
            signals_listened.append(getattr(flask_signals, f"appcontext_{name}"))
        for signal in signals_listened:

            def receiver(sender, signal=signal, **kwargs):
                calls.append((signal.name, sorted(kwargs), getattr(kwargs.get("response"), "status_code", None)))

            signal.connect(receiver, app)
            receivers.append((signal, receiver))
    try:
        client = app.test_client()
        for method, path, data in (
            ("get", "/plain", None),
            ("post", "/bp/echo", b"0123456789"),
            ("post", "/bp/echo?limit=4", b"0123456789"),
            ("get", "/bp/fail", None),
            ("get", "/bp/unhandled", None),
            ("get", "/nowhere", None),
        ):
            response = getattr(client, method)(path, data=data)
            calls.append(("answer", path, response.status_code, response.get_data(), response.headers.get("X-Bp")))
        app.config["MAX_CONTENT_LENGTH"] = 5
        response = client.post("/bp/echo", data=b"0123456789")
        calls.append(("answer", "limited", response.status_code, response.headers.get("X-Bp")))
    finally:
        for signal, receiver in receivers:
            signal.disconnect(receiver, app)
    return calls


@pytest.mark.parametrize("signals", [False, True], ids=["nobody listens", "signals listened to"])
def test_hooks_signals_and_answers_are_flasks(signals):
    ours, flasks = _run(QueueKioskFlask, signals), _run(Flask, signals)
    assert ours == flasks
    answers = {c[1]: c[2] for c in ours if c[0] == "answer"}
    assert answers["limited"] == 413  # the app's body limit holds
    assert answers["/bp/echo?limit=4"] == 413  # and a request's own
    assert answers["/bp/echo"] == 200
    assert ("bp_teardown", "ValueError('not handled')") in ours
    assert any(c[0] == "request-started" for c in ours) == signals
    assert any(c[0] == "appcontext-pushed" for c in ours) == signals
    assert any(c[0] == "appcontext-popped" for c in ours) == signals


def test_iso_writes_what_isoformat_with_milliseconds_writes():
    rng = random.Random(21)
    values = [dt.datetime(2026, 12, 4, 15, 3, 7), dt.datetime(2026, 12, 4, 15, 3, 7, 999), dt.datetime(1, 1, 1)]
    values += [dt.datetime(2026, 12, 4, 15, 3, 7, 999999), dt.datetime(9999, 12, 31, 23, 59, 59, 1000)]
    values += [
        dt.datetime(
            rng.randint(1, 9999),
            rng.randint(1, 12),
            rng.randint(1, 28),
            rng.randint(0, 23),
            rng.randint(0, 59),
            rng.randint(0, 59),
            rng.choice((0, rng.randint(0, 999_999))),
        )
        for _ in range(2000)
    ]
    values += [dt.datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=dt.UTC)]  # aware: as before, its offset written
    for value in values:
        assert iso(value) == value.isoformat(timespec="milliseconds") + "Z"
    assert iso(None) is None


@pytest.mark.parametrize("body", [{"vi": "Hộ tịch", "n": [1, None, 2.5]}, [], "plain", None], ids=repr)
def test_a_json_answer_is_what_werkzeug_and_flask_make(body):
    """``json.answer`` (every API answer; ``jsonify`` through ``json.response``) makes the response object
    werkzeug's constructor makes from the same bytes (``_Response.of_bytes`` sets it straight once the
    constructor has made one of that status), and answers as Flask's own ``jsonify`` with that status."""
    from werkzeug.test import EnvironBuilder

    from queuekiosk.server.web.flask_class import _Response

    ours, flasks = QueueKioskFlask(__name__), Flask(__name__)
    for app in (ours, flasks):
        app.json.ensure_ascii = False  # as create_app sets them
        app.json.sort_keys = False
    environ = EnvironBuilder(path="/", method="POST").get_environ()
    for status in (201, 201, 200, 200, 409, 409, 429, 599, 599):  # each code's second answer set straight
        with ours.app_context():
            answer = ours.json.answer(body, status)
            made = _Response(answer.get_data(), status, mimetype=ours.json.mimetype)
            jsonified = ours.json.response(body) if status == 200 else None
        assert type(answer) is type(made)
        assert answer.headers.to_wsgi_list() == made.headers.to_wsgi_list()
        assert {k: v for k, v in vars(answer).items() if k != "headers"} == {
            k: v for k, v in vars(made).items() if k != "headers"
        }
        if jsonified is not None:  # jsonify's: the same, with a 200
            assert jsonified.get_wsgi_response(environ)[1:] == answer.get_wsgi_response(environ)[1:]
            assert jsonified.get_data() == answer.get_data()
        with flasks.app_context():
            from flask import jsonify

            flask_answer = flasks.make_response((jsonify(body), status))
        assert answer.get_data() == flask_answer.get_data()
        assert answer.status == flask_answer.status
        assert answer.headers.to_wsgi_list() == flask_answer.headers.to_wsgi_list()
        assert list(answer.get_wsgi_response(environ)[0]) == [flask_answer.get_data()]


def test_json_answers_of_one_status_share_nothing_a_request_may_change():
    """Answers of one status set straight (``_Response.of_bytes``, after the constructor made the first): a
    header, a cookie or a close callback added to one (a replayed answer's header, a session's cookie) is on
    no other."""
    from queuekiosk.server.web.flask_class import _Response

    app = QueueKioskFlask(__name__)
    app.json.ensure_ascii = False  # as create_app sets them
    app.json.sort_keys = False
    with app.app_context():
        first, changed, other = (app.json.answer({"n": n}, 201) for n in range(3))
    changed.headers["Idempotent-Replayed"] = "true"
    changed.set_cookie("session", "one")
    changed.call_on_close(lambda: None)
    for untouched in (first, other):
        assert untouched._on_close == []
        assert untouched.headers.to_wsgi_list() == [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(untouched.get_data()))),
        ]
        assert untouched.get_data() == _Response(untouched.get_data(), 201).get_data()
