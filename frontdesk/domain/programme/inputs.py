"""What the caller hands the engine: a sale being drafted, the member's standing, today's earning so far.

Amounts on a sale line follow the WESS receipt: `unit_price` is before tax and service charge, `discount` is the
line's own discount (for the whole line, not per unit), `tax` and `service_charge` are the line's amounts as printed.
`bill_discount` is a discount on the whole bill; the engine spreads it over the lines in proportion to their net
amounts (to the cent, largest remainder first) before computing points.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from frontdesk.domain.money import Money
from frontdesk.domain.programme.errors import SaleError


@dataclass(frozen=True)
class SaleLine:
    name: str
    sku: str | None
    category: str | None
    quantity: int
    unit_price: Money
    tax: Money
    service_charge: Money
    discount: Money

    @property
    def net(self) -> Money:
        """Price times quantity less the line discount: what the line costs before tax and service charge."""
        return self.unit_price * self.quantity - self.discount


@dataclass(frozen=True)
class SaleDraft:
    outlet: str
    sales_mode: str  # counter, webshop, invoice_mail, ...
    occurred_at: datetime  # timezone-aware
    currency: str
    lines: tuple[SaleLine, ...]
    tips: Money
    bill_discount: Money

    @property
    def total(self) -> Money:
        """What the customer pays: lines with tax and service charge, less the bill discount, plus tips."""
        amount = Money.zero(self.currency)
        for line in self.lines:
            amount = amount + line.net + line.tax + line.service_charge
        return amount - self.bill_discount + self.tips


@dataclass(frozen=True)
class ActivityEntry:
    """Qualifying spend and points on one day, as the ledger knows them; tiers are measured over these."""

    on: date
    spend: Money
    points: int


@dataclass(frozen=True)
class MemberStanding:
    tier_code: str | None
    points_balance: int = 0
    stored_value: Money | None = None
    activity: tuple[ActivityEntry, ...] = ()

    def window_spend(self, today: date, window_days: int, currency: str) -> Money:
        amount = Money.zero(currency)
        for entry in self.activity:
            if _in_window(entry.on, today, window_days):
                amount = amount + entry.spend
        return amount

    def window_points(self, today: date, window_days: int) -> int:
        return sum(entry.points for entry in self.activity if _in_window(entry.on, today, window_days))


def _in_window(on: date, today: date, window_days: int) -> bool:
    # A window of N days ending today holds today and the N-1 days before it.
    return today - timedelta(days=window_days) < on <= today


@dataclass(frozen=True)
class EarnContext:
    """Facts about the member's day that the engine cannot see: the caller reads them from the ledger."""

    visited_today: bool = False  # a visit already earned points today, here or at another counter
    points_earned_today: int = 0  # toward the daily cap


def validate_sale(sale: SaleDraft, currency: str) -> tuple[SaleError, ...]:
    """Every problem with a sale draft, each naming its field, so a form can show them beside the fields."""
    problems: list[SaleError] = []

    def problem(path: str, reason: str) -> None:
        problems.append(SaleError(path, reason))

    def check_money(path: str, value: object) -> bool:
        if not isinstance(value, Money):
            problem(path, "must be an amount of money")
            return False
        if value.currency != currency:
            problem(path, f"is in {value.currency}, the programme uses {currency}")
            return False
        if value.is_negative():
            problem(path, "cannot be negative")
            return False
        return True

    if not isinstance(sale.outlet, str) or not sale.outlet.strip():
        problem("outlet", "is required")
    if not isinstance(sale.sales_mode, str) or not sale.sales_mode.strip():
        problem("sales_mode", "is required")
    if not isinstance(sale.occurred_at, datetime):
        problem("occurred_at", "must be a date and time")
    elif sale.occurred_at.tzinfo is None or sale.occurred_at.utcoffset() is None:
        problem("occurred_at", "needs a time zone")
    if not isinstance(sale.currency, str) or sale.currency.upper() != currency:
        problem("currency", f"must be {currency}, the programme's currency")
    if not sale.lines:
        problem("lines", "add at least one line (or the bill total as one line)")
    nets_ok = True  # whether every line's net is known, so the bill discount can be checked against them
    net_total = Money.zero(currency)
    for index, line in enumerate(sale.lines):
        path = f"lines[{index}]"
        quantity_ok = True
        if not isinstance(line.quantity, int) or isinstance(line.quantity, bool):
            problem(f"{path}.quantity", "must be a whole number")
            quantity_ok = False
        elif line.quantity < 1:
            problem(f"{path}.quantity", "must be at least 1")
            quantity_ok = False
        price_ok = check_money(f"{path}.unit_price", line.unit_price)
        check_money(f"{path}.tax", line.tax)
        check_money(f"{path}.service_charge", line.service_charge)
        discount_ok = check_money(f"{path}.discount", line.discount)
        if quantity_ok and price_ok and discount_ok and line.discount > line.unit_price * line.quantity:
            problem(f"{path}.discount", "is more than the line's price")
            discount_ok = False
        if quantity_ok and price_ok and discount_ok:
            net_total = net_total + line.net
        else:
            nets_ok = False
    check_money("tips", sale.tips)
    if check_money("bill_discount", sale.bill_discount) and nets_ok and sale.bill_discount > net_total:
        problem("bill_discount", f"is more than the lines add up to ({net_total.display()})")
    return tuple(problems)
