"""Split payments: tenders must add up to the bill to the cent, and amounts split without losing a cent."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable, Sequence

from frontdesk.domain.money import Money
from frontdesk.domain.programme.arithmetic import largest_remainder


@dataclass(frozen=True)
class Tender:
    method: str  # cash, card, voucher, points, stored_value, ...
    amount: Money
    reference: str | None = None  # card slip, voucher code, ...


@dataclass(frozen=True)
class TenderCheck:
    ok: bool
    total: Money
    paid: Money
    difference: Money  # total − paid: positive still to pay, negative overpaid
    message: str  # what to show beside the payments ("S$12.40 still to pay")


def check_tenders(total: Money, payments: Iterable[Tender | Money]) -> TenderCheck:
    """Whether the payments add up to `total` exactly; if not, by how much and why."""
    currency = total.currency
    paid = Money.zero(currency)
    problems: list[str] = []
    if total.is_negative():
        problems.append("The bill total cannot be negative")
    for number, payment in enumerate(payments, start=1):
        amount = payment.amount if isinstance(payment, Tender) else payment
        if not isinstance(amount, Money):
            problems.append(f"Payment {number} is not an amount")
            continue
        if amount.currency != currency:
            problems.append(f"Payment {number} is in {amount.currency}, the bill is in {currency}")
            continue
        if amount.is_negative():
            problems.append(f"Payment {number} cannot be negative")
        elif amount.is_zero():
            problems.append(f"Payment {number} is zero: remove it or enter an amount")
        paid = paid + amount
    difference = total - paid
    if problems:
        return TenderCheck(False, total, paid, difference, "; ".join(problems))
    if difference.is_zero():
        return TenderCheck(True, total, paid, difference, "Payments add up")
    if difference.is_negative():
        return TenderCheck(False, total, paid, difference, f"Overpaid by {(-difference).display()}")
    return TenderCheck(False, total, paid, difference, f"{difference.display()} still to pay")


def allocate(total: Money, weights: Sequence[int | Decimal]) -> list[Money]:
    """Split `total` in proportion to `weights`, to the cent, so the parts add up to `total` exactly."""
    sign = -1 if total.is_negative() else 1
    minors = largest_remainder(abs(total.minor), weights)
    return [Money.from_minor(sign * minor, total.currency) for minor in minors]


def split_evenly(total: Money, parts: int) -> list[Money]:
    """`total` in `parts` near-equal amounts (earlier parts take the odd cents) that add up exactly."""
    if isinstance(parts, bool) or not isinstance(parts, int) or parts < 1:
        raise ValueError("split into at least one part")
    return allocate(total, [1] * parts)
