"""Money as an exact amount with a currency.

Amounts are `Decimal` in memory and integer minor units (cents) in the database, so no float ever touches a
price. Arithmetic between different currencies is refused rather than silently mixed.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# ISO 4217 minor-unit exponents for the currencies a salon counter plausibly sees; anything else is 2.
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "VND": 0, "IDR": 2, "BHD": 3, "KWD": 3}


CURRENCY_SYMBOLS = {"SGD": "S$", "USD": "US$", "MYR": "RM"}


class MoneyError(ValueError):
    """Raised for amounts that cannot be money: letters, NaN, too many decimals, mixed currencies."""


def minor_exponent(currency: str) -> int:
    return _MINOR_UNITS.get(currency.upper(), 2)


@dataclass(frozen=True, order=True)
class Money:
    amount: Decimal
    currency: str = "SGD"

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise MoneyError(f"Money needs a Decimal amount, got {type(self.amount).__name__}")
        if not self.amount.is_finite():
            raise MoneyError("Money amount must be a finite number")
        object.__setattr__(self, "currency", self.currency.upper())
        try:
            object.__setattr__(self, "amount", self.amount.quantize(self._quantum(), rounding=ROUND_HALF_UP))
        except InvalidOperation:
            raise MoneyError("amount is too large to be money") from None

    def _quantum(self) -> Decimal:
        return Decimal(1).scaleb(-minor_exponent(self.currency))

    # --- construction -------------------------------------------------------------------------------------
    @classmethod
    def parse(cls, text: str | int | Decimal, currency: str = "SGD") -> Money:
        """Parse what a person types: "12", "12.50", "1,234.50", "S$ 12.50", "-3.20", "(18.80)".

        More decimals than the currency has is an error rather than a silent rounding, because a typo like
        "12.505" should be questioned at the counter, not swallowed.
        """
        if isinstance(text, Decimal):
            value = text
        elif isinstance(text, int):
            value = Decimal(text)
        else:
            cleaned = str(text).strip()
            negative = cleaned.startswith("(") and cleaned.endswith(")")
            if negative:
                cleaned = cleaned[1:-1]
            for symbol in ("S$", "SGD", "US$", "$", "RM", "€", "£"):
                cleaned = cleaned.replace(symbol, "")
            cleaned = cleaned.replace(",", "").replace(" ", "")
            if not cleaned:
                raise MoneyError("Enter an amount")
            try:
                value = Decimal(cleaned)
            except InvalidOperation:
                raise MoneyError(f"“{text}” is not an amount") from None
            if negative:
                value = -value
        if not value.is_finite():
            raise MoneyError(f"“{text}” is not an amount")
        exponent = minor_exponent(currency)
        if value.as_tuple().exponent < -exponent:  # type: ignore[operator]
            raise MoneyError(f"“{text}” has more than {exponent} decimal places")
        return cls(value, currency)

    @classmethod
    def from_minor(cls, minor: int, currency: str = "SGD") -> Money:
        return cls(Decimal(int(minor)).scaleb(-minor_exponent(currency)), currency)

    @classmethod
    def zero(cls, currency: str = "SGD") -> Money:
        return cls(Decimal(0), currency)

    # --- conversion ---------------------------------------------------------------------------------------
    @property
    def minor(self) -> int:
        """The amount in minor units (cents), as stored in the database."""
        return int(self.amount.scaleb(minor_exponent(self.currency)))

    def __str__(self) -> str:
        return f"{self.currency} {self.amount:,.{minor_exponent(self.currency)}f}"

    def display(self, symbol: str | None = None) -> str:
        sign = "-" if self.amount < 0 else ""
        prefix = symbol if symbol is not None else CURRENCY_SYMBOLS.get(self.currency, self.currency + " ")
        return f"{sign}{prefix}{abs(self.amount):,.{minor_exponent(self.currency)}f}"

    def plain(self) -> str:
        """Plain decimal string with the currency's decimals, as the API wants ("58.30")."""
        return f"{self.amount:.{minor_exponent(self.currency)}f}"

    # --- arithmetic ---------------------------------------------------------------------------------------
    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise MoneyError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        if isinstance(factor, float):
            raise MoneyError("multiply Money by int or Decimal, never float")
        return Money(self.amount * Decimal(factor), self.currency)

    __rmul__ = __mul__

    def is_zero(self) -> bool:
        return self.amount == 0

    def is_negative(self) -> bool:
        return self.amount < 0


def total(amounts: "list[Money] | tuple[Money, ...]", currency: str = "SGD") -> Money:
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result
