"""The loyalty programme as data: what earns, what tiers exist, what points buy.

A `Programme` is built by `loader.py` from a TOML file or a dict (the server sends the same structure as JSON) and is
immutable afterwards. Nothing here touches a database, the network or Qt; the earning, tier, spending and reversal
modules are pure functions over these dataclasses.

Names in conditions (SKUs, categories, tier codes, outlets, sales modes) are compared case-insensitively and with
surrounding spaces ignored, because receipts and back-office exports rarely agree on capitalisation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Mapping

from frontdesk.domain.money import Money


def name_key(name: str | None) -> str:
    """The comparison form of a SKU, category, tier code, outlet or sales mode."""
    return (name or "").strip().casefold()


class Rounding(StrEnum):
    DOWN = "down"
    UP = "up"
    NEAREST = "nearest"  # halves go up: 12.5 -> 13


class RoundingScope(StrEnum):
    BILL = "bill"  # the bill's exact total is rounded once; lines get whole points by largest remainder
    LINE = "line"  # every line is rounded on its own; the bill is the sum of the rounded lines


class RuleKind(StrEnum):
    SPEND = "spend"  # base points per amount spent; the first matching spend rule is a line's base
    SPEND_BONUS = "spend_bonus"  # extra points per amount spent; every matching one adds
    ITEM_BONUS = "item_bonus"  # fixed extra points per unit sold; every matching one adds
    MULTIPLIER = "multiplier"  # multiplies a line's points; the highest matching one applies
    VISIT = "visit"  # fixed points once per member per day; the first matching visit rule applies


class TierBasis(StrEnum):
    SPEND = "spend"
    POINTS = "points"


class RewardKind(StrEnum):
    AMOUNT = "amount"  # a fixed amount off the bill
    PERCENT = "percent"  # a percentage off the bill, optionally capped
    FREE_SKU = "free_sku"  # one unit of a SKU free; its catalogue value is the discount


@dataclass(frozen=True)
class Conditions:
    """When a rule or promotion applies. An empty set means "any"; all non-empty parts must match."""

    skus: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()
    tiers: frozenset[str] = frozenset()
    outlets: frozenset[str] = frozenset()
    sales_modes: frozenset[str] = frozenset()
    starts_at: datetime | None = None  # inclusive
    ends_at: datetime | None = None  # exclusive

    def matches_bill(self, *, outlet: str, sales_mode: str, tier_code: str | None, at: datetime) -> bool:
        if self.outlets and name_key(outlet) not in self.outlets:
            return False
        if self.sales_modes and name_key(sales_mode) not in self.sales_modes:
            return False
        if self.tiers and name_key(tier_code) not in self.tiers:
            return False
        if self.starts_at is not None and at < self.starts_at:
            return False
        return self.ends_at is None or at < self.ends_at

    def matches_item(self, sku: str | None, category: str | None) -> bool:
        """`sku` and `category` are None for bill-level amounts such as tips, which only item-blind rules match."""
        if self.skus and name_key(sku) not in self.skus:
            return False
        return not self.categories or name_key(category) in self.categories


@dataclass(frozen=True)
class EarnRule:
    """One earning rule. `points` means: per `per` spent (spend, spend_bonus), per unit (item_bonus), per visit."""

    id: str
    kind: RuleKind
    label: str
    conditions: Conditions = Conditions()
    points: Decimal = Decimal(0)
    per: Money | None = None
    multiplier: Decimal | None = None
    min_spend: Money | None = None  # visit rules: the bill's eligible amount must reach this


@dataclass(frozen=True)
class Promotion:
    """A time-boxed multiplier. Promotions do not stack with each other: the highest matching one applies."""

    id: str
    label: str
    multiplier: Decimal
    conditions: Conditions


@dataclass(frozen=True)
class EarningSettings:
    rounding: Rounding = Rounding.DOWN
    rounding_scope: RoundingScope = RoundingScope.BILL
    include_tax: bool = False
    include_service_charge: bool = False
    include_tips: bool = False
    outlets: frozenset[str] = frozenset()  # empty: every outlet earns
    sales_modes: frozenset[str] = frozenset()  # empty: every sales mode earns
    daily_cap: int | None = None  # points per member per day, all sources together
    excluded_skus: frozenset[str] = frozenset()
    excluded_categories: frozenset[str] = frozenset()
    rules: tuple[EarnRule, ...] = ()
    promotions: tuple[Promotion, ...] = ()


@dataclass(frozen=True)
class Tier:
    code: str
    name: str
    threshold: Money | int  # Money for a spend basis, points for a points basis
    multiplier: Decimal = Decimal(1)
    perks: tuple[str, ...] = ()
    birthday_discount_percent: Decimal | None = None  # off every bill in the member's birthday month


@dataclass(frozen=True)
class TierSettings:
    basis: TierBasis
    window_days: int
    warn_days: int
    levels: tuple[Tier, ...]  # ascending thresholds; the first one's threshold is zero


@dataclass(frozen=True)
class Reward:
    code: str
    name: str
    kind: RewardKind
    points_cost: int
    amount: Money | None = None  # amount rewards
    percent: Decimal | None = None  # percent rewards, 0 < percent <= 100
    max_discount: Money | None = None  # percent rewards: cap on the discount
    sku: str | None = None  # free_sku rewards
    value: Money | None = None  # free_sku rewards: what the free item is worth
    valid_from: date | None = None  # inclusive
    valid_until: date | None = None  # inclusive
    per_member_limit: int | None = None
    min_bill: Money | None = None
    tiers: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PointsPaymentSettings:
    """`points` points are worth `amount` (100 points = S$1.00)."""

    points: int
    amount: Money
    min_points: int = 0
    max_amount_per_bill: Money | None = None
    max_percent_of_bill: Decimal | None = None


@dataclass(frozen=True)
class StoredValueSettings:
    """A money balance spent 1:1, with the same per-bill limits as points-as-money."""

    max_amount_per_bill: Money | None = None
    max_percent_of_bill: Decimal | None = None


@dataclass(frozen=True)
class Product:
    """A catalogue item the counter can pick while keying a receipt: fills name, category and price."""

    sku: str
    name: str
    category: str | None
    price: Money


@dataclass(frozen=True)
class Programme:
    code: str
    name: str
    currency: str
    version: str
    earning: EarningSettings
    tiers: TierSettings
    rewards: tuple[Reward, ...] = ()
    points_payment: PointsPaymentSettings | None = None
    stored_value: StoredValueSettings | None = None
    products: tuple[Product, ...] = ()
    # The JSON-safe document this programme was read from, so the server can send exactly what it loaded.
    source: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def tier(self, code: str | None) -> Tier | None:
        key = name_key(code)
        return next((tier for tier in self.tiers.levels if name_key(tier.code) == key), None)

    def known_categories(self) -> dict[str, str]:
        """Every category the programme names (catalogue, rules, exclusions): comparison key -> how it is written.

        A typed category outside this set earns no category bonus, so the counter flags it."""
        known: dict[str, str] = {}
        for product in self.products:
            if product.category:
                known.setdefault(name_key(product.category), product.category)
        for conditions in [rule.conditions for rule in self.earning.rules] + \
                [promotion.conditions for promotion in self.earning.promotions]:
            for category in conditions.categories:
                known.setdefault(category, category.title())
        for category in self.earning.excluded_categories:
            known.setdefault(category, category.title())
        return known

    def reward(self, code: str) -> Reward | None:
        key = name_key(code)
        return next((reward for reward in self.rewards if name_key(reward.code) == key), None)
