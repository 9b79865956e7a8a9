"""What the app works out once instead of at every request (server/web/app.py, issue 21) answers as
Flask and werkzeug would: the URL adapter of each host (links and redirects are built with it), the
answers handed to the server as they are, and the issue body checked without pydantic. The real app."""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import uuid

import pytest
from flask import Flask, Response, redirect
from hypothesis import given
from hypothesis import strategies as st
from in_process_app_helpers import in_process_app
from werkzeug.test import EnvironBuilder


@pytest.fixture
def app(tmp_path, migrated_sqlite_url, monkeypatch):
    app = in_process_app(tmp_path, migrated_sqlite_url, monkeypatch, "pipeline-test")
    yield app
    app.extensions["queuekiosk"].engine.dispose()


REQUESTS = [
    {"path": "/api/v1/tickets", "method": "POST", "headers": {"Host": "127.0.0.1:8000"}},
    {"path": "/s/phuc-la/kiosk/1", "headers": {"Host": "Bücher.example:81"}},
    {"path": "/socket.io/", "headers": {"Host": "a.b", "Connection": "keep-alive, Upgrade", "Upgrade": "websocket"}},
    {"path": "/x", "query_string": "y=%C3%A9&z", "base_url": "https://CENTRE.example:443/pre/"},
    {"path": "/caf%C3%A9"},
    {"path": "/kiosk/1", "headers": {"Host": "bad host"}},
]


@pytest.mark.parametrize("kwargs", REQUESTS)
def test_the_url_adapter_is_flasks_for_the_second_request_of_a_host_too(app, kwargs):
    for _ in range(3):  # the first request of a host goes Flask's way, the next ones are remembered
        ours, flasks = (app.request_class(EnvironBuilder(**kwargs).get_environ()) for _ in range(2))
        try:
            adapter = app.create_url_adapter(ours)
        except Exception as error:  # a host werkzeug refuses is refused every time
            with pytest.raises(type(error)):
                Flask.create_url_adapter(app, flasks)
            continue
        expected = Flask.create_url_adapter(app, flasks)
        assert {k: v for k, v in vars(adapter).items() if k != "map"} == {
            k: v for k, v in vars(expected).items() if k != "map"
        }
        assert ours.host == flasks.host


def _wsgi(get_wsgi_response, method):
    body, status, headers = get_wsgi_response(EnvironBuilder(method=method).get_environ())
    return b"".join(body), status, list(headers)


@pytest.mark.parametrize(
    "make",
    [
        lambda app: app.json.response({"number": 1, "service": "Hộ tịch"}),
        lambda app: app.response_class("plain text", status=201),
        lambda app: app.response_class("", status=204),
        lambda app: redirect("/kiosk/1"),
        lambda app: app.response_class(iter([b"a", b"b"]), mimetype="text/csv"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_an_answer_reaches_the_server_as_werkzeug_would_hand_it(app, make, method):
    with app.test_request_context():
        ours = _wsgi(make(app).get_wsgi_response, method)
        theirs = _wsgi(Response.get_wsgi_response.__get__(make(app)), method)  # werkzeug's own
    assert ours == theirs


@pytest.mark.parametrize(
    "body, field",
    [
        ({"service": "HT"}, None),
        ({"service": "HT", "priority": "elderly", "kiosk": "kiosk-1"}, None),
        ({"service": "HT", "kiosk": None}, None),
        ({"service": "x" * 33}, "service"),
        ({"service": "HT", "kiosk": ""}, "kiosk"),
        ({"service": "HT", "priority": 1}, "priority"),
        ({"service": "H\u0000T"}, "service"),
        ({"service": "HT", "colour": "red"}, "colour"),
        ({"priority": "elderly"}, "service"),
    ],
)
def test_the_issue_body_is_taken_or_refused_as_pydantic_would(app, body, field):
    from queuekiosk.server.core.errors import Invalid
    from queuekiosk.server.web.api import parse_body
    from queuekiosk.server.web.api.tickets import IssueRequest, _issue_body

    with app.test_request_context("/api/v1/tickets", method="POST", json=body):
        if field is None:
            taken, model = _issue_body(), parse_body(IssueRequest)
            assert (taken.service, taken.priority, taken.kiosk) == (model.service, model.priority, model.kiosk)
        else:
            with pytest.raises(Invalid) as refused:
                _issue_body()
            assert refused.value.params["field"] == field


def test_a_path_matched_again_finds_the_same_rule_and_values_of_its_own(app):
    from werkzeug.exceptions import MethodNotAllowed, NotFound
    from werkzeug.routing import RequestRedirect

    adapter = app.url_map.bind("localhost")
    for _ in range(3):  # the first match is werkzeug's own walk, the next ones are remembered
        rule, values = adapter.match("/api/v1/tickets/abc", "GET", return_rule=True)
        assert (rule.endpoint, values) == ("api.get_ticket", {"ticket_id": "abc"})
        values["ticket_id"] = "changed"  # a view's preprocessor may change its own values
        assert adapter.match("/api/v1/tickets", "POST") == ("api.issue_ticket", {})
        with pytest.raises(MethodNotAllowed):
            adapter.match("/api/v1/tickets", "DELETE")
        with pytest.raises(NotFound):
            adapter.match("/api/v1/no-such-thing", "GET")
        with pytest.raises(RequestRedirect):  # slashes merged: the client is sent to the one path
            adapter.match("/api/v1//tickets", "POST")


@dataclasses.dataclass
class _Point:
    x: int
    label: str


PAYLOADS = [
    {"id": "jmiIblh_Lu4L", "number": 1, "priority": None, "eta_minutes": 12.5, "ok": True, "tags": ["a", "b"]},
    {"service": "Hộ tịch", "line": "\u2028", "html": "<b>&</b>"},
    {"at": dt.datetime(2026, 12, 4, 9, 55, 0, 432000), "day": dt.date(2026, 12, 4)},
    {"point": _Point(1, "một"), "amount": decimal.Decimal("1.50"), "uuid": uuid.UUID(int=7)},
    {"big": 2**70, "negative": -(2**63) - 1},
    {1: "an int key", "nested": {2.5: "a float key", None: "none"}},
    [1, "two", {"three": [3]}],
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_an_answers_json_is_the_standard_librarys(app, payload):
    import json

    from flask.json.provider import _default

    expected = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=_default) + "\n"
    with app.test_request_context():
        assert app.json.response(payload).get_data(as_text=True) == expected
        assert app.json.dumps(payload, separators=(",", ":")) + "\n" == expected


@pytest.mark.parametrize(
    "payload",
    [
        ["ticket.called", {"number": 12, "service": "Hộ tịch", "counter": 3, "eta": 1.5, "ok": True, "none": None}],
        ["odd", {1: "an int key", "big": 2**70, "lone": "\ud800"}],
    ],
)
def test_a_socketio_packet_reads_as_the_standard_library_wrote_it(payload):
    import json

    from queuekiosk.server.web.extensions import PacketJSON

    ours = PacketJSON.dumps(payload, separators=(",", ":"))
    assert json.loads(ours) == json.loads(json.dumps(payload, separators=(",", ":")))
    assert PacketJSON.dumps(payload) == json.dumps(payload)  # any other call: the standard library's own text


@pytest.mark.parametrize(
    "data",
    [
        b"Host: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 17\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n",
        b"X-Folded: one\r\n two\r\nX_Under: dropped\r\nA:\r\nB: \t spaced \t\r\nX: \xe9t\xe9\r\n\r\n",
        b"Accept: a\r\nAccept: b\r\nAuthorization: Bearer x\r\nIdempotency-Key: k-1\r\n\r\n",
    ],
)
def test_the_environs_headers_are_gevents(data):
    import io

    from gevent import pywsgi

    from queuekiosk.server.wsgi_server import SmallBufferHandler

    handler = SmallBufferHandler.__new__(SmallBufferHandler)  # what _headers reads: the message
    handler.headers = pywsgi.headers_factory(io.BytesIO(data))
    assert list(handler._headers()) == list(pywsgi.WSGIHandler._headers(handler))


BODY = b'{"service": "HT", "kiosk": "kiosk-1"}'


@pytest.mark.parametrize(
    ("extra", "limit"),
    [
        ({"wsgi.input_terminated": True}, None),  # gevent's server, the usual ticket
        ({"wsgi.input_terminated": False}, None),  # gevent's upgrade request: set, so werkzeug reads the input as it is
        ({}, None),  # a server that does not end the body itself: werkzeug's LimitedStream
        ({"wsgi.input_terminated": True}, 1_000),  # a body limit: werkzeug's checks
        ({"wsgi.input_terminated": True}, 10),  # a body over the limit: 413, as werkzeug refuses it
        ({"wsgi.input_terminated": True, "CONTENT_LENGTH": "5"}, None),  # the server's input ends the body
    ],
)
def test_a_request_body_is_what_werkzeug_reads(app, extra, limit):
    """``request_body`` reads the input itself where werkzeug's stream would be the input as it is;
    everywhere the same bytes as werkzeug's ``get_data``, once and again, and the same refusal."""
    from werkzeug.exceptions import RequestEntityTooLarge

    from queuekiosk.server.web.api import request_body

    def environ():
        made = EnvironBuilder("/api/v1/tickets", method="POST", data=BODY).get_environ()
        made.update(extra)
        return made

    app.config["MAX_CONTENT_LENGTH"] = limit
    with app.app_context():
        werkzeugs = app.request_class(environ())
        ours = app.request_class(environ())
        try:
            expected = werkzeugs.get_data(cache=True)
        except RequestEntityTooLarge:
            with pytest.raises(RequestEntityTooLarge):
                request_body(ours)
            return
        assert request_body(ours) == expected
        assert request_body(ours) == ours.get_data() == expected  # kept, as get_data(cache=True) keeps it
        assert ours.stream.read() == werkzeugs.stream.read() == b""  # the body read once


TIMES = [
    dt.datetime(2026, 12, 6, 17, 45, 10),  # no microseconds: isoformat() writes none
    dt.datetime(2026, 12, 6, 17, 45, 10, 999),  # under a millisecond
    dt.datetime(2026, 12, 6, 17, 45, 10, 123456),
    dt.datetime(1, 1, 1),
    dt.datetime(9999, 12, 31, 23, 59, 59, 999999),
]


def test_a_views_times_are_isoformats_text():
    """A ticket view's times and day (views.iso, prepared.date_text) are isoformat's text, whatever
    time or day was formatted before (each is cut from the last one's kept text)."""
    from queuekiosk.server.core.engine.prepared import date_text, naive_time_text
    from queuekiosk.server.core.engine.views import iso

    for before in [None, *TIMES]:
        for value in TIMES:
            if before is not None:
                naive_time_text(before)
                date_text(before.date())
            assert iso(value) == value.isoformat(timespec="milliseconds") + "Z"
            assert iso(value) == iso(dt.datetime.fromisoformat(value.isoformat()))  # an equal value, another object
            assert date_text(value.date()) == value.date().isoformat()
            assert naive_time_text(value) == value.isoformat(" ", "microseconds")
    aware = dt.datetime(2026, 12, 6, 17, 45, 10, 5000, tzinfo=dt.UTC)
    assert iso(aware) == aware.isoformat(timespec="milliseconds") + "Z"
    # an equal day in another object (a new ticket's day) reads the kept text; a datetime equal to no
    # date, never a date's text
    day = dt.date(2026, 12, 6)
    assert date_text(day) == "2026-12-06"
    assert date_text(dt.date(2026, 12, 6)) == "2026-12-06"
    assert date_text(dt.datetime(2026, 12, 6)) == dt.datetime(2026, 12, 6).isoformat()
    assert date_text(dt.date(2026, 12, 7)) == "2026-12-07"
    assert iso(None) is None


@given(
    st.lists(
        st.tuples(st.datetimes(), st.integers(min_value=-3 * 60_000_000, max_value=3 * 60_000_000)),
        min_size=1,
        max_size=20,
    )
)
def test_times_near_the_last_one_are_isoformats_text(steps):
    """A time formatted after another in the same minute, the minute before or after (only its seconds
    written after the kept text to the minute), or anywhere else: isoformat's text."""
    from queuekiosk.server.core.engine.prepared import naive_time_text

    for value, microseconds in steps:
        near = (
            value + dt.timedelta(microseconds=microseconds)
            if dt.datetime(1, 1, 2) < value < dt.datetime(9999, 12, 30)
            else value
        )
        for one in (value, near, value):
            assert naive_time_text(one) == one.isoformat(" ", "microseconds")
