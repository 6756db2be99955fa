"""Voids and refunds: exact reversal, pro-rata rounding that ends exact, shortfalls reported not hidden."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from frontdesk.domain.money import Money
from frontdesk.domain.programme import (
    Balances,
    MemberStanding,
    Refund,
    ReversalError,
    SaleEffects,
    load_programme,
    quote_points_payment,
    quote_reward,
    quote_stored_value_payment,
    quote_voucher,
    reverse_sale,
)
from frontdesk.domain.programme.spending import IssuedVoucher, RewardKind

from .helpers import DEMO_PATH, money

EFFECTS = SaleEffects(
    sale_total=money("100.00"),
    points_earned=120,
    points_redeemed=500,
    stored_value_used=money("20.00"),
    reward_codes=("CUT10",),
    voucher_codes=("WELCOME5",),
)
BEFORE = Balances(points=1000, stored_value=money("50.00"))


def test_void_restores_every_balance_exactly_and_reinstates_codes():
    after_sale = BEFORE.after_sale(EFFECTS)
    assert after_sale == Balances(620, money("30.00"))
    void = reverse_sale(EFFECTS, Refund.full_void(), after_sale)
    assert void.balance_after == BEFORE
    assert (void.points_clawed_back, void.points_restored, void.stored_value_restored) == (120, 500, money("20.00"))
    assert void.shortfall_points == 0 and void.fully_reversed
    assert void.reward_codes_reinstated == ("CUT10",) and void.voucher_codes_reinstated == ("WELCOME5",)
    assert void.points_change == 380
    assert (
        void.explanation == "Void: 120 pts earned clawed back, 500 pts redeemed restored, S$20.00 stored value restored"
    )


def test_partial_refund_is_pro_rata_and_keeps_codes_used():
    half = reverse_sale(EFFECTS, Refund.of_fraction(Decimal("0.5")), BEFORE.after_sale(EFFECTS))
    assert half.refunded_amount == money("50.00")
    assert (half.points_clawed_back, half.points_restored, half.stored_value_restored) == (60, 250, money("10.00"))
    assert half.reward_codes_reinstated == () and not half.fully_reversed
    assert half.explanation.startswith("Refund of S$50.00: 60 pts earned clawed back")


def test_partial_refund_rounds_down_cumulatively_so_the_pieces_add_up_exactly():
    effects = SaleEffects(money("30.00"), points_earned=10, points_redeemed=7, stored_value_used=money("0.10"))
    balance = Balances(100, money("0"))
    first = reverse_sale(effects, Refund.of_amount(money("10.00")), balance)
    assert (first.points_clawed_back, first.points_restored, first.stored_value_restored) == (3, 2, money("0.03"))
    second = reverse_sale(effects, Refund.of_amount(money("10.00")), first.balance_after, previous=first)
    assert (second.points_clawed_back, second.points_restored, second.stored_value_restored) == (3, 2, money("0.03"))
    third = reverse_sale(effects, Refund.of_amount(money("10.00")), second.balance_after, previous=second)
    assert (third.points_clawed_back, third.points_restored, third.stored_value_restored) == (4, 3, money("0.04"))
    assert third.fully_reversed and third.explanation.startswith("Refund of the rest")
    assert (third.total_points_clawed_back, third.total_points_restored) == (10, 7)
    assert third.balance_after == Balances(100 - 10 + 7, money("0.10"))


def test_fraction_becomes_money_first_and_void_takes_the_rest():
    effects = SaleEffects(money("10.00"), points_earned=10, points_redeemed=0, stored_value_used=money("0"))
    third = reverse_sale(effects, Refund.of_fraction(Decimal(1) / 3), Balances(50, money("0")))
    assert third.refunded_amount == money("3.33") and third.points_clawed_back == 3
    rest = reverse_sale(effects, Refund.full_void(), third.balance_after, previous=third)
    assert rest.refunded_amount == money("6.67") and rest.points_clawed_back == 7
    assert rest.total_points_clawed_back == 10 and rest.balance_after.points == 40


def test_shortfall_is_reported_never_a_negative_balance():
    effects = SaleEffects(money("100.00"), points_earned=100, points_redeemed=50, stored_value_used=money("0"))
    void = reverse_sale(effects, Refund.full_void(), Balances(30, money("0")))
    # 30 + 50 restored − 100 clawed back = −20: the balance stops at 0 and 20 points are a shortfall.
    assert void.balance_after.points == 0 and void.shortfall_points == 20
    assert void.points_change == -30
    assert void.explanation.endswith("; 20 pts already spent could not be clawed back (shortfall recorded)")


def test_effects_built_from_checkout_quotes():
    demo = load_programme(DEMO_PATH)
    member = MemberStanding("CLASSIC", 5000)
    today = date(2026, 3, 2)
    bill = money("120.00")
    reward = quote_reward(demo, "CUT10", bill, member, 0, today)
    voucher = quote_voucher(demo, IssuedVoucher("WELCOME5", "S$5", RewardKind.AMOUNT, amount=money("5")), bill, today)
    points = quote_points_payment(demo, 4000, money("105.00"), requested_points=800)
    stored = quote_stored_value_payment(demo, money("25.00"), money("97.00"))
    effects = SaleEffects.from_checkout(money("105.00"), 97, [reward, voucher], points, stored)
    assert effects.points_redeemed == 1000 + 800
    assert effects.stored_value_used == money("25.00")
    assert (effects.reward_codes, effects.voucher_codes) == (("CUT10",), ("WELCOME5",))
    bare = SaleEffects.from_checkout(money("10.00"), 10)
    assert bare.points_redeemed == 0 and bare.stored_value_used == money("0")


@pytest.mark.parametrize(
    ("refund", "field", "reason"),
    [
        (Refund.of_amount(money("100.01")), "refund.amount", "is more than is left of the sale (S$100.00)"),
        (Refund.of_amount(money("0")), "refund.amount", "must be more than zero"),
        (Refund.of_amount(Money.parse("5", "USD")), "refund.amount", "is in USD, the sale was in SGD"),
        (Refund.of_fraction(Decimal(0)), "refund.fraction", "must be more than 0 and at most 1"),
        (Refund.of_fraction(Decimal("1.5")), "refund.fraction", "must be more than 0 and at most 1"),
        (Refund.of_fraction(Decimal("0.00001")), "refund.fraction", "is less than a cent of this sale (S$100.00)"),
        (Refund(), "refund", "give a void, a fraction or an amount: exactly one"),
        (
            Refund(fraction=Decimal("0.5"), amount=money("5")),
            "refund",
            "give a void, a fraction or an amount: exactly one",
        ),
    ],
)
def test_bad_refunds_are_refused_with_field_and_reason(refund, field, reason):
    with pytest.raises(ReversalError) as caught:
        reverse_sale(EFFECTS, refund, BEFORE)
    assert (caught.value.field, caught.value.reason) == (field, reason)


def test_refund_beyond_what_is_left_and_after_a_full_reversal():
    first = reverse_sale(EFFECTS, Refund.of_amount(money("60.00")), BEFORE)
    with pytest.raises(ReversalError, match=r"left of the sale \(S\$40.00\)"):
        reverse_sale(EFFECTS, Refund.of_amount(money("50.00")), first.balance_after, previous=first)
    void = reverse_sale(EFFECTS, Refund.full_void(), first.balance_after, previous=first)
    with pytest.raises(ReversalError, match="already been fully reversed"):
        reverse_sale(EFFECTS, Refund.full_void(), void.balance_after, previous=void)


def test_bad_effects_and_balances_are_refused():
    with pytest.raises(ReversalError) as caught:
        reverse_sale(SaleEffects(money("10"), -1, 0, money("0")), Refund.full_void(), BEFORE)
    assert caught.value.field == "original_effects.points_earned"
    with pytest.raises(ReversalError) as caught:
        reverse_sale(EFFECTS, Refund.full_void(), Balances(10, Money.parse("1", "USD")))
    assert caught.value.field == "current_balance.stored_value"


def test_void_of_a_zero_total_sale_still_reverses_its_points():
    effects = SaleEffects(money("0"), points_earned=0, points_redeemed=1000, stored_value_used=money("0"))
    void = reverse_sale(effects, Refund.full_void(), Balances(0, money("0")))
    assert void.points_restored == 1000 and void.balance_after.points == 1000
