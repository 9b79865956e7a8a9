"""The words of an announcement. Audio (clip library, TTS) is built on this by the voice issue."""

from vn_numberwords import Dictionary, SouthDictionary, number_to_words

DEFAULT_PHRASE = "Mời công dân có số thứ tự {number} đến quầy số {counter}"


def number_words(number: int, southern: bool = False) -> str:
    """Vietnamese words for a number: 1023 -> "một nghìn không trăm hai mươi ba".

    Digits are never handed to a TTS engine (espeak-ng reads 15 as "mười năm").
    """
    return number_to_words(number, SouthDictionary() if southern else Dictionary())


def announcement_text(number: int, counter: int, phrase: str = DEFAULT_PHRASE, southern: bool = False) -> str:
    return phrase.format(number=number_words(number, southern), counter=number_words(counter, southern))
