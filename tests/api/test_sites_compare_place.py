"""The place and date line of the province's comparison as a PDF (GET /api/v1/reports/sites?format=pdf):
it names what the comparison covers, the whole province ("Toàn tỉnh, ngày … tháng … năm …"), whichever
address asked for it (the plain path is the first site's, /api/v1/sites/{site}/... another's), and never
one site's place name (config site.place), which heads that site's own reports. Real server, the PDF
read back with pypdf."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader

COMMUNE = "/api/v1/sites/xa-tan-phu"
PLACE_DATE = re.compile(r"^(.*), ngày \d{2} tháng \d{2} năm \d{4}$", re.MULTILINE)


def place_line(pdf: bytes) -> str:
    """What the PDF's place and date line names (before ", ngày … tháng … năm …")."""
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    found = PLACE_DATE.findall(text)
    assert len(found) == 1, text
    return found[0].strip()


def test_the_comparison_pdf_names_the_province_whichever_site_address_asked(live_server):
    srv = live_server()
    admin = srv.session()
    admin.headers["Authorization"] = f"Bearer {srv.token('admin')}"
    commune = {"id": "xa-tan-phu", "name": "Xã Tân Phú", "timezone": "Asia/Ho_Chi_Minh"}
    assert admin.post("/api/v1/admin/sites", json=commune).status_code == 201
    for prefix, place in (("/api/v1", "Hà Đông"), (COMMUNE, "Tân Phú")):  # each site's own place name
        saved = admin.patch(f"{prefix}/admin/site", json={"place": place})
        assert saved.status_code == 200, saved.text

    province = srv.session()
    province.headers["Authorization"] = f"Bearer {srv.token('province')}"
    said = {}
    for prefix in ("/api/v1", COMMUNE):
        answer = province.get(f"{prefix}/reports/sites", params={"period": "2026-11", "format": "pdf"})
        assert answer.status_code == 200, answer.text
        said[prefix] = place_line(answer.content)
    assert said == {"/api/v1": "Toàn tỉnh", COMMUNE: "Toàn tỉnh"}, said

    # a site's own report keeps its own place name
    own = province.get(f"{COMMUNE}/reports/summary", params={"period": "2026-11", "format": "pdf"})
    assert own.status_code == 200, own.text
    assert place_line(own.content) == "Tân Phú"
