"""Read a programme from TOML, JSON or a dict, and refuse a bad one with the field path and the reason.

The file layout (see ``resources/programme/demo.toml`` for a complete, commented example)::

    [programme]      code, name, currency, version, schema (= 1)
    [tiers]          basis (spend|points), window_days, warn_days, [[tiers.levels]] code, name, threshold,
                     multiplier, perks, birthday_discount_percent (applied at checkout in the birthday month)
    [earning]        rounding (down|up|nearest), rounding_scope (bill|line), include_tax, include_service_charge,
                     include_tips, outlets, sales_modes, daily_cap, [earning.exclusions] skus, categories
    [[earning.rules]]       id, kind (spend|spend_bonus|item_bonus|multiplier|visit), label, points, per,
                            multiplier, min_spend, and conditions: skus, categories, tiers, outlets, sales_modes,
                            starts_at, ends_at
    [[earning.promotions]]  id, label, multiplier, starts_at, ends_at (both required), and the same conditions
    [[rewards]]      code, name, kind (amount|percent|free_sku), points_cost, amount, percent, max_discount, sku,
                     value, valid_from, valid_until, per_member_limit, min_bill, tiers
    [points_payment] enabled, points, amount, min_points, max_amount_per_bill, max_percent_of_bill
    [stored_value]   enabled, max_amount_per_bill, max_percent_of_bill
    [[products]]     sku, name, category, price (the catalogue the counter picks receipt lines from)

Money is written as text ("10.00") or a whole number, never a float, so no binary rounding creeps in. Times that
bound a promotion carry a UTC offset (``2026-02-10T00:00:00+08:00``). Unknown fields are refused rather than
ignored, because a misspelt field silently ignored is a rule that silently does not apply.

The first problem found is raised as `ProgrammeError(field, reason)`.
"""

from __future__ import annotations

import json
import tomllib
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any, Mapping, TypeVar

from frontdesk.domain.money import Money, MoneyError
from frontdesk.domain.programme.errors import ProgrammeError
from frontdesk.domain.programme.model import (
    Conditions,
    EarningSettings,
    EarnRule,
    PointsPaymentSettings,
    Product,
    Programme,
    Promotion,
    Reward,
    RewardKind,
    Rounding,
    RoundingScope,
    RuleKind,
    StoredValueSettings,
    Tier,
    TierBasis,
    TierSettings,
    name_key,
)

SCHEMA_VERSION = 1

_E = TypeVar("_E", bound=StrEnum)
_MISSING: Any = object()


def load_programme(path: str | Path) -> Programme:
    """Read a ``.toml`` or ``.json`` programme file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise ProgrammeError("", f"cannot read {file}: {error.strerror or error}") from None
    if file.suffix.lower() == ".json":
        return programme_from_json(text)
    return programme_from_toml(text)


def programme_from_toml(text: str) -> Programme:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProgrammeError("", f"not valid TOML: {error}") from None
    return programme_from_dict(data)


def programme_from_json(text: str) -> Programme:
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as error:
        raise ProgrammeError("", f"not valid JSON: {error}") from None
    return programme_from_dict(data)


def programme_from_dict(data: Mapping[str, Any]) -> Programme:
    """Build a programme from the parsed structure (what TOML or JSON gives), validating every field."""
    root = _Table(data, "")
    head = root.required_table("programme")
    schema = head.integer("schema", default=SCHEMA_VERSION)
    if schema != SCHEMA_VERSION:
        raise ProgrammeError(
            head.path_of("schema"), f"version {schema} is not supported (this app reads {SCHEMA_VERSION})"
        )
    code = head.text("code")
    name = head.text("name")
    currency = head.text("currency").upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ProgrammeError(head.path_of("currency"), "must be a three-letter currency code such as SGD")
    version = head.text("version", default="1", allow_number=True)
    head.finish()

    tiers = _read_tiers(root.required_table("tiers"), currency)
    tier_codes = {name_key(tier.code) for tier in tiers.levels}
    earning = _read_earning(root.required_table("earning"), currency, tier_codes)
    rewards = tuple(_read_reward(table, currency, tier_codes) for table in root.tables("rewards"))
    _no_duplicates([reward.code for reward in rewards], "rewards", "code")
    points_payment = _read_points_payment(root.table("points_payment"), currency)
    stored_value = _read_stored_value(root.table("stored_value"), currency)
    products = tuple(_read_product(table, currency) for table in root.tables("products"))
    _no_duplicates([product.sku for product in products], "products", "sku")
    root.finish()
    return Programme(
        code=code,
        name=name,
        currency=currency,
        version=version,
        earning=earning,
        tiers=tiers,
        rewards=rewards,
        points_payment=points_payment,
        stored_value=stored_value,
        products=products,
        source=_json_safe(data),
    )


def programme_to_dict(programme: Programme) -> dict[str, Any]:
    """The JSON-safe document the programme was read from (dates and times as ISO text, amounts as text)."""
    return json.loads(json.dumps(programme.source))


def programme_to_json(programme: Programme) -> str:
    return json.dumps(programme.source, ensure_ascii=False, indent=2)


# --- sections ---------------------------------------------------------------------------------------------------


def _read_tiers(table: _Table, currency: str) -> TierSettings:
    basis = table.choice("basis", TierBasis, default=TierBasis.SPEND)
    window_days = table.integer("window_days", default=365, minimum=1)
    warn_days = table.integer("warn_days", default=60, minimum=0)
    levels: list[Tier] = []
    level_tables = table.tables("levels")
    if not level_tables:
        raise ProgrammeError(table.path_of("levels"), "needs at least one tier")
    for index, level in enumerate(level_tables):
        code = level.text("code")
        name = level.text("name", default=code)
        threshold: Money | int
        if basis is TierBasis.SPEND:
            threshold = level.money("threshold", currency, minimum_zero=True)
        else:
            threshold = level.integer("threshold", minimum=0)
        multiplier = level.decimal("multiplier", default=Decimal(1), positive=True)
        perks = level.texts("perks")
        birthday = level.decimal("birthday_discount_percent", default=None, positive=True)
        if birthday is not None and birthday > 100:
            raise ProgrammeError(level.path_of("birthday_discount_percent"), "must be at most 100")
        level.finish()
        if index == 0 and threshold != (Money.zero(currency) if basis is TierBasis.SPEND else 0):
            raise ProgrammeError(level.path_of("threshold"), "the first tier must start at 0")
        if levels and not threshold > levels[-1].threshold:  # type: ignore[operator]
            raise ProgrammeError(level.path_of("threshold"), f"must be higher than the tier before ({levels[-1].name})")
        levels.append(Tier(code=code, name=name, threshold=threshold, multiplier=multiplier, perks=perks,
                           birthday_discount_percent=birthday))
    _no_duplicates([tier.code for tier in levels], table.path_of("levels"), "code")
    table.finish()
    return TierSettings(basis=basis, window_days=window_days, warn_days=warn_days, levels=tuple(levels))


_CONDITION_FIELDS = {"skus", "categories", "tiers", "outlets", "sales_modes", "starts_at", "ends_at"}
_RULE_FIELDS: dict[RuleKind, set[str]] = {
    RuleKind.SPEND: {"points", "per"} | _CONDITION_FIELDS,
    RuleKind.SPEND_BONUS: {"points", "per"} | _CONDITION_FIELDS,
    RuleKind.ITEM_BONUS: {"points"} | _CONDITION_FIELDS,
    RuleKind.MULTIPLIER: {"multiplier"} | _CONDITION_FIELDS,
    RuleKind.VISIT: {"points", "min_spend"} | (_CONDITION_FIELDS - {"skus", "categories"}),
}
_ALL_RULE_FIELDS = set().union(*_RULE_FIELDS.values())


def _read_earning(table: _Table, currency: str, tier_codes: set[str]) -> EarningSettings:
    rounding = table.choice("rounding", Rounding, default=Rounding.DOWN)
    scope = table.choice("rounding_scope", RoundingScope, default=RoundingScope.BILL)
    include_tax = table.boolean("include_tax", default=False)
    include_service_charge = table.boolean("include_service_charge", default=False)
    include_tips = table.boolean("include_tips", default=False)
    outlets = table.names("outlets")
    sales_modes = table.names("sales_modes")
    daily_cap = table.integer("daily_cap", default=None, minimum=1)
    exclusions = table.table("exclusions")
    excluded_skus: frozenset[str] = frozenset()
    excluded_categories: frozenset[str] = frozenset()
    if exclusions is not None:
        excluded_skus = exclusions.names("skus")
        excluded_categories = exclusions.names("categories")
        exclusions.finish()

    rules = []
    for rule_table in table.tables("rules"):
        rules.append(_read_rule(rule_table, currency, tier_codes))
    _no_duplicates([rule.id for rule in rules], table.path_of("rules"), "id")
    promotions = []
    for promo_table in table.tables("promotions"):
        promotions.append(_read_promotion(promo_table, tier_codes))
    _no_duplicates([promo.id for promo in promotions], table.path_of("promotions"), "id")
    table.finish()
    return EarningSettings(
        rounding=rounding,
        rounding_scope=scope,
        include_tax=include_tax,
        include_service_charge=include_service_charge,
        include_tips=include_tips,
        outlets=outlets,
        sales_modes=sales_modes,
        daily_cap=daily_cap,
        excluded_skus=excluded_skus,
        excluded_categories=excluded_categories,
        rules=tuple(rules),
        promotions=tuple(promotions),
    )


def _read_rule(table: _Table, currency: str, tier_codes: set[str]) -> EarnRule:
    rule_id = table.text("id")
    kind = table.choice("kind", RuleKind)
    for key in table.keys():
        if key in _ALL_RULE_FIELDS and key not in _RULE_FIELDS[kind]:
            raise ProgrammeError(table.path_of(key), f"is not used by {kind.value} rules")
    label = table.text("label", default=rule_id)
    conditions = _read_conditions(table, tier_codes)
    points = Decimal(0)
    per = None
    multiplier = None
    min_spend = None
    if kind in (RuleKind.SPEND, RuleKind.SPEND_BONUS):
        points = table.decimal("points", positive=True)
        per = table.money("per", currency, default=Money(Decimal(1), currency), positive=True)
    elif kind is RuleKind.ITEM_BONUS:
        points = table.decimal("points", positive=True)
    elif kind is RuleKind.VISIT:
        points = Decimal(table.integer("points", minimum=1))
        min_spend = table.money("min_spend", currency, default=None, minimum_zero=True)
    else:
        multiplier = table.decimal("multiplier", positive=True)
    table.finish()
    return EarnRule(
        id=rule_id,
        kind=kind,
        label=label,
        conditions=conditions,
        points=points,
        per=per,
        multiplier=multiplier,
        min_spend=min_spend,
    )


def _read_promotion(table: _Table, tier_codes: set[str]) -> Promotion:
    promo_id = table.text("id")
    label = table.text("label", default=promo_id)
    multiplier = table.decimal("multiplier", positive=True)
    for key in ("starts_at", "ends_at"):
        if table.get(key) is None:
            raise ProgrammeError(table.path_of(key), "is required: a promotion must be time-boxed")
    conditions = _read_conditions(table, tier_codes)
    table.finish()
    return Promotion(id=promo_id, label=label, multiplier=multiplier, conditions=conditions)


def _read_conditions(table: _Table, tier_codes: set[str]) -> Conditions:
    tiers = table.names("tiers")
    for tier in sorted(tiers):
        if tier not in tier_codes:
            raise ProgrammeError(table.path_of("tiers"), f"names an unknown tier “{tier.upper()}”")
    starts_at = table.moment("starts_at")
    ends_at = table.moment("ends_at")
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        raise ProgrammeError(table.path_of("ends_at"), "must be after starts_at")
    return Conditions(
        skus=table.names("skus"),
        categories=table.names("categories"),
        tiers=tiers,
        outlets=table.names("outlets"),
        sales_modes=table.names("sales_modes"),
        starts_at=starts_at,
        ends_at=ends_at,
    )


_REWARD_FIELDS: dict[RewardKind, set[str]] = {
    RewardKind.AMOUNT: {"amount"},
    RewardKind.PERCENT: {"percent", "max_discount"},
    RewardKind.FREE_SKU: {"sku", "value"},
}
_ALL_REWARD_KIND_FIELDS = set().union(*_REWARD_FIELDS.values())


def _read_reward(table: _Table, currency: str, tier_codes: set[str]) -> Reward:
    code = table.text("code")
    name = table.text("name", default=code)
    kind = table.choice("kind", RewardKind)
    for key in table.keys():
        if key in _ALL_REWARD_KIND_FIELDS and key not in _REWARD_FIELDS[kind]:
            raise ProgrammeError(table.path_of(key), f"is not used by {kind.value} rewards")
    points_cost = table.integer("points_cost", minimum=0)
    amount = percent = max_discount = sku = value = None
    if kind is RewardKind.AMOUNT:
        amount = table.money("amount", currency, positive=True)
    elif kind is RewardKind.PERCENT:
        percent = table.decimal("percent", positive=True)
        if percent > 100:
            raise ProgrammeError(table.path_of("percent"), "cannot be more than 100")
        max_discount = table.money("max_discount", currency, default=None, positive=True)
    else:
        sku = table.text("sku")
        value = table.money("value", currency, positive=True)
    valid_from = table.day("valid_from")
    valid_until = table.day("valid_until")
    if valid_from is not None and valid_until is not None and valid_until < valid_from:
        raise ProgrammeError(table.path_of("valid_until"), "is before valid_from")
    per_member_limit = table.integer("per_member_limit", default=None, minimum=1)
    min_bill = table.money("min_bill", currency, default=None, minimum_zero=True)
    tiers = table.names("tiers")
    for tier in sorted(tiers):
        if tier not in tier_codes:
            raise ProgrammeError(table.path_of("tiers"), f"names an unknown tier “{tier.upper()}”")
    table.finish()
    return Reward(
        code=code,
        name=name,
        kind=kind,
        points_cost=points_cost,
        amount=amount,
        percent=percent,
        max_discount=max_discount,
        sku=sku,
        value=value,
        valid_from=valid_from,
        valid_until=valid_until,
        per_member_limit=per_member_limit,
        min_bill=min_bill,
        tiers=tiers,
    )


def _read_points_payment(table: _Table | None, currency: str) -> PointsPaymentSettings | None:
    if table is None:
        return None
    enabled = table.boolean("enabled", default=True)
    points = table.integer("points", minimum=1)
    amount = table.money("amount", currency, positive=True)
    min_points = table.integer("min_points", default=0, minimum=0)
    max_amount = table.money("max_amount_per_bill", currency, default=None, positive=True)
    max_percent = _percent_limit(table)
    table.finish()
    if not enabled:
        return None
    return PointsPaymentSettings(
        points=points,
        amount=amount,
        min_points=min_points,
        max_amount_per_bill=max_amount,
        max_percent_of_bill=max_percent,
    )


def _read_product(table: _Table, currency: str) -> Product:
    product = Product(sku=table.text("sku"), name=table.text("name"),
                      category=table.text("category", default=None), price=table.money("price", currency))
    table.finish()
    return product


def _read_stored_value(table: _Table | None, currency: str) -> StoredValueSettings | None:
    if table is None:
        return None
    enabled = table.boolean("enabled", default=True)
    max_amount = table.money("max_amount_per_bill", currency, default=None, positive=True)
    max_percent = _percent_limit(table)
    table.finish()
    if not enabled:
        return None
    return StoredValueSettings(max_amount_per_bill=max_amount, max_percent_of_bill=max_percent)


def _percent_limit(table: _Table) -> Decimal | None:
    percent = table.decimal("max_percent_of_bill", default=None, positive=True)
    if percent is not None and percent > 100:
        raise ProgrammeError(table.path_of("max_percent_of_bill"), "cannot be more than 100")
    return percent


def _no_duplicates(values: list[str], path: str, key: str) -> None:
    seen: set[str] = set()
    for index, value in enumerate(values):
        if name_key(value) in seen:
            raise ProgrammeError(f"{path}[{index}].{key}", f"repeats “{value}”, which is already used")
        seen.add(name_key(value))


# --- a table reader that knows where it is ----------------------------------------------------------------------


class _Table:
    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, Mapping):
            raise ProgrammeError(path, "must be a table of fields")
        self._data = data
        self.path = path
        self._read: set[str] = set()

    def path_of(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def keys(self) -> list[str]:
        return list(self._data.keys())

    def get(self, key: str) -> Any:
        return self._data.get(key)

    def _value(self, key: str, default: Any) -> Any:
        self._read.add(key)
        value = self._data.get(key, _MISSING)
        if value is _MISSING or value is None:
            if default is _MISSING:
                raise ProgrammeError(self.path_of(key), "is required")
            return _MISSING
        return value

    def finish(self) -> None:
        for key in self._data:
            if key not in self._read:
                raise ProgrammeError(self.path_of(str(key)), "is not a known field (misspelt?)")

    # scalars

    def text(self, key: str, default: Any = _MISSING, *, allow_number: bool = False) -> str:
        value = self._value(key, default)
        if value is _MISSING:
            return default
        if allow_number and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise ProgrammeError(self.path_of(key), "must be non-empty text")
        return value.strip()

    def boolean(self, key: str, default: Any = _MISSING) -> bool:
        value = self._value(key, default)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            raise ProgrammeError(self.path_of(key), "must be true or false")
        return value

    def integer(self, key: str, default: Any = _MISSING, *, minimum: int | None = None) -> Any:
        value = self._value(key, default)
        if value is _MISSING:
            return default
        if isinstance(value, Decimal) and value == value.to_integral_value():
            value = int(value)  # JSON read with parse_float=Decimal gives 5.0 as Decimal
        if not isinstance(value, int) or isinstance(value, bool):
            raise ProgrammeError(self.path_of(key), "must be a whole number")
        if minimum is not None and value < minimum:
            raise ProgrammeError(self.path_of(key), f"must be at least {minimum}")
        return value

    def decimal(self, key: str, default: Any = _MISSING, *, positive: bool = False) -> Any:
        value = self._value(key, default)
        if value is _MISSING:
            return default
        number = _to_decimal(value)
        if number is None:
            raise ProgrammeError(self.path_of(key), "must be a number")
        if positive and number <= 0:
            raise ProgrammeError(self.path_of(key), "must be a positive number")
        return number

    def money(
        self, key: str, currency: str, default: Any = _MISSING, *, positive: bool = False, minimum_zero: bool = False
    ) -> Any:
        value = self._value(key, default)
        if value is _MISSING:
            return default
        if isinstance(value, float):
            raise ProgrammeError(self.path_of(key), f'write amounts as text, e.g. "{value:.2f}", never as a float')
        if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
            raise ProgrammeError(self.path_of(key), 'must be an amount such as "10.00"')
        try:
            money = Money.parse(value, currency)
        except MoneyError as error:
            raise ProgrammeError(self.path_of(key), str(error)) from None
        if positive and money.amount <= 0:
            raise ProgrammeError(self.path_of(key), "must be more than zero")
        if minimum_zero and money.is_negative():
            raise ProgrammeError(self.path_of(key), "cannot be negative")
        return money

    def choice(self, key: str, enum: type[_E], default: Any = _MISSING) -> _E:
        value = self._value(key, default)
        if value is _MISSING:
            return default
        allowed = [member.value for member in enum]
        if not isinstance(value, str) or value.strip().lower() not in allowed:
            raise ProgrammeError(self.path_of(key), f"must be one of: {', '.join(allowed)}")
        return enum(value.strip().lower())

    def moment(self, key: str) -> datetime | None:
        value = self._value(key, None)
        if value is _MISSING:
            return None
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.strip())
            except ValueError:
                value = None
        if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
            raise ProgrammeError(
                self.path_of(key), "must be a date and time with a UTC offset, e.g. 2026-02-10T00:00:00+08:00"
            )
        return value

    def day(self, key: str) -> date | None:
        value = self._value(key, None)
        if value is _MISSING:
            return None
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value.strip())
            except ValueError:
                value = None
        if not isinstance(value, date) or isinstance(value, datetime):
            raise ProgrammeError(self.path_of(key), "must be a date such as 2026-12-31")
        return value

    # collections

    def _list(self, key: str) -> list[Any]:
        value = self._value(key, None)
        if value is _MISSING:
            return []
        if not isinstance(value, list):
            raise ProgrammeError(self.path_of(key), "must be a list")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        items = self._list(key)
        for index, item in enumerate(items):
            if not isinstance(item, str) or not item.strip():
                raise ProgrammeError(f"{self.path_of(key)}[{index}]", "must be non-empty text")
        return tuple(item.strip() for item in items)

    def names(self, key: str) -> frozenset[str]:
        return frozenset(name_key(item) for item in self.texts(key))

    def table(self, key: str) -> _Table | None:
        value = self._value(key, None)
        if value is _MISSING:
            return None
        return _Table(value, self.path_of(key))

    def required_table(self, key: str) -> _Table:
        return _Table(self._value(key, _MISSING), self.path_of(key))

    def tables(self, key: str) -> list[_Table]:
        return [_Table(item, f"{self.path_of(key)}[{index}]") for index, item in enumerate(self._list(key))]


def _to_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        # repr gives the shortest text that reads back as the same float: the literal the author wrote.
        value = repr(value)
    if isinstance(value, (int, str, Decimal)):
        try:
            number = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _json_safe(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(item) for item in value]
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        # JSON read with parse_float=Decimal: keep whole numbers whole so integer fields read back, the rest as
        # exact text (which every amount and number field accepts).
        return int(value) if value == value.to_integral_value() else str(value)
    if isinstance(value, StrEnum):
        return value.value
    return value
