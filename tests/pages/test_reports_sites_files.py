"""/reports in a real Chromium: the province's comparison as files. Under a site's address
(/s/{site}/reports) its links ask that address's API (/api/v1/sites/{site}/reports/sites) and download,
the PDF headed by the first site's place whichever address asked. A table that could not be loaded and
a file refused are said apart: each in its own box, so a file tapped (refused, or downloaded) leaves the
table's error in view, and showing other days clears both."""

from __future__ import annotations

import io
import re
from pathlib import Path

from admin_helpers import reports_login
from playwright.sync_api import expect
from pypdf import PdfReader

REPORTS_SCREEN = {"width": 1366, "height": 900}
FORMATS = ("csv", "csv-vn", "xlsx", "pdf")
NO_NETWORK = "Mất kết nối với máy chủ. Xin vui lòng thử lại hoặc hỏi cán bộ hướng dẫn."


def _days(tab, first: str, last: str) -> None:
    """Choose the comparison's days and show them."""
    tab.evaluate(
        "([first, last]) => { document.getElementById('sites-from').value = first;"
        " document.getElementById('sites-to').value = last; }",
        [first, last],
    )
    tab.locator("#sites-show").click()


def test_the_file_links_under_a_sites_address_ask_that_address_and_download(new_tab, server):
    admin = server.token("admin")
    made = server.api("POST", "/admin/sites", token=admin, json={"id": "xa-tan-phu", "name": "Xã Tân Phú"})
    assert made.status_code == 201, made.text
    for prefix, place in (("", "Hà Đông"), ("/sites/xa-tan-phu", "Tân Phú")):
        saved = server.api("PATCH", f"{prefix}/admin/site", token=admin, json={"place": place})
        assert saved.status_code == 200, saved.text
    tab = new_tab(viewport=REPORTS_SCREEN)
    reports_login(tab, server, "tinh-xa", "province", path="/s/xa-tan-phu/reports")
    section = tab.locator("#sites-compare")
    expect(section).to_have_attribute("data-ready", "1")
    first, last = tab.input_value("#sites-from"), tab.input_value("#sites-to")
    for fmt in FORMATS:
        expect(section.locator(f"#sites-{fmt}")).to_have_attribute(
            "href", f"/api/v1/sites/xa-tan-phu/reports/sites?from={first}&to={last}&format={fmt}"
        )
        expect(tab.locator(f"#{fmt}")).to_have_attribute(
            "href", re.compile(r"^/api/v1/sites/xa-tan-phu/reports/summary\?.*format=" + re.escape(fmt) + "$")
        )

    with tab.expect_download() as download:
        section.locator("#sites-pdf").click()
    assert download.value.suggested_filename == f"so-sanh-cac-diem_toan-tinh_{first}-{last}.pdf"
    pdf = PdfReader(io.BytesIO(Path(download.value.path()).read_bytes()))
    text = "\n".join(page.extract_text() for page in pdf.pages)
    assert re.search(r"^Hà Đông, ngày \d{2} tháng \d{2} năm \d{4}$", text, re.MULTILINE), text  # the first site's
    with tab.expect_download() as download:
        section.locator("#sites-csv").click()
    assert download.value.suggested_filename == f"so-sanh-cac-diem_toan-tinh_{first}-{last}.csv"
    assert "Xã Tân Phú" in Path(download.value.path()).read_text(encoding="utf-8-sig")
    expect(section.locator("#sites-error")).to_be_hidden()
    expect(section.locator("#sites-file-error")).to_be_hidden()


def test_a_refused_file_is_said_in_its_own_box_beside_the_tables_error(new_tab, module_server):
    server = module_server  # (the two tests below: a province account of their own, nothing saved)
    tab = new_tab(viewport=REPORTS_SCREEN)
    reports_login(tab, server, "tinh-hai-hop", "province")
    section = tab.locator("#sites-compare")
    expect(section).to_have_attribute("data-ready", "1")
    table_error, file_error = section.locator("#sites-error"), section.locator("#sites-file-error")

    _days(tab, "2026-12-10", "2026-12-01")  # the last day before the first: refused
    expect(table_error).to_be_visible()
    refused = table_error.inner_text()
    assert refused
    section.locator("#sites-csv").click()  # the same days as a file: refused too, said in its own box
    expect(file_error).to_be_visible()
    expect(file_error).to_have_text(refused)
    expect(table_error).to_be_visible()  # the table's error stays
    expect(table_error).to_have_text(refused)

    _days(tab, "2026-12-01", "2026-12-10")  # days set right and shown: neither is said any longer
    expect(table_error).to_be_hidden()
    expect(file_error).to_be_hidden()
    expect(section.locator("#sites-table tbody tr").first).to_be_visible()


def test_a_download_leaves_the_tables_error_in_view(new_tab, module_server):
    server = module_server
    tab = new_tab(viewport=REPORTS_SCREEN)
    reports_login(tab, server, "tinh-mat-mang", "province")
    section = tab.locator("#sites-compare")
    expect(section).to_have_attribute("data-ready", "1")
    table_error = section.locator("#sites-error")

    tab.context.set_offline(True)  # the comparison of other days cannot be asked for: no network
    _days(tab, "2026-11-01", "2026-11-30")
    expect(table_error).to_have_text(NO_NETWORK)
    tab.context.set_offline(False)
    with tab.expect_download() as download:  # those days as a file, the network back
        section.locator("#sites-xlsx").click()
    assert download.value.suggested_filename == "so-sanh-cac-diem_toan-tinh_2026-11-01-2026-11-30.xlsx"
    expect(table_error).to_be_visible()  # the table still is not of those days: still said
    expect(table_error).to_have_text(NO_NETWORK)
    expect(section.locator("#sites-file-error")).to_be_hidden()
