"""The SMS length rule every SMS the server sends is held to (server/core/sms_length.py): two parts at most,
measured one unit under and over each limit against the tests' own count (sms_parts_helpers.py); and the
queue's "near"/"called" SMS (notifications.message, then the text the gateway picks) for any site name: two
parts at most, the sentence with the number and the counter whole, the name whole while it fits, else cut at a
word, else left out."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sms_parts_helpers import GSM_ONE_SEPTET, as_sent, sms_parts

from queuekiosk.server.core.notifications import message, plain
from queuekiosk.server.core.sms_length import fits_two_parts

BOUNDARIES = [  # (text, two parts at most)
    ("A" * 306, True),  # GSM 7-bit: 153 septets a part
    ("A" * 307, False),
    ("A" * 304 + "{", True),  # an extension character: two septets
    ("A" * 305 + "{", False),
    ("A" * 151 + "{" + "A" * 153, True),  # the escape ends the first part: 153 | 153
    ("A" * 152 + "{" + "A" * 152, False),  # 306 septets, but an escape is never split from its character: 152 | 154
    ("ư" * 134, True),  # UCS-2: 67 units a part
    ("ư" * 135, False),
    ("A" * 133 + "ư", True),  # one Vietnamese letter makes the whole text UCS-2
    ("A" * 134 + "ư", False),
    ("A" * 133 + "`", True),  # the backtick is not in GSM 03.38
    ("A" * 134 + "`", False),
    ("A" * 133 + "é", True),  # é is in GSM 03.38, but Vietnamese gateways send any non-ASCII text as UCS-2
    ("A" * 132 + "😀", True),  # outside the BMP: two UTF-16 units
    ("A" * 133 + "😀", False),
]


@pytest.mark.parametrize(("text", "fits"), BOUNDARIES, ids=range(len(BOUNDARIES)))
def test_two_parts_hold_306_septets_or_134_utf16_units_to_the_unit(text, fits):
    assert fits_two_parts(text) is fits
    if "{" not in text:  # (the helper's count cannot see where an escape falls)
        assert (sms_parts(text) <= 2) is fits


NUMBER = "1002"
SENTENCE = {
    ("near", "vi"): f"còn 2 số nữa đến lượt Ông/Bà (số {NUMBER}). Mời Ông/Bà quay lại khu vực chờ.",
    ("called", "vi"): f"Mời Ông/Bà đến quầy 12 (số {NUMBER}).",
    ("near", "en"): f"2 more numbers before your turn (number {NUMBER}). Please come back to the waiting area.",
    ("called", "en"): f"Please go to counter 12 (number {NUMBER}).",
}
PARAMS = {"near": {"number": NUMBER, "ahead": 2}, "called": {"number": NUMBER, "counter": 12}}


def sent(kind: str, language: str, site: str, no_diacritics: bool = False) -> str:
    """The text the SMS gateway is sent."""
    return as_sent(message(f"{kind}:X", {**PARAMS[kind], "site": site}, language), no_diacritics)


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("kind", ["near", "called"])
def test_a_site_name_is_kept_whole_to_the_last_unit_that_fits(kind, language):
    """A Vietnamese name making the text exactly 134 UTF-16 units is kept; one letter more, it is cut."""
    sentence = SENTENCE[kind, language]
    room = 134 - len(": " + sentence)
    name = "Phường " + "A" * (room - len("Phường "))
    assert sent(kind, language, name) == f"{name}: {sentence}"
    assert sent(kind, language, name + "B") == f"Phường...: {sentence}"
    assert sent(kind, language, name + "B", no_diacritics=True) == plain(f"{name}B: {sentence}")


names = st.text(alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậềểễếệìỉĩíịồổỗốộờởỡớợừửữứựỳỷỹýỵ ,-", max_size=120)


@given(name=names.map(str.strip).filter(bool), kind=st.sampled_from(["near", "called"]), vi=st.booleans())
def test_any_site_name_makes_an_sms_of_two_parts_that_keeps_the_number_and_counter(name, kind, vi):
    language = "vi" if vi else "en"
    sentence = SENTENCE[kind, language]
    text = sent(kind, language, name)
    assert sms_parts(text) <= 2, text
    whole = f"{name}: {sentence}"
    if sms_parts(whole) <= 2:
        assert text == whole
    elif text != sentence:  # the name cut (at a word, when it has one), or else left out
        head = text.removesuffix(f"...: {sentence}")
        assert head != text and name.startswith(head) and head.rstrip(" ,-") == head, text
        assert " " not in name.strip() or name[len(head)] in " ,-", text


def test_a_plain_text_is_measured_in_septets():
    """An English sentence with a plain site name: GSM 7-bit, so a name of 199 characters fits whole."""
    name = "Phuc La " * 25
    assert set(name) <= GSM_ONE_SEPTET
    assert sent("called", "en", name.strip()) == f"{name.strip()}: {SENTENCE['called', 'en']}"
