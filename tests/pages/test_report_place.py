"""The place of the report's official form: an admin types the site's place name ('Địa danh') in
/admin, tab 'Giờ làm việc & ngày nghỉ'; the printed report and its PDF then say "Hà Đông, ngày …
tháng … năm …" instead of a dotted blank to fill by hand. Real server, real Chromium, the PDF read
back with pypdf."""

from __future__ import annotations

import io
import re

from admin_helpers import ADMIN_SCREEN, _login
from dashboard_helpers import PASSWORD
from playwright.sync_api import expect
from pypdf import PdfReader

PLACE_DATE = r"ngày \d{2} tháng \d{2} năm \d{4}$"


def _pdf_text(server, token: str) -> str:
    answer = server.api("GET", "/reports/summary?period=2026-W47&group_by=service&format=pdf", token=token)
    assert answer.status_code == 200, answer.text
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.content)).pages)


def test_the_place_typed_in_admin_heads_the_printed_report_and_its_pdf(new_tab, server, shot):
    supervisor = server.token("supervisor")
    assert "…………, ngày" in _pdf_text(server, supervisor), "unset: a dotted blank, written by hand"

    admin = new_tab(viewport=ADMIN_SCREEN)
    _login(admin, server)
    admin.click("#tab-hours")
    place = admin.locator('form[data-form="hours"] .field[data-field="place"] input')
    expect(place).to_have_value("")
    place.fill("Hà Đông")
    admin.locator('form[data-form="hours"] button.save').click()
    expect(admin.locator('form[data-form="hours"] .saved')).to_have_text("Đã lưu")
    assert server.api("GET", "/admin/site", token=server.token("admin")).json()["place"] == "Hà Đông"

    assert re.search(r"Hà Đông, " + PLACE_DATE[:-1], _pdf_text(server, supervisor)), "the PDF's place and date"

    reports = new_tab(viewport={"width": 1366, "height": 768})
    server.add_user("giamsat", PASSWORD, "supervisor")
    reports.goto(server.url + "/reports?period=2026-11-21")
    reports.fill("#username", "giamsat")
    reports.fill("#password", PASSWORD)
    reports.click("#login-button")
    expect(reports.locator("body")).to_have_attribute("data-report", "ready", timeout=15_000)
    reports.emulate_media(media="print")
    expect(reports.locator(".official-head .place-date")).to_have_text(re.compile(r"^Hà Đông, " + PLACE_DATE))
    shot(reports, "report-print-place")
