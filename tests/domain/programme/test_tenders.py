"""Split tenders must add up to the bill exactly; splitting an amount never loses a cent."""

from __future__ import annotations

import pytest

from frontdesk.domain.money import Money
from frontdesk.domain.programme import Tender, allocate, check_tenders, split_evenly

from .helpers import money


def test_tenders_that_add_up():
    check = check_tenders(
        money("120.00"),
        [Tender("cash", money("20.00")), Tender("card", money("85.00")), Tender("points", money("15.00"))],
    )
    assert check.ok and check.difference == money("0") and check.message == "Payments add up"


def test_short_and_over_payments_say_by_how_much():
    short = check_tenders(money("120.00"), [money("100.00"), money("7.60")])
    assert not short.ok and short.difference == money("12.40") and short.message == "S$12.40 still to pay"
    over = check_tenders(money("120.00"), [money("100.00"), money("20.01")])
    assert not over.ok and over.difference == money("-0.01") and over.message == "Overpaid by S$0.01"
    nothing = check_tenders(money("120.00"), [])
    assert not nothing.ok and nothing.message == "S$120.00 still to pay"


def test_bad_payments_are_named():
    check = check_tenders(money("10.00"), [money("-5.00"), money("0"), Money.parse("15", "USD"), money("15.00")])
    assert not check.ok
    assert check.message == (
        "Payment 1 cannot be negative; Payment 2 is zero: remove it or enter an amount; "
        "Payment 3 is in USD, the bill is in SGD"
    )


def test_split_evenly_gives_odd_cents_to_the_first_parts():
    assert split_evenly(money("100.00"), 3) == [money("33.34"), money("33.33"), money("33.33")]
    assert split_evenly(money("0.02"), 3) == [money("0.01"), money("0.01"), money("0")]
    with pytest.raises(ValueError):
        split_evenly(money("10"), 0)


def test_allocate_by_weight_including_negative_totals():
    assert allocate(money("10.00"), [1, 2]) == [money("3.33"), money("6.67")]
    assert allocate(money("-10.00"), [1, 1, 1]) == [money("-3.34"), money("-3.33"), money("-3.33")]
    assert allocate(money("1.00"), [0, 0]) == [money("0.50"), money("0.50")]
