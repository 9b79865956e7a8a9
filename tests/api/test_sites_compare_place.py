"""The place and date line of the province's comparison as a PDF (GET /api/v1/reports/sites?format=pdf):
the first site's place name (config site.place: the installation's own site, usually the province's
centre) and its date in the first site's time zone, the same whichever address asked for it (the plain
path is the first site's, /api/v1/sites/{site}/... another's); a dotted blank when the first site has no
place. A site's own reports keep its own place. Real server, the PDF read back with pypdf."""

from __future__ import annotations

import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

from pypdf import PdfReader

COMMUNE = "/api/v1/sites/xa-tan-phu"
PLACE_DATE = re.compile(r"^(.*), ngày (\d{2}) tháng (\d{2}) năm (\d{4})$", re.MULTILINE)
FIRST_ZONE = "Pacific/Pago_Pago"  # UTC-11, and the commune's UTC+14: never the same date
COMMUNE_ZONE = "Pacific/Kiritimati"


def place_line(pdf: bytes) -> tuple[str, dt.date]:
    """What the PDF's place and date line names (before ", ngày … tháng … năm …"), and its date."""
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    found = PLACE_DATE.findall(text)
    assert len(found) == 1, text
    place, day, month, year = found[0]
    return place.strip(), dt.date(int(year), int(month), int(day))


def _two_sites(srv, first_place: str | None):
    admin = srv.session()
    admin.headers["Authorization"] = f"Bearer {srv.token('admin')}"
    commune = {"id": "xa-tan-phu", "name": "Xã Tân Phú", "timezone": COMMUNE_ZONE}
    assert admin.post("/api/v1/admin/sites", json=commune).status_code == 201
    saved = admin.patch("/api/v1/admin/site", json={"timezone": FIRST_ZONE, "place": first_place})
    assert saved.status_code == 200, saved.text
    saved = admin.patch(f"{COMMUNE}/admin/site", json={"place": "Tân Phú"})
    assert saved.status_code == 200, saved.text
    province = srv.session()
    province.headers["Authorization"] = f"Bearer {srv.token('province')}"
    return province


def _lines(province) -> dict[str, tuple[str, dt.date]]:
    said = {}
    for prefix in ("/api/v1", COMMUNE):
        for lang in ("vi", "en"):  # the line is Vietnamese in either language
            answer = province.get(
                f"{prefix}/reports/sites", params={"period": "2026-11", "format": "pdf", "lang": lang}
            )
            assert answer.status_code == 200, answer.text
            said[prefix, lang] = place_line(answer.content)
    return said


def test_the_comparison_pdf_says_the_first_sites_place_and_date_whichever_address_asked(live_server):
    province = _two_sites(live_server(), "Hà Đông")
    before = dt.datetime.now(ZoneInfo(FIRST_ZONE)).date()
    said = _lines(province)
    after = dt.datetime.now(ZoneInfo(FIRST_ZONE)).date()
    assert {place for place, _ in said.values()} == {"Hà Đông"}, said
    days = {day for _, day in said.values()}
    assert len(days) == 1 and days <= {before, after}, said  # the first site's today, not the commune's

    # a site's own report keeps its own place name
    own = province.get(f"{COMMUNE}/reports/summary", params={"period": "2026-11", "format": "pdf"})
    assert own.status_code == 200, own.text
    assert place_line(own.content)[0] == "Tân Phú"


def test_the_comparison_pdf_has_the_dotted_blank_when_the_first_site_has_no_place(live_server):
    province = _two_sites(live_server(), None)
    places = {place for place, _ in _lines(province).values()}
    assert len(places) == 1 and re.fullmatch(r"…+|\.{3,}", places.pop().strip()), places
