"""The printed ticket, decoded back from its ESC/POS bytes: what a citizen holds in the hand."""

from __future__ import annotations

from dataclasses import replace

import pytest
import zxingcpp
from PIL import Image, ImageChops
from printer_sim import decode

from queuekiosk.printers.ticket import TicketContent, native_digit_scale, preview, render

TICKET = TicketContent(
    centre="UBND phường Phúc La - Bộ phận Một cửa",
    number="1001",
    service="Tư pháp - Hộ tịch",
    service_en="Justice - Civil status",
    issued_at="08:15  21/11/2026",
    people_ahead=3,
    eta_minutes=12,
    tracking_url="http://192.168.1.10:8000/t/AbCdEfGhIjKl",
    footer="Sự hài lòng của người dân là thước đo chất lượng phục vụ",
)


@pytest.mark.parametrize("width", [576, 384])  # 80 mm and 58 mm paper
def test_the_image_form_is_one_picture_as_wide_as_the_paper_with_a_readable_qr_code(width):
    paper = decode(render(TICKET, "image", width))
    assert paper.cut and paper.text == "" and paper.qr_codes == []
    sheet = paper.whole_image()
    assert sheet.width == width
    assert [code.text for code in zxingcpp.read_barcodes(sheet)] == [TICKET.tracking_url]


@pytest.mark.parametrize("width", [576, 384])
def test_the_compact_form_sends_digits_and_qr_code_natively_and_stays_small(width):
    data = render(TICKET, "compact", width)
    paper = decode(data)
    assert paper.cut
    assert paper.qr_codes == [TICKET.tracking_url]
    assert paper.text.split("\n")[:2] == ["1001", "08:15  21/11/2026"]
    assert all(image.width <= width for image in paper.images)
    assert len(data) <= 12 * 1024, len(data)  # SPEC: the usual ticket, at most 12 KB


def test_vietnamese_lines_are_drawn_not_sent_as_text():
    """Tone marks are pixels: the service name is an image, and a different name is a different image."""
    one = decode(render(TICKET, "compact"))
    other = decode(render(replace(TICKET, service="Tư pháp - Hô tich"), "compact"))  # tone marks dropped
    assert "Tư" not in one.text and "?" not in one.text
    differing = [
        a for a, b in zip(one.images, other.images) if a.size != b.size or ImageChops.difference(a, b).getbbox()
    ]
    assert len(differing) == 1  # only the service line changed, and the marks are visible in it


def test_a_long_service_name_wraps_inside_the_paper():
    long_name = "Lao động - Thương binh và Xã hội: trợ cấp xã hội hằng tháng cho người cao tuổi và người khuyết tật"
    for form in ("compact", "image"):
        paper = decode(render(replace(TICKET, service=long_name), form, 384))
        assert all(image.width <= 384 for image in paper.images)
    short = decode(render(TICKET, "compact", 384)).images
    wrapped = decode(render(replace(TICKET, service=long_name), "compact", 384)).images
    assert sum(i.height for i in wrapped) > sum(i.height for i in short) + 60  # several lines, not clipped


def test_no_open_counter_is_not_printed_as_called_right_away():
    """eta None: no open counter served the service when the ticket was issued; eta 0: nobody ahead."""
    unknown = preview(replace(TICKET, people_ahead=0, eta_minutes=None))
    now = preview(replace(TICKET, people_ahead=0, eta_minutes=0))
    assert unknown.tobytes() != now.tobytes(), "the ticket promised a call right away with no counter open"


def test_priority_mark_and_missing_estimate():
    plain = preview(replace(TICKET, eta_minutes=None))
    marked = preview(replace(TICKET, priority="Người cao tuổi"))
    assert marked.height > plain.height  # the priority band is an extra line
    assert native_digit_scale("1001", 576) == 8 and native_digit_scale("100001", 384) < 8


def test_a_logo_is_printed_at_the_top(tmp_path):
    logo = Image.new("L", (400, 400), 0)  # a black square
    logo.save(tmp_path / "logo.png")
    paper = decode(render(replace(TICKET, logo=str(tmp_path / "logo.png")), "compact"))
    first = paper.images[0]
    assert first.height == 160 and first.getpixel((first.width // 2, 80)) == 0  # scaled down, still black


def test_an_unknown_form_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown ticket form 'fancy'"):
        render(TICKET, "fancy")


def _line(text: str, size: int = 22) -> Image.Image:
    """``text`` drawn as the ticket draws its bold lines (the reference to look for on the paper)."""
    from queuekiosk.printers.ticket import _text_image

    return _text_image(text, size, 576, bold=True)


@pytest.mark.parametrize("form", ["compact", "image"])
def test_the_counters_that_serve_the_service_are_printed_and_the_ticket_stays_small(form):
    with_counters = replace(TICKET, counters=[1, 2])
    data = render(with_counters, form)
    paper = decode(data)
    expected = _line("Quầy phục vụ: 1, 2").convert("L")  # as the paper decodes it
    if form == "compact":
        assert len(data) <= 12 * 1024, len(data)  # still the usual ticket's size
        assert any(
            image.size == expected.size and not ImageChops.difference(image, expected).getbbox()
            for image in paper.images
        ), "the line 'Quầy phục vụ: 1, 2' is on the paper"
        assert len(paper.images) == len(decode(render(TICKET, form)).images) + 1
    else:
        assert paper.whole_image().height > decode(render(TICKET, form)).whole_image().height + expected.height


def test_the_ticket_job_names_the_counters_of_its_service_and_citizens_are_ong_ba():
    """ticket_content, as the server builds a job: the demo's HT is served at counters 1 and 2, CT at 2, 3 and 6."""
    from pathlib import Path
    from types import SimpleNamespace

    from queuekiosk.printers.jobs import ticket_content
    from queuekiosk.printers.ticket import _lines
    from queuekiosk.server.core.config import load_config

    repo = Path(__file__).resolve().parents[1]
    site = SimpleNamespace(config=load_config(repo / "config.yaml"))
    ticket = {
        "service": "CT",
        "priority": None,
        "display": "2001",
        "issued_at": "2026-11-21T01:15:00Z",
        "waiting_ahead": 0,
        "eta_minutes": None,
    }
    content = ticket_content(site, ticket, "http://192.168.1.10:8000/t/x", repo)
    assert content.counters == [2, 3, 6]
    assert content.from_json(content.to_json()) == content  # a stored job prints the same
    lines = _lines(content, 576)
    assert not ImageChops.difference(lines["counters"], _line("Quầy phục vụ: 2, 3, 6")).getbbox()
    ahead = _lines(content, 576)["ahead"]
    from queuekiosk.printers.ticket import _text_image

    assert not ImageChops.difference(ahead, _text_image("Số người đang chờ trước Ông/Bà: 0", 22, 576)).getbbox()
