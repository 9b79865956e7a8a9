"""Reports as files: CSV (UTF-8 with a BOM, so Excel shows Vietnamese letters), in two forms, and
XLSX (openpyxl), with Vietnamese headers (or English), and the centre, the period and its exact
dates at the top. The PDF of the official form is exports_pdf.py.

The two CSV forms: ``csv`` (comma separator, decimal point: what programs and Excel in English
read) and ``csv-vn``, the Vietnamese Excel form (semicolon separator, decimal comma: what Excel
opens straight into columns on a computer set to Vietnamese, whose list separator is ";").

A summary report's files also hold the period's bookings per service when the centre takes
bookings (``with_bookings``): booked, taken remotely, checked in, no-shows, lapsed, cancelled.

The numbers are those of the JSON report: counts as they are, percentages as they are, and times
in minutes (the JSON's seconds / 60; CSV rounds to 2 decimals, XLSX keeps the exact value and
shows one decimal). No Flask here.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from .i18n import translate

GROUP_SLUGS = {"service": "dich-vu", "counter": "quay", "clerk": "can-bo", "day": "ngay", "hour": "gio"}
LABEL_COLUMN = {
    "service": "report_col_service",
    "counter": "report_col_counter",
    "clerk": "report_col_clerk",
    "day": "report_col_day",
    "hour": "report_col_hour",
}
PROVINCE_SLUG = "toan-tinh"  # whose figures the sites' comparison's files hold, in their names
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILE_TYPES = {"csv": "text/csv", "csv-vn": "text/csv", "xlsx": XLSX_TYPE, "pdf": "application/pdf"}  # by format


@dataclass
class Column:
    header: str  # a message key
    value: object  # a function of the row -> number | str | None
    minutes: bool | Callable[[dict], bool] = False  # seconds in the report, minutes in the file (or per row)

    def in_minutes(self, row: dict) -> bool:
        return self.minutes(row) if callable(self.minutes) else self.minutes


@dataclass
class Table:
    title: str
    meta: list[tuple[str, str]]
    columns: list[Column]
    rows: list[dict]
    total: dict | None
    text: str | None = None  # the daily summary's sentence
    sections: list[Table] = field(default_factory=list)  # tables after this one (the bookings)


def _stat(name: str, key: str):
    return lambda row: (row.get(name) or {}).get(key)


def _summary_columns(report: dict) -> list[Column]:
    group = report["group_by"]
    by_ticket = group in ("service", "day", "hour")
    columns = [Column(LABEL_COLUMN[group], lambda r: r["label"])]
    if by_ticket:
        columns.append(Column("report_col_issued", lambda r: r["issued"]))
    columns += [
        Column("report_col_called", lambda r: r["called"]),
        Column("report_col_served", lambda r: r["served"]),
        Column("report_col_no_show", lambda r: r["no_show"]),
        Column("report_col_no_show_rate", lambda r: r["no_show_rate"]),
        Column("report_col_transferred", lambda r: r["transferred"]),
    ]
    if by_ticket:
        columns += [
            Column("report_col_not_called", lambda r: r["not_called"]),
            Column("report_col_expired", lambda r: r["expired"]),
            Column("report_col_remote_cancelled", lambda r: r["cancelled"]),
            Column("report_col_lapsed", lambda r: r["lapsed"]),
        ]
    columns += [
        Column("report_col_wait_avg", _stat("wait", "avg"), minutes=True),
        Column("report_col_wait_median", _stat("wait", "median"), minutes=True),
        Column("report_col_wait_p90", _stat("wait", "p90"), minutes=True),
        Column("report_col_wait_max", _stat("wait", "max"), minutes=True),
        Column("report_col_target_met", lambda r: r["target_met"]),
        Column("report_col_target_met_pct", lambda r: r["target_met_pct"]),
        Column("report_col_service_avg", _stat("service_time", "avg"), minutes=True),
        Column("report_col_service_median", _stat("service_time", "median"), minutes=True),
        Column("report_col_service_p90", _stat("service_time", "p90"), minutes=True),
        Column("report_col_service_max", _stat("service_time", "max"), minutes=True),
    ]
    if report.get("ratings_available", True):
        columns += [
            Column("report_col_very_satisfied", _stat("ratings", "very_satisfied")),
            Column("report_col_satisfied", _stat("ratings", "satisfied")),
            Column("report_col_unsatisfied", _stat("ratings", "unsatisfied")),
            Column("report_col_ratings_total", _stat("ratings", "total")),
            Column("report_col_satisfied_pct", _stat("ratings", "satisfied_pct")),
        ]
    return columns


PEAK_COLUMNS = [
    Column("report_col_hour", lambda r: r["label"]),
    Column("report_col_arrivals", lambda r: r["arrivals"]),
    Column("report_col_arrivals_per_day", lambda r: r["arrivals_per_day"]),
    Column("report_col_waiting_avg", lambda r: r["waiting_avg"]),
    Column("report_col_waiting_max", lambda r: r["waiting_max"]),
    Column("report_col_hour_wait_avg", lambda r: r["wait_avg"], minutes=True),
    Column("report_col_target_met_pct", lambda r: r["target_met_pct"]),
]

DAILY_FIGURES = [
    ("report_col_received", "received", False),
    ("report_col_served", "served", False),
    ("report_col_no_show", "no_show", False),
    ("report_col_transferred", "transferred", False),
    ("report_col_not_called", "not_called", False),
    ("report_col_expired", "expired", False),
    ("report_col_remote_cancelled", "cancelled", False),
    ("report_col_lapsed", "lapsed", False),
    ("report_col_wait_avg", "wait_avg", True),
    ("report_col_wait_max", "wait_max", True),
    ("report_col_service_avg", "service_avg", True),
    ("report_col_early", "early", False),
    ("report_col_on_time", "on_time", False),
    ("report_col_late", "late", False),
    ("report_col_target_met_pct", "target_met_pct", False),
]


BOOKING_COLUMNS = [
    Column("report_col_service", lambda r: r["label"]),
    Column("report_col_booked", lambda r: r["booked"]),
    Column("report_col_remote", lambda r: r["remote"]),
    Column("report_col_checked_in", lambda r: r["checked_in"]),
    Column("report_col_booking_no_show", lambda r: r["no_show"]),
    Column("report_col_lapsed", lambda r: r["lapsed"]),
    Column("report_col_cancelled", lambda r: r["cancelled"]),
    Column("report_col_cancelled_by_centre", lambda r: r["cancelled_by_centre"]),
]
BOOKING_FIGURES = ("booked", "remote", "checked_in", "no_show", "lapsed", "cancelled", "cancelled_by_centre")


def bookings_by_service(figures: dict, services: list[tuple[str, str, str]]) -> dict:
    """The bookings figures of core/bookings.booking_figures (per service and day) per service, in
    the order of ``services`` ((code, name vi, name en)), with a total: booked (slots), remote
    (numbers taken remotely), checked in (on time or late), no-shows, lapsed, cancelled (and of them by the
    centre: its day or hours closed, or its site retired)."""
    per: dict[str, dict] = {}
    for day in figures["days"]:
        if day["service"] is None:
            continue
        row = per.setdefault(day["service"], dict.fromkeys(BOOKING_FIGURES, 0))
        for name in BOOKING_FIGURES:  # (checked in: on time or late)
            row[name] += day["on_time"] + day["late"] if name == "checked_in" else day[name]
    rows = [
        {"key": code, "label": vi, "label_en": en, **per[code]}
        for code, vi, en in services
        if code in per and any(per[code].values())
    ]
    total = {name: sum(r[name] for r in rows) for name in BOOKING_FIGURES}
    return {"rows": rows, "total": total}


def with_bookings(report: dict, figures: dict, services: list[tuple[str, str, str]]) -> dict:
    """``report`` with its period's bookings per service (shown by the files when there are any)."""
    return {**report, "bookings": bookings_by_service(figures, services)}


def _bookings_table(report: dict, language: str, meta) -> Table | None:
    bookings = report.get("bookings")
    if not bookings or not bookings["rows"]:
        return None
    rows = bookings["rows"]
    if language == "en":
        rows = [{**r, "label": r["label_en"] or r["label"]} for r in rows]
    total = {**bookings["total"], "label": translate("report_total", language)}
    return Table(translate("report_title_bookings", language), meta, BOOKING_COLUMNS, rows, total)


def unit_of(report: dict, language: str) -> str:
    """Whose figures: the centre's name, or the whole province's for the sites compared."""
    return translate("sup_sites_total", language) if report["report"] == "sites" else report["site"]["name"]


def _meta(report: dict, language: str) -> list[tuple[str, str]]:
    period = report["period"]
    span = period["span"] if language == "vi" else period["span_en"]
    if period.get("basis") == "nd09":
        span += " — " + translate("period_basis_nd09", language)
    if report["report"] == "sites":  # each site's own local days, not one time zone's
        span += " — " + translate("report_meta_sites_days", language)
    else:
        span += f" ({period['timezone']})"
    generated = dt.datetime.fromisoformat(report["generated_at"].replace("Z", "+00:00"))
    generated = generated.astimezone(ZoneInfo(period["timezone"]))
    return [
        (translate("report_meta_centre", language), unit_of(report, language)),
        (translate("report_meta_period", language), period["label"] if language == "vi" else period["label_en"]),
        (translate("report_meta_span", language), span),
        (translate("report_meta_generated", language), generated.strftime("%H:%M %d/%m/%Y")),
    ]


SITES_COLUMNS = [
    Column("sup_sites_site", lambda r: r["label"]),
    Column("report_col_issued", lambda r: r["issued"]),
    Column("report_col_served", lambda r: r["served"]),
    Column("report_col_no_show", lambda r: r["no_show"]),
    Column("report_col_wait_avg", _stat("wait", "avg"), minutes=True),
    Column("report_col_wait_p90", _stat("wait", "p90"), minutes=True),
    Column("report_col_target_met_pct", lambda r: r["target_met_pct"]),
    Column("report_col_satisfied_pct", _stat("ratings", "satisfied_pct")),
    Column("report_col_sites_bookings", _stat("bookings", "booked")),
    Column("report_col_sites_checked_in", _stat("bookings", "checked_in")),
]


def _sites_table(report: dict, language: str, meta) -> Table:
    """The province's comparison (core/reports/sites.py): a row per site, a retired one said so, and
    the whole province's."""
    names = {row["site"]: row["name"] for row in report["sites"]}
    rows = []
    for row in report["sites"]:
        label = row["name"]
        if row["retired"]:
            moved_to = row["moved_to"]
            said = (
                translate("sup_site_retired_to", language, site=names.get(moved_to, moved_to))
                if moved_to
                else translate("sup_site_retired", language)
            )
            label = f"{label} ({said})"
        rows.append({**row, "label": label})
    total = {**report["total"], "label": translate("sup_sites_total", language)}
    return Table(translate("sup_sites_title", language), meta, SITES_COLUMNS, rows, total)


def table_of(report: dict, language: str = "vi") -> Table:
    """The rows and columns a file shows for a report of server/core/reports.py."""
    kind = report["report"]
    meta = _meta(report, language)
    if kind == "sites":
        return _sites_table(report, language, meta)
    if kind == "summary":
        title = translate(
            "report_title_summary", language, group=translate(f"report_group_{report['group_by']}", language)
        )
        rows = report["rows"]
        if language == "en":
            rows = [{**r, "label": r.get("label_en") or r["label"]} for r in rows]
        total = {**report["total"], "label": translate("report_total", language)}
        bookings = _bookings_table(report, language, meta)
        return Table(title, meta, _summary_columns(report), rows, total, sections=[bookings] if bookings else [])
    if kind == "peak_hours":
        return Table(translate("report_title_peak", language), meta, PEAK_COLUMNS, report["hours"], None)
    if kind == "daily":
        figures = [
            {"label": translate(key, language), "value": report[name], "minutes": minutes}
            for key, name, minutes in DAILY_FIGURES
        ]
        ratings = report["ratings"]
        if report.get("ratings_available", True):
            figures += [
                {"label": translate("report_col_ratings_total", language), "value": ratings["total"], "minutes": False},
                {
                    "label": translate("report_col_satisfied_pct", language),
                    "value": ratings["satisfied_pct"],
                    "minutes": False,
                },
            ]
        columns = [
            Column("report_col_item", lambda r: r["label"]),
            Column("report_col_value", lambda r: r["value"], minutes=lambda r: r["minutes"]),
        ]
        text = report["text"] if language == "vi" else report["text_en"]
        return Table(translate("report_title_daily", language), meta, columns, figures, None, text)
    raise ValueError(f"unknown report {kind!r}")


# what making a file of each format imports: its library, and what the library imports only once it
# makes a file (openpyxl: the file's properties; fpdf2: fontTools' modules of the shipped fonts' tables
# OS/2, cvt, fpgm, gasp, hhea, loca and prep, and the codecs of their names). A file made after these
# imports imports nothing more (found for every report kind, in both languages; tests/api/
# test_report_files_off_loop.py checks a summary's Excel file and PDF).
LIBRARIES = {
    "xlsx": ("openpyxl", "openpyxl.packaging.extended"),
    "pdf": (
        ".exports_pdf",
        "fpdf",
        "fontTools.ttLib.tables.O_S_2f_2",
        "fontTools.ttLib.tables._c_v_t",
        "fontTools.ttLib.tables._f_p_g_m",
        "fontTools.ttLib.tables._g_a_s_p",
        "fontTools.ttLib.tables._h_h_e_a",
        "fontTools.ttLib.tables._l_o_c_a",
        "fontTools.ttLib.tables._p_r_e_p",
        "encodings.mac_roman",
        "encodings.utf_16_be",
        "encodings.utf_32_be",
    ),
}


def import_library(fmt: str) -> None:
    """Imports what making a file of ``fmt`` imports (``LIBRARIES``) in the calling thread: the first
    time in the process, nothing after. The server calls it on the gevent loop before the file is made in
    a thread of gevent's pool (server/web/report_files.py): gevent's monkey patching replaces the locks
    Python's imports take, which then no longer keep an import in that thread apart from one of the same
    package on the loop, and either could meet the other's half-made module ("cannot import name ...
    from partially initialized module")."""
    for name in LIBRARIES.get(fmt, ()):
        importlib.import_module(name, __package__)


def to_file(report: dict, fmt: str, language: str = "vi", place: str | None = None) -> bytes:
    """The report as the file of ``fmt`` (csv, csv-vn, xlsx, pdf; ``place``: the PDF's place and date
    line). It reads nothing but its arguments and shares nothing: the server makes it in a thread of
    gevent's pool, off the loop that answers every other request (server/web/report_files.py)."""
    if fmt in ("csv", "csv-vn"):
        return to_csv(report, language, vietnamese_excel=fmt == "csv-vn")
    if fmt == "xlsx":
        return to_xlsx(report, language)
    if fmt == "pdf":
        from .exports_pdf import to_pdf

        return to_pdf(report, language, place=place)
    raise ValueError(f"no file of format {fmt!r}")


def _name_part(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "-", text).strip("-")


def filename(report: dict, fmt: str) -> str:
    """The file's name for ``fmt`` (csv, csv-vn, xlsx, pdf): the report, the site's id and the period
    (``bao-cao-theo-dich-vu_xa-thach-ha_2026-Q4.xlsx``: two communes' files of one period are not saved
    over each other; the sites compared: ``so-sanh-cac-diem_toan-tinh_2026-Q4.xlsx``); the Vietnamese
    Excel CSV ends in "-excel", not to be saved over the plain CSV; a period on Decree 09's basis
    ends in "-nd09" (``…_2026-Q4-nd09.xlsx``), not to be saved over the calendar one's."""
    kind = report["report"]
    whose = PROVINCE_SLUG if kind == "sites" else report["site"]["id"]
    period = report["period"]
    # the reporting period of Decree 09/2019 (15th to 14th) is other days than the calendar one of its name
    on_basis = "-nd09" if period.get("basis") == "nd09" else ""
    key = f"{_name_part(whose)}_{_name_part(period['key'])}{on_basis}"
    if kind == "summary":
        stem = f"bao-cao-theo-{GROUP_SLUGS[report['group_by']]}"
    elif kind == "peak_hours":
        stem = "gio-cao-diem"
    elif kind == "sites":
        stem = "so-sanh-cac-diem"
    else:
        stem = "tong-hop"
    if fmt == "csv-vn":
        return f"{stem}_{key}-excel.csv"
    return f"{stem}_{key}.{fmt}"


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet reads such a cell as a formula


def _csv_text(value):
    """A text cell a spreadsheet shows as text: one starting like a formula (a name such as
    ``=HYPERLINK(...)``) gets a leading apostrophe, as OWASP advises against CSV injection."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _cell(column: Column, row: dict):
    value = column.value(row)
    if column.in_minutes(row) and isinstance(value, (int, float)):
        return value / 60
    return value


def number_text(value: float, minutes: bool, decimal: str = ".") -> str:
    """A number as the CSV writes it: minutes to 2 decimals, others as they are; ``decimal`` "," for
    the Vietnamese form."""
    text = f"{value:.2f}".rstrip("0").rstrip(".") if minutes else f"{value:g}"
    return text.replace(".", decimal)


def to_csv(report: dict, language: str = "vi", vietnamese_excel: bool = False) -> bytes:
    """The report as CSV, UTF-8 with a BOM; ``vietnamese_excel``: ";" between cells, "," in numbers."""
    t = table_of(report, language)
    out = io.StringIO()
    csv_writer = csv.writer(out, delimiter=";" if vietnamese_excel else ",", lineterminator="\r\n")
    decimal = "," if vietnamese_excel else "."

    def writerow(values):
        csv_writer.writerow([_csv_text(value) for value in values])

    def csv_value(column, row):
        value = _cell(column, row)
        if isinstance(value, float):
            return number_text(value, column.in_minutes(row), decimal)
        return "" if value is None else _csv_text(value)

    def write_table(table: Table):
        writerow([translate(c.header, language) for c in table.columns])
        for row in table.rows + ([table.total] if table.total else []):
            csv_writer.writerow([csv_value(c, row) for c in table.columns])

    writerow([t.title])
    for key, value in t.meta:
        writerow([key, value])
    writerow([])
    write_table(t)
    for section in t.sections:
        writerow([])
        writerow([section.title])
        write_table(section)
    if t.text:
        writerow([])
        writerow([t.text])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(report: dict, language: str = "vi") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    t = table_of(report, language)
    book = Workbook()
    sheet = book.active
    sheet.title = "Báo cáo" if language == "vi" else "Report"
    book.properties.title = t.title
    book.properties.creator = "queuekiosk"
    sheet["A1"] = t.title
    sheet["A1"].font = Font(bold=True, size=14)
    line = 2
    for key, value in t.meta:
        sheet.cell(line, 1, key).font = Font(bold=True)
        sheet.cell(line, 2, value)
        line += 1
    if report["report"] != "daily":
        sheet.cell(line, 1, translate("report_meta_notes", language)).font = Font(italic=True, color="555555")
        line += 1
    line += 1
    header_row = line
    thin = Side(style="thin", color="999999")

    def write_table(table: Table, top: int) -> int:
        """The table's header at row ``top``, its rows below; the next free row."""
        for col, column in enumerate(table.columns, start=1):
            cell = sheet.cell(top, col, translate(column.header, language))
            cell.font = Font(bold=True, color="FFFFFF")
            cell.fill = PatternFill("solid", fgColor="0B4F9C")
            cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
            cell.border = Border(top=thin, bottom=thin, left=thin, right=thin)
        sheet.row_dimensions[top].height = 45
        data = table.rows + ([table.total] if table.total else [])
        for offset, row in enumerate(data, start=1):
            for col, column in enumerate(table.columns, start=1):
                value = _cell(column, row)
                cell = sheet.cell(top + offset, col, value)
                cell.border = Border(top=thin, bottom=thin, left=thin, right=thin)
                if isinstance(value, float):
                    cell.number_format = "0.0"
                if row is table.total:
                    cell.font = Font(bold=True)
        return top + len(data) + 1

    after = write_table(t, header_row)
    for section in t.sections:
        sheet.cell(after + 1, 1, section.title).font = Font(bold=True, size=12)
        after = write_table(section, after + 2)
    sheet.freeze_panes = sheet.cell(header_row + 1, 2)
    sheet.column_dimensions["A"].width = 34
    for col in range(2, len(t.columns) + 1):
        sheet.column_dimensions[get_column_letter(col)].width = 14
    if t.text:
        end = after + 1
        sheet.cell(end, 1, t.text).alignment = Alignment(wrap_text=True, vertical="top")
        sheet.merge_cells(start_row=end, start_column=1, end_row=end, end_column=max(2, len(t.columns)))
        sheet.row_dimensions[end].height = 120
        sheet.column_dimensions["B"].width = 60
    for row in sheet.iter_rows():  # openpyxl takes text starting with "=" for a formula: keep every cell text
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"
    sheet.print_options.gridLines = False
    sheet.page_setup.orientation = "landscape"
    sheet.sheet_properties.pageSetUpPr.fitToPage = True  # without it Excel ignores fitToWidth
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0  # as many pages long as it takes
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
