"""/reports in a real Chromium: the province's comparison says each site's bookings and how many of
them checked in ("3 (2 đã đến)"), and downloads the comparison of the days shown as CSV, Excel or PDF."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import openpyxl
from admin_helpers import reports_login
from playwright.sync_api import expect
from report_file_helpers import A_YEAR, Download, wait_until_busy

REPORTS_SCREEN = {"width": 1366, "height": 900}


def _remote(server, prefix: str, phone: str) -> str:
    body = {"service": "HT", "remote": True, "name": "Trần Thị Bình", "phone": phone}
    taken = server.api("POST", f"{prefix}/bookings", json=body)
    assert taken.status_code == 201, taken.text
    return taken.json()["code"]


def _check_in(server, prefix: str, code: str) -> dict:
    arrived = server.api("POST", f"{prefix}/check-in", json={"code": code})
    assert arrived.status_code == 201, arrived.text
    return arrived.json()


def test_the_province_sees_bookings_checked_in_and_downloads_the_comparison(new_tab, server_on_a_working_morning, shot):
    server = server_on_a_working_morning  # today's bookings: one day whatever the hour the test runs at
    made = server.api(
        "POST", "/admin/sites", token=server.token("admin"), json={"id": "xa-tan-phu", "name": "Xã Tân Phú"}
    )
    assert made.status_code == 201, made.text
    there = "/sites/xa-tan-phu"
    codes = [_remote(server, there, f"091234560{n}") for n in range(3)]  # three numbers from phones, two came
    _check_in(server, there, codes[0])
    ticket = _check_in(server, there, codes[1])

    tab = new_tab(viewport=REPORTS_SCREEN)
    # the comparison's default days (this month to today) follow the browser's clock: the server's day
    tab.clock.set_system_time(dt.datetime.fromisoformat(ticket["issued_at"].replace("Z", "+00:00")))
    reports_login(tab, server, "tinh", "province")
    section = tab.locator("#sites-compare")
    expect(section).to_have_attribute("data-ready", "1")
    expect(section.locator("thead th").nth(7)).to_have_text("Lịch hẹn")
    expect(section.locator('tr[data-site="xa-tan-phu"] td').nth(6)).to_have_text("3 (2 đã đến)")
    expect(section.locator("tfoot tr.total td").nth(6)).to_have_text("3 (2 đã đến)")
    shot(tab, "reports-sites-bookings")

    # the days shown, as files: the links follow the days chosen
    first, last = tab.input_value("#sites-from"), tab.input_value("#sites-to")
    for fmt in ("csv", "csv-vn", "xlsx", "pdf"):
        link = section.locator(f"#sites-{fmt}")
        expect(link).to_be_visible()
        expect(link).to_have_attribute("href", f"/api/v1/reports/sites?from={first}&to={last}&format={fmt}")
    expect(section.locator("#sites-csv-vn")).to_have_text("Tải CSV (Excel tiếng Việt)")
    with tab.expect_download() as download:
        section.locator("#sites-xlsx").click()
    assert download.value.suggested_filename == f"so-sanh-cac-diem_toan-tinh_{first}-{last}.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active
    rows = {row[0]: row for row in sheet.iter_rows(values_only=True) if row[0] is not None}
    issued = section.locator('tr[data-site="xa-tan-phu"] td').nth(0).inner_text()
    assert rows["Xã Tân Phú"][1] == int(issued) and rows["Xã Tân Phú"][-2:] == (3, 2), rows  # bookings, came


def test_a_comparison_file_refused_is_said_in_the_comparison_and_asked_for_again_there(new_tab, server):
    """The comparison's links, as the site's own report's: a file refused while two others are being made
    (503 report_files_busy) is said under the comparison, in the page's language, the table staying; the
    same link, tapped again once they have come, gives the file."""
    tab = new_tab(viewport=REPORTS_SCREEN)
    reports_login(tab, server, "tinh-ban", "province")
    section = tab.locator("#sites-compare")
    expect(section).to_have_attribute("data-ready", "1")
    said = section.locator("#sites-file-error")  # (the table's own errors: #sites-error)
    supervisor = {"Authorization": f"Bearer {server.token('supervisor')}"}
    others = [Download(server.url, supervisor, A_YEAR) for _ in range(2)]
    try:
        wait_until_busy(server.url, supervisor, others)
        section.locator("#sites-pdf").click()
        expect(said).to_contain_text("Máy chủ đang tạo 2 tệp báo cáo khác", timeout=20_000)
        assert not all(other.done.is_set() for other in others), "refused only while two files were being made"
        expect(section.locator("#sites-table tbody tr").first).to_be_visible()  # the comparison stays
    finally:
        for other in others:
            assert other.result().status_code == 200
    with tab.expect_download() as download:
        section.locator("#sites-pdf").click()  # tried again
    assert Path(download.value.path()).read_bytes()[:5] == b"%PDF-"
    expect(said).to_be_hidden()
