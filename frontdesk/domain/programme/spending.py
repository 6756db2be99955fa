"""What points (and vouchers and stored value) buy on a bill, quoted before anything is spent.

Every quote is either a `...Quote` with the exact discount to key into WESS, or a `RedemptionRefused` with a code
the UI can branch on and a sentence it can show. Nothing is deducted here: the caller records the redemption.

"Available" points are whatever the caller passes: at the counter that is the cached balance minus this counter's
unsynced burns, so two redemptions in a row cannot spend the same points twice.

Rounding (all in the member's disfavour by at most one cent or one point, never in their favour beyond the rule):
- a percentage discount is rounded to the cent, halves up, as a till does;
- a discount never exceeds the bill: the excess is lost and a note says so;
- points-as-money: the amount for N points is rounded DOWN to the cent; the points for an amount are rounded UP.
  So 150 points = S$1.00 makes 100 points worth S$0.66, which costs 99 points (the 100th is not taken).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import StrEnum

from frontdesk.domain.money import Money, minor_exponent
from frontdesk.domain.programme.arithmetic import (
    format_day,
    format_number,
    format_points,
)
from frontdesk.domain.programme.inputs import MemberStanding
from frontdesk.domain.programme.model import (
    PointsPaymentSettings,
    Programme,
    RewardKind,
    name_key,
)


class RefusalCode(StrEnum):
    UNKNOWN_CODE = "unknown_code"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    ALREADY_USED = "already_used"
    NOT_FOR_TIER = "not_for_tier"
    LIMIT_REACHED = "limit_reached"
    BELOW_MINIMUM_BILL = "below_minimum_bill"
    UNAFFORDABLE = "unaffordable"
    BELOW_MINIMUM_POINTS = "below_minimum_points"
    OVER_MAXIMUM = "over_maximum"
    NOTHING_TO_PAY = "nothing_to_pay"
    NOT_OFFERED = "not_offered"
    INVALID_REQUEST = "invalid_request"


@dataclass(frozen=True)
class RedemptionRefused:
    code: RefusalCode
    reason: str


@dataclass(frozen=True)
class IssuedVoucher:
    """A code already issued to the member (Eber's `issued_reward`): it costs no points, only its one use."""

    code: str
    name: str
    kind: RewardKind
    amount: Money | None = None
    percent: Decimal | None = None
    max_discount: Money | None = None
    sku: str | None = None
    value: Money | None = None
    valid_from: date | None = None
    valid_until: date | None = None
    min_bill: Money | None = None
    used: bool = False


@dataclass(frozen=True)
class RewardQuote:
    code: str
    name: str
    kind: RewardKind
    source: str  # "reward" (catalogue, costs points) or "voucher" (issued code)
    discount: Money  # the amount to key into WESS
    points_cost: int
    free_sku: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class PointsPaymentQuote:
    points: int  # points to deduct
    amount: Money  # money they pay
    max_points: int  # the most points this bill accepts from this member
    max_amount: Money
    min_points: int
    note: str | None = None


@dataclass(frozen=True)
class StoredValueQuote:
    amount: Money
    max_amount: Money
    note: str | None = None


# --- rewards and vouchers ---------------------------------------------------------------------------------------


def quote_reward(
    programme: Programme,
    reward_code: str,
    bill_total: Money,
    member: MemberStanding,
    redeemed_count_for_member: int,
    today: date,
    *,
    points_available: int | None = None,
) -> RewardQuote | RedemptionRefused:
    """Quote a catalogue reward. `points_available` defaults to `member.points_balance`."""
    reward = programme.reward(reward_code)
    if reward is None:
        return RedemptionRefused(RefusalCode.UNKNOWN_CODE, f"No reward “{reward_code}” in {programme.name}")
    refused = _check_bill(bill_total, programme.currency)
    if refused is not None:
        return refused
    refused = _check_dates(reward.name, reward.valid_from, reward.valid_until, today)
    if refused is not None:
        return refused
    if reward.tiers and name_key(member.tier_code) not in reward.tiers:
        tier_names = ", ".join(tier.name for tier in programme.tiers.levels if name_key(tier.code) in reward.tiers)
        return RedemptionRefused(RefusalCode.NOT_FOR_TIER, f"{reward.name} is for {tier_names} members only")
    if reward.per_member_limit is not None and redeemed_count_for_member >= reward.per_member_limit:
        return RedemptionRefused(
            RefusalCode.LIMIT_REACHED,
            f"{reward.name} can be redeemed {_times(reward.per_member_limit)} per member; already used "
            f"{_times(redeemed_count_for_member)}",
        )
    refused = _check_min_bill(reward.name, reward.min_bill, bill_total)
    if refused is not None:
        return refused
    available = max(0, member.points_balance if points_available is None else points_available)
    if reward.points_cost > available:
        return RedemptionRefused(
            RefusalCode.UNAFFORDABLE,
            f"{reward.name} costs {format_points(reward.points_cost)}; {format_points(available)} available",
        )
    discount, note = _discount(
        reward.kind, reward.amount, reward.percent, reward.max_discount, reward.value, bill_total
    )
    return RewardQuote(
        code=reward.code,
        name=reward.name,
        kind=reward.kind,
        source="reward",
        discount=discount,
        points_cost=reward.points_cost,
        free_sku=reward.sku,
        note=note,
    )


def quote_voucher(
    programme: Programme, voucher: IssuedVoucher, bill_total: Money, today: date
) -> RewardQuote | RedemptionRefused:
    refused = _check_bill(bill_total, programme.currency)
    if refused is not None:
        return refused
    if voucher.used:
        return RedemptionRefused(RefusalCode.ALREADY_USED, f"Voucher {voucher.code} has already been used")
    refused = _check_dates(f"Voucher {voucher.code}", voucher.valid_from, voucher.valid_until, today)
    if refused is not None:
        return refused
    for money in (voucher.amount, voucher.max_discount, voucher.value):
        if money is not None and money.currency != programme.currency:
            return RedemptionRefused(
                RefusalCode.INVALID_REQUEST, f"Voucher {voucher.code} is in {money.currency}, not {programme.currency}"
            )
    needed = {
        RewardKind.AMOUNT: voucher.amount,
        RewardKind.PERCENT: voucher.percent,
        RewardKind.FREE_SKU: voucher.value,
    }
    if needed[voucher.kind] is None or (voucher.kind is RewardKind.PERCENT and not 0 < voucher.percent <= 100):  # type: ignore[operator]
        return RedemptionRefused(RefusalCode.INVALID_REQUEST, f"Voucher {voucher.code} does not say what it is worth")
    refused = _check_min_bill(f"Voucher {voucher.code}", voucher.min_bill, bill_total)
    if refused is not None:
        return refused
    discount, note = _discount(
        voucher.kind, voucher.amount, voucher.percent, voucher.max_discount, voucher.value, bill_total
    )
    return RewardQuote(
        code=voucher.code,
        name=voucher.name,
        kind=voucher.kind,
        source="voucher",
        discount=discount,
        points_cost=0,
        free_sku=voucher.sku,
        note=note,
    )


def _discount(
    kind: RewardKind,
    amount: Money | None,
    percent: Decimal | None,
    max_discount: Money | None,
    value: Money | None,
    bill_total: Money,
) -> tuple[Money, str | None]:
    note = None
    if kind is RewardKind.PERCENT:
        assert percent is not None
        exact = bill_total.amount * percent / 100
        discount = Money(_to_cents(exact, bill_total.currency, ROUND_HALF_UP), bill_total.currency)
        if max_discount is not None and discount > max_discount:
            discount = max_discount
            note = f"{format_number(percent)}% capped at {max_discount.display()}"
        return discount, note
    face = amount if kind is RewardKind.AMOUNT else value
    assert face is not None
    if face > bill_total:
        return bill_total, f"Limited to the bill: {face.display()} is worth more than {bill_total.display()}"
    return face, None


def _check_bill(bill_total: Money, currency: str) -> RedemptionRefused | None:
    if bill_total.currency != currency:
        return RedemptionRefused(RefusalCode.INVALID_REQUEST, f"The bill is in {bill_total.currency}, not {currency}")
    if bill_total.is_negative() or bill_total.is_zero():
        return RedemptionRefused(RefusalCode.NOTHING_TO_PAY, "Nothing left on the bill to discount")
    return None


def _check_dates(what: str, valid_from: date | None, valid_until: date | None, today: date) -> RedemptionRefused | None:
    if valid_from is not None and today < valid_from:
        return RedemptionRefused(RefusalCode.NOT_YET_VALID, f"{what} starts on {format_day(valid_from)}")
    if valid_until is not None and today > valid_until:
        return RedemptionRefused(RefusalCode.EXPIRED, f"{what} expired on {format_day(valid_until)}")
    return None


def _check_min_bill(what: str, min_bill: Money | None, bill_total: Money) -> RedemptionRefused | None:
    if min_bill is not None and bill_total < min_bill:
        return RedemptionRefused(
            RefusalCode.BELOW_MINIMUM_BILL, f"{what} needs a bill of at least {min_bill.display()}"
        )
    return None


# --- points as money and stored value ---------------------------------------------------------------------------


def points_value(settings: PointsPaymentSettings, points: int) -> Money:
    """What `points` pay for, rounded down to the cent."""
    exact = Decimal(points) * settings.amount.amount / settings.points
    return Money(_to_cents(exact, settings.amount.currency, ROUND_FLOOR), settings.amount.currency)


def points_needed(settings: PointsPaymentSettings, amount: Money) -> int:
    """The points that pay `amount`, rounded up to a whole point."""
    exact = amount.amount * settings.points / settings.amount.amount
    return int(exact.to_integral_value(rounding=ROUND_CEILING))


def quote_points_payment(
    programme: Programme,
    points_available: int,
    bill_total: Money,
    requested_points: int | None = None,
    requested_amount: Money | None = None,
) -> PointsPaymentQuote | RedemptionRefused:
    """Quote paying part of the bill with points. Without a request, quotes the most this bill accepts; with
    `requested_points` or `requested_amount` (not both), quotes what the member chose, or refuses it."""
    settings = programme.points_payment
    if settings is None:
        return RedemptionRefused(RefusalCode.NOT_OFFERED, f"{programme.name} does not let points pay for a bill")
    if requested_points is not None and requested_amount is not None:
        return RedemptionRefused(RefusalCode.INVALID_REQUEST, "Ask for points or for an amount, not both")
    refused = _check_bill(bill_total, programme.currency)
    if refused is not None:
        return refused
    available = max(0, points_available)
    if available < max(settings.min_points, 1):
        return RedemptionRefused(
            RefusalCode.BELOW_MINIMUM_POINTS,
            f"Paying with points needs at least {format_points(max(settings.min_points, 1))}; "
            f"{format_points(available)} available",
        )
    max_amount = min(
        _bill_limit(bill_total, settings.max_amount_per_bill, settings.max_percent_of_bill),
        points_value(settings, available),
    )
    max_points = points_needed(settings, max_amount)
    ceiling = f"At most {format_points(max_points)} ({max_amount.display()}) can pay this bill"

    def quote(amount: Money, note: str | None = None) -> PointsPaymentQuote | RedemptionRefused:
        points = points_needed(settings, amount)
        if amount.is_zero() or points == 0:
            return RedemptionRefused(RefusalCode.INVALID_REQUEST, "Choose an amount of more than zero")
        if points < settings.min_points:
            minimum_worth = points_value(settings, settings.min_points).display()
            return RedemptionRefused(
                RefusalCode.BELOW_MINIMUM_POINTS,
                f"At least {format_points(settings.min_points)} ({minimum_worth}) must be used; "
                f"{format_points(points)} chosen",
            )
        return PointsPaymentQuote(
            points=points,
            amount=amount,
            max_points=max_points,
            max_amount=max_amount,
            min_points=settings.min_points,
            note=note,
        )

    if requested_points is not None:
        if isinstance(requested_points, bool) or not isinstance(requested_points, int) or requested_points <= 0:
            return RedemptionRefused(RefusalCode.INVALID_REQUEST, "Choose a whole number of points, more than zero")
        if requested_points > available:
            return RedemptionRefused(
                RefusalCode.UNAFFORDABLE,
                f"{format_points(requested_points)} chosen; {format_points(available)} available",
            )
        amount = points_value(settings, requested_points)
        if amount > max_amount:
            return RedemptionRefused(RefusalCode.OVER_MAXIMUM, ceiling)
        result = quote(amount)
        if isinstance(result, PointsPaymentQuote) and result.points < requested_points:
            result = quote(amount, f"{format_points(result.points)} used: the rest is worth less than a cent")
        return result
    if requested_amount is not None:
        if requested_amount.currency != programme.currency:
            return RedemptionRefused(RefusalCode.INVALID_REQUEST, f"Choose an amount in {programme.currency}")
        if requested_amount.is_negative() or requested_amount.is_zero():
            return RedemptionRefused(RefusalCode.INVALID_REQUEST, "Choose an amount of more than zero")
        if requested_amount > max_amount:
            return RedemptionRefused(RefusalCode.OVER_MAXIMUM, ceiling)
        return quote(requested_amount)
    if max_amount.is_zero():
        return RedemptionRefused(RefusalCode.OVER_MAXIMUM, "This bill cannot take any points")
    if max_points < settings.min_points:
        return RedemptionRefused(
            RefusalCode.BELOW_MINIMUM_POINTS,
            f"This bill takes at most {format_points(max_points)}, below the minimum of "
            f"{format_points(settings.min_points)}",
        )
    return quote(max_amount)


def quote_stored_value_payment(
    programme: Programme, balance: Money, bill_total: Money, requested_amount: Money | None = None
) -> StoredValueQuote | RedemptionRefused:
    """Quote paying with the member's money balance, 1:1, within the programme's per-bill limits."""
    settings = programme.stored_value
    if settings is None:
        return RedemptionRefused(RefusalCode.NOT_OFFERED, f"{programme.name} has no stored-value balance")
    refused = _check_bill(bill_total, programme.currency)
    if refused is not None:
        return refused
    if balance.currency != programme.currency:
        return RedemptionRefused(
            RefusalCode.INVALID_REQUEST, f"The balance is in {balance.currency}, not {programme.currency}"
        )
    if balance.is_negative() or balance.is_zero():
        return RedemptionRefused(RefusalCode.UNAFFORDABLE, "The stored-value balance is empty")
    max_amount = min(_bill_limit(bill_total, settings.max_amount_per_bill, settings.max_percent_of_bill), balance)
    if requested_amount is None:
        return StoredValueQuote(amount=max_amount, max_amount=max_amount)
    if requested_amount.currency != programme.currency:
        return RedemptionRefused(RefusalCode.INVALID_REQUEST, f"Choose an amount in {programme.currency}")
    if requested_amount.is_negative() or requested_amount.is_zero():
        return RedemptionRefused(RefusalCode.INVALID_REQUEST, "Choose an amount of more than zero")
    if requested_amount > balance:
        return RedemptionRefused(
            RefusalCode.UNAFFORDABLE, f"{requested_amount.display()} chosen; balance is {balance.display()}"
        )
    if requested_amount > max_amount:
        return RedemptionRefused(
            RefusalCode.OVER_MAXIMUM, f"At most {max_amount.display()} of stored value on this bill"
        )
    return StoredValueQuote(amount=requested_amount, max_amount=max_amount)


def _bill_limit(bill_total: Money, max_amount: Money | None, max_percent: Decimal | None) -> Money:
    limit = bill_total
    if max_amount is not None:
        limit = min(limit, max_amount)
    if max_percent is not None:
        share = Money(
            _to_cents(bill_total.amount * max_percent / 100, bill_total.currency, ROUND_FLOOR), bill_total.currency
        )
        limit = min(limit, share)
    return limit


def _to_cents(value: Decimal, currency: str, rounding: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-minor_exponent(currency)), rounding=rounding)


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")
