"""The words of an announcement: numbers read in Vietnamese (and English), and the sentence.

Digits are never handed to a TTS engine (espeak-ng reads 15 as "mười năm" and 1023 with
"ngàn"): numbers become words here, and the words are spoken from clips (sounds/voice.py).

Regional forms (``region``): "north" says "linh" (105 = một trăm linh năm) and "nghìn";
"south" says "lẻ", "ngàn", and "tư" for a final 4 after "mươi" (24 = hai mươi tư).
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass

from ..server.core.config import DEFAULT_PHRASE, DEFAULT_PHRASE_EN  # the catalog's voice_default_phrase

REGIONS = ("north", "south")

_DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_ZERO_TEN = {"north": "linh", "south": "lẻ"}  # 105 = một trăm linh/lẻ năm
_THOUSAND = {"north": "nghìn", "south": "ngàn"}
_BILLION = 10**9


def _group(n: int, full: bool, region: str) -> list[str]:
    """0..999. ``full``: a group after a higher one, read with its hundreds ("không trăm hai mươi ba")."""
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    words: list[str] = []
    if full or hundreds:
        words += [_DIGITS[hundreds], "trăm"]
    if tens == 0:
        if ones:
            words += ([_ZERO_TEN[region]] if words else []) + [_DIGITS[ones]]
    elif tens == 1:
        words.append("mười")
        if ones:
            words.append("lăm" if ones == 5 else _DIGITS[ones])  # 11 mười một, 14 mười bốn (never "tư")
    else:
        words += [_DIGITS[tens], "mươi"]
        if ones == 1:
            words.append("mốt")
        elif ones == 4 and region == "south":
            words.append("tư")
        elif ones == 5:
            words.append("lăm")
        elif ones:
            words.append(_DIGITS[ones])
    return words


def _words(number: int, region: str, full: bool = False) -> list[str]:
    if number >= _BILLION:  # 10^12 = một nghìn tỷ: the part above a billion is read like a number
        high, rest = divmod(number, _BILLION)
        return _words(high, region, full) + ["tỷ"] + (_words(rest, region, True) if rest else [])
    words: list[str] = []
    for size, scale in ((10**6, "triệu"), (1000, _THOUSAND[region]), (1, None)):
        count, number = divmod(number, size)
        if count:  # a whole empty group is skipped (1000000 = một triệu)
            words += _group(count, full, region) + ([scale] if scale else [])
            full = True
    return words


def number_words(number: int, southern: bool | None = None, *, region: str = "north") -> str:
    """Vietnamese words for a number: 1023 -> "một nghìn không trăm hai mươi ba".

    ``region="south"`` (or the older ``southern=True``) gives the Southern forms.
    """
    if southern is not None:
        region = "south" if southern else "north"
    if region not in REGIONS:
        raise ValueError(f"unknown region {region!r} (use north or south)")
    if not isinstance(number, int) or isinstance(number, bool) or number < 0:
        raise ValueError(f"cannot read {number!r} aloud: a whole number from 0 is needed")
    return " ".join(_words(number, region)) if number else _DIGITS[0]


_EN_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_EN_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_EN_SCALES = ((10**9, "billion"), (10**6, "million"), (1000, "thousand"))


def _en_below_thousand(n: int) -> list[str]:
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += [_EN_ONES[hundreds], "hundred"]
    if rest:
        if words:
            words.append("and")
        if rest < 20:
            words.append(_EN_ONES[rest])
        else:
            tens, ones = divmod(rest, 10)
            words.append(_EN_TENS[tens] + (f"-{_EN_ONES[ones]}" if ones else ""))
    return words


def english_number_words(number: int) -> str:
    """British English words: 1023 -> "one thousand and twenty-three"."""
    if not isinstance(number, int) or isinstance(number, bool) or number < 0:
        raise ValueError(f"cannot read {number!r} aloud: a whole number from 0 is needed")
    if number == 0:
        return "zero"
    words: list[str] = []
    rest = number
    for size, name in _EN_SCALES:
        count, rest = divmod(rest, size)
        if count:
            words += _en_below_thousand(count) + [name]
    if rest:
        if words and rest < 100:
            words.append("and")
        words += _en_below_thousand(rest)
    return " ".join(words)


def announcement_text(
    number: int, counter: int, phrase: str = DEFAULT_PHRASE, southern: bool = False, *, region: str | None = None
) -> str:
    """The Vietnamese sentence: "Mời công dân có số thứ tự một nghìn không trăm hai mươi ba đến quầy số năm"."""
    region = region or ("south" if southern else "north")
    return phrase.format(number=number_words(number, region=region), counter=number_words(counter, region=region))


def english_text(number: int, counter: int, phrase: str = DEFAULT_PHRASE_EN) -> str:
    return phrase.format(number=english_number_words(number), counter=english_number_words(counter))


# --- the sentence as parts to speak ----------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One piece of a sentence: a fixed text of the phrase, or the words of a number."""

    text: str
    kind: str  # "phrase" (said as one clip if there is one) or "number" (said word by word)


def sentence_parts(phrase: str, number: int, counter: int, language: str, region: str = "north") -> list[Part]:
    """The phrase cut at its {number} and {counter} fields, numbers turned into words."""
    words = (lambda n: number_words(n, region=region)) if language == "vi" else english_number_words
    values = {"number": number, "counter": counter}
    parts: list[Part] = []
    for literal, field, _, _ in string.Formatter().parse(phrase):
        for piece in re.split(r"([,;.:!?]+)", literal):
            piece = piece.strip()
            if piece:  # punctuation is a short pause; words are a phrase part
                parts.append(Part(piece, "phrase" if piece.strip(",;.:!?") else "pause"))
        if field is not None:
            parts.append(Part(words(values[field]), "number"))
    return parts


def clip_name(text: str) -> str:
    """The file name (without .wav) of the clip that says ``text``: its words, lower case, NFC.

    "Mời công dân có số thứ tự" -> "mời công dân có số thứ tự"; "twenty-three" -> "twenty-three".
    Underscores count as spaces, so "mời_công_dân.wav" names the same clip as "mời công dân.wav".
    """
    text = unicodedata.normalize("NFC", text).lower().replace("_", " ")
    text = re.sub(r"[^\w\s'-]", " ", text)
    return " ".join(text.split())


def spoken_words(text: str) -> list[str]:
    """The single words of a text, each a clip name ("twenty-three" is "twenty", "three")."""
    return [w for w in re.split(r"[\s-]+", clip_name(text)) if w]


def utterance_parts(template: str, values: dict, language: str, region: str = "north") -> list[Part]:
    """Any sentence as parts to speak: the template's text (cut at punctuation, a short pause) and
    its fields, an int read as number words and a str as text ("Phím {key}: {name}." with
    key=2, name="Chứng thực bản sao"). The kiosk's spoken guidance is made of these."""
    words = (lambda n: number_words(n, region=region)) if language == "vi" else english_number_words
    parts: list[Part] = []

    def text(literal: str) -> None:
        for piece in re.split(r"([,;.:!?]+|\d+)", literal):  # digits in a name are read as words too
            piece = piece.strip()
            if piece.isdigit():
                parts.append(Part(words(int(piece)), "number"))
            elif piece:
                parts.append(Part(piece, "phrase" if piece.strip(",;.:!?") else "pause"))

    for literal, field, _, _ in string.Formatter().parse(template):
        text(literal)
        if field is not None:
            value = values[field]
            if isinstance(value, int) and not isinstance(value, bool):
                parts.append(Part(words(value), "number"))
            else:
                text(str(value))
    return parts
