"""The province's comparison of sites with its bookings and as files (GET /api/v1/reports/sites), on a
real server whose clock the test moves (tests/faked_clock.py): each site's bookings not cancelled and
how many of them checked in, for a day kept (site_day_figures) and for today, in the JSON and in the
CSV (both forms), Excel and PDF files, which carry the period and the whole province in their names.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pytest
import server_db
import sqlalchemy
from api_helpers import assert_error
from faked_clock import FakedClock, next_working_morning
from pypdf import PdfReader

COMMUNE = "/api/v1/sites/xa-tan-phu"
BOOKINGS_HEADERS = ("Lịch hẹn (trừ đã hủy)", "Lịch hẹn đã đến")


def take_remote(http, prefix: str, phone: str) -> str:
    """A number taken from a phone for today (HT takes them in the repo's config.yaml): its booking's code."""
    body = {"service": "HT", "remote": True, "name": "Trần Thị Bình", "phone": phone}
    taken = http.post(f"{prefix}/bookings", json=body)
    assert taken.status_code == 201, taken.text
    return taken.json()["code"]


def check_in(http, prefix: str, code: str) -> None:
    arrived = http.post(f"{prefix}/check-in", json={"code": code})
    assert arrived.status_code == 201, arrived.text


def serve_all(admin, prefix: str, count: int) -> None:
    """Serve ``count`` numbers at counter 1: nothing of the day is left waiting (so it can be kept)."""
    for _ in range(count):
        assert admin.post(f"{prefix}/counters/1/next").status_code == 200
        assert admin.post(f"{prefix}/counters/1/finish").status_code == 200


def bookings_of(report: dict) -> dict:
    figures = {row["site"]: row["bookings"] for row in report["sites"]}
    figures["total"] = report["total"]["bookings"]
    return figures


def own_bookings(http, prefix: str, day: str) -> dict:
    """What the site's own bookings report says of ``day``: booked (slots and remote numbers) less
    cancelled, and checked in (on time or late)."""
    answer = http.get(f"{prefix}/reports/bookings", params={"from": day, "to": day})
    assert answer.status_code == 200, answer.text
    totals = answer.json()["totals"]
    return {
        "booked": totals["booked"] + totals["remote"] - totals["cancelled"],
        "checked_in": totals["on_time"] + totals["late"],
    }


def csv_rows(body: bytes, delimiter: str) -> dict[str, list[str]]:
    """The table's rows of a CSV file by their first cell (the site's name, or the header's)."""
    text = body.decode("utf-8-sig")
    return {row[0]: row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if len(row) > 2}


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_bookings_and_check_ins_of_a_kept_day_and_of_today_in_the_comparison_and_its_files(
    live_server, tmp_path, request, database
):
    clock = FakedClock(tmp_path / "clock", next_working_morning("09:00"))
    on_postgresql = (
        {"QUEUEKIOSK_DATABASE_URL": request.getfixturevalue("migrated_pg_url")} if database != "sqlite" else {}
    )
    srv = live_server(env={**clock.env(), **on_postgresql})
    http = srv.session()
    admin = srv.session()
    admin.headers["Authorization"] = f"Bearer {srv.token('admin')}"
    reader = srv.session()
    reader.headers["Authorization"] = f"Bearer {srv.token('province')}"
    commune = {"id": "xa-tan-phu", "name": "Xã Tân Phú", "timezone": "Asia/Bangkok"}
    assert admin.post("/api/v1/admin/sites", json=commune).status_code == 201

    # the first day: at the first site four numbers taken from phones, two checked in, one cancelled,
    # one never came; at the commune one, checked in. Every citizen who came is served.
    codes = [take_remote(http, "/api/v1", f"091234510{n}") for n in range(4)]
    check_in(http, "/api/v1", codes[0])
    check_in(http, "/api/v1", codes[1])
    assert http.delete(f"/api/v1/bookings/{codes[2]}").status_code == 200
    check_in(http, COMMUNE, take_remote(http, COMMUNE, "0912345200"))
    serve_all(admin, "/api/v1", 2)
    serve_all(admin, COMMUNE, 1)
    first = clock.start.date().isoformat()
    expected = {
        "phuc-la": {"booked": 3, "checked_in": 2},
        "xa-tan-phu": {"booked": 1, "checked_in": 1},
        "total": {"booked": 4, "checked_in": 3},
    }
    today = reader.get("/api/v1/reports/sites", params={"from": first, "to": first})
    assert today.status_code == 200, today.text
    assert bookings_of(today.json()) == expected
    for site, prefix in (("phuc-la", "/api/v1"), ("xa-tan-phu", COMMUNE)):
        assert own_bookings(admin, prefix, first) == expected[site]

    # three days on (a working day): the first day is over, counted once and kept; today one more
    # number at the first site, checked in
    later = clock.start + dt.timedelta(days=3)
    if later.weekday() == 6:  # (the sites open Monday to Saturday)
        later += dt.timedelta(days=1)
    clock.set(later)
    check_in(http, "/api/v1", take_remote(http, "/api/v1", "0912345300"))
    last = later.date().isoformat()
    kept_day = reader.get("/api/v1/reports/sites", params={"from": first, "to": first})
    assert kept_day.status_code == 200, kept_day.text
    kept = server_db._write(  # (one transaction that reads)
        srv.database_url,
        lambda db: db.execute(
            sqlalchemy.text("SELECT site_id FROM site_day_figures WHERE business_day = :day"),
            {"day": dt.date.fromisoformat(first)},
        ).all(),
    )
    assert sorted(site for (site,) in kept) == ["phuc-la", "xa-tan-phu"]
    again = reader.get("/api/v1/reports/sites", params={"from": first, "to": first}).json()  # read from the kept rows
    assert bookings_of(again) == bookings_of(kept_day.json()) == expected
    assert again["sites"] == kept_day.json()["sites"]
    today = reader.get("/api/v1/reports/sites", params={"from": last, "to": last}).json()
    assert bookings_of(today)["phuc-la"] == {"booked": 1, "checked_in": 1} == own_bookings(admin, "/api/v1", last)
    both = {"phuc-la": {"booked": 4, "checked_in": 3}, "xa-tan-phu": {"booked": 1, "checked_in": 1}}
    both["total"] = {"booked": 5, "checked_in": 4}
    days = {"from": first, "to": last}
    report = reader.get("/api/v1/reports/sites", params=days).json()
    assert bookings_of(report) == both

    # the same as files, named for the whole province and the period
    stem = f"so-sanh-cac-diem_toan-tinh_{first}-{last}"
    files = {}
    for fmt, name in (
        ("csv", f"{stem}.csv"),
        ("csv-vn", f"{stem}-excel.csv"),
        ("xlsx", f"{stem}.xlsx"),
        ("pdf", f"{stem}.pdf"),
    ):
        answer = reader.get("/api/v1/reports/sites", params={**days, "format": fmt})
        assert answer.status_code == 200, answer.text
        assert answer.headers["Content-Disposition"] == f'attachment; filename="{name}"'
        files[fmt] = answer.content
    for fmt, delimiter, decimal in (("csv", ",", "."), ("csv-vn", ";", ",")):
        rows = csv_rows(files[fmt], delimiter)
        header = rows["Điểm"]
        assert header[-2:] == list(BOOKINGS_HEADERS) and header[1:3] == ["Lượt lấy số", "Đã phục vụ"], header
        for row in report["sites"]:
            assert rows[row["name"]][-2:] == [str(both[row["site"]]["booked"]), str(both[row["site"]]["checked_in"])]
            wait = f"{row['wait']['avg'] / 60:.2f}".rstrip("0").rstrip(".").replace(".", decimal)
            said = [str(row["issued"]), str(row["served"]), str(row["no_show"]), wait]
            assert rows[row["name"]][1:5] == said, rows  # issued, served, no-shows, average wait (minutes)
        assert rows["Toàn tỉnh"][-2:] == ["5", "4"], rows
    sheet = openpyxl.load_workbook(io.BytesIO(files["xlsx"])).active
    table = {row[0]: row for row in sheet.iter_rows(values_only=True) if row[0] is not None}
    assert table["Điểm"][-2:] == BOOKINGS_HEADERS, table["Điểm"]
    assert table["Xã Tân Phú"][-2:] == (1, 1) and table["Toàn tỉnh"][-2:] == (5, 4), table
    assert table["Đơn vị"][1] == "Toàn tỉnh"
    pdf = "".join(page.extract_text() for page in PdfReader(io.BytesIO(files["pdf"])).pages)
    assert "TOÀN TỈNH" in pdf and "Xã Tân Phú" in pdf and "SO SÁNH CÁC ĐIỂM PHỤC VỤ" in pdf, pdf

    # in English with lang=en; a format it does not make is refused naming the field, as is anyone else
    english = reader.get("/api/v1/reports/sites", params={**days, "format": "csv", "lang": "en"})
    assert "Bookings (not cancelled),Bookings checked in" in english.content.decode("utf-8-sig")
    assert_error(reader.get("/api/v1/reports/sites", params={**days, "format": "docx"}), 422, "invalid_field", "format")
    supervisor = srv.session()
    supervisor.headers["Authorization"] = f"Bearer {srv.token('supervisor')}"
    assert_error(supervisor.get("/api/v1/reports/sites", params={**days, "format": "csv"}), 403, "forbidden_role")
