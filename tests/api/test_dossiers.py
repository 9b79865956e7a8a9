"""The dossier link at the counter (issue 15) through the real server: the clerk sets the dossier code
("mã hồ sơ") and the procedure served on the ticket the counter holds; both go out with ticket.finished
to a webhook receiver on 127.0.0.1 and into the report by procedure; wrong input is a 422 naming the
field, and nothing is kept.

The repo's config.yaml with two procedures for HT; counter 1 serves HT only, counter 2 HT and CT.
"""

from __future__ import annotations

import pytest
from api_helpers import assert_error
from config_helpers import with_procedures
from faked_clock import on_a_working_morning
from webhook_receiver import Receiver

CODE = "000.00.12.H26-241203-0001"


@pytest.fixture
def srv(live_server, config_variant):
    return live_server(with_procedures(config_variant()))


@pytest.fixture
def srv_on_a_working_morning(live_server, config_variant, tmp_path):
    """The same at 09:00 on a working day (tests/faked_clock.py): what it serves is in that day's
    report even when the test runs across the site's midnight (17:00 UTC)."""
    return live_server(with_procedures(config_variant()), env=on_a_working_morning(tmp_path))


def counter_1(srv) -> dict:
    return {"Authorization": f"Bearer {srv.token('counter', 1)}"}


def serve(srv, http) -> dict:
    ticket = http.post("/api/v1/tickets", json={"service": "HT"}).json()
    called = http.post("/api/v1/counters/1/next", headers=counter_1(srv))
    assert called.status_code == 200 and called.json()["id"] == ticket["id"], called.text
    return ticket


def test_the_dossier_and_procedure_go_out_with_the_finished_ticket_and_into_the_report(srv_on_a_working_morning):
    srv = srv_on_a_working_morning
    receiver = Receiver()
    try:
        http = srv.session()
        admin = {"Authorization": f"Bearer {srv.token('admin')}"}
        made = http.post(
            "/api/v1/admin/webhooks", json={"url": receiver.url, "events": ["ticket.finished"]}, headers=admin
        )
        assert made.status_code == 201, made.text

        first = serve(srv, http)
        scanned = http.put(  # a scanner types the code, lower case here, and Enter
            "/api/v1/counters/1/dossier",
            json={"dossier_code": " 000.00.12.h26-241203-0001\r\n", "procedure": "KS"},
            headers=counter_1(srv),
        )
        assert scanned.status_code == 200, scanned.text
        assert (scanned.json()["dossier_code"], scanned.json()["procedure"]) == (CODE, "KS")
        assert http.get(f"/api/v1/tickets/{first['id']}").json()["dossier_code"] == CODE
        assert http.post("/api/v1/counters/1/finish", headers=counter_1(srv)).status_code == 200

        second = serve(srv, http)  # served without a dossier: a line of its own in the report
        assert http.post("/api/v1/counters/1/finish", headers=counter_1(srv)).status_code == 200

        got = receiver.wait_for(2)
        finished = {r.json["data"]["ticket"]["id"]: r.json["data"]["ticket"] for r in got}
        assert (finished[first["id"]]["dossier_code"], finished[first["id"]]["procedure"]) == (CODE, "KS")
        assert (finished[second["id"]]["dossier_code"], finished[second["id"]]["procedure"]) == (None, None)

        today = first["business_day"]  # the site's day (Asia/Ho_Chi_Minh), not this machine's date
        supervisor = {"Authorization": f"Bearer {srv.token('supervisor')}"}
        report = http.get("/api/v1/reports/procedures", params={"from": today, "to": today}, headers=supervisor)
        assert report.status_code == 200, report.text
        lines = {(line["service"], line["procedure"]): line for line in report.json()["procedures"]}
        assert lines[("HT", "KS")]["served"] == 1 and lines[("HT", "KS")]["with_dossier"] == 1
        assert lines[("HT", "KS")]["name"] == "Đăng ký khai sinh"
        assert lines[("HT", None)]["served"] == 1 and lines[("HT", None)]["with_dossier"] == 0
        assert report.json()["totals"] == {"served": 2, "with_procedure": 1, "with_dossier": 1}
        assert_error(
            http.get("/api/v1/reports/procedures", params={"from": today, "to": today}, headers=counter_1(srv)),
            403,
            "forbidden_role",
        )
        assert_error(  # no file form yet: refused naming the field, not answered as JSON
            http.get("/api/v1/reports/procedures", params={"from": today, "format": "csv"}, headers=supervisor),
            422,
            "invalid_field",
            "format",
        )
    finally:
        receiver.close()


@pytest.mark.parametrize(
    "body, code, field",
    [
        ({"dossier_code": "HS 2024 001"}, "invalid_dossier_code", "dossier_code"),  # a space
        ({"dossier_code": "HS-001;DROP"}, "invalid_dossier_code", "dossier_code"),
        ({"dossier_code": "mã-hồ-sơ"}, "invalid_dossier_code", "dossier_code"),
        ({"dossier_code": "-001"}, "invalid_dossier_code", "dossier_code"),  # starts with a separator
        ({"dossier_code": "A" * 41}, "invalid_dossier_code", "dossier_code"),
        ({"dossier_code": "A" * 43}, "invalid_field", "dossier_code"),
        ({"dossier_code": CODE, "procedure": "XX"}, "unknown_procedure", "procedure"),
        ({"procedure": ""}, "invalid_field", "procedure"),
        ({"dossier_code": CODE, "other": 1}, "invalid_field", "other"),
    ],
)
def test_a_wrong_dossier_code_or_procedure_is_refused_naming_the_field_and_nothing_is_kept(srv, body, code, field):
    http = srv.session()
    ticket = serve(srv, http)
    error = assert_error(
        http.put("/api/v1/counters/1/dossier", json=body, headers=counter_1(srv)), 422, code, field=field
    )
    assert field in error["message"] or code == "invalid_field"
    view = http.get(f"/api/v1/tickets/{ticket['id']}").json()
    assert (view["dossier_code"], view["procedure"]) == (None, None)


def test_no_dossier_without_a_ticket_at_the_counter_and_only_at_one_s_own_counter(srv):
    http = srv.session()
    assert_error(
        http.put("/api/v1/counters/1/dossier", json={"dossier_code": CODE}, headers=counter_1(srv)),
        409,
        "no_current_ticket",
    )
    serve(srv, http)
    assert_error(
        http.put("/api/v1/counters/2/dossier", json={"dossier_code": CODE}, headers=counter_1(srv)),
        403,
        "forbidden_counter",
    )
    cleared = http.put("/api/v1/counters/1/dossier", json={}, headers=counter_1(srv))  # nothing: cleared
    assert cleared.status_code == 200 and cleared.json()["dossier_code"] is None, cleared.text
