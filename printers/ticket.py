"""The printed ticket: what is on it (TicketContent), its look, and its ESC/POS bytes.

Vietnamese text is drawn with Pillow in a font that has every Vietnamese glyph (DejaVu Sans,
shipped in printers/fonts), because printers' code pages mangle tone marks (FIELD-NOTES).
Two forms of the same layout:

- ``compact`` (the usual ticket, every driver's default): each Vietnamese line a small raster
  image, the big number in the printer's own enlarged digits, the QR code drawn by the
  printer. About 5–10 KB: fine even on a 9600-baud serial printer.
- ``image``: the whole ticket as one raster image (the number in a large font, the QR code as
  pixels, the logo), for printers without native QR codes or when the look matters more than
  the size (about 40–60 KB: for network and USB printers).

``preview`` draws the ticket as a picture (the file driver saves it as PNG). The words are the
catalogs' (server/core/messages), in Vietnamese: the same "Số người đang chờ trước Ông/Bà" as the kiosk.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import qrcode
from escpos.printer import Dummy  # the package's __init__ has set escpos's cache folder by now
from PIL import Image, ImageDraw, ImageFont, ImageOps

from ..server.core.i18n import translate
from .content import TicketContent

FONTS = Path(__file__).resolve().parent / "fonts"
FORMS = ("compact", "image")
MARGIN = 8  # dots left blank at each side of a line


@lru_cache(maxsize=32)
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf")), size)


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Words laid into lines no wider than ``width`` dots (a too-long word gets a line of its own)."""
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


def _text_image(text: str, size: int, width: int, bold: bool = False, inverted: bool = False) -> Image.Image:
    """Centred, wrapped text as a 1-bit image exactly as wide as its longest line."""
    font = _font(size, bold)
    lines = _wrap(text, font, width - 2 * MARGIN)
    ascent, descent = font.getmetrics()
    line_height = ascent + descent + 2
    text_width = max(int(font.getlength(line)) for line in lines)
    pad = 6 if inverted else 0
    image = Image.new("1", (min(width, text_width + 2 * pad), line_height * len(lines) + 2 * pad), 0 if inverted else 1)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        x = (image.width - font.getlength(line)) / 2
        draw.text((x, pad + i * line_height), line, font=font, fill=1 if inverted else 0)
    if inverted:
        return image
    # the font's line box keeps room for stacked tone marks; blank rows cost bytes on paper
    ink = ImageOps.invert(image.convert("L")).getbbox()
    return image.crop((0, max(0, ink[1] - 3), image.width, min(image.height, ink[3] + 3))) if ink else image


def _qr_image(url: str, box: int) -> Image.Image:
    # a fixed mask: choosing the "best" of eight took a third of the ticket's render time
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box, border=2, mask_pattern=2)
    code.add_data(url)
    return code.make_image().get_image().convert("1")


def _logo(path: str | None, width: int) -> Image.Image | None:
    if not path:
        return None
    with Image.open(path) as source:
        logo = source.convert("L")
    logo.thumbnail((width - 2 * MARGIN, 160))
    return logo.convert("1")


def _scaled(width: int):
    """Font sizes are chosen for 80 mm paper (576 dots); narrower paper gets proportionally smaller text."""
    return lambda size: max(14, round(size * min(1.0, width / 576)))


def eta_line(minutes: int, eta_range: list[int] | None, language: str = "vi") -> str:
    """The promised wait: "khoảng 10–20 phút", "khoảng 15 phút" (the formula's one value), or "called
    right away"."""
    low, high = eta_range or (minutes, minutes)
    if high <= 0:
        return translate("kiosk_eta_now", language)
    if low < high:
        return translate("kiosk_eta_range", language, low=low, high=high)
    return translate("kiosk_eta", language, n=minutes)


def _lines(content: TicketContent, width: int) -> dict[str, Image.Image | None]:
    """The Vietnamese text lines of the ticket, each a small image, in print order around the number."""
    size = _scaled(width)
    if content.eta_minutes is None:  # no open counter serves it when it was issued: no promise of "right away"
        wait = translate("ticket_no_counter_open")
    else:
        wait = eta_line(content.eta_minutes, content.eta_range)
    counters = ", ".join(str(number) for number in content.counters or ())
    return {
        "centre": _text_image(content.centre, size(24), width, bold=True),
        "label": _text_image(translate("ticket_label"), size(20), width),
        "priority": _text_image(
            translate("ticket_priority", name=content.priority), size(22), width, bold=True, inverted=True
        )
        if content.priority
        else None,
        "service": _text_image(content.service, size(28), width, bold=True),
        "service_en": _text_image(content.service_en, size(20), width) if content.service_en else None,
        "counters": _text_image(translate("ticket_counters", counters=counters), size(22), width, bold=True)
        if counters
        else None,
        "ahead": _text_image(translate("page_people_ahead", n=content.people_ahead), size(22), width),
        "wait": _text_image(wait, size(22), width),
        "scan": _text_image(translate("ticket_scan"), size(18), width),
        "footer": _text_image(content.footer, size(18), width) if content.footer else None,
    }


def _stack(parts: list[Image.Image | None], width: int, gap: int = 6) -> Image.Image:
    parts = [p for p in parts if p is not None]
    image = Image.new("1", (width, sum(p.height for p in parts) + gap * (len(parts) + 1)), 1)
    y = gap
    for part in parts:
        image.paste(part, ((width - part.width) // 2, y))
        y += part.height + gap
    return image


def _big_number(number: str, width: int) -> Image.Image:
    size = 150
    while _font(size, True).getlength(number) > width - 2 * MARGIN and size > 40:
        size -= 10
    return _text_image(number, size, width, bold=True)


def preview(content: TicketContent, width: int = 576) -> Image.Image:
    """The whole ticket as one picture: the ``image`` form's raster, and the PNG preview."""
    lines = _lines(content, width)
    stamp = _text_image(content.issued_at, _scaled(width)(20), width)
    return _stack(
        [
            _logo(content.logo, width),
            lines["centre"],
            lines["label"],
            _big_number(content.number, width),
            lines["priority"],
            lines["service"],
            lines["service_en"],
            lines["counters"],
            lines["ahead"],
            lines["wait"],
            _qr_image(content.tracking_url, 5),
            lines["scan"],
            stamp,
            lines["footer"],
        ],
        width,
    )


def native_digit_scale(number: str, width: int) -> int:
    """How much the printer enlarges its 12-dot-wide digits so the number fills the paper (1–8)."""
    return max(1, min(8, (width - 2 * MARGIN) // (12 * max(1, len(number)))))


def render(content: TicketContent, form: str = "compact", width: int = 576, profile: str = "TM-T20II") -> bytes:
    """The ESC/POS bytes that print ``content`` on paper ``width`` dots wide, then cut."""
    if form not in FORMS:
        raise ValueError(f"unknown ticket form {form!r} (known: {', '.join(FORMS)})")
    printer = Dummy(profile=profile)
    printer.hw("INIT")
    printer.set(align="center")
    if form == "image":
        printer.image(preview(content, width), impl="bitImageRaster")
    else:
        logo = _logo(content.logo, width)
        if logo is not None:
            printer.image(logo, impl="bitImageRaster")
        lines = _lines(content, width)
        for name in ("centre", "label"):
            printer.image(lines[name], impl="bitImageRaster")
        scale = native_digit_scale(content.number, width)
        printer.set(align="center", bold=True, custom_size=True, width=scale, height=scale)
        printer.text(content.number + "\n")
        printer.set(align="center", normal_textsize=True)
        for name in ("priority", "service", "service_en", "counters", "ahead", "wait"):
            if lines[name] is not None:
                printer.image(lines[name], impl="bitImageRaster")
        printer.qr(content.tracking_url, size=5, native=True, center=False)
        printer.image(lines["scan"], impl="bitImageRaster")
        printer.text(content.issued_at + "\n")  # digits and slashes: the printer's own font is fine
        if lines["footer"] is not None:
            printer.image(lines["footer"], impl="bitImageRaster")
    printer.cut()
    return printer.output
