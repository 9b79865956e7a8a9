"""Numbers read aloud: Vietnamese in its Northern and Southern forms, English, and the sentence."""

from __future__ import annotations

import pytest

from queuekiosk.sounds.announce import (
    DEFAULT_PHRASE,
    announcement_text,
    english_number_words,
    english_text,
    number_words,
    sentence_parts,
)

# number: (Northern, Southern)
TABLE = {
    0: ("không", "không"),
    1: ("một", "một"),
    4: ("bốn", "bốn"),
    5: ("năm", "năm"),
    9: ("chín", "chín"),
    10: ("mười", "mười"),
    11: ("mười một", "mười một"),
    14: ("mười bốn", "mười bốn"),
    15: ("mười lăm", "mười lăm"),
    19: ("mười chín", "mười chín"),
    20: ("hai mươi", "hai mươi"),
    21: ("hai mươi mốt", "hai mươi mốt"),
    24: ("hai mươi bốn", "hai mươi tư"),
    25: ("hai mươi lăm", "hai mươi lăm"),
    31: ("ba mươi mốt", "ba mươi mốt"),
    44: ("bốn mươi bốn", "bốn mươi tư"),
    55: ("năm mươi lăm", "năm mươi lăm"),
    65: ("sáu mươi lăm", "sáu mươi lăm"),
    75: ("bảy mươi lăm", "bảy mươi lăm"),
    95: ("chín mươi lăm", "chín mươi lăm"),
    99: ("chín mươi chín", "chín mươi chín"),
    100: ("một trăm", "một trăm"),
    101: ("một trăm linh một", "một trăm lẻ một"),
    104: ("một trăm linh bốn", "một trăm lẻ bốn"),
    105: ("một trăm linh năm", "một trăm lẻ năm"),
    110: ("một trăm mười", "một trăm mười"),
    111: ("một trăm mười một", "một trăm mười một"),
    115: ("một trăm mười lăm", "một trăm mười lăm"),
    121: ("một trăm hai mươi mốt", "một trăm hai mươi mốt"),
    200: ("hai trăm", "hai trăm"),
    999: ("chín trăm chín mươi chín", "chín trăm chín mươi chín"),
    1000: ("một nghìn", "một ngàn"),
    1001: ("một nghìn không trăm linh một", "một ngàn không trăm lẻ một"),
    1005: ("một nghìn không trăm linh năm", "một ngàn không trăm lẻ năm"),
    1010: ("một nghìn không trăm mười", "một ngàn không trăm mười"),
    1015: ("một nghìn không trăm mười lăm", "một ngàn không trăm mười lăm"),
    1021: ("một nghìn không trăm hai mươi mốt", "một ngàn không trăm hai mươi mốt"),
    1023: ("một nghìn không trăm hai mươi ba", "một ngàn không trăm hai mươi ba"),
    1024: ("một nghìn không trăm hai mươi bốn", "một ngàn không trăm hai mươi tư"),
    1100: ("một nghìn một trăm", "một ngàn một trăm"),
    1105: ("một nghìn một trăm linh năm", "một ngàn một trăm lẻ năm"),
    1065: ("một nghìn không trăm sáu mươi lăm", "một ngàn không trăm sáu mươi lăm"),
    1195: ("một nghìn một trăm chín mươi lăm", "một ngàn một trăm chín mươi lăm"),
    1999: ("một nghìn chín trăm chín mươi chín", "một ngàn chín trăm chín mươi chín"),
    2001: ("hai nghìn không trăm linh một", "hai ngàn không trăm lẻ một"),
    5555: ("năm nghìn năm trăm năm mươi lăm", "năm ngàn năm trăm năm mươi lăm"),
    10000: ("mười nghìn", "mười ngàn"),
    10005: ("mười nghìn không trăm linh năm", "mười ngàn không trăm lẻ năm"),
    15000: ("mười lăm nghìn", "mười lăm ngàn"),
    21000: ("hai mươi mốt nghìn", "hai mươi mốt ngàn"),
    100000: ("một trăm nghìn", "một trăm ngàn"),
    105000: ("một trăm linh năm nghìn", "một trăm lẻ năm ngàn"),
    1000000: ("một triệu", "một triệu"),
    1000001: ("một triệu không trăm linh một", "một triệu không trăm lẻ một"),
    2000500: ("hai triệu năm trăm", "hai triệu năm trăm"),
    1000000000: ("một tỷ", "một tỷ"),
    1000000000000: ("một nghìn tỷ", "một ngàn tỷ"),
}


@pytest.mark.parametrize("number", sorted(TABLE))
def test_northern_words(number):
    assert number_words(number) == TABLE[number][0]
    assert number_words(number, region="north") == TABLE[number][0]


@pytest.mark.parametrize("number", sorted(TABLE))
def test_southern_words(number):
    assert number_words(number, region="south") == TABLE[number][1]
    assert number_words(number, southern=True) == TABLE[number][1]


def test_rules_hold_over_every_ticket_number():
    """Over 0..99,999: never "mười tư", "mười một" never "mười mốt", "mươi năm" never (lăm),
    "linh"/"lẻ" only in the Northern/Southern form, "nghìn"/"ngàn" likewise."""
    for number in range(100_000):
        north = number_words(number)
        south = number_words(number, region="south")
        for words in (north, south):
            assert "mười tư" not in words and "mười mốt" not in words, (number, words)
            assert "mươi năm" not in words and "mười năm" not in words, (number, words)
            assert "  " not in words and words == words.strip()
        assert "lẻ" not in north and "ngàn" not in north, (number, north)
        assert "linh" not in south and "nghìn" not in south, (number, south)


def test_agrees_with_vn_numberwords_except_where_it_says_muoi_nam():
    """vn-numberwords 0.2.0 reads 65, 75, 85, 95 as "… mươi năm" (it must be "lăm"); everywhere
    else over 0..120,000 the two independent implementations agree word for word."""
    from vn_numberwords import Dictionary, SouthDictionary, number_to_words

    for number in range(120_000):
        for region, dictionary in (("north", Dictionary()), ("south", SouthDictionary())):
            theirs = number_to_words(number, dictionary).replace("mươi năm", "mươi lăm")
            assert number_words(number, region=region) == theirs, (number, region)


def test_english_words():
    assert english_number_words(0) == "zero"
    assert english_number_words(15) == "fifteen"
    assert english_number_words(21) == "twenty-one"
    assert english_number_words(105) == "one hundred and five"
    assert english_number_words(1023) == "one thousand and twenty-three"
    assert english_number_words(1105) == "one thousand one hundred and five"
    assert english_number_words(1000000) == "one million"


@pytest.mark.parametrize("bad", [-1, 1.5, "12", True])
def test_numbers_that_cannot_be_read_are_refused(bad):
    with pytest.raises(ValueError):
        number_words(bad)
    with pytest.raises(ValueError):
        english_number_words(bad)


def test_the_sentence_reads_number_and_counter_the_same_way():
    assert announcement_text(1023, 5) == ("Mời công dân có số thứ tự một nghìn không trăm hai mươi ba đến quầy số năm")
    assert announcement_text(1105, 15, region="south") == (
        "Mời công dân có số thứ tự một ngàn một trăm lẻ năm đến quầy số mười lăm"
    )
    assert english_text(1023, 5) == "Ticket number one thousand and twenty-three, please go to counter five"
    assert announcement_text(2024, 24, "Xin mời số {number} tới bàn {counter}", region="south") == (
        "Xin mời số hai ngàn không trăm hai mươi tư tới bàn hai mươi tư"
    )


def test_the_phrase_is_cut_into_its_parts():
    parts = sentence_parts(DEFAULT_PHRASE, 1023, 5, "vi")
    assert [(p.text, p.kind) for p in parts] == [
        ("Mời công dân có số thứ tự", "phrase"),
        ("một nghìn không trăm hai mươi ba", "number"),
        ("đến quầy số", "phrase"),
        ("năm", "number"),
    ]
    parts = sentence_parts("Xin mời, số {number}. Quầy {counter}", 5, 2, "vi")
    assert [p.kind for p in parts] == ["phrase", "pause", "phrase", "number", "pause", "phrase", "number"]
