"""The printed ticket, decoded back from its ESC/POS bytes: what a citizen holds in the hand."""

from __future__ import annotations

from dataclasses import replace

import pytest
import zxingcpp
from PIL import Image, ImageChops
from printer_sim import decode

from queuekiosk.printers.ticket import TicketContent, _lines, native_digit_scale, preview, render

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
LONG = replace(
    TICKET,
    priority="Người có công với cách mạng",
    service="Lao động - Thương binh và Xã hội: trợ cấp xã hội hằng tháng",
    service_en="Labour - Invalids and Social affairs: monthly social allowance",
    counters=[1, 2],
    footer="Sự hài lòng của người dân là thước đo chất lượng phục vụ của cơ quan hành chính nhà nước",
)
# the compact form's runs of pictures between what the printer writes itself (the number, the
# English service name, the QR code, the time): each a list of the ticket's lines
RUNS = [["centre", "label"], ["priority", "service"], ["counters", "ahead", "wait"], ["scan"], ["mark", "footer"]]


def one_image_per_line(content: TicketContent, width: int, runs=RUNS, logo=None) -> list[Image.Image]:
    """The runs as they came out when each line was one raster block (the renderer before issue 21):
    each line's picture padded to whole bytes on its right and centred on the paper, one under the other."""
    lines = _lines(content, width)
    sheets = []
    for names in runs:
        images = ([logo] if logo is not None and names is runs[0] else []) + [lines[name] for name in names]
        images = [image for image in images if image is not None]
        sheet = Image.new("L", (width, sum(image.height for image in images)), 255)
        y = 0
        for image in images:
            sheet.paste(image.convert("L"), ((width - -(-image.width // 8) * 8) // 2, y))
            y += image.height
        sheets.append(sheet)
    return sheets


def same_picture(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and ImageChops.difference(a, b).getbbox() is None


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
    assert paper.text.split("\n")[:3] == ["1001", "Justice - Civil status", "08:15  21/11/2026"]
    assert all(image.width <= width for image in paper.images)
    assert len(data) <= 8 * 1024, len(data)  # issue 21: the usual ticket, at most 8 KB


@pytest.mark.parametrize(("content", "width"), [(TICKET, 576), (TICKET, 384), (LONG, 576), (LONG, 384)])
def test_the_compact_form_puts_the_same_dots_on_paper_as_one_image_per_line(content, width):
    """The rasters carry only their ink, in bands as wide as the ink needs: what comes out of the
    printer is, dot for dot, each line's picture centred on the paper as before."""
    paper = decode(render(content, "compact", width))
    assert [len(sheet.tobytes()) for sheet in paper.sheets(width)] == [
        len(sheet.tobytes()) for sheet in one_image_per_line(content, width)
    ]
    for printed, expected in zip(paper.sheets(width), one_image_per_line(content, width)):
        assert same_picture(printed, expected)
    # and it does not get there by sending white: blank rows go as a strip one byte wide, or with
    # ink in a block only where that costs less than a strip's 8 bytes of command
    for image in paper.images:
        ink = ImageChops.invert(image).getbbox()
        if ink is None:
            assert image.width == 8
        else:
            assert (ink[1] + image.height - ink[3]) * (image.width // 8 - 1) <= 8


def test_a_booking_mark_is_its_own_line_above_the_centres_footer():
    """A checked-in remote number's (or booking's) mark, then the footer as the centre wrote it: two
    lines, not one sentence."""
    marked = replace(TICKET, mark="Số lấy từ xa — đã xác nhận có mặt")
    for width in (576, 384):
        paper = decode(render(marked, "compact", width))
        expected = one_image_per_line(marked, width, runs=[["mark", "footer"]])[0]
        assert same_picture(paper.sheets(width)[-1], expected)
        assert same_picture(_lines(marked, width)["footer"], _lines(TICKET, width)["footer"])
    assert preview(marked).height > preview(TICKET).height


def test_the_long_ticket_is_a_third_smaller_than_one_image_per_line():
    data = render(LONG, "compact")
    one_block_each = sum(8 + -(-image.width // 8) * image.height for image in _lines(LONG, 576).values() if image)
    assert len(data) < 0.7 * one_block_each, (len(data), one_block_each)
    # issue 21: the long ticket (bench/bench_ticket.py's: a priority class, a service name and a
    # footer over two lines each) at most 12 KB; this one's counters line adds 0.6 KB
    assert len(render(replace(LONG, counters=None), "compact")) <= 12 * 1024


def test_an_english_line_is_printed_by_the_printer_wrapped_at_words():
    paper = decode(render(LONG, "compact", 384))  # 32 columns of the printer's font A
    english = paper.text.split("\n")[1:4]
    assert english == ["Labour - Invalids and Social", "affairs: monthly social", "allowance"]
    assert "Lao" not in paper.text  # the Vietnamese name stays pixels


def test_a_printer_without_native_qr_codes_gets_the_code_as_pixels():
    """TH230's profile has no QR command: the code is a raster, readable, where the native one was."""
    data = render(TICKET, "compact", 576, profile="TH230")
    paper = decode(data)
    assert paper.qr_codes == []
    kinds = [kind for kind, _ in paper.items]
    assert kinds.count("text") == 3  # the number, the English name, the time: the QR code sits before the time
    sheets = paper.sheets(576)
    qr_sheet = next(sheet for sheet in sheets if zxingcpp.read_barcodes(sheet))
    assert [code.text for code in zxingcpp.read_barcodes(qr_sheet)] == [TICKET.tracking_url]
    assert sheets.index(qr_sheet) == 2  # after people ahead and the wait, with the scan line under it
    assert len(data) <= 12 * 1024, len(data)
    assert decode(render(TICKET, "compact", 576, profile="TM-T88V")).qr_codes == [TICKET.tracking_url]


def test_vietnamese_lines_are_drawn_not_sent_as_text():
    """Tone marks are pixels: the service name is an image, and a different name is a different image."""
    one = decode(render(TICKET, "compact"))
    other = decode(render(replace(TICKET, service="Tư pháp - Hô tich"), "compact"))  # tone marks dropped
    assert "Tư" not in one.text and "?" not in one.text
    differing = [i for i, (a, b) in enumerate(zip(one.sheets(576), other.sheets(576))) if not same_picture(a, b)]
    assert differing == [1]  # only the service line changed, and the marks are visible in it


def test_a_long_service_name_wraps_inside_the_paper():
    long_name = "Lao động - Thương binh và Xã hội: trợ cấp xã hội hằng tháng cho người cao tuổi và người khuyết tật"
    for form in ("compact", "image"):
        paper = decode(render(replace(TICKET, service=long_name), form, 384))
        assert all(image.width <= 384 for image in paper.images)
    short = decode(render(TICKET, "compact", 384)).images
    wrapped = decode(render(replace(TICKET, service=long_name), "compact", 384)).images
    # three lines, not clipped: two more than the short name's one (about 25 rows each at this size)
    assert sum(i.height for i in wrapped) > sum(i.height for i in short) + 45


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
    content = replace(TICKET, logo=str(tmp_path / "logo.png"))
    top = decode(render(content, "compact")).sheets(576)[0]
    square = Image.new("1", (160, 160), 0)  # scaled down, still black
    assert same_picture(top, one_image_per_line(content, 576, logo=square)[0])
    assert top.crop(((576 - 160) // 2, 0, (576 + 160) // 2, 160)).getextrema() == (0, 0)


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
        without = render(TICKET, form)
        one_block = 8 + -(-expected.width // 8) * expected.height
        assert len(data) - len(without) < one_block  # the line costs its ink, no more
        sheet = paper.sheets(576)[2]  # the counters, people ahead and the wait
        top = sheet.crop((0, 0, 576, expected.height))
        assert same_picture(top, one_image_per_line(with_counters, 576, runs=[["counters"]])[0]), (
            "the line 'Quầy phục vụ: 1, 2' is on the paper"
        )
        assert sheet.height == decode(render(TICKET, form)).sheets(576)[2].height + expected.height
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


def test_a_walk_in_job_is_what_an_older_agent_knows_and_a_newer_servers_job_still_prints():
    """A kiosk agent and its server are upgraded apart: a walk-in's job carries no ``mark`` (an agent older
    than the mark refuses that key), and a key this agent does not know is left out, not refused."""
    assert "mark" not in TICKET.to_json()
    booked = replace(TICKET, mark="Số lấy từ xa — đã xác nhận có mặt")
    assert booked.to_json()["mark"] == booked.mark
    assert TicketContent.from_json({**booked.to_json(), "later_field": 1}) == booked
