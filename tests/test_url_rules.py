"""The app's URL rules build their URLs with werkzeug's own functions, made at the first ``url_for``
that needs them rather than as each rule is added (server/web/flask_class.py ``_Rule``, issue 21: an idle
server's memory). The real app, every rule: the same URL as werkzeug's builder, with and without
values the rule does not take."""

from __future__ import annotations

import pytest
from flask import url_for
from in_process_app_helpers import in_process_app
from werkzeug.routing import Rule

# a value for each kind of converter the app's rules use
SAMPLES = {"IntegerConverter": 7, "UnicodeConverter": "lobby-1", "PathConverter": "a/b.wav"}


@pytest.fixture
def app(tmp_path, migrated_sqlite_url, monkeypatch):
    app = in_process_app(tmp_path, migrated_sqlite_url, monkeypatch, "url-rules-test")
    yield app
    app.extensions["queuekiosk"].engine.dispose()


def _value(converter):
    if type(converter).__name__ == "AnyConverter":  # <any(a, b):name>: one of its items
        return min(converter.items)
    return SAMPLES[type(converter).__name__]


def _values(rule) -> dict:
    return {name: _value(converter) for name, converter in rule._converters.items()}


def test_no_rule_has_its_builders_before_a_url_is_built(app):
    rules = list(app.url_map.iter_rules())
    assert len(rules) > 50
    for rule in rules:
        assert rule._build.__func__.__name__ == "build_at_first_use", rule
        assert rule._build_unknown.__func__.__name__ == "build_at_first_use", rule


def test_every_rule_builds_what_werkzeugs_builder_builds(app):
    for rule in app.url_map.iter_rules():
        values = _values(rule)
        for append_unknown in (False, True):
            werkzeugs = Rule._compile_builder(rule, append_unknown).__get__(rule, None)
            extra = {"page": "2", "lang": "vi"} if append_unknown else {}
            assert rule.build({**values, **extra}, append_unknown) == werkzeugs(**values, **extra), rule
        # built once, then kept: the second build is werkzeug's function itself
        assert rule._build.__func__.__name__ != "build_at_first_use"
        assert rule._build_unknown.__func__.__name__ != "build_at_first_use"


def test_url_for_in_a_request_and_a_value_named_rule(app):
    with app.test_request_context("/"):
        assert url_for("static", filename="queuekiosk.js") == "/static/queuekiosk.js"
        assert url_for("static", filename="queuekiosk.js", v="3") == "/static/queuekiosk.js?v=3"
        # the first build's own argument is positional only: a query value named "rule" is a value
        assert url_for("static", filename="a.css", rule="x") == "/static/a.css?rule=x"
