"""Phones, emails, names and money: the small rules everything else relies on."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontdesk.domain import phone as phones
from frontdesk.domain.members import normalise_email, search_name
from frontdesk.domain.money import Money, MoneyError
from frontdesk.domain.text import fold, name_tokens, strip_controls


@pytest.mark.parametrize("typed", ["9123 4567", "+65 9123-4567", "6591234567", "0065 9123 4567", "(+65) 91234567",
                                   "91234567", "+6591234567"])
def test_common_singapore_forms_normalise_to_e164(typed):
    parsed = phones.normalise(typed, "SG")
    assert parsed is not None and parsed.e164 == "+6591234567"
    assert parsed.national == "91234567" and parsed.region == "SG"


def test_foreign_numbers_keep_their_country():
    assert phones.normalise("+60 12-345 6789", "SG").e164 == "+60123456789"
    assert phones.normalise("012-345 6789", "MY").e164 == "+60123456789"


@pytest.mark.parametrize("typed", ["", "1234", "9999 9999 9999 9999", "abc", "+65 1234 5678", "😀", "9" * 500])
def test_incomplete_or_invalid_numbers_are_not_guessed(typed):
    assert phones.normalise(typed, "SG") is None


def test_phone_display_and_masking():
    assert phones.display("+6591234567") == "+65 9123 4567"
    assert phones.masked("+6591234567") == "+65******67"
    assert phones.reversed_digits("+6591234567") == "7654321956"


@pytest.mark.parametrize("raw,expected", [("Mei.Tan@Example.COM ", "mei.tan@example.com"), ("a@b", None),
                                          ("no-at-sign", None), ("two@@x.com", None), ("", None)])
def test_email_normalisation(raw, expected):
    assert normalise_email(raw) == expected


def test_name_folding_is_case_accent_and_width_insensitive():
    assert fold("Zoë NG") == fold("zoe ng") == fold("Ｚｏｅ Ｎｇ") == "zoe ng"
    assert name_tokens("O'Brien-Tan, Mei") == ["o", "brien", "tan", "mei"]
    assert search_name("Chloé", "Müller") == "chloe muller"
    assert strip_controls("a\x00b\x1bc\u200bd") == "abcd"


def test_money_parses_what_people_type_and_refuses_the_rest():
    assert Money.parse("S$1,234.50").minor == 123450
    assert Money.parse("(18.80)").amount == Decimal("-18.80")
    assert Money.from_minor(5830).plain() == "58.30"
    for bad in ["", "12.505", "abc", "NaN", "1e999999"]:
        with pytest.raises(MoneyError):
            Money.parse(bad)
    with pytest.raises(MoneyError):
        Money.parse("1") + Money.parse("1", "MYR")
    with pytest.raises(MoneyError):
        Money.parse("1") * 1.5  # type: ignore[operator]


@given(st.integers(min_value=-10**12, max_value=10**12))
def test_money_round_trips_through_minor_units(cents):
    assert Money.from_minor(cents).minor == cents
    assert Money.parse(Money.from_minor(cents).plain()).minor == cents


def test_parsing_a_number_again_is_cached_per_region_never_shared_between_regions():
    """The same typed text means different numbers in different regions; a cached answer is only ever its own."""
    from frontdesk.domain import phone as phones

    phones.normalise.cache_clear()
    singapore = phones.normalise("9123 4567", "SG")
    assert singapore is not None and singapore.e164 == "+6591234567"
    assert phones.normalise("9123 4567", "MY") != singapore  # a Malaysian reading, or none, never Singapore's
    assert phones.normalise("020 7946 0018", "GB").e164 == "+442079460018"
    assert phones.normalise("020 7946 0018", "SG") is None
    assert phones.normalise("9123 4567", "SG") is singapore  # the second parse of the same text is the cached one
    assert phones.normalise.cache_info().hits >= 1
    assert phones.normalise("", "SG") is None and phones.normalise("no digits", "SG") is None
