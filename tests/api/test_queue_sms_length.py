"""The queue's SMS ("còn N số nữa đến lượt Ông/Bà", "Mời Ông/Bà đến quầy N") of a site with a long
Vietnamese official name: the real server sends the fake SMS gateway a text of two parts at most (UCS-2:
134 units), with the number, the counter and the rest of the sentence whole, and as much of the site's name
as fits, cut at a word ("..."). A gateway that sends without diacritics (``no_diacritics``: GSM 7-bit, 306
septets in two parts) gets the whole name: the text is measured as it goes."""

from __future__ import annotations

import pytest
from api_helpers import issue
from notify_helpers import TOKENS, call_next, opt_in, outside_servers, sms_texts
from sms_parts_helpers import sms_parts

from queuekiosk.server.core.notification_channels import plain

# 113 characters, within the 120 a site's name may have (config_schema.SITE_NAME_MAX)
SITE = (
    "Bộ phận Tiếp nhận và Trả kết quả giải quyết thủ tục hành chính - Trung tâm Phục vụ hành chính công phường Phúc La"
)
NEAR = {
    "vi": "còn 1 số nữa đến lượt Ông/Bà (số {number}). Mời Ông/Bà quay lại khu vực chờ.",
    "en": "1 more number before your turn (number {number}). Please come back to the waiting area.",
}
CALLED = {"vi": "Mời Ông/Bà đến quầy 1 (số {number}).", "en": "Please go to counter 1 (number {number})."}


@pytest.fixture
def outside():
    yield from outside_servers()


def told(live_server, config_variant, outside, language: str, no_diacritics: bool = False) -> tuple[list[str], str]:
    """The SMS texts a citizen of the long-named site gets: one ahead, then called at counter 1; and their number."""
    sms, _zalo, _smtp, settings = outside
    config = config_variant()
    config["site"]["name"] = SITE
    config["notifications"] = {
        "ahead": 1,
        "channels": ["sms"],
        "sms": {**settings["sms"], "no_diacritics": no_diacritics},
    }
    srv = live_server(config, env={**TOKENS, "QUEUEKIOSK_DELIVERY_POLL_SECONDS": "0.2"})
    issue(srv.session(), "HT")
    mine = issue(srv.session(), "HT")
    opt_in(srv, mine, "sms", "0912345678", language)  # one ahead: told at once
    sms.wait_for(1)
    call_next(srv)
    call_next(srv)  # called at counter 1
    sms.wait_for(2)
    return sms_texts(sms), mine["number"]


@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_long_site_name_is_cut_at_a_word_so_the_sms_keeps_two_parts_and_its_number(
    live_server, config_variant, outside, language
):
    texts, number = told(live_server, config_variant, outside, language)
    for text, body in zip(texts, (NEAR[language], CALLED[language]), strict=True):
        body = body.format(number=number)
        assert sms_parts(text) <= 2, (len(text), text)
        head, _, rest = text.partition("...: ")
        assert rest == body and SITE.startswith(head + " "), text  # the sentence whole, the name cut at a word
        one_word_more = SITE[: SITE.find(" ", len(head) + 1)]
        assert sms_parts(f"{one_word_more}...: {body}") > 2, text  # as much of the name as fits


def test_a_gateway_without_diacritics_gets_the_whole_name(live_server, config_variant, outside):
    """192 septets: two plain parts hold it, as two UCS-2 parts would not."""
    texts, number = told(live_server, config_variant, outside, "vi", no_diacritics=True)
    bodies = (NEAR["vi"], CALLED["vi"])
    assert texts == [plain(f"{SITE}: {body.format(number=number)}") for body in bodies]
    assert sms_parts(texts[0]) == 2 and sms_parts(f"{SITE}: {bodies[0].format(number=number)}") == 3
