"""The SMS telling a citizen that the centre cancelled their booking (cancel_notices.message, the form of
it the SMS gateway is sent: notification_channels.sms_text) fits two SMS parts for the longest realistic values, in
each language and for each reason: the booking's 8-character code, a slot's time, a province's booking page
under a site's path, and a retired site's successor with a long official name (named only if it fits, else "the new
site" with its booking page). A text with any character not plain ASCII (a Vietnamese letter) goes as UCS-2
(70 characters alone, 67 a part when split: two parts hold 134); a plain ASCII one as GSM 7-bit (160, then 153 a
part: two hold 306, so a successor with a long plain name is still named in English), as does any text the SMS
gateway sends without diacritics. The text keeps the day, the time, the code, the reason and the link to book again.
"""

from __future__ import annotations

import pytest
from sms_parts_helpers import GSM_ONE_SEPTET, GSM_TWO_SEPTETS, sms_parts

from queuekiosk.server.core.bookings.views import CODE_LENGTH
from queuekiosk.server.core.cancel_notices import message
from queuekiosk.server.core.notification_channels import plain, sms_text

CODE = "W" * CODE_LENGTH
LINK = "https://dichvucong.hanoi.gov.vn/s/phuong-hoan-kiem/book"  # 55 characters
MOVED_TO = "UBND phường Hoàn Kiếm"  # a merged site's short name (21)
SITE = "Trung tâm Phục vụ hành chính công phường Hoàn Kiếm"  # the cancelling site's long official name (50)
LONG_NAMES = [  # successors' official names as the docs and tests write them (37, 50, 60)
    "UBND phường Phúc La - Bộ phận Một cửa",
    SITE,
    "Bộ phận Tiếp nhận và Trả kết quả UBND phường Phúc La, Hà Đông",
]
WHEN = {("vi", "16:45"): "16:45 ngày 31/12", ("vi", None): "ngày 31/12", ("en", "16:45"): "at 16:45 on 31/12"}
WHEN[("en", None)] = "on 31/12"


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("reason", ["closed_day", "hours_changed", "site_retired"])
@pytest.mark.parametrize("start", ["16:45", None], ids=["slot", "remote"])
def test_a_cancel_sms_fits_two_parts(language, reason, start):
    params = {"site": SITE, "date": "31/12", "start": start, "code": CODE, "reason": reason}
    text = sms_text(message(params, language, LINK))
    assert sms_parts(text) <= 2, (len(text), text)
    # the code, then a slot's time and day, or a remote number's day only (no time)
    assert f"{CODE} {WHEN[language, start]} " in text and text.endswith(LINK), text
    assert SITE not in text, text  # (the SMS sender's name and the link say which centre)


@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_retired_sites_cancel_sms_names_where_to_book_and_fits_two_parts(language):
    params = {"site": SITE, "date": "31/12", "start": "16:45", "code": CODE, "reason": "site_retired"}
    text = sms_text(message(params, language, LINK, moved_to=MOVED_TO))
    assert sms_parts(text) <= 2, (len(text), text)
    assert all(value in text for value in (CODE, "31/12", "16:45", MOVED_TO)) and text.endswith(LINK), text


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("moved_to", LONG_NAMES, ids=["37", "50", "60"])
def test_a_retired_sites_cancel_sms_fits_two_parts_with_a_successors_long_name(language, moved_to):
    params = {"site": SITE, "date": "31/12", "start": "16:45", "code": CODE, "reason": "site_retired"}
    text = sms_text(message(params, language, LINK, moved_to=moved_to))
    assert sms_parts(text) <= 2, (len(text), text)
    new_site = {"vi": "chuyển về điểm mới: ", "en": "moved to a new office: "}[language]
    assert f"{CODE} {WHEN[language, '16:45']} " in text and text.endswith(new_site + LINK), text


PLAIN_NAMES = [  # successors named without Vietnamese letters: an English text with one goes in GSM 7-bit
    "Phuc La Ward Public Administrative Service Centre - One-Stop Office",  # 67: 179 characters in all
    "Phuc La Ward [Ha Dong] {One-Stop} Office | Reception ~ Returns",  # 62, 6 of them two septets each
]


@pytest.mark.parametrize("moved_to", PLAIN_NAMES, ids=["67", "62-escaped"])
def test_a_plain_english_cancel_sms_names_a_successor_that_fits_two_plain_parts(moved_to):
    """Over the 134 characters two parts hold with Vietnamese letters, and within the 306 of two plain ones."""
    params = {"site": SITE, "date": "31/12", "start": "16:45", "code": CODE, "reason": "site_retired"}
    text = sms_text(message(params, "en", LINK, moved_to=moved_to))
    assert len(text) > 134 and sms_parts(text) == 2, (len(text), text)
    assert text == f"Booking {CODE} at 16:45 on 31/12 cancelled, moved to {moved_to}: {LINK}", text


def test_a_plain_english_cancel_sms_too_long_for_two_plain_parts_says_a_new_office():
    moved_to = "Phuc La Ward Public Administrative Service Centre - One-Stop Office, " * 3
    params = {"site": SITE, "date": "31/12", "start": "16:45", "code": CODE, "reason": "site_retired"}
    text = sms_text(message(params, "en", LINK, moved_to=moved_to))
    assert sms_parts(text) <= 2 and text.endswith(f"cancelled, moved to a new office: {LINK}"), text


RETIRED = {"site": SITE, "date": "31/12", "start": "16:45", "code": CODE, "reason": "site_retired"}
BEFORE, AFTER = f"Booking {CODE} at 16:45 on 31/12 cancelled, moved to ", f": {LINK}"  # around the name
FRAME = len(BEFORE + AFTER)  # 112, one septet each
NEW_OFFICE = f"Booking {CODE} at 16:45 on 31/12 cancelled, moved to a new office: {LINK}"
BOUNDARIES = [  # (a successor's name, the English text's septets or UTF-16 units with it, whether it is named)
    ("A" * (306 - FRAME), 306, True),
    ("A" * (307 - FRAME), 307, False),
    ("A" * (304 - FRAME) + "{", 306, True),
    ("A" * (305 - FRAME) + "{", 307, False),  # 306 characters, "{" two septets
    # an escape and its character are never split between two parts: the escape the 153rd septet leaves 152
    # in the first part, 154 for the second
    ("A" * (151 - len(BEFORE)) + "{" + "A" * (153 - len(AFTER)), 306, True),
    ("A" * (152 - len(BEFORE)) + "{" + "A" * (152 - len(AFTER)), 306, False),
    ("Phường " + "A" * (134 - FRAME - 7), 134, True),  # UCS-2: 67 units a part
    ("Phường " + "A" * (135 - FRAME - 7), 135, False),
    ("Xa Hòa Binh " + "A" * (180 - FRAME - 12), 180, False),  # ò is in GSM 03.38, but not ASCII: taken as UCS-2
]


@pytest.mark.parametrize(
    ("moved_to", "size", "named"),
    BOUNDARIES,
    ids=["306", "307", "304+{", "305+{", "escape-152nd", "escape-153rd", "134-ucs2", "135-ucs2", "180-o-grave"],
)
def test_an_english_cancel_sms_names_its_successor_exactly_while_it_fits_two_parts(moved_to, size, named):
    assert set(BEFORE + AFTER) <= GSM_ONE_SEPTET and FRAME == 112  # (the test's own arithmetic)
    gsm = set(moved_to) <= GSM_ONE_SEPTET | GSM_TWO_SEPTETS
    assert FRAME + len(moved_to) + (moved_to.count("{") if gsm else 0) == size
    text = sms_text(message(RETIRED, "en", LINK, moved_to=moved_to))
    assert text == (BEFORE + moved_to + AFTER if named else NEW_OFFICE), text


@pytest.mark.parametrize(
    ("moved_to", "named"), [("Phường " + "A" * (306 - FRAME - 7), True), ("Phường " + "A" * (307 - FRAME - 7), False)]
)
def test_an_english_sms_sent_without_diacritics_is_measured_as_it_goes(moved_to, named):
    """The SMS gateway's ``no_diacritics``: "Phuong AAA…", 306 or 307 septets as it goes."""
    text = sms_text(message(RETIRED, "en", LINK, moved_to=moved_to), no_diacritics=True)
    assert text == (plain(BEFORE + moved_to + AFTER) if named else NEW_OFFICE), text


@pytest.mark.parametrize("language", ["vi", "en"])
def test_an_sms_sent_without_diacritics_names_a_successors_long_vietnamese_name(language):
    """Sent plain, a Vietnamese text goes in GSM 7-bit too (306 in two parts, not 134): an official name of
    48 characters is named, as it is not when the SMS keeps its diacritics."""
    moved_to = "Trung tâm Phục vụ hành chính công phường Phúc La"
    named = {
        "vi": f"Lịch hẹn {CODE} 16:45 ngày 31/12 bị hủy vì chuyển về {moved_to}: {LINK}",
        "en": BEFORE + moved_to + AFTER,
    }[language]
    assert 134 < len(named) <= 306
    assert sms_text(message(RETIRED, language, LINK, moved_to=moved_to), no_diacritics=True) == plain(named)
    assert moved_to not in sms_text(message(RETIRED, language, LINK, moved_to=moved_to))


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("channel", ["email", "push"])
def test_an_email_or_push_cancel_names_the_cancelling_site_and_the_successor_in_full(language, channel):
    """No length limit there: the text says which centre cancelled, and a successor's long name."""
    params = {"site": SITE, "date": "31/12", "start": "16:45", "code": CODE, "reason": "site_retired"}
    sms = sms_text(message(params, language, LINK, moved_to=LONG_NAMES[-1]))
    text = message(params, language, LINK, moved_to=LONG_NAMES[-1], channel=channel).text
    assert text.startswith(f"{SITE}: ") and LONG_NAMES[-1] in text and text.endswith(LINK), text
    assert LONG_NAMES[-1] not in sms, sms
    closed = message({**params, "reason": "closed_day"}, language, LINK, channel=channel).text
    assert closed == f"{SITE}: " + sms_text(message({**params, "reason": "closed_day"}, language, LINK)), closed


@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_retired_sites_cancel_sms_names_the_successors_short_sms_name_where_its_official_name_is_too_long(language):
    """The successor's site.sms_name: the SMS names it where its 60-letter official name fell back to "điểm mới";
    an e-mail, a Web Push message and Zalo's ``moved_to`` parameter keep the official name."""
    official, short = LONG_NAMES[-1], "TTHCC Phúc La"
    sms = sms_text(message(RETIRED, language, LINK, moved_to=official, moved_sms=short))
    assert sms == sms_text(message(RETIRED, language, LINK, moved_to=short)) and sms_parts(sms) <= 2, sms
    assert short in sms and sms.endswith(LINK), sms
    assert short not in sms_text(message(RETIRED, language, LINK, moved_to=official))  # (a new office, without it)
    for channel in ("email", "push"):
        text = message(RETIRED, language, LINK, moved_to=official, moved_sms=short, channel=channel).text
        assert official in text and short not in text, text
    zalo = message(RETIRED, language, LINK, moved_to=official, moved_sms=short, channel="zalo")
    assert zalo.params["moved_to"] == official and short not in str(zalo.params), zalo.params


@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_successors_short_sms_name_too_long_for_two_parts_is_said_a_new_office(language):
    """40 letters with Vietnamese ones (the most a short name has) are over the 134 of two UCS-2 parts here."""
    short = "Bộ phận Một cửa UBND phường Phúc La, HĐ"  # 39
    sms = sms_text(message(RETIRED, language, LINK, moved_to=LONG_NAMES[-1], moved_sms=short))
    new_site = {"vi": "chuyển về điểm mới: ", "en": "moved to a new office: "}[language]
    assert sms.endswith(new_site + LINK) and sms_parts(sms) <= 2, sms
