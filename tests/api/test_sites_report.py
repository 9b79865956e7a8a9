"""The province's comparison of sites (GET /api/v1/reports/sites), on a real server over HTTP.

Each site's row says what that site's own summary report says in total for the same days; the
province and the installation's admin read it, nobody else; a period it cannot read is refused
naming the parameter. Past days, once counted, are kept and give the same figures again.
"""

from __future__ import annotations

import pytest
import server_db
from api_helpers import assert_error, issue
from faked_clock import on_a_working_morning

from queuekiosk.server.core import auth

COMMUNE = {"id": "xa-tan-phu", "name": "Xã Tân Phú", "timezone": "Asia/Bangkok"}


def with_a_commune(server):
    """The server with a second site, an admin session, a province session."""
    admin = server.session()
    admin.headers["Authorization"] = f"Bearer {server.token('admin')}"
    assert admin.post("/api/v1/admin/sites", json=COMMUNE).status_code == 201
    reader = server.session()
    reader.headers["Authorization"] = f"Bearer {server.token('province')}"
    return server, admin, reader


@pytest.fixture
def province(live_server):
    """A server with a second site, an admin session, a province session."""
    return with_a_commune(live_server())


@pytest.fixture
def province_on_a_working_morning(live_server, tmp_path):
    """The same at 09:00 on a working day in both sites' zone (tests/faked_clock.py): what is served is
    in today's figures whatever the hour the test runs at (the sites' midnight is 17:00 UTC)."""
    return with_a_commune(live_server(env=on_a_working_morning(tmp_path)))


def serve(http, prefix: str, counter: int, finish: bool = True) -> dict:
    called = http.post(f"{prefix}/counters/{counter}/next")
    assert called.status_code == 200, called.text
    if finish:
        assert http.post(f"{prefix}/counters/{counter}/finish").status_code == 200
    return called.json()


def test_each_row_is_that_sites_own_report_in_total(province_on_a_working_morning):
    _server, admin, reader = province_on_a_working_morning
    here, there = "/api/v1", "/api/v1/sites/xa-tan-phu"
    for _ in range(5):
        issue(admin, "HT")
    for _ in range(3):
        assert admin.post(f"{there}/tickets", json={"service": "HT"}).status_code == 201
    serve(admin, here, 1)
    serve(admin, here, 1)
    serve(admin, here, 1, finish=False)
    serve(admin, there, 1)

    answer = reader.get("/api/v1/reports/sites")
    assert answer.status_code == 200, answer.text
    report = answer.json()
    rows = {row["site"]: row for row in report["sites"]}
    assert set(rows) == {"phuc-la", "xa-tan-phu"}
    assert rows["xa-tan-phu"]["name"] == "Xã Tân Phú" and rows["xa-tan-phu"]["timezone"] == "Asia/Bangkok"
    assert (rows["phuc-la"]["issued"], rows["phuc-la"]["served"], rows["phuc-la"]["called"]) == (5, 2, 3)
    assert (rows["xa-tan-phu"]["issued"], rows["xa-tan-phu"]["served"], rows["xa-tan-phu"]["called"]) == (3, 1, 1)
    assert report["total"]["issued"] == 8 and report["total"]["served"] == 3

    for site, prefix in (("phuc-la", here), ("xa-tan-phu", there)):
        own = admin.get(f"{prefix}/reports/summary").json()["total"]
        row = rows[site]
        assert (row["issued"], row["served"], row["no_show"], row["called"]) == (
            own["issued"],
            own["served"],
            own["no_show"],
            own["called"],
        )
        assert row["wait"]["avg"] == own["wait"]["avg"]
        assert row["target_met_pct"] == own["target_met_pct"]
        assert abs(row["wait"]["p90"] - own["wait"]["p90"]) <= 15  # counted by 30-second buckets


def test_only_the_province_and_the_installation_admin_compare_sites(province):
    server, admin, reader = province
    assert admin.get("/api/v1/reports/sites").status_code == 200
    assert reader.get("/api/v1/reports/sites?from=2026-01-01&to=2026-01-31").status_code == 200
    for role in ("supervisor", "display"):
        other = server.session()
        other.headers["Authorization"] = f"Bearer {server.token(role)}"
        assert_error(other.get("/api/v1/reports/sites"), 403, "forbidden_role")
    site_admin = server.session()
    value = server_db._write(
        server.database_url, lambda db: auth.create_token(db, "admin", "site admin", site_id="phuc-la")
    )
    site_admin.headers["Authorization"] = f"Bearer {value}"
    assert_error(site_admin.get("/api/v1/reports/sites"), 403, "sites_compare_installation_only")
    assert server.session().get("/api/v1/reports/sites").status_code == 401
    # a file form it does not make is refused naming the field, not answered as JSON
    assert_error(reader.get("/api/v1/reports/sites?format=docx"), 422, "invalid_field", "format")
    # the province reads, and changes nothing
    assert reader.post("/api/v1/admin/sites", json={**COMMUNE, "id": "xa-khac"}).status_code == 403


def test_a_period_it_cannot_read_is_named(province):
    _server, _admin, reader = province
    assert_error(reader.get("/api/v1/reports/sites?from=2026-02-30&to=2026-03-01"), 422, "invalid_field", "from")
    assert_error(reader.get("/api/v1/reports/sites?from=2026-02-01"), 422, "invalid_field", "to")
    assert_error(reader.get("/api/v1/reports/sites?period=2026-Q5"), 422, "invalid_field", "period")
    # whole days only: each site's own business days
    answer = reader.get("/api/v1/reports/sites?from=2026-02-01&to=2026-02-02T12:00", headers={"Accept-Language": "en"})
    assert "whole days" in assert_error(answer, 422, "invalid_field", "to")["message"]


def test_two_sites_files_of_one_period_have_names_of_their_own(province):
    """Each file's name holds its site's id: a province officer saving two communes' reports of the same
    period gets two files, not "(1)" copies of one name."""
    _server, admin, _reader = province
    for fmt, ending in (("csv", ".csv"), ("csv-vn", "-excel.csv"), ("xlsx", ".xlsx"), ("pdf", ".pdf")):
        names = set()
        for path in ("/api/v1/reports/summary", "/api/v1/sites/xa-tan-phu/reports/summary"):
            answer = admin.get(path, params={"period": "2026-11", "format": fmt})
            assert answer.status_code == 200, answer.text
            names.add(answer.headers["Content-Disposition"])
        expected = {
            f'attachment; filename="bao-cao-theo-dich-vu_{site}_2026-11{ending}"' for site in ("phuc-la", "xa-tan-phu")
        }
        assert names == expected, names
