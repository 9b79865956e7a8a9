"""The report files a supervisor downloads from /reports, against a real server (issue 18, issue 14):

- ``format=csv-vn``: the Vietnamese Excel form (";" between cells, decimal comma, UTF-8 with a BOM)
  beside ``format=csv`` (",", decimal point); a name that looks like a formula stays text in both;
- ``format=pdf``: the official form (national motto, the unit, the title, the figures, the
  signature blocks), read back with pypdf;
- the period's bookings per service (booked, remote, checked in, no-show, lapsed, cancelled) in
  CSV, XLSX and PDF.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from api_helpers import issue, wait_until_lapsed
from booking_helpers import BOOKING_REPORT_HEADER
from faked_clock import FakedClock, next_working_morning
from openpyxl import load_workbook
from pypdf import PdfReader

from queuekiosk.server.core.exports_pdf import minutes_text

SUMMARY = "/api/v1/reports/summary"
HT = "Tư pháp - Hộ tịch"  # the repo's config.yaml
UNIT = "UBND phường Phúc La - Bộ phận Một cửa"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def serve_some(http, token: str, count: int = 3, clock: FakedClock | None = None) -> None:
    """``count`` HT citizens called, started and finished at counter 1: served, each with a time
    (``clock``: moved on to 40 s past its start before the calls, so that each waited some 40 s)."""
    for _ in range(count):
        issue(http, "HT")
    if clock is not None:
        clock.set(clock.start + dt.timedelta(seconds=40))
    counter = bearer(token)
    for _ in range(count):
        assert http.post("/api/v1/counters/1/next", headers=counter).status_code == 200
        assert http.post("/api/v1/counters/1/start", headers=counter).status_code == 200
        assert http.post("/api/v1/counters/1/finish", headers=counter).status_code == 200


def open_day(http, today: dt.date) -> tuple[str, list[dict]]:
    for ahead in range(1, 7):
        day = (today + dt.timedelta(days=ahead)).isoformat()
        slots = [s for s in http.get("/api/v1/services/HT/slots", params={"date": day}).json() if s["free"] >= 2]
        if slots:
            return day, slots
    raise AssertionError("HT has no free slot in the coming days")


def book(http, day: str, start: str, phone: str) -> dict:
    body = {"service": "HT", "date": day, "start": start, "name": "Lê Văn Cường", "phone": phone}
    answer = http.post("/api/v1/bookings", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


@pytest.fixture(scope="module")
def morning(tmp_path_factory) -> FakedClock:
    return FakedClock(tmp_path_factory.mktemp("clock") / "clock", next_working_morning("09:00"))


@pytest.fixture(scope="module")
def server(module_live_server, morning):
    """The repo's config.yaml at 09:00 on a working day (tests/faked_clock.py): what the module
    serves and books today stays in today's report, whatever the hour the tests run at (on the real
    clock, the site's midnight at 17:00 UTC would move what is left to another day)."""
    return module_live_server(env=morning.env())


@pytest.fixture(scope="module")
def centre(server, morning):
    """The repo's config.yaml: three HT citizens served; two HT slots booked on a coming day, one of
    them cancelled; a remote number taken today."""
    http = server.session()
    serve_some(http, server.token("counter", 1), clock=morning)
    today = morning.start.date()
    day, slots = open_day(http, today)
    book(http, day, slots[0]["start"], "0913000111")
    cancelled = book(http, day, slots[0]["start"], "0913000222")
    assert http.delete(f"/api/v1/bookings/{cancelled['code']}").status_code == 200
    taken = http.post(
        "/api/v1/bookings", json={"service": "HT", "remote": True, "name": "Phạm Thị Dung", "phone": "0913000333"}
    )
    assert taken.status_code == 201, taken.text
    return {"from": today.isoformat(), "to": day}


def download(server, centre, fmt: str, **params) -> object:
    http = server.session()
    answer = http.get(
        SUMMARY,
        headers=bearer(server.token("supervisor")),
        params={"from": centre["from"], "to": centre["to"], "group_by": "service", "format": fmt, **params},
    )
    assert answer.status_code == 200, answer.text
    return answer


def rows_of(answer, delimiter: str) -> list[list[str]]:
    assert answer.content.startswith(b"\xef\xbb\xbf"), "UTF-8 with a BOM, so that Excel reads Vietnamese letters"
    return list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig")), delimiter=delimiter))


def test_the_vietnamese_excel_csv_has_semicolons_and_decimal_commas(server, centre):
    answer = download(server, centre, "csv-vn")
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    # a name of its own, not saved over the plain CSV downloaded beside it
    assert answer.headers["Content-Disposition"].endswith(f'_{centre["from"]}-{centre["to"]}-excel.csv"')
    assert download(server, centre, "csv").headers["Content-Disposition"].endswith(f'-{centre["to"]}.csv"')
    rows = rows_of(answer, ";")
    header = next(r for r in rows if r and r[0] == "Dịch vụ")
    assert len(header) > 20 and "Đã phục vụ" in header
    ht = next(r for r in rows if r and r[0] == HT)
    served = ht[header.index("Đã phục vụ")]
    assert served == "3"
    service_avg = ht[header.index("Phục vụ trung bình (phút)")]
    assert service_avg and "." not in service_avg, f"a decimal comma, never a point: {service_avg!r}"
    no_show_rate = ht[header.index("Tỷ lệ vắng mặt (%)")]
    assert "." not in no_show_rate

    # the same file in the usual form: commas between cells, decimal points, the same figures
    plain = rows_of(download(server, centre, "csv"), ",")
    plain_header = next(r for r in plain if r and r[0] == "Dịch vụ")
    assert plain_header == header
    plain_ht = next(r for r in plain if r and r[0] == HT)
    assert [cell.replace(".", ",") for cell in plain_ht] == ht


def test_bookings_per_service_are_in_csv_and_xlsx(server, centre):
    for fmt, delimiter in (("csv", ","), ("csv-vn", ";")):
        rows = rows_of(download(server, centre, fmt), delimiter)
        title = rows.index(["Lịch hẹn và số lấy từ xa theo dịch vụ"])
        header, ht, total = rows[title + 1], rows[title + 2], rows[title + 3]
        assert header == BOOKING_REPORT_HEADER
        assert ht == [HT, "2", "1", "0", "0", "0", "1", "0"], "the citizen's own cancel is not the centre's"
        assert total[0] == "Tổng cộng" and total[1:] == ht[1:]

    sheet = load_workbook(io.BytesIO(download(server, centre, "xlsx").content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    title = next(i for i, row in enumerate(values) if row[0] == "Lịch hẹn và số lấy từ xa theo dịch vụ")
    assert values[title + 1][7] == "Trong đó trung tâm hủy"
    assert values[title + 2][:8] == [HT, 2, 1, 0, 0, 0, 1, 0]
    # one page wide, as many pages long as it takes: Excel heeds fitToWidth only under fitToPage
    assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
    assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (1, 0)

    english = rows_of(download(server, centre, "csv", lang="en"), ",")
    assert ["Bookings and remote numbers by service"] in english


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def as_on_screen(minutes: float) -> str:
    """/reports' figure (toLocaleString("vi-VN", one decimal): the float's exact value, half away from zero)."""
    return str(Decimal(minutes).quantize(Decimal("0.1"), ROUND_HALF_UP)).replace(".", ",")


def test_the_pdf_rounds_minutes_as_the_screen_does():
    """A 15 s wait is 0.25 min: /reports shows "0,3" (and 75 s "1,3"), so the printout must too, not
    Python's half-to-even "0,2" (a supervisor comparing the two)."""
    for seconds, shown in ((15, "0,3"), (75, "1,3"), (135, "2,3"), (33, "0,6"), (40, "0,7"), (720, "12,0")):
        assert minutes_text(seconds / 60) == shown == as_on_screen(seconds / 60), seconds


def test_the_pdf_is_the_official_form_with_the_unit_and_the_figures(server, centre):
    answer = download(server, centre, "pdf")
    assert answer.headers["Content-Type"] == "application/pdf"
    assert answer.headers["Content-Disposition"].endswith('.pdf"')
    text = pdf_text(answer.content)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "Độc lập - Tự do - Hạnh phúc" in text
    assert UNIT.upper() in text, "the unit, above the motto's left"
    assert "BÁO CÁO TÌNH HÌNH PHỤC VỤ THEO DỊCH VỤ" in text
    assert "NGƯỜI LẬP BIỂU" in text and "THỦ TRƯỞNG ĐƠN VỊ" in text
    line = next(line for line in text.splitlines() if line.startswith(HT))
    assert " 3 " in f" {line} ", f"3 served in the row of {HT}: {line!r}"
    # the waits (about 40 s each) in minutes to one decimal, as /reports shows them, with a decimal comma
    figures = download(server, centre, "json").json()
    wait = next(row for row in figures["rows"] if row["label"] == HT)["wait"]
    shown = [as_on_screen(wait[key] / 60) for key in ("avg", "median", "p90", "max")]
    assert f"{wait['max'] / 60:.2f}".rstrip("0") != f"{wait['max'] / 60:.1f}", "a figure a second decimal would change"
    assert f" {' '.join(shown)} " in f" {line} ", f"the waits in the row of {HT}: {line!r}, {wait}"
    assert "Lịch hẹn và số lấy từ xa theo dịch vụ" in text
    assert text.count("Kỳ báo cáo") == 1, "the period is said once"


HEADING_FLOOR = 5.5  # pt, server/core/exports_pdf.py


@pytest.mark.parametrize("language, first", [("vi", "Dịch vụ"), ("en", "Service")])
def test_pdf_headings_break_words_only_with_a_hyphen_and_are_readable(server, centre, language, first):
    """Each column's heading has its own size, none below the floor; a word too wide for its column
    even then is broken with a hyphen at the line's end, never silently inside ("Transferre / d")."""
    content = download(server, centre, "pdf", lang=language).content
    text = pdf_text(content)
    headings = next(r for r in rows_of(download(server, centre, "csv", lang=language), ",") if r and r[0] == first)
    split = {
        word for heading in headings for word in heading.split() if not re.search(_whole_or_hyphenated(word), text)
    }
    assert not split, f"these headings' words were broken without a hyphen: {split}"
    sizes = {
        float(size)
        for page in PdfReader(io.BytesIO(content)).pages
        for size in FONT_SIZE.findall(page.get_contents().get_data().decode("latin-1"))
    }
    assert min(sizes) >= HEADING_FLOOR, sorted(sizes)


FONT_SIZE = re.compile(r"/F\d+ ([\d.]+) Tf")


def _whole_or_hyphenated(word: str) -> str:
    """``word`` as a pattern: whole, or broken at line ends each with a hyphen (its own or added)."""
    pieces = [re.escape(letter) for letter in word]
    return (
        r"(?<!\S)" + "".join(p + (r"\s*" if p == r"\-" else r"(?:-\s+)?") for p in pieces[:-1]) + pieces[-1] + r"(?!\S)"
    )


def test_a_pdf_export_writes_no_font_subsetting_lines_to_the_server_log(server, centre):
    before = server.log()
    download(server, centre, "pdf")
    added = server.log()[len(before) :]
    assert "fontTools" not in added, added[:2000]


def test_formula_looking_names_stay_text_in_the_vietnamese_csv(live_server, config_variant):
    config = config_variant()
    config["site"]["name"] = "=1+1"
    hostile = '=HYPERLINK("http://evil.example";"Bấm vào đây")'
    next(s for s in config["services"] if s["code"] == "HT")["name"] = {"vi": hostile, "en": hostile}
    srv = live_server(config)
    http = srv.session()
    issue(http, "HT")
    answer = http.get(SUMMARY, headers=bearer(srv.token("admin")), params={"format": "csv-vn"})
    rows = rows_of(answer, ";")
    cells = [cell for row in rows for cell in row]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@"))], cells
    assert "'" + hostile in cells and "'=1+1" in cells  # the ";" inside the name is quoted, not a new cell


def test_an_unknown_format_is_refused_naming_the_field(server, centre):
    http = server.session()
    answer = http.get(SUMMARY, headers=bearer(server.token("supervisor")), params={"format": "ods"})
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["field"] == "format" and "csv-vn" in error["message"] and "pdf" in error["message"]


@pytest.mark.parametrize(
    "path, title",
    [
        ("/api/v1/reports/daily", "Tổng hợp tình hình tiếp nhận và phục vụ"),
        ("/api/v1/reports/peak-hours", "Lượt lấy số và người chờ theo giờ (giờ cao điểm)"),
    ],
)
def test_the_other_reports_come_as_pdf_and_vietnamese_csv_too(server, centre, path, title):
    http = server.session()
    supervisor = bearer(server.token("supervisor"))
    today = {"period": centre["from"]}
    pdf = http.get(path, headers=supervisor, params={**today, "format": "pdf"})
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert title.upper() in text and "Độc lập - Tự do - Hạnh phúc" in text and UNIT.upper() in text
    vietnamese = http.get(path, headers=supervisor, params={**today, "format": "csv-vn"})
    rows = rows_of(vietnamese, ";")
    assert rows[0] == [title]
    assert ["Đơn vị", UNIT] in rows


def test_a_lapsed_remote_number_is_counted_apart_not_as_expired_in_the_summary_and_its_files(
    live_server, config_variant, tmp_path
):
    """A remote number nobody checked in for lapses at its deadline (its ticket then "expired", as
    one the day ended on): the summary, its files and the daily summary count it as lapsed ("Số từ
    xa hết hạn"), apart from the tickets the day ended on ("Hết hạn cuối ngày") and the waiting."""
    clock = FakedClock(tmp_path / "faketime", next_working_morning("09:00"))
    config = config_variant()
    service = next(s for s in config["services"] if s["code"] == "HT")
    service["booking"] = {**service["booking"], "remote_checkin_minutes": 5}
    srv = live_server(config, env={**clock.env(), "QUEUEKIOSK_LAPSE_SECONDS": "1"})  # it looks every second
    http = srv.session()
    issue(http, "HT")  # a walk-in, still waiting
    taken = http.post(
        "/api/v1/bookings", json={"service": "HT", "remote": True, "name": "Đỗ Văn Em", "phone": "0913000444"}
    )
    assert taken.status_code == 201, taken.text
    clock.set(clock.start + dt.timedelta(minutes=15))  # its holder never came: past its deadline
    wait_until_lapsed(http, taken.json()["code"])

    supervisor = bearer(srv.token("supervisor"))
    day = {"period": clock.start.date().isoformat(), "group_by": "service"}
    total = http.get(SUMMARY, headers=supervisor, params=day).json()["total"]
    assert (total["issued"], total["lapsed"], total["expired"], total["not_called"], total["cancelled"]) == (
        2,
        1,
        0,
        1,
        0,
    ), total
    daily = http.get("/api/v1/reports/daily", headers=supervisor, params={"period": day["period"]}).json()
    assert daily["lapsed"] == 1 and daily["expired"] == 0, daily
    assert "1 số lấy từ xa đã hết hạn vì công dân không đến xác nhận có mặt" in daily["text"], daily["text"]
    assert "hết hạn cuối ngày" not in daily["text"], daily["text"]

    for fmt, delimiter in (("csv", ","), ("csv-vn", ";")):
        answer = http.get(SUMMARY, headers=supervisor, params={**day, "format": fmt})
        rows = rows_of(answer, delimiter)
        header = next(r for r in rows if r and r[0] == "Dịch vụ")
        ht = dict(zip(header, next(r for r in rows if r and r[0] == HT)))
        assert (ht["Số từ xa hết hạn"], ht["Hết hạn cuối ngày"], ht["Chưa được gọi"]) == ("1", "0", "1"), ht
    english = rows_of(http.get(SUMMARY, headers=supervisor, params={**day, "format": "csv", "lang": "en"}), ",")
    assert "Remote numbers lapsed" in next(r for r in english if r and r[0] == "Service")
    sheet = load_workbook(io.BytesIO(http.get(SUMMARY, headers=supervisor, params={**day, "format": "xlsx"}).content))
    values = [[c.value for c in row] for row in sheet.active.iter_rows()]
    header = next(row for row in values if row[0] == "Dịch vụ")
    assert next(row for row in values if row[0] == HT)[header.index("Số từ xa hết hạn")] == 1
    pdf = http.get("/api/v1/reports/daily", headers=supervisor, params={"period": day["period"], "format": "pdf"})
    assert "Số từ xa hết hạn" in pdf_text(pdf.content)
