"""Whole-number rounding and fair splitting, shared by earning, tenders and reversals."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Sequence

from frontdesk.domain.programme.model import Rounding

_MODES = {Rounding.DOWN: ROUND_FLOOR, Rounding.UP: ROUND_CEILING, Rounding.NEAREST: ROUND_HALF_UP}


def round_points(value: Decimal, rounding: Rounding) -> int:
    return int(value.to_integral_value(rounding=_MODES[rounding]))


def largest_remainder(total: int, weights: Sequence[Decimal | int]) -> list[int]:
    """Split the whole number `total` in proportion to `weights`, so the parts add up to `total` exactly.

    Each part gets the floor of its exact share; the units left over go to the largest fractional remainders, earlier
    positions first on a tie, so the result is deterministic. All-zero weights split evenly.
    """
    if not weights:
        if total:
            raise ValueError("cannot split a non-zero total into no parts")
        return []
    exact_weights = [Decimal(weight) for weight in weights]
    if any(weight < 0 for weight in exact_weights):
        raise ValueError("weights cannot be negative")
    weight_sum = sum(exact_weights)
    if weight_sum == 0:
        exact_weights = [Decimal(1)] * len(weights)
        weight_sum = Decimal(len(weights))
    shares = [Decimal(total) * weight / weight_sum for weight in exact_weights]
    return distribute(total, shares)


def distribute(total: int, shares: Sequence[Decimal]) -> list[int]:
    """Whole parts of exact `shares` that add up to `total` (which must lie between the floors' and ceilings' sums)."""
    floors = [int(share.to_integral_value(rounding=ROUND_FLOOR)) for share in shares]
    left = total - sum(floors)
    ceilings = sum(1 for share, floor in zip(shares, floors, strict=True) if share != floor)
    if not 0 <= left <= ceilings:
        raise ValueError(f"{total} cannot be distributed over shares adding up to {sum(shares)}")
    order = sorted(range(len(shares)), key=lambda index: (-(shares[index] - floors[index]), index))
    parts = list(floors)
    for index in order[:left]:
        parts[index] += 1
    return parts


def format_number(value: Decimal | int) -> str:
    """1 -> "1", 1.50 -> "1.5", 33.3333 -> "33.33": for explanations, never for amounts that are stored."""
    number = Decimal(value)
    if number == number.to_integral_value():
        return f"{int(number):,}"
    text = f"{number.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_points(points: Decimal | int) -> str:
    return f"{format_number(points)} {'pt' if Decimal(points) == 1 else 'pts'}"


def format_day(day: date) -> str:
    """ "9 Jun 2026". Not %-d: that is POSIX-only and the app runs on Windows too."""
    return f"{day.day} {day:%b %Y}"
