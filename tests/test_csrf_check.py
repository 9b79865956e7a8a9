"""The CSRF check before every view (server/web/api/csrf.py): a form or call that changes something
outside the exempt blueprints (the JSON API and /admin check it themselves) needs the session's
token, and over HTTPS a Referer of the same origin. The real app, with a page route of its own."""

from __future__ import annotations

import pytest
from flask import Blueprint, jsonify
from in_process_app_helpers import in_process_app

from queuekiosk.server.web.api.csrf import generate_csrf


@pytest.fixture
def client(tmp_path, migrated_sqlite_url, monkeypatch):
    app = in_process_app(tmp_path, migrated_sqlite_url, monkeypatch, "csrf-test")
    probe = Blueprint("probe", __name__)
    probe.add_url_rule("/probe/token", "token", lambda: jsonify(token=generate_csrf()))
    probe.add_url_rule("/probe/form", "form", lambda: "done", methods=["POST", "DELETE"])
    app.register_blueprint(probe)
    yield app.test_client()
    app.extensions["queuekiosk"].engine.dispose()


def _refused(response):
    return response.status_code == 403 and response.get_json()["error"]["code"] == "csrf_failed"


def test_a_form_without_the_sessions_token_is_refused_and_with_it_taken(client):
    assert _refused(client.post("/probe/form", data={"x": "1"}))
    token = client.get("/probe/token").get_json()["token"]
    assert client.post("/probe/form", data={"csrf_token": token}).status_code == 200
    assert client.delete("/probe/form", headers={"X-CSRFToken": token}).status_code == 200
    assert client.post("/probe/form", headers={"X-CSRF-Token": token}).status_code == 200
    assert _refused(client.post("/probe/form", data={"csrf_token": token[:-2] + "xx"}))


def test_another_sessions_token_is_refused(client):
    token = client.get("/probe/token").get_json()["token"]
    other = client.application.test_client()
    other.get("/probe/token")  # a session of its own
    assert _refused(other.post("/probe/form", data={"csrf_token": token}))


def test_over_https_the_referer_must_be_the_same_origin(client):
    token = client.get("/probe/token", base_url="https://centre.example").get_json()["token"]
    form = {"csrf_token": token}
    assert _refused(client.post("/probe/form", data=form, base_url="https://centre.example"))
    evil = {"Referer": "https://evil.example/page"}
    assert _refused(client.post("/probe/form", data=form, base_url="https://centre.example", headers=evil))
    same = {"Referer": "https://centre.example/counter"}
    assert client.post("/probe/form", data=form, base_url="https://centre.example", headers=same).status_code == 200


def test_the_api_blueprint_is_left_to_its_own_check(client):
    # no session, no token: the blanket check lets it through and the API answers for itself
    assert client.post("/api/v1/auth/logout").status_code == 204
