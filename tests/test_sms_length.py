"""The SMS length rule every SMS the server sends is held to (server/core/sms_length.py): two parts at most,
measured one unit under and over each limit against the tests' own count (sms_parts_helpers.py); and the
queue's "near"/"called" SMS (notifications.message, then the text the gateway picks) for any site name: two
parts at most, the sentence with the number and the counter whole, the name whole while it fits, else cut at a
word, else (only when even its first word is too long) left out, the SMS then beginning with a capital."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sms_parts_helpers import GSM_ONE_SEPTET, sms_parts

from queuekiosk.server.core.notification_channels import plain, sms_text
from queuekiosk.server.core.notifications import message
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
    return sms_text(message(f"{kind}:X", {**PARAMS[kind], "site": site}, language), no_diacritics)


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


LETTERS = "aăâbcdđeêghiklmnoôơpqrstuưvxyàảãáạằẳẵắặầẩẫấậềểễếệìỉĩíịồổỗốộờởỡớợừửữứựỳỷỹýỵ"
# names of up to 120 characters in words, short ones and some too long for an SMS alone: kept whole, cut, left out
words = st.text(alphabet=LETTERS + ",-", min_size=1, max_size=10) | st.text(alphabet=LETTERS, min_size=40, max_size=110)
names = st.lists(words, min_size=1, max_size=30).map(lambda words: " ".join(words)[:120].strip())


@given(name=names.filter(bool), kind=st.sampled_from(["near", "called"]), vi=st.booleans())
def test_any_site_name_makes_an_sms_of_two_parts_that_keeps_the_number_and_counter(name, kind, vi):
    language = "vi" if vi else "en"
    sentence = SENTENCE[kind, language]
    text = sent(kind, language, name)
    assert sms_parts(text) <= 2, text
    heads = [name[:i].rstrip(" ,-") for i, c in enumerate(name) if c == " "]  # where a name of words may be cut

    def too_long(head: str) -> bool:
        return sms_parts(f"{head}...: {sentence}") > 2

    if sms_parts(f"{name}: {sentence}") <= 2:
        assert text == f"{name}: {sentence}"
    elif text == sentence[0].upper() + sentence[1:]:  # the name left out: only when even its first word is too long
        assert " " in name and all(too_long(head) for head in heads if head), text
    else:  # the name cut (at a word, when it has one), as long as fits
        head = text.removesuffix(f"...: {sentence}")
        assert head != text and name.startswith(head) and head.rstrip(" ,-") == head, text
        assert " " not in name or name[len(head)] in " ,-", text
        assert all(too_long(longer) for longer in heads if len(longer) > len(head)), text


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("kind", ["near", "called"])
def test_a_name_whose_first_word_is_too_long_is_left_out_and_the_sms_begins_with_a_capital(kind, language):
    """A made-up name of 114 characters, its first word 106: "Còn 2 số nữa đến lượt Ông/Bà ...", not "còn"."""
    sentence = SENTENCE[kind, language]
    text = sent(kind, language, "Phường" + "A" * 100 + " Phúc La")
    assert text == sentence[0].upper() + sentence[1:], text


def test_a_plain_text_is_measured_in_septets():
    """An English sentence with a plain site name: GSM 7-bit, so a name of 199 characters fits whole."""
    name = "Phuc La " * 25
    assert set(name) <= GSM_ONE_SEPTET
    assert sent("called", "en", name.strip()) == f"{name.strip()}: {SENTENCE['called', 'en']}"
