"""Reports over HTTP against the real server: a week filled by `queuekiosk simulate`, the JSON and
its CSV and XLSX exports holding the same numbers, the periods and their refusals, supervisor-only
access, and the dashboard room's overview."""

from __future__ import annotations

import csv
import io

import pytest
from api_helpers import assert_error, issue
from openpyxl import load_workbook

WEEK = "2026-W47"
PASSWORD = "giam-sat-2026"

# the columns of an export and where their number is in the JSON row (minutes: seconds / 60)
NUMBERS = {
    "Lượt lấy số": ("issued", False),
    "Lượt gọi": ("called", False),
    "Đã phục vụ": ("served", False),
    "Vắng mặt": ("no_show", False),
    "Tỷ lệ vắng mặt (%)": ("no_show_rate", False),
    "Chuyển quầy": ("transferred", False),
    "Chưa được gọi": ("not_called", False),
    "Hết hạn cuối ngày": ("expired", False),
    "Chờ trung bình (phút)": ("wait.avg", True),
    "Chờ trung vị (phút)": ("wait.median", True),
    "Chờ 90% (phút)": ("wait.p90", True),
    "Chờ lâu nhất (phút)": ("wait.max", True),
    "Đạt thời gian chờ mục tiêu": ("target_met", False),
    "Tỷ lệ đạt mục tiêu (%)": ("target_met_pct", False),
    "Phục vụ trung bình (phút)": ("service_time.avg", True),
    "Phục vụ 90% (phút)": ("service_time.p90", True),
    "Rất hài lòng": ("ratings.very_satisfied", False),
    "Không hài lòng": ("ratings.unsatisfied", False),
    "Lượt đánh giá": ("ratings.total", False),
    "% hài lòng": ("ratings.satisfied_pct", False),
}


def _get(row: dict, path: str):
    for part in path.split("."):
        row = row[part]
    return row


@pytest.fixture(scope="module")
def centre(server):
    """The module's server with week 47 of 2026 simulated, and a supervisor's token."""
    done = server.cli("simulate", "--day", "2026-11-16", "--days", "7", "--per-day", "60", "--seed", "3", timeout=120)
    assert "simulated 6 open days" in done.stdout, done.stdout + done.stderr
    server.add_user("giamsat", PASSWORD, "supervisor")
    server.add_user("canbo", PASSWORD, "clerk", 1)
    return server


def _auth(centre, role="supervisor", counter=None):
    return {"Authorization": f"Bearer {centre.token(role, counter)}"}


def _json(http, centre, path):
    response = http.get(path, headers=_auth(centre))
    assert response.status_code == 200, response.text
    return response.json()


def _table(lines, first_header):
    start = next(i for i, line in enumerate(lines) if line and line[0] == first_header)
    return lines[start], lines[start + 1 :]


@pytest.mark.parametrize(
    "group_by, first_header",
    [("service", "Dịch vụ"), ("counter", "Quầy"), ("clerk", "Cán bộ"), ("day", "Ngày"), ("hour", "Khung giờ")],
)
def test_csv_and_xlsx_hold_the_numbers_of_the_json(http, centre, group_by, first_header):
    query = f"/api/v1/reports/summary?period={WEEK}&group_by={group_by}"
    report = _json(http, centre, query)
    assert report["total"]["issued"] > 200 and report["ratings_available"] is True
    assert report["period"]["label"].startswith("Tuần 47 năm 2026")
    expected = report["rows"] + [report["total"]]

    response = http.get(query + "&format=csv", headers=_auth(centre))
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    assert (
        response.headers["Content-Disposition"]
        == f'attachment; filename="bao-cao-theo-{ {"service": "dich-vu", "counter": "quay", "clerk": "can-bo", "day": "ngay", "hour": "gio"}[group_by] }_phuc-la_2026-W47.csv"'
    )
    assert response.content.startswith("\ufeff".encode())  # Excel reads the Vietnamese letters right
    lines = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert ["Kỳ báo cáo", report["period"]["label"]] in lines
    assert any(line[:1] == ["Thời gian"] and "16/11/2026" in line[1] and "22/11/2026" in line[1] for line in lines)
    header, rows = _table(lines, first_header)
    assert len(rows) == len(expected)
    for line, row in zip(rows, expected):
        cells = dict(zip(header, line))
        assert cells[first_header] == (row["label"] if row is not report["total"] else "Tổng cộng")
        for column, (path, minutes) in NUMBERS.items():
            if column not in cells:
                continue
            value = _get(row, path)
            if value is None:
                assert cells[column] == "", (column, row["label"])
            else:
                shown = float(cells[column])
                assert shown == pytest.approx(round(value / 60, 2) if minutes else value, abs=1e-9), (
                    column,
                    row["label"],
                )

    response = http.get(query + "&format=xlsx", headers=_auth(centre))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [[cell.value for cell in line] for line in sheet.iter_rows()]
    assert ["Kỳ báo cáo", report["period"]["label"]] == values[2][:2]
    header, rows = _table(values, first_header)
    assert len(rows) == len(expected)
    for line, row in zip(rows, expected):
        cells = dict(zip(header, line))
        for column, (path, minutes) in NUMBERS.items():
            if column in cells:
                value = _get(row, path)
                assert cells[column] == (None if value is None else pytest.approx(value / 60 if minutes else value))


def test_peak_hours_and_daily_summary_exports(http, centre):
    peaks = _json(http, centre, f"/api/v1/reports/peak-hours?period={WEEK}")
    assert peaks["days_with_tickets"] == 6 and peaks["peak"]["hour"] in (8, 9, 10)
    sheet = load_workbook(
        io.BytesIO(http.get(f"/api/v1/reports/peak-hours?period={WEEK}&format=xlsx", headers=_auth(centre)).content)
    ).active
    values = [[cell.value for cell in line] for line in sheet.iter_rows()]
    header, rows = _table(values, "Khung giờ")
    assert [r[header.index("Lượt lấy số")] for r in rows] == [h["arrivals"] for h in peaks["hours"]]

    daily = _json(http, centre, "/api/v1/reports/daily?date=2026-11-20")
    assert daily["period"]["key"] == "2026-11-20" and daily["received"] > 30
    assert daily["text"].startswith(f"Ngày 20/11/2026, {centre_name()} tiếp nhận")
    text = http.get("/api/v1/reports/daily?date=2026-11-20&format=csv", headers=_auth(centre)).content.decode(
        "utf-8-sig"
    )
    lines = list(csv.reader(io.StringIO(text)))
    figures = {line[0]: line[1] for line in lines if len(line) == 2}
    assert int(figures["Tiếp nhận"]) == daily["received"] and int(figures["Gọi trễ hạn"]) == daily["late"]
    assert int(figures["Gọi trước hạn"]) == daily["early"]  # called, as in the sentence: not served
    for label, name in (("Chờ lâu nhất (phút)", "wait_max"), ("Chờ trung bình (phút)", "wait_avg")):
        assert figures[label] == f"{daily[name] / 60:.2f}".rstrip("0").rstrip("."), label  # 2 decimals, as the docs say
    assert [daily["text"]] in lines
    english = http.get("/api/v1/reports/daily?date=2026-11-20&format=csv&lang=en", headers=_auth(centre))
    assert "Received" in english.content.decode("utf-8-sig")


def centre_name() -> str:
    return "UBND phường Phúc La - Bộ phận Một cửa"


@pytest.mark.parametrize(
    "query, field",
    [
        ("period=2026-Q5", "period"),
        ("period=2026&basis=lunar", "basis"),
        ("from=2026-11-20", "to"),
        ("from=2026-11-21&to=2026-11-20", "to"),
        ("period=2026&group_by=kiosk", "group_by"),
        ("period=2026&format=ods", "format"),
    ],
)
def test_bad_periods_and_choices_are_refused_naming_the_field(http, centre, query, field):
    response = http.get(f"/api/v1/reports/summary?{query}", headers=_auth(centre))
    error = assert_error(response, 422, "invalid_field", field)
    english = http.get(f"/api/v1/reports/summary?{query}", headers={**_auth(centre), "Accept-Language": "en"})
    assert english.json()["error"]["message"].startswith(f"Field “{field}”")
    # the answer in Vietnamese carries its English too, for a page switched to English (and back)
    assert error["translations"]["en"] == {k: english.json()["error"][k] for k in ("message", "problem")}, error
    assert error["translations"]["vi"]["problem"] != error["translations"]["en"]["problem"], error


def test_named_periods_ranges_and_the_decree_cut_off(http, centre):
    quarter = _json(http, centre, "/api/v1/reports/summary?period=2026-Q4&basis=nd09")
    assert (quarter["period"]["first_day"], quarter["period"]["last_day"]) == ("2026-09-15", "2026-12-14")
    assert quarter["period"]["label"] == "Quý IV năm 2026"
    for basis, name in (("&basis=nd09", "2026-Q4-nd09"), ("", "2026-Q4")):  # other days: not saved over each other
        got = http.get(f"/api/v1/reports/summary?period=2026-Q4&format=csv{basis}", headers=_auth(centre))
        assert got.headers["Content-Disposition"].endswith(f'_{name}.csv"'), got.headers
    week = _json(http, centre, f"/api/v1/reports/summary?period={WEEK}")
    same = _json(http, centre, "/api/v1/reports/summary?from=2026-11-16&to=2026-11-22")
    assert same["total"] == week["total"] and quarter["total"]["issued"] == week["total"]["issued"]
    night = _json(http, centre, "/api/v1/reports/summary?from=2026-11-20T22:00&to=2026-11-21T02:00&group_by=hour")
    assert [r["key"] for r in night["rows"]] == [22, 23, 0, 1] and night["total"]["issued"] == 0
    choices = _json(http, centre, "/api/v1/reports/periods")
    assert {"quarter", "half", "nine_months", "year", "month", "week", "day"} <= {p["kind"] for p in choices["periods"]}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/reports/summary?period=2026-W47",
        "/api/v1/reports/summary?format=xlsx",
        "/api/v1/reports/peak-hours",
        "/api/v1/reports/daily",
        "/api/v1/reports/live",
        "/api/v1/reports/periods",
    ],
)
def test_only_supervisors_and_admins_see_reports(centre, path):
    anonymous = centre.session()
    assert_error(anonymous.get(path), 401, "unauthorized")
    for role, counter in (("counter", 1), ("kiosk", None), ("display", None)):
        assert_error(anonymous.get(path, headers=_auth(centre, role, counter)), 403, "forbidden_role")
    for role in ("supervisor", "admin"):
        assert anonymous.get(path, headers=_auth(centre, role)).status_code == 200

    clerk = centre.session()
    login = clerk.post("/api/v1/auth/login", json={"username": "canbo", "password": PASSWORD, "counter": 1})
    assert login.status_code == 200, login.text
    assert_error(clerk.get(path), 403, "forbidden_role")

    supervisor = centre.session()
    login = supervisor.post("/api/v1/auth/login", json={"username": "giamsat", "password": PASSWORD})
    assert login.status_code == 200, login.text
    assert supervisor.get(path).status_code == 200


def test_the_pages_ask_for_a_login_and_serve_the_chart_library_locally(http, centre):
    for page in ("/reports", "/dashboard"):
        response = http.get(page)
        assert response.status_code == 200 and 'id="login"' in response.text
        assert "://" not in "".join(line for line in response.text.splitlines() if "<script src" in line)
    home = http.get("/", headers={"Accept": "text/html"}).text
    assert 'href="/reports"' in home and 'href="/dashboard"' in home
    chart = http.get("/static/vendor/chart.umd.min.js")
    assert chart.status_code == 200 and b"Chart.js v4" in chart.content[:200]


def test_the_dashboard_room_gets_the_overview_and_pushes(centre, http, sio_client):
    client = sio_client(centre, auth={"token": centre.token("supervisor")})
    assert client.subscribe({"dashboard": True}) == {"ok": True}
    state = client.wait_for("state")
    overview = state["overview"]
    assert [s["code"] for s in overview["services"]] == ["HT", "CT", "DC", "LD", "VH", "TK"]
    assert [c["number"] for c in overview["counters"]] == [1, 2, 3, 4, 5, 6]
    assert overview["printers"][0]["printer"] == "kiosk-1" and overview["alerts"] == []
    mark = client.mark()
    ticket = issue(http, "DC")
    client.wait_for("ticket.issued", lambda d: d["ticket"]["id"] == ticket["id"], since=mark)
    live = _json(http, centre, "/api/v1/reports/live")
    dc = next(s for s in live["services"] if s["code"] == "DC")
    assert dc["waiting"] >= 1 and dc["oldest_issued_at"] is not None and dc["target_wait_minutes"] == 20
    call = http.post("/api/v1/counters/4/next", headers=_auth(centre, "admin"))
    assert call.status_code == 200, call.text
    client.wait_for("ticket.called", lambda d: d["counter"] == 4, since=mark)
    counter4 = next(c for c in _json(http, centre, "/api/v1/reports/live")["counters"] if c["number"] == 4)
    assert counter4["activity"] == "called" and counter4["ticket"]["number"] == call.json()["number"]

    clerk = sio_client(centre, auth={"token": centre.token("counter", 1)})
    assert clerk.subscribe({"dashboard": True})["error"]["code"] == "forbidden_role"
