"""The programme file: the demo loads, round-trips through JSON, and each kind of bad field is named with a reason."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any, Callable

import pytest

from frontdesk.domain.money import Money
from frontdesk.domain.programme import (
    ProgrammeError,
    RewardKind,
    Rounding,
    RoundingScope,
    RuleKind,
    TierBasis,
    load_programme,
    programme_from_dict,
    programme_from_json,
    programme_from_toml,
    programme_to_dict,
    programme_to_json,
)

from .helpers import DEMO_PATH, SGT, demo_dict


def test_demo_programme_loads_with_every_part():
    programme = load_programme(DEMO_PATH)
    assert programme.currency == "SGD"
    assert [tier.name for tier in programme.tiers.levels] == ["Classic", "Silver", "Gold", "Platinum"]
    assert programme.tiers.basis is TierBasis.SPEND and programme.tiers.window_days == 365
    assert programme.tier("gold").multiplier == Decimal("1.25")
    earning = programme.earning
    assert earning.rounding is Rounding.DOWN and earning.rounding_scope is RoundingScope.BILL
    assert not earning.include_tax and not earning.include_service_charge and not earning.include_tips
    assert earning.daily_cap == 3000
    assert "gift card" in earning.excluded_categories and "gc-050" in earning.excluded_skus
    assert {rule.kind for rule in earning.rules} == set(RuleKind)
    colour = next(rule for rule in earning.rules if rule.id == "colour-gold")
    assert colour.multiplier == Decimal("1.5") and colour.conditions.tiers == {"gold", "platinum"}
    cny = earning.promotions[0]
    assert cny.conditions.starts_at == datetime(2026, 2, 10, tzinfo=SGT)
    assert {reward.kind for reward in programme.rewards} == set(RewardKind)
    assert programme.reward("cut10").amount == Money(Decimal("10.00"))
    assert programme.points_payment.points == 100 and programme.points_payment.amount == Money(Decimal("1"))
    assert programme.stored_value is not None


def test_programme_round_trips_through_dict_and_json_for_the_server():
    programme = load_programme(DEMO_PATH)
    document = programme_to_dict(programme)
    json.dumps(document)  # JSON-safe: times and dates became text
    assert document["earning"]["promotions"][0]["starts_at"] == "2026-02-10T00:00:00+08:00"
    assert programme_from_dict(document) == programme
    assert programme_from_json(programme_to_json(programme)) == programme


def test_json_file_loads_like_toml(tmp_path):
    path = tmp_path / "programme.json"
    path.write_text(programme_to_json(load_programme(DEMO_PATH)), encoding="utf-8")
    assert load_programme(path) == load_programme(DEMO_PATH)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """An edit that sets (or with value=DELETE removes) a dotted path like earning.rules[4].multiplier."""

    def edit(data: dict[str, Any]) -> None:
        parts = path.replace("]", "").replace("[", ".").split(".")
        target: Any = data
        for part in parts[:-1]:
            target = target[int(part)] if part.isdigit() else target[part]
        last = parts[-1]
        key: Any = int(last) if last.isdigit() else last
        if value is DELETE:
            del target[key]
        else:
            target[key] = value

    return edit


DELETE = object()

# Demo rule order: 0 webshop-base, 1 base, 2 retail-bonus, 3 olaplex-bonus, 4 colour-gold, 5 spa-tampines, 6 visit.
BAD_FIELDS = [
    ("earning.rules[4].multiplier", 0, "earning.rules[4].multiplier", "must be a positive number"),
    ("earning.rules[4].multiplier", -1.5, "earning.rules[4].multiplier", "must be a positive number"),
    ("earning.rules[4].multiplier", "lots", "earning.rules[4].multiplier", "must be a number"),
    ("earning.rules[4].multiplier", DELETE, "earning.rules[4].multiplier", "is required"),
    ("programme.currency", DELETE, "programme.currency", "is required"),
    ("programme.currency", "S$", "programme.currency", "three-letter currency code"),
    ("programme.name", "  ", "programme.name", "must be non-empty text"),
    ("programme.schema", 2, "programme.schema", "version 2 is not supported"),
    ("earning.rounding", "sideways", "earning.rounding", "must be one of: down, up, nearest"),
    ("earning.rounding_scope", "receipt", "earning.rounding_scope", "must be one of: bill, line"),
    ("earning.include_tax", "yes", "earning.include_tax", "must be true or false"),
    ("earning.daily_cap", 0, "earning.daily_cap", "must be at least 1"),
    ("earning.daily_cap", 1.5, "earning.daily_cap", "must be a whole number"),
    ("earning.rules[1].per", 1.0, "earning.rules[1].per", "write amounts as text"),
    ("earning.rules[1].per", "1.005", "earning.rules[1].per", "more than 2 decimal places"),
    ("earning.rules[1].per", "0", "earning.rules[1].per", "must be more than zero"),
    ("earning.rules[1].per", "a dollar", "earning.rules[1].per", "is not an amount"),
    ("earning.rules[1].kind", "bonus", "earning.rules[1].kind", "must be one of: spend, spend_bonus"),
    ("earning.rules[1].multiplier", 2, "earning.rules[1].multiplier", "is not used by spend rules"),
    ("earning.rules[6].skus", ["X"], "earning.rules[6].skus", "is not used by visit rules"),
    ("earning.rules[6].points", 2.5, "earning.rules[6].points", "must be a whole number"),
    ("earning.rules[1].multipler", 2, "earning.rules[1].multipler", "is not a known field"),
    ("earning.rules[4].tiers", ["GOLDD"], "earning.rules[4].tiers", "names an unknown tier “GOLDD”"),
    ("earning.rules[1].id", "webshop-base", "earning.rules[1].id", "repeats “webshop-base”"),
    (
        "earning.rules[5].ends_at",
        datetime(2025, 10, 1, tzinfo=SGT),
        "earning.rules[5].ends_at",
        "must be after starts_at",
    ),
    ("earning.promotions[0].starts_at", datetime(2026, 2, 10), "earning.promotions[0].starts_at", "with a UTC offset"),
    ("earning.promotions[0].starts_at", "next Tuesday", "earning.promotions[0].starts_at", "with a UTC offset"),
    ("earning.promotions[0].ends_at", DELETE, "earning.promotions[0].ends_at", "must be time-boxed"),
    ("earning.promotions[0].multiplier", "0", "earning.promotions[0].multiplier", "must be a positive number"),
    ("earning.exclusions.skus", "GC-050", "earning.exclusions.skus", "must be a list"),
    ("earning.exclusions.skus", ["GC-050", ""], "earning.exclusions.skus[1]", "must be non-empty text"),
    ("earning", "everything", "earning", "must be a table of fields"),
    ("earnings", {}, "earnings", "is not a known field"),
    ("tiers", DELETE, "tiers", "is required"),
    ("tiers.basis", "visits", "tiers.basis", "must be one of: spend, points"),
    ("tiers.window_days", 0, "tiers.window_days", "must be at least 1"),
    ("tiers.levels", [], "tiers.levels", "needs at least one tier"),
    ("tiers.levels[0].threshold", "100", "tiers.levels[0].threshold", "the first tier must start at 0"),
    ("tiers.levels[2].threshold", "500", "tiers.levels[2].threshold", "must be higher than the tier before (Silver)"),
    ("tiers.levels[3].code", "gold", "tiers.levels[3].code", "repeats “gold”"),
    ("tiers.levels[1].multiplier", 0, "tiers.levels[1].multiplier", "must be a positive number"),
    ("rewards[0].kind", "cashback", "rewards[0].kind", "must be one of: amount, percent, free_sku"),
    ("rewards[0].percent", 10, "rewards[0].percent", "is not used by amount rewards"),
    ("rewards[0].amount", "-5.00", "rewards[0].amount", "must be more than zero"),
    ("rewards[0].points_cost", -1, "rewards[0].points_cost", "must be at least 0"),
    ("rewards[0].valid_until", "2024-12-31", "rewards[0].valid_until", "is before valid_from"),
    ("rewards[0].valid_from", "31/12/2026", "rewards[0].valid_from", "must be a date such as 2026-12-31"),
    ("rewards[1].percent", 120, "rewards[1].percent", "cannot be more than 100"),
    ("rewards[1].per_member_limit", 0, "rewards[1].per_member_limit", "must be at least 1"),
    ("rewards[2].sku", DELETE, "rewards[2].sku", "is required"),
    ("rewards[3].tiers", ["DIAMOND"], "rewards[3].tiers", "names an unknown tier “DIAMOND”"),
    ("rewards[3].code", "CUT10", "rewards[3].code", "repeats “CUT10”"),
    ("points_payment.points", 0, "points_payment.points", "must be at least 1"),
    ("points_payment.max_percent_of_bill", 150, "points_payment.max_percent_of_bill", "cannot be more than 100"),
    ("points_payment.min_points", "500", "points_payment.min_points", "must be a whole number"),
    ("stored_value.enabled", 1, "stored_value.enabled", "must be true or false"),
]


@pytest.mark.parametrize(
    ("path", "value", "field", "reason"), BAD_FIELDS, ids=[f"{row[0]}={row[1]!r}" for row in BAD_FIELDS]
)
def test_bad_programme_is_refused_with_field_and_reason(path, value, field, reason):
    data = demo_dict()
    _set(path, value)(data)
    with pytest.raises(ProgrammeError) as caught:
        programme_from_dict(data)
    assert caught.value.field == field
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"{field}: ")


def test_not_a_table_at_the_top():
    with pytest.raises(ProgrammeError) as caught:
        programme_from_dict(["programme"])  # type: ignore[arg-type]
    assert caught.value.reason == "must be a table of fields"


def test_broken_toml_and_json_are_refused_with_the_parser_message():
    with pytest.raises(ProgrammeError) as caught:
        programme_from_toml("[programme\ncode = 1")
    assert caught.value.reason.startswith("not valid TOML")
    with pytest.raises(ProgrammeError) as caught:
        programme_from_json('{"programme": ')
    assert caught.value.reason.startswith("not valid JSON")


def test_missing_file_is_refused_not_crashed(tmp_path):
    with pytest.raises(ProgrammeError) as caught:
        load_programme(tmp_path / "nowhere.toml")
    assert "cannot read" in caught.value.reason


def test_disabled_payment_sections_turn_the_feature_off():
    data = demo_dict()
    data["points_payment"]["enabled"] = False
    data["stored_value"]["enabled"] = False
    programme = programme_from_dict(data)
    assert programme.points_payment is None and programme.stored_value is None


def test_json_whole_numbers_written_with_a_decimal_point_round_trip():
    document = programme_to_dict(load_programme(DEMO_PATH))
    text = json.dumps(document).replace('"points_cost": 1000', '"points_cost": 1000.0')
    programme = programme_from_json(text)
    assert programme.reward("CUT10").points_cost == 1000
    assert programme_from_dict(programme_to_dict(programme)) == programme


def test_json_numbers_are_read_exactly():
    document = programme_to_dict(load_programme(DEMO_PATH))
    document["tiers"]["levels"][1]["multiplier"] = 1.1
    programme = programme_from_json(json.dumps(document))
    assert programme.tier("SILVER").multiplier == Decimal("1.1")
