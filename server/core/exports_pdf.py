"""A report as a PDF in the form of a Vietnamese administrative report, as the /reports page prints
it: the unit beside the national motto (CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM / Độc lập - Tự do -
Hạnh phúc), the place and date line, the title, the period said once, the table (and the bookings
table), the notes, and the signature blocks (người lập biểu, thủ trưởng đơn vị).

Drawn with fpdf2 (pure Python, kept up, no system library; docs/reports.md says why) in the DejaVu
Sans font the ticket printers already ship (printers/fonts), which has every Vietnamese letter.
The figures are those of the CSV and XLSX files (exports.table_of). No Flask here.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from .exports import Table, _cell, number_text, table_of, unit_of
from .i18n import translate

FONTS = Path(__file__).resolve().parents[2] / "printers" / "fonts"
FONT = "DejaVu"
NARROW = "DejaVuCondensed"  # the columns' headings, in a narrow column of a wide table


def minutes_text(value: float) -> str:
    """Minutes to one decimal with a decimal comma, as /reports shows them (supervisor.js: toLocaleString,
    which rounds the float's exact value half away from zero: 15 s, 0.25 min, is "0,3", where Python's
    format would give "0,2"), grouped as there (1.234,5)."""
    return f"{Decimal(value).quantize(Decimal('0.1'), ROUND_HALF_UP):,.1f}".translate(_VIETNAMESE)


_VIETNAMESE = str.maketrans(",.", ".,")  # 1,234.5 -> 1.234,5


def _text(row: dict, column) -> str:
    value = _cell(column, row)
    if value is None:
        return "–"
    if isinstance(value, float):
        return minutes_text(value) if column.in_minutes(row) else number_text(value, False, ",")
    if isinstance(value, int):
        return f"{value:,}".replace(",", ".")  # 1.234 as Vietnamese write it
    return str(value)


def _head(pdf, unit: str, place: str | None, language: str, today: dt.date) -> None:
    """The unit on the left, the nation and the motto on the right, the place and date below them."""
    width = pdf.epw / 2
    top = pdf.get_y()
    pdf.set_font(FONT, "B", 11)
    pdf.multi_cell(width - 10, 6, unit.upper(), align="C", new_x="LMARGIN", new_y="NEXT")
    left_end = pdf.get_y()
    pdf.set_xy(pdf.l_margin + width, top)
    pdf.set_font(FONT, "B", 11)
    pdf.cell(width, 6, translate("report_print_nation", "vi"), align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_font(FONT, "BU", 11)
    pdf.cell(width, 6, translate("report_print_motto", "vi"), align="C", new_x="LEFT", new_y="NEXT")
    pdf.set_xy(pdf.l_margin + width, pdf.get_y() + 2)
    pdf.set_font(FONT, "I", 10)
    pdf.cell(
        width,
        6,
        translate(
            "report_print_place_date",
            "vi",
            place=place or translate("report_print_no_place", "vi"),
            day=f"{today.day:02d}",
            month=f"{today.month:02d}",
            year=today.year,
        ),
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_y(max(left_end, pdf.get_y()) + 6)


def _table(pdf, table: Table, language: str) -> None:
    margin, pdf.c_margin = pdf.c_margin, CELL_MARGIN
    try:
        _grid(pdf, table, language)
    finally:
        pdf.c_margin = margin


CELL_MARGIN = 0.4  # mm each side of a cell's text: a 26-column table's columns are 9.2 mm wide


def _grid(pdf, table: Table, language: str) -> None:
    columns = table.columns
    first = 42 if len(columns) > 8 else 70
    rest = (pdf.epw - first) / max(1, len(columns) - 1)
    size = 6.5 if len(columns) > 16 else 8 if len(columns) > 8 else 10
    widths = [first] + [rest] * (len(columns) - 1)
    headings = [
        _heading(pdf, translate(column.header, language), width, size - 0.5)
        for column, width in zip(columns, widths, strict=True)
    ]
    pdf.set_font(FONT, "", size)
    rows = table.rows + ([table.total] if table.total else [])
    with pdf.table(
        col_widths=widths,
        width=first + rest * (len(columns) - 1),
        align="LEFT",
        text_align=["LEFT"] + ["RIGHT"] * (len(columns) - 1),
        line_height=size * 0.5,
        headings_style=_headings(HEADING_FLOOR),
        repeat_headings=1,
    ) as grid:
        heading = grid.row()
        for text, heading_size in headings:
            heading.cell(text, align="C", style=_headings(heading_size))
        for row in rows:
            line = grid.row()
            for column in columns:
                line.cell(_text(row, column))


HEADING_FLOOR = 5.5  # pt: the smallest heading still read on paper (the body text is 6.5 pt)


def _heading(pdf, text: str, width: float, size: float) -> tuple[str, float]:
    """One column's heading and its own font size: ``size`` or smaller, down to HEADING_FLOOR, at
    which each of its words fits the column (fpdf2 wraps at spaces but silently breaks a word wider
    than its cell: "Chuyể / n quầy"). A word still too wide at the floor is broken with a hyphen."""
    room = width - 2 * pdf.c_margin
    words = text.split()
    while size > HEADING_FLOOR:
        pdf.set_font(NARROW, "B", size)
        if all(pdf.get_string_width(word) <= room for word in words):
            break
        size -= 0.5
    pdf.set_font(NARROW, "B", size)
    return " ".join(_hyphenated(pdf, word, room) for word in words), size


def _hyphenated(pdf, word: str, room: float) -> str:
    """``word`` in pieces that each fit ``room`` at the current font, each but the last ending in a
    hyphen (its own where it has one: "No- shows"), with a space after it for fpdf2 to wrap at."""
    pieces = []
    while pdf.get_string_width(word) > room and len(word) > 1:
        fits = [n for n in range(2, len(word) - 2) if pdf.get_string_width(word[:n].rstrip("-") + "-") <= room] or [1]
        cut = fits[-1]
        own = word.rfind("-", 1, cut)
        cut = own + 1 if own > 0 else cut
        pieces.append(word[:cut].rstrip("-") + "-")
        word = word[cut:]
    return " ".join([*pieces, word])


def _headings(size: float):
    from fpdf.fonts import FontFace

    return FontFace(family=NARROW, emphasis="BOLD", size_pt=size, fill_color=(221, 221, 221))


def to_pdf(report: dict, language: str = "vi", today: dt.date | None = None, place: str | None = None) -> bytes:
    """The report (of server/core/reports) as the official form, A4 landscape; ``place`` is the
    place name of the place and date line (config site.place: the site's own for its reports, the first
    site's for the sites compared; unset: a dotted blank), dated today in the period's time zone."""
    from fpdf import FPDF

    t = table_of(report, language)
    zone = ZoneInfo(report["period"]["timezone"])
    today = today or dt.datetime.now(zone).date()
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_margins(12, 12, 12)
    pdf.set_auto_page_break(True, margin=12)
    for style, name in (("", "DejaVuSans.ttf"), ("B", "DejaVuSans-Bold.ttf")):
        pdf.add_font(FONT, style, str(FONTS / name))
    # no oblique face is shipped: an italic line is drawn upright
    pdf.add_font(FONT, "I", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "BI", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.add_font(NARROW, "B", str(FONTS / "DejaVuSansCondensed-Bold.ttf"))
    pdf.set_title(t.title)
    pdf.set_creator("queuekiosk")
    pdf.set_lang("vi" if language == "vi" else "en")
    pdf.add_page()
    _head(pdf, unit_of(report, language), place, language, today)

    pdf.set_font(FONT, "B", 14)
    pdf.multi_cell(0, 8, t.title.upper() if language == "vi" else t.title, align="C", new_x="LMARGIN", new_y="NEXT")
    period = report["period"]
    label = period["label"] if language == "vi" else period["label_en"]
    span = period["span"] if language == "vi" else period["span_en"]
    said = label if span == label else f"{label} ({span})"  # the period said once
    if period.get("basis") == "nd09":
        said += " — " + translate("period_basis_nd09", language)
    pdf.set_font(FONT, "", 11)
    pdf.multi_cell(0, 6, f"{translate('report_meta_period', language)}: {said}", align="C")
    pdf.ln(4)

    _table(pdf, t, language)
    for section in t.sections:
        pdf.ln(4)
        pdf.set_font(FONT, "B", 11)
        pdf.multi_cell(0, 6, section.title, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
        _table(pdf, section, language)
    pdf.ln(2)
    pdf.set_font(FONT, "", 8)
    if t.text:
        pdf.set_font(FONT, "", 10)
        pdf.multi_cell(0, 5, t.text, new_x="LMARGIN", new_y="NEXT")
    elif report["report"] != "daily":
        pdf.multi_cell(0, 4, translate("report_meta_notes", language), new_x="LMARGIN", new_y="NEXT")

    if pdf.get_y() > pdf.h - 60:  # the signatures stay together
        pdf.add_page()
    pdf.ln(8)
    half = pdf.epw / 2
    top = pdf.get_y()
    for position, (role, how) in enumerate(
        (("report_print_preparer", "report_print_sign"), ("report_print_head", "report_print_sign_seal"))
    ):
        pdf.set_xy(pdf.l_margin + position * half, top)
        pdf.set_font(FONT, "B", 11)
        pdf.cell(half, 6, translate(role, "vi"), align="C", new_x="LEFT", new_y="NEXT")
        pdf.set_font(FONT, "", 10)
        pdf.cell(half, 5, translate(how, "vi"), align="C")
    out = io.BytesIO()
    pdf.output(out)
    return out.getvalue()
