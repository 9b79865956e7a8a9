"""CSV and XLSX reports never carry a live formula (issue 20, point 10): a name starting with
= + - @ (the centre's, a service's) is text in both files, escaped as OWASP advises for CSV.
"""

from __future__ import annotations

import csv
import io
import zipfile

from api_helpers import issue
from openpyxl import load_workbook

HOSTILE = {
    "HT": '=HYPERLINK("http://evil.example","Bấm vào đây")',
    "CT": "+1+cmd|' /C calc'!A0",
    "DC": "-2+3",
    "LD": "@SUM(1+1)",
}


def test_names_that_look_like_formulas_stay_text_in_csv_and_xlsx(live_server, config_variant):
    config = config_variant()
    config["site"]["name"] = "=1+1"
    for service in config["services"]:
        if service["code"] in HOSTILE:
            service["name"] = {"vi": HOSTILE[service["code"]], "en": HOSTILE[service["code"]]}
    srv = live_server(config)
    http = srv.session()
    for code in HOSTILE:
        issue(http, code)
    admin = {"Authorization": f"Bearer {srv.token('admin')}"}
    query = "/api/v1/reports/summary?group_by=service"

    text = http.get(query + "&format=csv", headers=admin).content.decode("utf-8-sig")
    cells = [cell for line in csv.reader(io.StringIO(text)) for cell in line]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@"))], cells
    for name in [*HOSTILE.values(), "=1+1"]:
        assert "'" + name in cells, (name, cells)

    book = http.get(query + "&format=xlsx", headers=admin).content
    sheet = load_workbook(io.BytesIO(book)).active
    values = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert not [c.coordinate for c in values if c.data_type == "f"]
    assert set(HOSTILE.values()) | {"=1+1"} <= {c.value for c in values}  # shown exactly as written, as text
    with zipfile.ZipFile(io.BytesIO(book)) as archive:
        assert b"<f>" not in archive.read("xl/worksheets/sheet1.xml")
