"""The SMS telling a citizen that the centre cancelled their booking (cancel_notices.message, the text
the SMS gateway is sent) fits two SMS parts for the longest realistic values, in each language and for
each reason: the booking's 8-character code, a slot's time, and a province's booking page under a
site's path. A text with any Vietnamese letter goes as UCS-2 (70 characters alone, 67 a part when
split: two parts hold 134); a plain English one as GSM 7-bit (160, then 153 a part). The text keeps the
day, the time, the code, the reason and the link to book again.
"""

from __future__ import annotations

import math

import pytest

from queuekiosk.server.core.bookings.views import CODE_LENGTH
from queuekiosk.server.core.cancel_notices import message

# GSM 03.38's basic characters (one septet each); anything else makes the SMS UCS-2
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
CODE = "W" * CODE_LENGTH
LINK = "https://dichvucong.hanoi.gov.vn/s/phuong-hoan-kiem/book"  # 55 characters
MOVED_TO = "UBND phường Hoàn Kiếm"  # a merged site's name, as a site's names run (21)
SITE = "Trung tâm Phục vụ hành chính công phường Hoàn Kiếm"  # the cancelling site's long official name


def sms_parts(text: str) -> int:
    """How many SMS parts ``text`` is sent as."""
    if set(text) <= GSM_BASIC:
        return 1 if len(text) <= 160 else math.ceil(len(text) / 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("reason", ["closed_day", "hours_changed", "site_retired"])
@pytest.mark.parametrize("start", ["16:45", None], ids=["slot", "remote"])
def test_a_cancel_sms_fits_two_parts(language, reason, start):
    params = {"site": SITE, "date": "31/12", "start": start, "code": CODE, "reason": reason}
    text = message(params, language, LINK).text
    assert sms_parts(text) <= 2, (len(text), text)
    assert CODE in text and "31/12" in text and text.endswith(LINK), text
    assert (start or "") in text, text


@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_retired_sites_cancel_sms_names_where_to_book_and_fits_two_parts(language):
    params = {"site": SITE, "date": "31/12", "start": "16:45", "code": CODE, "reason": "site_retired"}
    text = message(params, language, LINK, moved_to=MOVED_TO).text
    assert sms_parts(text) <= 2, (len(text), text)
    assert all(value in text for value in (CODE, "31/12", "16:45", MOVED_TO)) and text.endswith(LINK), text
