"""Spending: catalogue rewards, issued vouchers, points as money and stored value — quotes and refusals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from frontdesk.domain.money import Money
from frontdesk.domain.programme import (
    IssuedVoucher,
    MemberStanding,
    PointsPaymentQuote,
    RedemptionRefused,
    RefusalCode,
    RewardKind,
    RewardQuote,
    StoredValueQuote,
    load_programme,
    points_needed,
    points_value,
    programme_from_dict,
    quote_points_payment,
    quote_reward,
    quote_stored_value_payment,
    quote_voucher,
)

from .helpers import DEMO_PATH, demo_dict, money

DEMO = load_programme(DEMO_PATH)
TODAY = date(2026, 3, 2)
RICH = MemberStanding("CLASSIC", points_balance=10_000)
RICH_GOLD = MemberStanding("GOLD", points_balance=10_000)


def refused(result, code: RefusalCode) -> str:
    assert isinstance(result, RedemptionRefused), result
    assert result.code is code, result
    return result.reason


# --- catalogue rewards -------------------------------------------------------------------------------------------


def test_amount_reward_quotes_its_discount_and_cost():
    quote = quote_reward(DEMO, "cut10", money("80.00"), RICH, 0, TODAY)
    assert isinstance(quote, RewardQuote)
    assert (quote.code, quote.kind, quote.source) == ("CUT10", RewardKind.AMOUNT, "reward")
    assert quote.discount == money("10.00") and quote.points_cost == 1000 and quote.note is None


def test_percent_reward_rounds_half_up_to_the_cent_and_respects_its_cap():
    assert quote_reward(DEMO, "COLOUR15", money("120.00"), RICH, 0, TODAY).discount == money("18.00")
    assert quote_reward(DEMO, "COLOUR15", money("33.30"), RICH, 0, TODAY).discount == money("5.00")  # 4.995
    capped = quote_reward(DEMO, "COLOUR15", money("400.00"), RICH, 0, TODAY)
    assert capped.discount == money("45.00") and capped.note == "15% capped at S$45.00"


def test_free_sku_reward_is_worth_its_value_but_never_more_than_the_bill():
    quote = quote_reward(DEMO, "FREE-BLOWDRY", money("90.00"), RICH, 0, TODAY)
    assert quote.free_sku == "SVC-BLOWDRY" and quote.discount == money("35.00")
    small = quote_reward(DEMO, "FREE-BLOWDRY", money("20.00"), RICH, 0, TODAY)
    assert small.discount == money("20.00")
    assert small.note == "Limited to the bill: S$35.00 is worth more than S$20.00"


def test_reward_refusals():
    assert refused(quote_reward(DEMO, "NOPE", money("80"), RICH, 0, TODAY), RefusalCode.UNKNOWN_CODE) == (
        "No reward “NOPE” in Lumière Rewards"
    )
    assert refused(
        quote_reward(DEMO, "CUT10", money("80"), RICH, 0, date(2024, 12, 31)), RefusalCode.NOT_YET_VALID
    ) == ("S$10 off any service starts on 1 Jan 2025")
    assert refused(quote_reward(DEMO, "CUT10", money("80"), RICH, 0, date(2027, 1, 1)), RefusalCode.EXPIRED) == (
        "S$10 off any service expired on 31 Dec 2026"
    )
    assert isinstance(
        quote_reward(DEMO, "CUT10", money("80"), RICH, 0, date(2026, 12, 31)), RewardQuote
    )  # last day counts
    assert refused(quote_reward(DEMO, "CUT10", money("29.99"), RICH, 0, TODAY), RefusalCode.BELOW_MINIMUM_BILL) == (
        "S$10 off any service needs a bill of at least S$30.00"
    )
    assert (
        refused(
            quote_reward(DEMO, "CUT10", money("80"), MemberStanding("CLASSIC", 999), 0, TODAY), RefusalCode.UNAFFORDABLE
        )
        == "S$10 off any service costs 1,000 pts; 999 pts available"
    )
    assert refused(quote_reward(DEMO, "COLOUR15", money("80"), RICH, 2, TODAY), RefusalCode.LIMIT_REACHED) == (
        "15% off colour can be redeemed twice per member; already used twice"
    )
    assert refused(quote_reward(DEMO, "GOLD-SPA", money("150"), RICH, 0, TODAY), RefusalCode.NOT_FOR_TIER) == (
        "Gold spa hour: S$60 off is for Gold, Platinum members only"
    )
    assert quote_reward(DEMO, "GOLD-SPA", money("150"), RICH_GOLD, 0, TODAY).discount == money("60.00")
    refused(quote_reward(DEMO, "CUT10", money("0"), RICH, 0, TODAY), RefusalCode.NOTHING_TO_PAY)
    refused(quote_reward(DEMO, "CUT10", Money.parse("80", "USD"), RICH, 0, TODAY), RefusalCode.INVALID_REQUEST)


def test_available_points_override_the_cached_balance():
    """At the counter, available = cached balance − this counter's unsynced burns."""
    refused(quote_reward(DEMO, "CUT10", money("80"), RICH, 0, TODAY, points_available=900), RefusalCode.UNAFFORDABLE)
    quote = quote_reward(DEMO, "CUT10", money("80"), MemberStanding("CLASSIC", 0), 0, TODAY, points_available=1000)
    assert isinstance(quote, RewardQuote)


# --- issued vouchers ---------------------------------------------------------------------------------------------


def voucher(**fields) -> IssuedVoucher:
    base = dict(code="WELCOME5", name="S$5 welcome", kind=RewardKind.AMOUNT, amount=money("5.00"))
    base.update(fields)
    return IssuedVoucher(**base)


def test_issued_vouchers_quote_without_points():
    quote = quote_voucher(DEMO, voucher(), money("40.00"), TODAY)
    assert quote.source == "voucher" and quote.points_cost == 0 and quote.discount == money("5.00")
    percent = voucher(
        code="BDAY20", kind=RewardKind.PERCENT, amount=None, percent=Decimal(20), max_discount=money("30.00")
    )
    assert quote_voucher(DEMO, percent, money("100.00"), TODAY).discount == money("20.00")
    assert quote_voucher(DEMO, percent, money("200.00"), TODAY).discount == money("30.00")
    free = voucher(code="FREEWASH", kind=RewardKind.FREE_SKU, amount=None, sku="SVC-WASH", value=money("15.00"))
    assert quote_voucher(DEMO, free, money("60.00"), TODAY).free_sku == "SVC-WASH"


def test_voucher_refusals():
    assert refused(quote_voucher(DEMO, voucher(used=True), money("40"), TODAY), RefusalCode.ALREADY_USED) == (
        "Voucher WELCOME5 has already been used"
    )
    refused(quote_voucher(DEMO, voucher(valid_until=date(2026, 3, 1)), money("40"), TODAY), RefusalCode.EXPIRED)
    refused(quote_voucher(DEMO, voucher(valid_from=date(2026, 3, 3)), money("40"), TODAY), RefusalCode.NOT_YET_VALID)
    refused(quote_voucher(DEMO, voucher(min_bill=money("50")), money("40"), TODAY), RefusalCode.BELOW_MINIMUM_BILL)
    refused(quote_voucher(DEMO, voucher(amount=None), money("40"), TODAY), RefusalCode.INVALID_REQUEST)
    refused(
        quote_voucher(DEMO, voucher(amount=Money.parse("5", "USD")), money("40"), TODAY), RefusalCode.INVALID_REQUEST
    )
    refused(
        quote_voucher(DEMO, voucher(kind=RewardKind.PERCENT, percent=Decimal(150)), money("40"), TODAY),
        RefusalCode.INVALID_REQUEST,
    )


# --- points as money ---------------------------------------------------------------------------------------------
# Demo: 100 points = S$1.00, at least 500 points, at most S$50.00 and at most 50% of the bill.


def test_default_quote_is_the_most_the_bill_accepts():
    quote = quote_points_payment(DEMO, 3456, money("80.00"))
    assert isinstance(quote, PointsPaymentQuote)
    assert (quote.points, quote.amount) == (3456, money("34.56"))  # limited by the balance
    by_percent = quote_points_payment(DEMO, 10_000, money("80.00"))
    assert (by_percent.points, by_percent.amount) == (4000, money("40.00"))  # 50% of the bill
    by_cap = quote_points_payment(DEMO, 10_000, money("200.00"))
    assert (by_cap.points, by_cap.amount) == (5000, money("50.00"))  # S$50 per bill
    assert by_cap.max_points == 5000 and by_cap.min_points == 500


def test_member_chooses_a_partial_amount_or_number_of_points():
    by_amount = quote_points_payment(DEMO, 3456, money("80.00"), requested_amount=money("12.34"))
    assert (by_amount.points, by_amount.amount, by_amount.max_amount) == (1234, money("12.34"), money("34.56"))
    by_points = quote_points_payment(DEMO, 3456, money("80.00"), requested_points=600)
    assert (by_points.points, by_points.amount) == (600, money("6.00"))


def test_points_payment_refusals():
    bill = money("80.00")
    assert refused(
        quote_points_payment(DEMO, 3456, bill, requested_amount=money("4.00")), RefusalCode.BELOW_MINIMUM_POINTS
    ) == ("At least 500 pts (S$5.00) must be used; 400 pts chosen")
    assert refused(
        quote_points_payment(DEMO, 3456, bill, requested_amount=money("40.00")), RefusalCode.OVER_MAXIMUM
    ) == ("At most 3,456 pts (S$34.56) can pay this bill")
    refused(quote_points_payment(DEMO, 10_000, bill, requested_points=4100), RefusalCode.OVER_MAXIMUM)
    assert refused(quote_points_payment(DEMO, 3456, bill, requested_points=3457), RefusalCode.UNAFFORDABLE) == (
        "3,457 pts chosen; 3,456 pts available"
    )
    refused(quote_points_payment(DEMO, 3456, bill, requested_points=0), RefusalCode.INVALID_REQUEST)
    refused(quote_points_payment(DEMO, 3456, bill, requested_amount=money("-1")), RefusalCode.INVALID_REQUEST)
    refused(
        quote_points_payment(DEMO, 3456, bill, requested_points=600, requested_amount=money("6")),
        RefusalCode.INVALID_REQUEST,
    )
    assert refused(quote_points_payment(DEMO, 499, bill), RefusalCode.BELOW_MINIMUM_POINTS) == (
        "Paying with points needs at least 500 pts; 499 pts available"
    )
    assert refused(quote_points_payment(DEMO, 10_000, money("8.00")), RefusalCode.BELOW_MINIMUM_POINTS) == (
        "This bill takes at most 400 pts, below the minimum of 500 pts"
    )
    refused(quote_points_payment(DEMO, 10_000, money("0")), RefusalCode.NOTHING_TO_PAY)
    data = demo_dict()
    del data["points_payment"]
    refused(quote_points_payment(programme_from_dict(data), 10_000, bill), RefusalCode.NOT_OFFERED)


def test_uneven_conversion_rounds_money_down_and_points_up():
    data = demo_dict()
    data["points_payment"] = {"points": 150, "amount": "1.00"}
    prog = programme_from_dict(data)
    settings = prog.points_payment
    assert points_value(settings, 100) == money("0.66")
    assert points_needed(settings, money("0.66")) == 99
    assert points_needed(settings, money("1.00")) == 150
    quote = quote_points_payment(prog, 1000, money("80.00"), requested_points=100)
    assert (quote.points, quote.amount) == (99, money("0.66"))
    assert quote.note == "99 pts used: the rest is worth less than a cent"
    assert quote_points_payment(prog, 1000, money("80.00"), requested_amount=money("1.00")).points == 150


# --- stored value ------------------------------------------------------------------------------------------------


def test_stored_value_pays_one_to_one_within_the_balance():
    quote = quote_stored_value_payment(DEMO, money("30.00"), money("80.00"))
    assert isinstance(quote, StoredValueQuote) and quote.amount == money("30.00")
    assert quote_stored_value_payment(DEMO, money("300.00"), money("80.00")).amount == money("80.00")
    assert quote_stored_value_payment(DEMO, money("30.00"), money("80.00"), money("20.00")).amount == money("20.00")
    assert refused(
        quote_stored_value_payment(DEMO, money("30.00"), money("80.00"), money("40.00")), RefusalCode.UNAFFORDABLE
    ) == ("S$40.00 chosen; balance is S$30.00")
    refused(quote_stored_value_payment(DEMO, money("0"), money("80.00")), RefusalCode.UNAFFORDABLE)
    refused(quote_stored_value_payment(DEMO, money("30.00"), money("80.00"), money("0")), RefusalCode.INVALID_REQUEST)


def test_stored_value_limits_and_absence():
    data = demo_dict()
    data["stored_value"] = {"max_amount_per_bill": "25.00"}
    prog = programme_from_dict(data)
    assert quote_stored_value_payment(prog, money("100"), money("80")).amount == money("25.00")
    refused(quote_stored_value_payment(prog, money("100"), money("80"), money("30")), RefusalCode.OVER_MAXIMUM)
    del data["stored_value"]
    refused(quote_stored_value_payment(programme_from_dict(data), money("100"), money("80")), RefusalCode.NOT_OFFERED)


@pytest.mark.parametrize("bill", ["0.01", "1.00", "99.99"])
def test_percent_limit_rounds_down_to_the_cent(bill):
    quote = quote_stored_value_payment(
        programme_from_dict({**demo_dict(), "stored_value": {"max_percent_of_bill": 50}}), money("1000"), money(bill)
    )
    if isinstance(quote, StoredValueQuote):
        assert quote.amount * 2 <= money(bill)
