"""A CCCD number is refused unless the law could have given it (server/core/bookings/people.py
normal_id): 12 digits, a province code of Circular 07/2016/TT-BCA's list, a birth year not yet to come."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from queuekiosk.server.core.bookings.people import PROVINCE_CODES, birth_year, normal_id
from queuekiosk.server.core.errors import Invalid

TODAY = dt.date(2026, 12, 5)
digits = st.text("0123456789", min_size=1, max_size=1)


def refusal(raw: str) -> str | None:
    try:
        normal_id(raw, TODAY)
    except Invalid as error:
        assert error.params == {"field": "id_number"}
        return error.code
    return None


def test_the_provinces_are_the_63_of_the_circular():
    assert len(PROVINCE_CODES) == 63
    assert {"001", "079", "096"} <= PROVINCE_CODES and not {"000", "003", "097", "999"} & PROVINCE_CODES


@given(st.text("0123456789", min_size=12, max_size=12))
def test_a_number_is_taken_exactly_when_its_province_and_birth_year_can_be(number):
    expected = (
        None
        if number[:3] in PROVINCE_CODES and birth_year(number) <= TODAY.year
        else "invalid_id_province"
        if number[:3] not in PROVINCE_CODES
        else "invalid_id_birth_year"
    )
    assert refusal(number) == expected
    if expected is None:
        assert normal_id(f" {number[:4]} {number[4:]} ", TODAY) == number  # spaces as typed are taken


@given(
    st.sampled_from(sorted(PROVINCE_CODES)),
    st.integers(1900, TODAY.year),
    st.booleans(),
    st.text("0123456789", min_size=6, max_size=6),
)
def test_a_citizen_born_in_any_year_so_far_in_any_province_is_taken(province, year, female, rest):
    century = (year - 1900) // 100 * 2 + female
    number = f"{province}{century}{year % 100:02d}{rest}"
    assert normal_id(number, TODAY) == number
    assert birth_year(number) == year


@pytest.mark.parametrize(
    "number, code",
    [
        ("000000000000", "invalid_id_province"),
        ("999999999999", "invalid_id_province"),
        ("123456789012", "invalid_id_province"),
        ("001227000001", "invalid_id_birth_year"),  # a man born in 2027
        ("001499000001", "invalid_id_birth_year"),  # 22nd century
        ("00109901234", "invalid_id_number"),
        ("0010990123456", "invalid_id_number"),
        ("00109901234a", "invalid_id_number"),
    ],
)
def test_made_up_numbers_are_refused_naming_the_field(number, code):
    assert refusal(number) == code


@given(st.text("0123456789", min_size=3, max_size=3), st.text("0123456789", min_size=9, max_size=9))
def test_a_scanned_cards_own_number_is_taken_whatever_its_place_code(place, rest):
    """A birth registered abroad starts with its country's code, a list not kept here: a number typed
    is held to the provinces, a card's QR scanned is not (the card is real); both hash alike."""
    number = place + rest
    if birth_year(number) > TODAY.year:
        return
    assert normal_id(number, TODAY, card=True) == number
    if place not in PROVINCE_CODES:
        assert refusal(number) == "invalid_id_province"
