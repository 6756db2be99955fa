"""Money typed at the counter is read strictly: nothing a receptionist types can become a different amount."""
from __future__ import annotations

from decimal import Decimal

import pytest

from frontdesk.domain.money import Money, MoneyError
from frontdesk.sales.form import parse_money


@pytest.mark.parametrize(("typed", "amount"), [
    ("12", "12.00"), ("12.50", "12.50"), ("1,234.50", "1234.50"), ("S$ 12.50", "12.50"), ("S$12", "12.00"),
    (".5", "0.50"), ("1,234,567.00", "1234567.00"), ("(18.80)", "-18.80"), ("-3.20", "-3.20"),
])
def test_unambiguous_amounts_are_read(typed: str, amount: str) -> None:
    assert Money.parse(typed).amount == Decimal(amount)


@pytest.mark.parametrize(("typed", "message"), [
    ("12,50", "did you mean 12.50?"),
    ("12 50", "did you mean 12.50?"),
    ("1e3", "exponent"),
    ("1,23", "did you mean 1.23?"),
    ("12,3456", "misplaced thousands separators"),
    ("1.2.3", "is not an amount"),
    ("1 234", "space"),
    ("12.505", "more than 2 decimal places"),
    ("١٢", "is not an amount"),
])
def test_amounts_that_could_be_misread_are_refused_with_a_hint(typed: str, message: str) -> None:
    with pytest.raises(MoneyError, match=message):
        Money.parse(typed)


def test_a_currency_without_decimals_refuses_them() -> None:
    assert Money.parse("1,200", "JPY").amount == Decimal(1200)
    with pytest.raises(MoneyError, match="JPY has none"):
        Money.parse("12.5", "JPY")


def test_sale_fields_refuse_negatives_and_report_against_the_field() -> None:
    errors: dict[str, str] = {}
    assert parse_money("12,50", "lines[0].unit_price", errors, "SGD") is None
    assert errors == {"lines[0].unit_price": "“12,50” uses a comma for the decimals: did you mean 12.50?"}
    errors.clear()
    assert parse_money("-5", "payments[0].amount", errors, "SGD") is None
    assert errors["payments[0].amount"] == "Cannot be negative"
