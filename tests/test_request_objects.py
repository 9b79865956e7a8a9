"""api.the_request() and api.the_app(): Flask's request and app without their proxies (issue 21),
the same objects inside a request, the same refusal outside one."""

import pytest
from flask import Flask, current_app, request

from queuekiosk.server.web.api import the_app, the_request


def test_inside_a_request_they_are_what_the_proxies_stand_for():
    app = Flask(__name__)
    with app.test_request_context("/api/v1/tickets", method="POST", data=b'{"service": "HT"}'):
        assert the_request() is request._get_current_object()
        assert the_app() is current_app._get_current_object() is app
        assert the_request().get_data() == b'{"service": "HT"}'


def test_in_an_app_context_without_a_request_the_app_only():
    app = Flask(__name__)
    with app.app_context():
        assert the_app() is app
        with pytest.raises(RuntimeError, match="request context"):
            the_request()


def test_outside_any_context_the_proxies_own_error():
    with pytest.raises(RuntimeError, match="application context"):
        the_app()
    with pytest.raises(RuntimeError, match="request context"):
        the_request()
