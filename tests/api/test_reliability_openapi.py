"""The OpenAPI document says what the server does (issue 20, point 12): the login's own path,
CSV/XLSX answers, the Idempotency-Key and number bounds; the server refuses what the document
forbids (lang, since, date), names the allowed methods on 405, states the CSV charset once and
sends its security headers on Socket.IO's answers too. Against a real server process.
"""

from __future__ import annotations

import pytest
import yaml
from api_helpers import assert_error

from queuekiosk.server.web.api.counters import INT32_MAX
from queuekiosk.server.web.security import HEADERS

FILES = {
    "application/json",
    "text/csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/pdf",
}


@pytest.fixture(scope="module")
def document(server):
    return yaml.safe_load(server.session().get("/api/v1/openapi.json").text)


def test_the_document_files_each_operation_where_the_server_has_it(document):
    paths = document["paths"]
    assert set(paths["/api/v1/auth/login"]) == {"post"}
    assert set(paths["/api/v1/announcements/{key}.wav"]) == {"get"}
    for path in ("/api/v1/reports/summary", "/api/v1/reports/peak-hours", "/api/v1/reports/daily"):
        assert set(paths[path]["get"]["responses"]["200"]["content"]) == FILES, path


def test_the_document_bounds_what_the_server_bounds(document):
    components = document["components"]
    key = components["parameters"]["idempotencyKey"]["schema"]
    assert (key["minLength"], key["maxLength"], key["pattern"]) == (1, 100, "^[!-~]{1,100}$")
    schemas = components["schemas"]
    assert schemas["NextRequest"]["properties"]["number"]["maximum"] == INT32_MAX
    assert schemas["TransferRequest"]["properties"]["counter"]["maximum"] == INT32_MAX
    assert schemas["LoginRequest"]["properties"]["counter"]["maximum"] == INT32_MAX
    assert components["parameters"]["counter"]["schema"]["maximum"] == INT32_MAX
    transfer = schemas["TransferRequest"]
    assert (transfer["minProperties"], transfer["maxProperties"]) == (1, 1)  # exactly one of service, counter
    no_nul = "^[^\\u0000]*$"  # the server refuses a NUL character in any text
    assert schemas["LoginRequest"]["properties"]["username"]["pattern"] == no_nul
    assert schemas["PauseRequest"]["properties"]["reason"]["pattern"] == no_nul


def test_the_server_refuses_what_the_document_forbids(server):
    http = server.session()
    admin = {"Authorization": f"Bearer {server.token('admin')}"}
    assert_error(http.get("/api/v1/reports/summary?lang=AAA", headers=admin), 422, "invalid_field", field="lang")
    assert_error(http.get("/api/v1/reports/daily?date=2026-W47", headers=admin), 422, "invalid_field", field="date")
    assert_error(http.get("/api/v1/reports/daily?date=", headers=admin), 422, "invalid_field", field="date")
    for since in ("2026-11-21", "20261121T000000Z", "2026-11-21 00:00"):
        assert_error(http.get(f"/api/v1/audit?since={since}", headers=admin), 422, "invalid_field", field="since")
    assert http.get("/api/v1/audit?since=2026-11-21T00:00:00Z", headers=admin).status_code == 200
    assert http.get("/api/v1/reports/daily?date=2026-11-20&lang=en", headers=admin).status_code == 200


def test_405_names_the_allowed_methods(server):
    http = server.session()
    for method, path, allowed in (
        ("DELETE", "/api/v1/tickets", "POST"),
        ("GET", "/api/v1/counters/1/next", "POST"),
        ("POST", "/api/v1/queue", "GET"),
    ):
        answer = http.request(method, path)
        assert_error(answer, 405, "method_not_allowed")
        assert allowed in [m.strip() for m in answer.headers["Allow"].split(",")], (path, answer.headers)


def test_csv_states_its_charset_once_and_socketio_answers_carry_the_security_headers(server):
    http = server.session()
    admin = {"Authorization": f"Bearer {server.token('admin')}"}
    csv_answer = http.get("/api/v1/reports/summary?format=csv", headers=admin)
    assert csv_answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    polling = http.get("/socket.io/?EIO=4&transport=polling")
    assert polling.status_code == 200
    for name, value in HEADERS.items():
        assert polling.headers.get(name) == value, name
