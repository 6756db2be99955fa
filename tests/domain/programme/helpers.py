"""Builders for programme tests: a small programme as a dict, sales and lines with readable defaults."""

from __future__ import annotations

import copy
import tomllib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

from frontdesk.domain.money import Money
from frontdesk.domain.programme import (
    Programme,
    SaleDraft,
    SaleLine,
    programme_from_dict,
)

SGT = timezone(timedelta(hours=8))
DEMO_PATH = Path(__file__).resolve().parents[3] / "resources" / "programme" / "demo.toml"
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=SGT)  # a Monday outside every demo promotion


def money(text: str | int) -> Money:
    return Money.parse(text if isinstance(text, str) else str(text))


def demo_dict() -> dict[str, Any]:
    return tomllib.loads(DEMO_PATH.read_text(encoding="utf-8"))


BASE: dict[str, Any] = {
    "programme": {"code": "TEST", "name": "Test Rewards", "currency": "SGD", "version": "1"},
    "tiers": {
        "basis": "spend",
        "window_days": 365,
        "warn_days": 60,
        "levels": [
            {"code": "CLASSIC", "name": "Classic", "threshold": "0"},
            {"code": "GOLD", "name": "Gold", "threshold": "2000"},
        ],
    },
    "earning": {"rounding": "down", "rounding_scope": "bill", "rules": [{"id": "base", "kind": "spend", "points": 1}]},
}


def programme(edit: Callable[[dict[str, Any]], None] | None = None, **earning: Any) -> Programme:
    """The small test programme; keyword arguments replace fields of [earning], `edit` can change anything."""
    data = copy.deepcopy(BASE)
    data["earning"].update(earning)
    if edit is not None:
        edit(data)
    return programme_from_dict(data)


def line(
    price: str = "30.00",
    *,
    name: str = "Cut",
    sku: str | None = "SVC-CUT",
    category: str | None = "Hair",
    quantity: int = 1,
    tax: str = "0",
    service_charge: str = "0",
    discount: str = "0",
) -> SaleLine:
    return SaleLine(
        name=name,
        sku=sku,
        category=category,
        quantity=quantity,
        unit_price=money(price),
        tax=money(tax),
        service_charge=money(service_charge),
        discount=money(discount),
    )


def sale(
    *lines: SaleLine,
    outlet: str = "ORCHARD",
    mode: str = "counter",
    at: datetime = NOON,
    tips: str = "0",
    bill_discount: str = "0",
    currency: str = "SGD",
) -> SaleDraft:
    return SaleDraft(
        outlet=outlet,
        sales_mode=mode,
        occurred_at=at,
        currency=currency,
        lines=tuple(lines) or (line(),),
        tips=money(tips) if currency == "SGD" else Money.parse(tips, currency),
        bill_discount=money(bill_discount) if currency == "SGD" else Money.parse(bill_discount, currency),
    )
