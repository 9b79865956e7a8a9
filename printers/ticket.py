"""The printed ticket: what is on it (TicketContent), its look, and its ESC/POS bytes.

Vietnamese text is drawn with Pillow in a font that has every Vietnamese glyph (DejaVu Sans
Condensed: the letters of DejaVu Sans, a tenth narrower, so a line's raster costs a tenth less;
shipped in printers/fonts), because printers' code pages (TCVN-3, CP1258) mangle tone marks.
Two forms of the same layout:

- ``compact`` (the usual ticket, every driver's default): each Vietnamese line a small raster
  image, the big number in the printer's own enlarged digits, the QR code drawn by the
  printer (a raster where the printer profile has no native QR codes), an ASCII-only small line
  (the English service name) in the printer's own font. The rasters carry only the ink: each
  line is cut into bands whose width covers their ink, blank rows between them are a 1-byte-wide
  raster. The paper shows the same dots as one image per line would. About 4–12 KB: fine even
  on a 9600-baud serial printer.
- ``image``: the whole ticket as one raster image (the number in a large font, the QR code as
  pixels, the logo), for printers without native QR codes or when the look matters more than
  the size (about 40–60 KB: for network and USB printers).

``preview`` draws the ticket as a picture (the file driver saves it as PNG). The words are the
catalogs' (server/core/messages), in Vietnamese: the same "Số người đang chờ trước Ông/Bà" as the kiosk.
"""

from __future__ import annotations

from dataclasses import dataclass
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
INVERTED_PAD = 5  # black dots around the white letters of an inverted line (the priority band)


INVERT = bytes(b ^ 0xFF for b in range(256))  # Pillow's "1" mode: a set bit is white; ESC/POS: black
TEXT_SIZE = 22  # lines up to this font size may go to the printer's own font (12×24 dots) when ASCII
FONT_A = 12  # dots per character of the printer's font A
BAND_ROWS = 64  # the tallest raster band tried: a taller one saves at most its 8 bytes of command


@lru_cache(maxsize=32)
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(
        str(FONTS / ("DejaVuSansCondensed-Bold.ttf" if bold else "DejaVuSansCondensed.ttf")), size
    )


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Words laid into lines no wider than ``width`` dots (a too-long word gets a line of its own)."""
    words = text.split()
    if font.getlength(" ".join(words)) <= width:  # the usual line: one measure
        return [" ".join(words)]
    lines: list[str] = []
    for word in words:
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines or [""]


@lru_cache(maxsize=512)
def _text_image(text: str, size: int, width: int, bold: bool = False, inverted: bool = False) -> Image.Image:
    """Centred, wrapped text as a 1-bit image exactly as wide as its longest line.

    Cached: a kiosk prints the same centre, service, label and footer on every ticket, and the
    people-ahead and wait lines repeat over a day. Callers never draw on the image they get."""
    font = _font(size, bold)
    lines = _wrap(text, font, width - 2 * MARGIN)
    ascent, descent = font.getmetrics()
    line_height = ascent + descent + 2
    lengths = [font.getlength(line) for line in lines]
    text_width = max(int(length) for length in lengths)
    pad = INVERTED_PAD if inverted else 0
    image = Image.new("1", (min(width, text_width + 2 * pad), line_height * len(lines) + 2 * pad), 0 if inverted else 1)
    draw = ImageDraw.Draw(image)
    for i, (line, length) in enumerate(zip(lines, lengths)):
        x = (image.width - length) / 2
        draw.text((x, pad + i * line_height), line, font=font, fill=1 if inverted else 0)
    # the font's line box keeps room for stacked tone marks; blank rows (black ones in a band) cost bytes on paper
    if inverted:
        ink = image.getbbox()  # the white letters: black rows above and below them, as many as at their sides
        return image.crop((0, max(0, ink[1] - pad), image.width, min(image.height, ink[3] + pad))) if ink else image
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
    return _logo_image(path, Path(path).stat().st_mtime_ns, width)


@lru_cache(maxsize=8)
def _logo_image(path: str, mtime: int, width: int) -> Image.Image:
    """The logo scaled for the paper; read again when its file changes."""
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


def _line_specs(content: TicketContent, width: int) -> dict[str, tuple[str, int, bool, bool] | None]:
    """The text lines of the ticket, as (text, font size, bold, inverted), in print order around the number."""
    size = _scaled(width)
    if content.eta_minutes is None:  # no open counter serves it when it was issued: no promise of "right away"
        wait = translate("ticket_no_counter_open")
    else:
        wait = eta_line(content.eta_minutes, content.eta_range)
    counters = ", ".join(str(number) for number in content.counters or ())
    return {
        "centre": (content.centre, size(24), True, False),
        "label": (translate("ticket_label"), size(20), False, False),
        "priority": (translate("ticket_priority", name=content.priority), size(22), True, True)
        if content.priority
        else None,
        "service": (content.service, size(28), True, False),
        "service_en": (content.service_en, size(20), False, False) if content.service_en else None,
        "counters": (translate("ticket_counters", counters=counters), size(22), True, False) if counters else None,
        "ahead": (translate("page_people_ahead", n=content.people_ahead), size(22), False, False),
        "wait": (wait, size(22), False, False),
        "scan": (translate("ticket_scan"), size(18), False, False),
        "mark": (content.mark, size(18), True, False) if content.mark else None,
        "footer": (content.footer, size(18), False, False) if content.footer else None,
    }


def _lines(content: TicketContent, width: int) -> dict[str, Image.Image | None]:
    """The Vietnamese text lines of the ticket, each a small image, in print order around the number."""
    return {
        name: _text_image(text, size, width, bold, inverted) if spec else None
        for name, spec in _line_specs(content, width).items()
        for text, size, bold, inverted in [spec or ("", 0, False, False)]
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
            lines["mark"],
            lines["footer"],
        ],
        width,
    )


def native_digit_scale(number: str, width: int) -> int:
    """How much the printer enlarges its 12-dot-wide digits so the number fills the paper (1–8)."""
    return max(1, min(8, (width - 2 * MARGIN) // (12 * max(1, len(number)))))


def _raster_block(image: Image.Image) -> bytes:
    """GS v 0: ``image`` (1-bit, a width of whole bytes) as one raster block."""
    data = image.tobytes().translate(INVERT)
    width_bytes, height = image.width // 8, image.height
    return b"\x1dv0\x00" + bytes((width_bytes & 0xFF, width_bytes >> 8, height & 0xFF, height >> 8)) + data


def _blank(rows: int) -> bytes:
    """White paper ``rows`` dots high: a raster one byte wide (9 bytes + 1 a row, at the exact height)."""
    out = b""
    while rows > 0:
        step = min(rows, 960)
        out += b"\x1dv0\x00\x01\x00" + bytes((step & 0xFF, step >> 8)) + bytes(step)
        rows -= step
    return out


@dataclass(frozen=True)
class _Raster:
    """A picture as the printer gets it: blank rows above, the raster blocks of its ink, blank rows below."""

    top: int
    body: bytes
    bottom: int


def _ink_rows(canvas: Image.Image) -> list[tuple[int, int] | None]:
    """Each row's first and last black dot (None for a white row)."""
    row_bytes = canvas.width // 8
    data = canvas.tobytes().translate(INVERT)  # a set bit is black
    rows: list[tuple[int, int] | None] = []
    for y in range(canvas.height):
        row = data[y * row_bytes : (y + 1) * row_bytes]
        left = row.lstrip(b"\0")
        if not left:
            rows.append(None)
            continue
        first_byte = row_bytes - len(left)
        right = row.rstrip(b"\0")
        last_byte, last = len(right) - 1, right[-1]
        rows.append((8 * first_byte + 8 - left[0].bit_length(), 8 * last_byte + 8 - (last & -last).bit_length()))
    return rows


def _raster(image: Image.Image, width: int) -> _Raster:
    """``image`` centred on the paper as the printer centres a raster, sent as its ink only.

    The rows are cut into bands, each as wide as its ink needs (the printer centres each band
    again, so a band is symmetric about the paper's middle: the dots land where they would have
    in one block); a dynamic programme picks the cuts that cost the fewest bytes, counting 8
    bytes of command for each band.
    """
    middle = width // 2
    # the paper with 8 white dots either side (any paper width: a band never reaches past the canvas)
    canvas = Image.new("1", (-(-(2 * middle + 16) // 8) * 8, image.height), 1)
    padded = -(-image.width // 8) * 8  # the printer takes whole bytes: a raster's last byte is padded on the right
    canvas.paste(image, (8 + (width - padded) // 2, 0))
    middle += 8
    # each row's need: the half-width in bytes (4 dots) of the narrowest centred band holding its ink
    needs = [0 if row is None else -(-max(middle - row[0], row[1] + 1 - middle) // 4) for row in _ink_rows(canvas)]
    inked = [y for y, need in enumerate(needs) if need]
    if not inked:
        return _Raster(image.height, b"", 0)
    top, end = inked[0], inked[-1] + 1
    needs = needs[top:end]
    count = end - top
    cost = [0] * (count + 1)  # cost[j]: the fewest bytes for rows top .. top+j
    cut = [0] * (count + 1)
    for j in range(1, count + 1):
        best, where, need = 1 << 30, 0, 1
        for i in range(j - 1, max(-1, j - 1 - BAND_ROWS), -1):
            if needs[i] > need:
                need = needs[i]
            here = cost[i] + 8 + (j - i) * need
            if here < best:
                best, where = here, i
        cost[j], cut[j] = best, where
    blocks = []
    j = count
    while j > 0:
        i = cut[j]
        half = 4 * max(1, *needs[i:j])
        blocks.append(_raster_block(canvas.crop((middle - half, top + i, middle + half, top + j))))
        j = i
    return _Raster(top, b"".join(reversed(blocks)), image.height - end)


@lru_cache(maxsize=8)
def _logo_raster(path: str, mtime: int, width: int) -> _Raster:
    return _raster(_logo_image(path, mtime, width), width)


@lru_cache(maxsize=512)
def _line_raster(text: str, size: int, width: int, bold: bool, inverted: bool) -> _Raster:
    return _raster(_text_image(text, size, width, bold, inverted), width)


def _printer_text(text: str, width: int, bold: bool) -> bytes:
    """An ASCII line in the printer's own font A, wrapped at words to the paper's columns."""
    columns = max(1, width // FONT_A)
    lines: list[str] = []
    for word in text.split():
        while len(word) > columns:
            lines.append(word[:columns])
            word = word[columns:]
        if lines and len(lines[-1]) + 1 + len(word) <= columns:
            lines[-1] += " " + word
        else:
            lines.append(word)
    body = "\n".join(lines).encode("ascii") + b"\n"
    return b"\x1bE\x01" + body + b"\x1bE\x00" if bold else body


def _is_printer_text(spec: tuple[str, int, bool, bool]) -> bool:
    text, size, _bold, inverted = spec
    return text.isascii() and text.isprintable() and size <= TEXT_SIZE and not inverted and bool(text.strip())


class _Compact:
    """The compact form's bytes: python-escpos's commands, and runs of rasters joined at their blank rows."""

    def __init__(self, profile: str, width: int):
        self.printer = Dummy(profile=profile)
        self.width = width
        self.out = bytearray()
        self.blank = 0  # white rows owed before whatever prints next

    def escpos(self):
        """python-escpos's printer, its bytes to follow what went before."""
        self._flush_blank()
        return self.printer

    def _take(self) -> None:
        self.out += self.printer.output
        self.printer.clear()

    def _flush_blank(self) -> None:
        self._take()
        self.out += _blank(self.blank)
        self.blank = 0

    def raster(self, raster: _Raster) -> None:
        self._take()
        self.blank += raster.top
        if raster.body:
            self.out += _blank(self.blank) + raster.body
            self.blank = 0
        self.blank += raster.bottom

    def image(self, image: Image.Image | None) -> None:
        if image is not None:
            self.raster(_raster(image, self.width))

    def logo(self, path: str | None) -> None:
        if path:
            self.raster(_logo_raster(path, Path(path).stat().st_mtime_ns, self.width))

    def line(self, spec: tuple[str, int, bool, bool] | None) -> None:
        if spec is None:
            return
        if _is_printer_text(spec):
            self._flush_blank()
            self.out += _printer_text(spec[0], self.width, spec[2])
        else:
            self.raster(_line_raster(spec[0], spec[1], self.width, spec[2], spec[3]))

    def bytes(self) -> bytes:
        self._flush_blank()
        return bytes(self.out)


def render(content: TicketContent, form: str = "compact", width: int = 576, profile: str = "TM-T20II") -> bytes:
    """The ESC/POS bytes that print ``content`` on paper ``width`` dots wide, then cut."""
    if form not in FORMS:
        raise ValueError(f"unknown ticket form {form!r} (known: {', '.join(FORMS)})")
    if form == "image":
        printer = Dummy(profile=profile)
        printer.hw("INIT")
        printer.set(align="center")
        printer.image(preview(content, width), impl="bitImageRaster")
        printer.cut()
        return printer.output
    ticket = _Compact(profile, width)
    printer = ticket.escpos()
    printer.hw("INIT")
    printer.set(align="center")
    ticket.logo(content.logo)
    lines = _line_specs(content, width)
    for name in ("centre", "label"):
        ticket.line(lines[name])
    scale = native_digit_scale(content.number, width)
    printer = ticket.escpos()
    printer.set(align="center", bold=True, custom_size=True, width=scale, height=scale)
    printer.text(content.number + "\n")
    printer.set(align="center", normal_textsize=True)
    for name in ("priority", "service", "service_en", "counters", "ahead", "wait"):
        ticket.line(lines[name])
    if printer.profile.supports("qrCode"):
        ticket.escpos().qr(content.tracking_url, size=5, native=True, center=False)
    else:  # the printer cannot draw QR codes (its profile says so): the same code as pixels
        ticket.image(_qr_image(content.tracking_url, 5))
    ticket.line(lines["scan"])
    ticket.escpos().text(content.issued_at + "\n")  # digits and slashes: the printer's own font is fine
    ticket.line(lines["mark"])
    ticket.line(lines["footer"])
    ticket.escpos().cut()
    return ticket.bytes()
