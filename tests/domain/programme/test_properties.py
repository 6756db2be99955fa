"""Property-based checks of the promises that must hold for every input, not just the examples."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from frontdesk.domain.money import Money
from frontdesk.domain.programme import (
    Balances,
    EarnContext,
    MemberStanding,
    PointsPaymentQuote,
    RedemptionRefused,
    Refund,
    SaleEffects,
    Tender,
    allocate,
    check_tenders,
    load_programme,
    points_value,
    preview_earning,
    quote_points_payment,
    reverse_sale,
    split_evenly,
)

from .helpers import DEMO_PATH, line, programme, sale

# Applied per test, not as a global profile, so other suites keep their own Hypothesis settings.
thorough = settings(max_examples=150, deadline=None)

DEMO = load_programme(DEMO_PATH)
cents = st.integers(min_value=0, max_value=10_000_000)
points = st.integers(min_value=0, max_value=5_000_000)


def sgd(minor: int) -> Money:
    return Money.from_minor(minor, "SGD")


@st.composite
def effects_and_balance(draw):
    total = draw(st.integers(min_value=1, max_value=10_000_000))
    effects = SaleEffects(
        sale_total=sgd(total),
        points_earned=draw(points),
        points_redeemed=draw(points),
        stored_value_used=sgd(draw(cents)),
    )
    # Before the sale the member could afford what it redeemed.
    before = Balances(
        points=effects.points_redeemed + draw(points),
        stored_value=effects.stored_value_used + sgd(draw(cents)),
    )
    return effects, before


@thorough
@given(effects_and_balance())
def test_voiding_a_sale_restores_every_balance_exactly(case):
    effects, before = case
    void = reverse_sale(effects, Refund.full_void(), before.after_sale(effects))
    assert void.balance_after == before
    assert void.shortfall_points == 0


@thorough
@given(effects_and_balance(), st.lists(st.integers(min_value=1, max_value=1000), min_size=1, max_size=6), st.booleans())
def test_any_series_of_refunds_ending_in_full_reverses_exactly(case, weights, finish_with_void):
    effects, before = case
    balance = before.after_sale(effects)
    pieces = allocate(effects.sale_total, weights)
    previous = None
    refunds = [piece for piece in pieces if not piece.is_zero()]
    if finish_with_void and len(refunds) > 1:
        refunds = refunds[:-1]
    for piece in refunds:
        previous = reverse_sale(effects, Refund.of_amount(piece), balance, previous)
        assert previous.balance_after.points >= 0
        assert 0 <= previous.total_points_clawed_back <= effects.points_earned
        assert 0 <= previous.total_points_restored <= effects.points_redeemed
        balance = previous.balance_after
    if not previous.fully_reversed:
        previous = reverse_sale(effects, Refund.full_void(), balance, previous)
    assert previous.fully_reversed
    assert previous.total_points_clawed_back == effects.points_earned
    assert previous.total_points_restored == effects.points_redeemed
    assert previous.total_stored_value_restored == effects.stored_value_used
    assert previous.balance_after == before


@thorough
@given(
    effects_and_balance(),
    st.integers(min_value=-1000, max_value=5_000_000),
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal(1), places=3),
)
def test_balance_never_goes_below_zero_except_as_a_reported_shortfall(case, current_points, fraction):
    effects, before = case
    assume((effects.sale_total.amount * fraction).quantize(Decimal("0.01"), ROUND_HALF_UP) > 0)
    current = Balances(points=max(0, current_points), stored_value=before.stored_value)
    reversal = reverse_sale(effects, Refund.of_fraction(fraction), current)
    assert reversal.balance_after.points >= 0
    assert reversal.balance_after.stored_value >= current.stored_value
    expected = current.points + reversal.points_restored - reversal.points_clawed_back
    assert reversal.balance_after.points - reversal.shortfall_points == expected
    assert (reversal.shortfall_points > 0) == (expected < 0)


@thorough
@given(cents, st.integers(min_value=1, max_value=12))
def test_split_payments_always_sum_to_the_total(total_minor, parts):
    total = sgd(total_minor)
    split = split_evenly(total, parts)
    assert len(split) == parts
    assert sum(part.minor for part in split) == total_minor
    assert max(part.minor for part in split) - min(part.minor for part in split) <= 1
    positive = [part for part in split if not part.is_zero()]
    if positive:
        assert check_tenders(total, [Tender("card", part) for part in positive]).ok


@thorough
@given(cents, st.lists(st.integers(min_value=1, max_value=1_000_000), max_size=6))
def test_tender_check_is_exact(total_minor, payment_minors):
    check = check_tenders(sgd(total_minor), [sgd(minor) for minor in payment_minors])
    assert check.ok == (sum(payment_minors) == total_minor)
    assert check.difference.minor == total_minor - sum(payment_minors)


@thorough
@given(cents, st.lists(st.integers(min_value=0, max_value=1_000_000), min_size=1, max_size=8))
def test_allocation_never_loses_a_cent(total_minor, weights):
    parts = allocate(sgd(total_minor), weights)
    assert sum(part.minor for part in parts) == total_minor
    assert all(part.minor >= 0 for part in parts)


_MODES = {"down": ROUND_FLOOR, "up": ROUND_CEILING, "nearest": ROUND_HALF_UP}

sale_lines = st.lists(
    st.tuples(st.integers(min_value=0, max_value=100_000), st.integers(min_value=1, max_value=5)),
    min_size=1,
    max_size=6,
)


@thorough
@given(
    sale_lines,
    st.sampled_from(["down", "up", "nearest"]),
    st.sampled_from(["bill", "line"]),
    st.sampled_from(["1.00", "3.00", "0.70"]),
    st.sampled_from([1, 1.25, 1.5, 3]),
)
def test_rounding_follows_the_setting(lines, rounding, scope, per, multiplier):
    def gold(data):
        data["tiers"]["levels"][1]["multiplier"] = multiplier

    prog = programme(
        gold, rounding=rounding, rounding_scope=scope, rules=[{"id": "base", "kind": "spend", "points": 1, "per": per}]
    )
    draft = sale(*(line(f"{price / 100:.2f}", quantity=quantity) for price, quantity in lines))
    preview = preview_earning(prog, draft, MemberStanding("GOLD"))
    mode = _MODES[rounding]
    for item in preview.lines:
        assert item.raw_points == item.eligible_amount.amount / Decimal(per) * Decimal(str(multiplier))
        assert abs(item.points - item.raw_points) < 1
    if scope == "line":
        assert [item.points for item in preview.lines] == [
            int(item.raw_points.to_integral_value(mode)) for item in preview.lines
        ]
    else:
        raw_total = sum(item.raw_points for item in preview.lines)
        assert preview.total_points == int(raw_total.to_integral_value(mode))
    assert preview.total_points == sum(item.points for item in preview.lines)


@thorough
@given(sale_lines, st.integers(min_value=1, max_value=500), st.integers(min_value=0, max_value=600))
def test_daily_cap_is_never_exceeded(lines, cap, earned_today):
    prog = programme(daily_cap=cap)
    draft = sale(*(line(f"{price / 100:.2f}", quantity=quantity) for price, quantity in lines))
    preview = preview_earning(prog, draft, MemberStanding("CLASSIC"), EarnContext(points_earned_today=earned_today))
    assert 0 <= preview.total_points <= max(0, cap - earned_today)
    assert preview.total_points + preview.capped_by == preview.points_before_cap


@thorough
@given(
    st.integers(min_value=0, max_value=100_000),
    st.integers(min_value=1, max_value=1_000_000),
    st.one_of(st.none(), st.integers(min_value=1, max_value=100_000)),
    st.one_of(st.none(), st.integers(min_value=1, max_value=1_000_000)),
)
def test_points_payment_never_exceeds_balance_bill_or_limits(available, bill_minor, requested_points, requested_minor):
    if requested_points is not None and requested_minor is not None:
        requested_minor = None
    bill = sgd(bill_minor)
    quote = quote_points_payment(
        DEMO,
        available,
        bill,
        requested_points=requested_points,
        requested_amount=sgd(requested_minor) if requested_minor is not None else None,
    )
    if isinstance(quote, RedemptionRefused):
        return
    assert isinstance(quote, PointsPaymentQuote)
    assert DEMO.points_payment.min_points <= quote.points <= available
    assert quote.amount <= bill and quote.amount <= sgd(5000) and quote.amount * 2 <= bill
    assert points_value(DEMO.points_payment, quote.points) >= quote.amount
    if requested_points is not None:
        assert quote.points <= requested_points
