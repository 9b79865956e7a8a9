"""The message catalogs: every key in every language, none defined twice, fields that match."""

import ast
import json
import re
from pathlib import Path

import pytest

from queuekiosk.server.core import i18n

FIELD = re.compile(r"\{(\w+)(?::[^{}]*)?\}")  # a name, or a name with the word forms of its Count


def test_every_key_exists_in_every_language():
    keys = {
        language: set(json.loads((i18n.CATALOG_FOLDER / f"{language}.json").read_text("utf-8")))
        for language in i18n.LANGUAGES
    }
    for language in i18n.LANGUAGES:
        assert keys[language] == keys["vi"], f"{language}.json differs from vi.json"


def test_no_key_is_defined_twice_in_any_catalog():
    for language in i18n.LANGUAGES:
        path = i18n.CATALOG_FOLDER / f"{language}.json"
        pairs = json.loads(path.read_text("utf-8"), object_pairs_hook=lambda pairs: pairs)
        names = [name for name, _ in pairs]
        twice = sorted({name for name in names if names.count(name) > 1})
        assert not twice, f"{path.name} defines these keys twice: {twice}"


def test_loader_refuses_a_key_defined_twice(tmp_path):
    (tmp_path / "vi.json").write_text('{"a": "một", "a": "hai"}', "utf-8")
    (tmp_path / "en.json").write_text('{"a": "one"}', "utf-8")
    with pytest.raises(i18n.CatalogError, match="“a” is defined twice"):
        i18n.load_messages(tmp_path)


def test_loader_refuses_a_key_missing_in_one_language(tmp_path):
    (tmp_path / "vi.json").write_text('{"a": "một", "b": "hai"}', "utf-8")
    (tmp_path / "en.json").write_text('{"a": "one"}', "utf-8")
    with pytest.raises(i18n.CatalogError, match="b"):
        i18n.load_messages(tmp_path)


def test_every_text_formats_with_its_fields():
    """A stray brace would make ``translate`` fall back to the raw text with ``{...}`` in it. Plain
    ints, as most callers pass them, also for a field that says a word's form for its count."""
    for key in i18n.message_keys():
        texts = [i18n.message_text(key, language) for language in i18n.LANGUAGES]
        fields = {text_field: 2 for text in texts for text_field in FIELD.findall(text)}
        for language in i18n.LANGUAGES:
            if fields:  # a text without fields is shown as written, braces and all
                said = i18n.translate(key, language, **fields)
                assert not FIELD.search(said), f"{key} ({language}): {said}"


def test_a_count_given_as_a_plain_int_says_the_words_form():
    assert i18n.translate("report_text_expired", "en", expired=3).startswith("3 tickets expired")
    assert i18n.translate("report_text_expired", "en", expired=1).startswith("1 ticket expired")
    counted = i18n.Count(1234, "1.234")
    assert i18n.translate("report_text_expired", "en", expired=counted).startswith("1.234 tickets expired")


def test_a_value_that_cannot_give_a_words_form_fails_loudly():
    """Not the raw template with its braces in place of the sentence."""
    with pytest.raises(ValueError):
        i18n.translate("report_text_expired", "en", expired="3")


def test_vietnamese_texts_have_no_word_forms():
    """Vietnamese words have one form; ``{n:a|b}`` there is an English text pasted by mistake."""
    vietnamese = {key: i18n.message_text(key, "vi") for key in i18n.message_keys()}
    forms = {key: text for key, text in vietnamese.items() if i18n.WORD_FORMS.search(text)}
    assert not forms, forms


def test_the_engine_refusal_to_rate_names_the_number_and_counter():
    assert i18n.translate("rating_closed", "vi", number="A001", counter=2) == (
        "Không còn nhận đánh giá cho số A001 tại quầy 2: chỉ đánh giá được số vừa phục vụ xong, "
        "trong vài phút sau khi kết thúc."
    )
    assert "A001" in i18n.translate("rating_closed", "en", number="A001", counter=2)


# what citizens read at the kiosk, on the rating tablet and on their phone: the public-service
# register ("Ông/Bà", "công dân"), never the familiar "bạn"
# what a citizen reads or hears: the kiosk, the tracking page, the rating tablet, the lobby, the
# booking pages, the messages sent to a phone (SMS, Zalo, e-mail, Web Push), the printed ticket,
# the spoken sentence and the refusals a citizen meets at the kiosk or on /book
CITIZEN_FACING = (
    "kiosk_",
    "track_",
    "rating_",
    "display_",
    "already_rated",
    "book_",
    "booking_",
    "notify_",
    "page_",
    "ticket_",
    "sms_",
    "remote_",
    "slot_",
    "voice_",
    "closed",
    "daily_limit_reached",
    "too_many_tickets",
    "too_many_bookings",
)
STAFF_ONLY = ("kiosk_token_", "rating_setup_")


def test_citizens_are_addressed_as_ong_ba_never_ban():
    familiar = re.compile(r"\bbạn\b", re.IGNORECASE)
    citizen = {
        key: i18n.message_text(key, "vi")
        for key in i18n.message_keys()
        if key.startswith(CITIZEN_FACING) and not key.startswith(STAFF_ONLY)
    }
    # the texts sent to a citizen's phone and the booking pages are among them
    assert {"notify_near", "notify_called", "book_title", "slot_full", "ticket_counters"} <= citizen.keys()
    found = {key: text for key, text in citizen.items() if familiar.search(text)}
    assert not found, found
    assert "Ông/Bà" in i18n.translate("kiosk_your_number") and "Ông/Bà" in i18n.translate("rating_question")


# letters only Vietnamese writes (ă â đ ê ô ơ ư and the tones under or over a vowel)
VIETNAMESE = re.compile("[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", re.IGNORECASE)
LOG_CALLS = {"debug", "info", "warning", "error", "exception", "critical"}
WEB_LAYER = Path(i18n.__file__).parents[1] / "web"
REPO = Path(i18n.__file__).parents[2]
PAGES_AND_DEVICES = ("queuekiosk", "kiosk", "display", "counter_client", "printers", "sounds")
NOT_SAID = (  # Vietnamese that is not a sentence of the program's own
    "sounds/announce.py",  # number words ("mười", "mươi", "lăm" ...): the grammar of reading numbers aloud
    "sounds/build.py",  # the words of the shipped clip set, as espeak-ng is asked to say them
)


def _vietnamese_literals(path: Path) -> list[str]:
    """String literals with Vietnamese in them, leaving out docstrings and log lines (for the
    installer, in English, where they may name a Vietnamese tab of /admin)."""
    tree = ast.parse(path.read_text("utf-8"))
    skipped = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        ):
            skipped.add(id(node.body[0].value))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in LOG_CALLS:
            skipped.update(id(inner) for inner in ast.walk(node))
    return [
        f"{path.name}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in skipped
        and VIETNAMESE.search(node.value)
    ]


def test_the_web_layer_says_nothing_in_vietnamese_of_its_own():
    """Every sentence the web layer sends comes from the catalogs, so it exists in English too."""
    found = [line for path in sorted(WEB_LAYER.rglob("*.py")) for line in _vietnamese_literals(path)]
    assert not found, found


def test_the_pages_and_device_parts_say_nothing_in_vietnamese_of_their_own():
    """The pages' routes, the printers and the voice take their words from the catalogs too. Matching
    a counter's name written "Quầy 2 - ..." (display/web.py row_name) is reading, not saying."""
    found = [
        line.split(": ", 1)[1]
        for folder in PAGES_AND_DEVICES
        for path in sorted((REPO / folder).rglob("*.py"))
        if str(path.relative_to(REPO)) not in NOT_SAID
        for line in _vietnamese_literals(path)
    ]
    assert found == [repr(r"^\s*quầy\s*(số\s*)?")], found


def test_the_guard_sees_a_vietnamese_literal(tmp_path):
    code = tmp_path / "sample.py"
    code.write_text(
        '"""Một mô-đun."""\nimport logging\nlogging.info("Giờ làm việc")\nproblem = "cần số của lệnh in"\n'
        'service = "IN THỬ"\n',
        "utf-8",
    )
    assert _vietnamese_literals(code) == ["sample.py:4: 'cần số của lệnh in'", "sample.py:5: 'IN THỬ'"]


def test_every_role_has_its_name_in_the_admin_lists():
    """/admin's users and device tokens show each account's role by its name ("admin_role_<role>"):
    a role without one showed its raw key (the province's did)."""
    from queuekiosk.server.core.auth import TOKEN_ROLES, USER_ROLES

    missing = sorted(role for role in {*USER_ROLES, *TOKEN_ROLES} if not i18n.has_message(f"admin_role_{role}"))
    assert not missing, f"roles without a name in the catalogs: {missing}"


def test_one_minute_and_one_hour_are_said_in_the_singular():
    """The English kiosk said "Estimated wait: about 1 minutes"."""
    assert i18n.translate("kiosk_eta", "en", n=1) == "Estimated wait: about 1 minute"
    assert i18n.translate("track_eta", "en", n=1) == "Estimated wait: about 1 minute"
    assert i18n.translate("kiosk_eta", "en", n=5) == "Estimated wait: about 5 minutes"
    assert (i18n.translate("wait_minutes", "en", n=1), i18n.translate("wait_hours", "en", n=1)) == (
        "about 1 minute",
        "about 1 hour",
    )


def test_one_of_anything_counted_is_said_in_the_singular():
    """ "1 seconds", "1 services", "Today's 1 numbers": each count picks its word's form; and no English
    text hedges a count with "(s)" ("1 clip(s)"), which the word forms replace."""

    def said(key, **params):
        return i18n.translate(key, "en", **params)

    assert (said("wait_seconds", n=1), said("wait_seconds", n=2)) == ("1 second", "2 seconds")
    assert (said("kiosk_field_count", n=1), said("kiosk_field_count", n=2)) == ("1 service", "2 services")
    assert said("cli_clips_written", count=1, target="/srv") == "1 clip written to /srv"
    assert said("cli_clips_written", count=2, target="/srv") == "2 clips written to /srv"
    assert said("daily_limit_reached", limit=1, service="HT").startswith("Today's limit of 1 number for service “HT”")
    assert said("daily_limit_reached", limit=2, service="HT").startswith("Today's limit of 2 numbers for service “HT”")
    assert (said("problem_too_short", min_length=1), said("problem_too_short", min_length=2)) == (
        "needs at least 1 item",
        "needs at least 2 items",
    )
    one = {"tickets": 1, "served": 1, "no_shows": 1, "transfers": 1, "ratings": 1, "refused": 1}
    assert said("cli_sim_day_refused", day="2026-12-07", **one) == (
        "2026-12-07: 1 ticket, 1 served, 1 no-show, 1 transfer, 1 rating, 1 citizen turned away"
        " (numbers or daily limit ran out)"
    )
    assert (
        said("cli_sim_done", open=1, closed=2, tickets=3) == "simulated 1 open day (2 closed days skipped): 3 tickets"
    )
    english = json.loads((i18n.CATALOG_FOLDER / "en.json").read_text("utf-8"))
    assert not [key for key, text in english.items() if re.search(r"\{\w+\} (?:\w+ )?\w+\(s\)", text)]


def test_the_days_are_named_once_with_sunday_as_vietnamese_writes_it():
    """The kiosk and the display wrote "Chủ Nhật" where /book wrote "Chủ nhật": one set of names for
    every page (kiosk_day_*), "Chủ nhật" as Vietnamese writes it."""
    vietnamese = json.loads((i18n.CATALOG_FOLDER / "vi.json").read_text("utf-8"))
    assert vietnamese["kiosk_day_sun"] == "Chủ nhật"
    days = {key: text for key, text in vietnamese.items() if text in ("Chủ nhật", "Chủ Nhật", "Thứ Hai")}
    assert sorted(days) == ["kiosk_day_mon", "kiosk_day_sun"], days


def test_an_unknown_key_is_refused_and_a_page_gets_each_text_in_both_languages():
    """The catalogs kept one flat dict per language: a key they lack still raises (a caller that
    asks first, ``has_message``, falls back), and a page's JSON block still has {vi, en} per key."""
    assert not i18n.has_message("no_such_message") and i18n.has_message("kiosk_your_number")
    with pytest.raises(KeyError):
        i18n.translate("no_such_message", "en")
    with pytest.raises(KeyError):
        i18n.message_text("no_such_message")
    assert i18n.message_text("kiosk_your_number", "fr") == i18n.message_text("kiosk_your_number", "vi")
    page = i18n.messages_for("rating_")
    assert page and all(key.startswith("rating_") for key in page)
    assert page["rating_question"] == {
        language: i18n.translate("rating_question", language) for language in ("vi", "en")
    }
    assert i18n.problem_key("no_such_kind") == "problem_invalid"
