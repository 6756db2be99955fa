"""Undoing a sale's loyalty effects: a void exactly, a partial refund pro rata, a shortfall never hidden.

A sale's effects (`SaleEffects`) are what it did to the member: points earned, points redeemed (rewards and
points-as-money), stored value spent, and which reward/voucher codes it used. `reverse_sale` returns what a refund
does to them.

Rounding of partial refunds, and why it is exact in the end:
- Refunds are measured in money against `sale_total` (the bill as paid, all tenders together). A fractional refund
  is turned into money first (to the cent, halves up), so several refunds add up like the till's refunds do.
- Targets are cumulative: after refunds totalling R of a sale total T, the earned points clawed back so far are
  floor(earned × R / T) and the redeemed points restored so far are floor(redeemed × R / T) (stored value likewise, to
  the cent). Each refund applies the difference from what earlier refunds already did. Rounding down leaves the
  member the fraction on a clawback and the business the fraction on a restore, and because R = T gives exactly
  `earned` and `redeemed`, any series of refunds that ends in a full refund or a void reverses the sale exactly —
  never a point more or less.
- A void reverses whatever is left, whatever happened before. Reward and voucher codes come back only when the sale
  is fully reversed: a partly refunded bill still used its voucher.

Balances never go negative. If the member has already spent points that a refund claws back, the balance stops at
zero and the rest is reported as `shortfall_points`, for the ledger and the manager to see.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Sequence

from frontdesk.domain.money import Money, minor_exponent
from frontdesk.domain.programme.arithmetic import format_points
from frontdesk.domain.programme.errors import ReversalError
from frontdesk.domain.programme.spending import (
    PointsPaymentQuote,
    RewardQuote,
    StoredValueQuote,
)


@dataclass(frozen=True)
class SaleEffects:
    sale_total: Money  # what the customer paid, all tenders together: refunds are measured against it
    points_earned: int
    points_redeemed: int  # rewards' points cost plus points paid as money
    stored_value_used: Money
    reward_codes: tuple[str, ...] = ()
    voucher_codes: tuple[str, ...] = ()

    @classmethod
    def from_checkout(
        cls,
        sale_total: Money,
        points_earned: int,
        rewards: Sequence[RewardQuote] = (),
        points_payment: PointsPaymentQuote | None = None,
        stored_value: StoredValueQuote | None = None,
    ) -> SaleEffects:
        redeemed = sum(quote.points_cost for quote in rewards) + (points_payment.points if points_payment else 0)
        return cls(
            sale_total=sale_total,
            points_earned=points_earned,
            points_redeemed=redeemed,
            stored_value_used=stored_value.amount if stored_value else Money.zero(sale_total.currency),
            reward_codes=tuple(quote.code for quote in rewards if quote.source == "reward"),
            voucher_codes=tuple(quote.code for quote in rewards if quote.source == "voucher"),
        )


@dataclass(frozen=True)
class Balances:
    points: int
    stored_value: Money

    def after_sale(self, effects: SaleEffects) -> Balances:
        """The balances once the sale's effects apply (the caller has already checked redemptions are affordable)."""
        return Balances(
            points=self.points - effects.points_redeemed + effects.points_earned,
            stored_value=self.stored_value - effects.stored_value_used,
        )


@dataclass(frozen=True)
class Refund:
    """How much of the sale is refunded now: all of what is left (void), a fraction of the sale, or an amount."""

    void: bool = False
    fraction: Decimal | None = None
    amount: Money | None = None

    @classmethod
    def full_void(cls) -> Refund:
        return cls(void=True)

    @classmethod
    def of_fraction(cls, fraction: Decimal) -> Refund:
        return cls(fraction=fraction)

    @classmethod
    def of_amount(cls, amount: Money) -> Refund:
        return cls(amount=amount)


@dataclass(frozen=True)
class Reversal:
    refunded_amount: Money  # this refund, in money
    points_clawed_back: int  # earned points this refund takes back (some may be shortfall)
    points_restored: int  # redeemed points this refund gives back
    stored_value_restored: Money
    shortfall_points: int  # clawback the balance could not cover; the balance stopped at zero
    balance_before: Balances
    balance_after: Balances
    reward_codes_reinstated: tuple[str, ...]
    voucher_codes_reinstated: tuple[str, ...]
    fully_reversed: bool
    # Running totals over this and all earlier refunds of the same sale: pass this Reversal as `previous` next time.
    total_refunded: Money
    total_points_clawed_back: int
    total_points_restored: int
    total_stored_value_restored: Money
    explanation: str

    @property
    def points_change(self) -> int:
        """What the ledger records for this refund: the balance's actual change."""
        return self.balance_after.points - self.balance_before.points


def reverse_sale(
    original_effects: SaleEffects,
    refund: Refund,
    current_balance: Balances,
    previous: Reversal | None = None,
) -> Reversal:
    """What `refund` claws back and restores, given the member's balances now and the sale's last reversal if any."""
    effects = original_effects
    total = effects.sale_total
    currency = total.currency
    _check_effects(effects, current_balance)
    refunded_before = previous.total_refunded if previous else Money.zero(currency)
    left = total - refunded_before
    if previous is not None and previous.fully_reversed:
        raise ReversalError("refund", "this sale has already been fully reversed")

    if refund.void:
        this_refund = left
    elif refund.amount is not None and refund.fraction is None:
        this_refund = refund.amount
        if this_refund.currency != currency:
            raise ReversalError("refund.amount", f"is in {this_refund.currency}, the sale was in {currency}")
    elif refund.fraction is not None and refund.amount is None:
        fraction = refund.fraction
        if not isinstance(fraction, Decimal) or not fraction.is_finite() or not 0 < fraction <= 1:
            raise ReversalError("refund.fraction", "must be more than 0 and at most 1")
        cent = Decimal(1).scaleb(-minor_exponent(currency))
        this_refund = Money((total.amount * fraction).quantize(cent, ROUND_HALF_UP), currency)
        if this_refund.is_zero():
            raise ReversalError("refund.fraction", f"is less than a cent of this sale ({total.display()})")
    else:
        raise ReversalError("refund", "give a void, a fraction or an amount: exactly one")
    if not refund.void:
        if this_refund.is_negative() or this_refund.is_zero():
            raise ReversalError("refund.amount", "must be more than zero")
        if this_refund > left:
            raise ReversalError("refund.amount", f"is more than is left of the sale ({left.display()})")

    refunded_after = refunded_before + this_refund
    full = refund.void or refunded_after == total
    clawed_total = _share(effects.points_earned, refunded_after, total, full)
    restored_total = _share(effects.points_redeemed, refunded_after, total, full)
    stored_total = Money.from_minor(_share(effects.stored_value_used.minor, refunded_after, total, full), currency)

    clawed = clawed_total - (previous.total_points_clawed_back if previous else 0)
    restored = restored_total - (previous.total_points_restored if previous else 0)
    stored = stored_total - (previous.total_stored_value_restored if previous else Money.zero(currency))

    points_after = current_balance.points + restored - clawed
    shortfall = max(0, -points_after)
    balance_after = Balances(points=max(0, points_after), stored_value=current_balance.stored_value + stored)
    explanation = _explain(full, refund.void, this_refund, clawed, restored, stored, shortfall)
    return Reversal(
        refunded_amount=this_refund,
        points_clawed_back=clawed,
        points_restored=restored,
        stored_value_restored=stored,
        shortfall_points=shortfall,
        balance_before=current_balance,
        balance_after=balance_after,
        reward_codes_reinstated=effects.reward_codes if full else (),
        voucher_codes_reinstated=effects.voucher_codes if full else (),
        fully_reversed=full,
        total_refunded=refunded_after,
        total_points_clawed_back=clawed_total,
        total_points_restored=restored_total,
        total_stored_value_restored=stored_total,
        explanation=explanation,
    )


def _share(whole: int, refunded: Money, total: Money, full: bool) -> int:
    if full:
        return whole
    if total.minor == 0:
        return 0
    return (whole * refunded.minor) // total.minor


def _check_effects(effects: SaleEffects, balance: Balances) -> None:
    currency = effects.sale_total.currency
    if effects.sale_total.is_negative():
        raise ReversalError("original_effects.sale_total", "cannot be negative")
    for name in ("points_earned", "points_redeemed"):
        value = getattr(effects, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ReversalError(f"original_effects.{name}", "must be a whole number of points, zero or more")
    if effects.stored_value_used.currency != currency or effects.stored_value_used.is_negative():
        raise ReversalError("original_effects.stored_value_used", f"must be zero or more {currency}")
    if balance.stored_value.currency != currency:
        raise ReversalError("current_balance.stored_value", f"must be in {currency}")
    if isinstance(balance.points, bool) or not isinstance(balance.points, int):
        raise ReversalError("current_balance.points", "must be a whole number of points")


def _explain(full: bool, void: bool, refunded: Money, clawed: int, restored: int, stored: Money, shortfall: int) -> str:
    head = "Void" if void else ("Refund of the rest" if full else f"Refund of {refunded.display()}")
    parts = []
    if clawed:
        parts.append(f"{format_points(clawed)} earned clawed back")
    if restored:
        parts.append(f"{format_points(restored)} redeemed restored")
    if not stored.is_zero():
        parts.append(f"{stored.display()} stored value restored")
    text = f"{head}: " + (", ".join(parts) if parts else "no loyalty effect")
    if shortfall:
        text += f"; {format_points(shortfall)} already spent could not be clawed back (shortfall recorded)"
    return text
