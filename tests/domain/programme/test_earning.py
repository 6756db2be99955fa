"""Earning: every rule kind, the order rules combine in, rounding, caps, exclusions, restrictions and promotions."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from frontdesk.domain.money import Money
from frontdesk.domain.programme import (
    EarnContext,
    MemberStanding,
    SaleDraft,
    SaleError,
    load_programme,
    preview_earning,
    validate_sale,
)

from .helpers import DEMO_PATH, NOON, SGT, line, money, programme, sale

CLASSIC = MemberStanding("CLASSIC")
GOLD = MemberStanding("GOLD")


def gold_multiplier(value: str):
    def edit(data):
        data["tiers"]["levels"][1]["multiplier"] = value

    return edit


# --- single rule kinds -------------------------------------------------------------------------------------------


def test_spend_rule_gives_points_per_amount():
    preview = preview_earning(
        programme(rules=[{"id": "base", "kind": "spend", "points": 3, "per": "2.00"}]), sale(line("30.00")), CLASSIC
    )
    assert preview.total_points == 45
    assert preview.lines[0].explanation == "S$30 × 3 pts/S$2 = 45"
    assert preview.lines[0].rule_id == "base"


def test_colour_multiplier_for_gold_explains_itself():
    rules = [
        {"id": "base", "kind": "spend", "points": 1},
        {
            "id": "colour-gold",
            "kind": "multiplier",
            "label": "Colour",
            "multiplier": 1.5,
            "categories": ["Colour"],
            "tiers": ["GOLD"],
        },
    ]
    colour = line("30.00", name="Full colour", sku="SVC-COL", category="colour")
    gold = preview_earning(programme(rules=rules), sale(colour), GOLD)
    assert gold.lines[0].points == 45
    assert gold.lines[0].explanation == "S$30 × 1 pt/S$1 = 30; Colour ×1.5 Gold = 45"
    assert gold.lines[0].rule_ids == ("base", "colour-gold")
    assert preview_earning(programme(rules=rules), sale(colour), CLASSIC).total_points == 30


def test_spend_bonus_adds_per_amount_for_matching_category_only():
    rules = [
        {"id": "base", "kind": "spend", "points": 1},
        {"id": "retail", "kind": "spend_bonus", "label": "Retail bonus", "points": 1, "categories": ["Retail"]},
    ]
    preview = preview_earning(
        programme(rules=rules), sale(line("24.00", category="Retail", quantity=2), line("30.00")), CLASSIC
    )
    assert [item.points for item in preview.lines] == [96, 30]
    assert preview.lines[0].explanation == "S$48 × 1 pt/S$1 = 48 + Retail bonus 48 = 96"


def test_item_bonus_adds_fixed_points_per_unit_by_sku_case_insensitively():
    rules = [
        {"id": "base", "kind": "spend", "points": 1},
        {"id": "olaplex", "kind": "item_bonus", "label": "Olaplex", "points": 50, "skus": ["TRT-OLAPLEX"]},
    ]
    preview = preview_earning(programme(rules=rules), sale(line("80.00", sku="trt-olaplex", quantity=2)), CLASSIC)
    assert preview.total_points == 160 + 100
    assert preview.lines[0].rule_ids == ("base", "olaplex")


def test_line_with_no_base_rule_can_still_earn_a_bonus():
    rules = [{"id": "olaplex", "kind": "item_bonus", "label": "Olaplex", "points": 50, "skus": ["TRT-OLAPLEX"]}]
    preview = preview_earning(programme(rules=rules), sale(line("80.00", sku="TRT-OLAPLEX"), line("30.00")), CLASSIC)
    assert [item.points for item in preview.lines] == [50, 0]
    assert preview.lines[1].explanation == "S$30: no base rule"


def test_visit_points_once_per_day_fixed_and_not_multiplied():
    rules = [
        {"id": "base", "kind": "spend", "points": 1},
        {"id": "visit", "kind": "visit", "label": "Visit bonus", "points": 20},
    ]
    prog = programme(gold_multiplier("2"), rules=rules)
    first = preview_earning(prog, sale(line("30.00")), GOLD, EarnContext(visited_today=False))
    assert first.visit_points == 20 and first.visit_rule_id == "visit"
    assert first.visit_explanation == "Visit bonus: 20 pts"
    assert first.total_points == 60 + 20
    again = preview_earning(prog, sale(line("30.00")), GOLD, EarnContext(visited_today=True))
    assert again.visit_points == 0 and again.visit_explanation == "Visit points already earned today"
    assert again.total_points == 60


def test_visit_needs_minimum_eligible_spend_and_falls_through_to_next_visit_rule():
    rules = [
        {"id": "base", "kind": "spend", "points": 1},
        {"id": "big-visit", "kind": "visit", "label": "Big visit", "points": 50, "min_spend": "100.00"},
        {"id": "visit", "kind": "visit", "label": "Visit", "points": 20, "min_spend": "30.00"},
    ]
    prog = programme(rules=rules)
    assert preview_earning(prog, sale(line("150.00")), CLASSIC).visit_rule_id == "big-visit"
    assert preview_earning(prog, sale(line("40.00")), CLASSIC).visit_rule_id == "visit"
    small = preview_earning(prog, sale(line("20.00")), CLASSIC)
    assert small.visit_points == 0 and small.visit_explanation == "Visit points need S$30.00 of eligible spend"


# --- how rules combine -------------------------------------------------------------------------------------------

COMBINED_RULES = [
    {"id": "base", "kind": "spend", "points": 1},
    {"id": "retail-bonus", "kind": "spend_bonus", "label": "Retail bonus", "points": 1, "categories": ["Retail"]},
    {"id": "serum-bonus", "kind": "item_bonus", "label": "Serum bonus", "points": 10, "skus": ["RET-SERUM"]},
    {"id": "retail-x1.5", "kind": "multiplier", "label": "Retail", "multiplier": 1.5, "categories": ["Retail"]},
    {"id": "serum-x2", "kind": "multiplier", "label": "Serum", "multiplier": 2, "skus": ["RET-SERUM"]},
]
COMBINED_PROMOS = [
    {
        "id": "double",
        "label": "Double points",
        "multiplier": 2,
        "starts_at": "2026-03-01T00:00:00+08:00",
        "ends_at": "2026-04-01T00:00:00+08:00",
    },
    {
        "id": "triple",
        "label": "Triple retail",
        "multiplier": 3,
        "categories": ["Retail"],
        "starts_at": "2026-03-01T00:00:00+08:00",
        "ends_at": "2026-04-01T00:00:00+08:00",
    },
]


def test_rules_combine_base_plus_bonuses_times_highest_rule_times_tier_times_highest_promotion():
    prog = programme(gold_multiplier("1.25"), rules=COMBINED_RULES, promotions=COMBINED_PROMOS)
    serum = line("20.00", name="Serum", sku="RET-SERUM", category="Retail", quantity=2)
    preview = preview_earning(prog, sale(serum), GOLD)
    # (40 base + 40 retail bonus + 2×10 serum bonus) × 2 (highest rule, not 1.5×2) × 1.25 tier × 3 (highest promo)
    assert preview.lines[0].raw_points == Decimal(750)
    assert preview.total_points == 750
    assert preview.lines[0].rule_ids == ("base", "retail-bonus", "serum-bonus", "serum-x2", "tier:GOLD", "promo:triple")
    assert preview.lines[0].explanation == (
        "S$40 × 1 pt/S$1 = 40 + Retail bonus 40 + Serum bonus 20 = 100; Serum ×2 = 200; "
        "Gold tier ×1.25 = 250; Triple retail ×3 = 750"
    )
    # A non-retail line in the same bill only gets the general promotion.
    cut = preview_earning(prog, sale(line("30.00")), GOLD)
    assert cut.lines[0].raw_points == Decimal(30) * Decimal("1.25") * 2


def test_first_matching_spend_rule_is_the_base_so_specific_rules_go_first():
    specific_first = [
        {"id": "colour-rate", "kind": "spend", "points": 2, "categories": ["Colour"]},
        {"id": "base", "kind": "spend", "points": 1},
    ]
    preview = preview_earning(
        programme(rules=specific_first), sale(line("10.00", category="Colour"), line("10.00")), CLASSIC
    )
    assert [item.rule_id for item in preview.lines] == ["colour-rate", "base"]
    assert [item.points for item in preview.lines] == [20, 10]
    general_first = list(reversed(specific_first))
    preview = preview_earning(programme(rules=general_first), sale(line("10.00", category="Colour")), CLASSIC)
    assert preview.lines[0].rule_id == "base" and preview.total_points == 10


def test_multiplier_below_one_reduces_and_unit_multipliers_stay_silent():
    rules = [
        {"id": "base", "kind": "spend", "points": 1},
        {"id": "clearance", "kind": "multiplier", "label": "Clearance", "multiplier": 0.5, "categories": ["Clearance"]},
    ]
    preview = preview_earning(programme(rules=rules), sale(line("30.00", category="Clearance"), line("30.00")), CLASSIC)
    assert [item.points for item in preview.lines] == [15, 30]
    assert preview.lines[1].explanation == "S$30 × 1 pt/S$1 = 30"


# --- rounding ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rounding", "scope", "line_points", "total"),
    [
        ("down", "line", [10, 10], 20),
        ("up", "line", [11, 11], 22),
        ("nearest", "line", [11, 11], 22),
        ("down", "bill", [11, 10], 21),
        ("up", "bill", [11, 10], 21),
        ("nearest", "bill", [11, 10], 21),
    ],
)
def test_rounding_mode_and_scope(rounding, scope, line_points, total):
    prog = programme(rounding=rounding, rounding_scope=scope)
    preview = preview_earning(prog, sale(line("10.50"), line("10.50")), CLASSIC)
    assert [item.points for item in preview.lines] == line_points
    assert preview.total_points == total


def test_bill_scope_lines_show_their_whole_share():
    preview = preview_earning(programme(), sale(line("10.50"), line("10.50")), CLASSIC)
    assert [item.explanation for item in preview.lines] == [
        "S$10.50 × 1 pt/S$1 = 10.5 → 11",
        "S$10.50 × 1 pt/S$1 = 10.5 → 10",
    ]


def test_rounding_notes_say_what_happened():
    line_scope = preview_earning(programme(rounding_scope="line"), sale(line("10.50")), CLASSIC)
    assert line_scope.lines[0].explanation == "S$10.50 × 1 pt/S$1 = 10.5 → 10 (rounded down)"
    assert line_scope.rounding_note == "Each line rounded down to whole points"
    bill_scope = preview_earning(programme(rounding="up"), sale(line("10.25"), line("10.50")), CLASSIC)
    assert bill_scope.rounding_note == "Bill 20.75 → 21 pts (rounded up once per bill)"
    nearest = preview_earning(programme(rounding="nearest"), sale(line("10.49")), CLASSIC)
    assert nearest.total_points == 10


# --- what counts as spend ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({}, 100),
        ({"include_tax": True}, 109),
        ({"include_service_charge": True}, 110),
        ({"include_tax": True, "include_service_charge": True}, 119),
        ({"include_tips": True}, 105),
        ({"include_tax": True, "include_service_charge": True, "include_tips": True}, 124),
    ],
)
def test_tax_service_charge_and_tips_are_each_includable(flags, expected):
    preview = preview_earning(
        programme(**flags), sale(line("100.00", tax="9.00", service_charge="10.00"), tips="5.00"), CLASSIC
    )
    assert preview.total_points == expected


def test_tips_are_a_bill_level_line_that_item_rules_do_not_touch():
    rules = [
        {"id": "base", "kind": "spend", "points": 1},
        {"id": "hair-x2", "kind": "multiplier", "label": "Hair", "multiplier": 2, "categories": ["Hair"]},
    ]
    preview = preview_earning(programme(rules=rules, include_tips=True), sale(line("10.00"), tips="5.00"), CLASSIC)
    tips = preview.lines[-1]
    assert tips.line_index is None and tips.label == "Tips"
    assert tips.points == 5 and tips.rule_ids == ("base",)


def test_bill_discount_is_spread_over_lines_to_the_cent():
    preview = preview_earning(programme(), sale(line("60.00"), line("40.00"), bill_discount="10.00"), CLASSIC)
    assert [item.eligible_amount for item in preview.lines] == [money("54.00"), money("36.00")]
    preview = preview_earning(
        programme(rounding_scope="line"),
        sale(line("10.00"), line("10.00"), line("10.00"), bill_discount="0.10"),
        CLASSIC,
    )
    assert [item.eligible_amount for item in preview.lines] == [money("9.96"), money("9.97"), money("9.97")]
    assert preview.eligible_amount == money("29.90")


def test_line_discount_reduces_the_line_and_a_fully_discounted_line_earns_nothing():
    preview = preview_earning(
        programme(), sale(line("30.00", discount="5.00"), line("20.00", discount="20.00")), CLASSIC
    )
    assert [item.points for item in preview.lines] == [25, 0]


# --- exclusions and restrictions ---------------------------------------------------------------------------------


def test_excluded_sku_and_category_earn_nothing_and_do_not_count_toward_a_visit():
    rules = [
        {"id": "base", "kind": "spend", "points": 1},
        {"id": "visit", "kind": "visit", "points": 20, "min_spend": "30.00"},
    ]
    prog = programme(rules=rules, exclusions={"skus": ["GC-050"], "categories": ["Package Redemption"]})
    preview = preview_earning(
        prog,
        sale(
            line("50.00", name="Gift card", sku="gc-050", category="Vouchers"),
            line("120.00", name="Facial (package)", sku="PKG-FACIAL", category="package redemption"),
            line("20.00"),
        ),
        CLASSIC,
    )
    assert [item.points for item in preview.lines] == [0, 0, 20]
    assert [item.excluded for item in preview.lines] == [True, True, False]
    assert preview.lines[0].explanation == "No points: SKU “gc-050” is excluded"
    assert preview.lines[1].explanation == "No points: category “package redemption” is excluded"
    assert preview.visit_points == 0
    assert preview.eligible_amount == money("20.00")


def test_outlet_outside_the_programme_earns_nothing_and_says_why():
    rules = [{"id": "base", "kind": "spend", "points": 1}, {"id": "visit", "kind": "visit", "points": 20}]
    prog = programme(rules=rules, outlets=["ORCHARD", "TAMPINES"])
    assert preview_earning(prog, sale(line("30.00"), outlet="orchard"), CLASSIC).total_points == 50
    elsewhere = preview_earning(prog, sale(line("30.00"), outlet="AIRPORT"), CLASSIC)
    assert elsewhere.total_points == 0 and elsewhere.visit_points == 0
    assert elsewhere.warnings == ("Outlet “AIRPORT” does not earn points in Test Rewards",)
    assert elsewhere.lines[0].explanation.startswith("No points: Outlet “AIRPORT”")
    assert elsewhere.eligible_amount == money("0")


def test_sales_mode_outside_the_programme_earns_nothing():
    prog = programme(sales_modes=["counter", "invoice_mail"])
    assert preview_earning(prog, sale(line("30.00"), mode="invoice_mail"), CLASSIC).total_points == 30
    webshop = preview_earning(prog, sale(line("30.00"), mode="webshop"), CLASSIC)
    assert webshop.total_points == 0 and "Sales mode “webshop”" in webshop.warnings[0]


def test_rules_restricted_to_outlet_sales_mode_or_tier_fire_only_there():
    rules = [
        {"id": "webshop", "kind": "spend", "points": 1, "per": "2.00", "sales_modes": ["webshop"]},
        {"id": "base", "kind": "spend", "points": 1},
        {"id": "tampines-x2", "kind": "multiplier", "label": "Tampines", "multiplier": 2, "outlets": ["TAMPINES"]},
        {"id": "gold-bonus", "kind": "item_bonus", "label": "Gold gift", "points": 5, "tiers": ["GOLD"]},
    ]
    prog = programme(rules=rules)
    assert preview_earning(prog, sale(line("30.00"), mode="webshop"), CLASSIC).total_points == 15
    assert preview_earning(prog, sale(line("30.00"), outlet="Tampines"), CLASSIC).total_points == 60
    assert preview_earning(prog, sale(line("30.00")), GOLD).total_points == 35
    assert preview_earning(prog, sale(line("30.00")), CLASSIC).total_points == 30


def test_rule_with_its_own_time_box():
    rules = [
        {"id": "base", "kind": "spend", "points": 1},
        {
            "id": "launch",
            "kind": "multiplier",
            "multiplier": 2,
            "starts_at": "2026-03-01T00:00:00+08:00",
            "ends_at": "2026-03-02T00:00:00+08:00",
        },
    ]
    prog = programme(rules=rules)
    assert (
        preview_earning(prog, sale(line("30.00"), at=datetime(2026, 3, 1, 23, 59, tzinfo=SGT)), CLASSIC).total_points
        == 60
    )
    assert preview_earning(prog, sale(line("30.00"), at=NOON), CLASSIC).total_points == 30


# --- promotions --------------------------------------------------------------------------------------------------

CNY = {
    "id": "cny",
    "label": "CNY double points",
    "multiplier": 2,
    "starts_at": "2026-02-10T00:00:00+08:00",
    "ends_at": "2026-02-24T00:00:00+08:00",
}


@pytest.mark.parametrize(
    ("moment", "points"),
    [
        (datetime(2026, 2, 9, 15, 59, 59, tzinfo=UTC), 30),  # 23:59:59 SGT the day before
        (datetime(2026, 2, 9, 16, 0, 0, tzinfo=UTC), 60),  # 00:00 SGT: the start is inclusive
        (datetime(2026, 2, 23, 23, 59, 59, tzinfo=SGT), 60),
        (datetime(2026, 2, 24, 0, 0, 0, tzinfo=SGT), 30),  # the end is exclusive
    ],
)
def test_promotion_time_box_in_any_time_zone(moment, points):
    preview = preview_earning(programme(promotions=[CNY]), sale(line("30.00"), at=moment), CLASSIC)
    assert preview.total_points == points


def test_promotions_do_not_stack_the_highest_applies():
    second = dict(CNY, id="cny-gold", label="CNY Gold triple", multiplier=3, tiers=["GOLD"])
    prog = programme(promotions=[CNY, second])
    during = datetime(2026, 2, 12, 12, tzinfo=SGT)
    assert preview_earning(prog, sale(line("30.00"), at=during), GOLD).total_points == 90
    classic = preview_earning(prog, sale(line("30.00"), at=during), CLASSIC)
    assert classic.total_points == 60 and classic.lines[0].rule_id == "promo:cny"


# --- tiers, caps, warnings ---------------------------------------------------------------------------------------


def test_tier_multiplier_applies_and_unknown_tier_earns_base_with_a_warning():
    prog = programme(gold_multiplier("1.5"))
    assert preview_earning(prog, sale(line("30.00")), GOLD).total_points == 45
    unknown = preview_earning(prog, sale(line("30.00")), MemberStanding("DIAMOND"))
    assert unknown.total_points == 30 and unknown.tier_code is None
    assert "Unknown tier “DIAMOND”" in unknown.warnings[0]


def test_daily_cap_limits_the_total_and_reports_what_it_removed():
    rules = [{"id": "base", "kind": "spend", "points": 1}, {"id": "visit", "kind": "visit", "points": 20}]
    prog = programme(rules=rules, daily_cap=100)
    preview = preview_earning(prog, sale(line("70.00")), CLASSIC, EarnContext(points_earned_today=30))
    assert preview.points_before_cap == 90
    assert preview.capped_by == 20 and preview.total_points == 70
    assert preview.warnings == ("Daily cap of 100 pts reached: 20 pts not awarded",)
    assert preview.summary() == "Earns 70 pts (daily cap: 20 pts not awarded)"
    spent = preview_earning(prog, sale(line("70.00")), CLASSIC, EarnContext(points_earned_today=130))
    assert spent.total_points == 0 and spent.capped_by == 90
    under = preview_earning(prog, sale(line("10.00")), CLASSIC, EarnContext(points_earned_today=30))
    assert under.capped_by == 0 and under.total_points == 30 and under.warnings == ()


def test_demo_programme_end_to_end():
    demo = load_programme(DEMO_PATH)
    during_cny = datetime(2026, 2, 12, 14, 0, tzinfo=SGT)
    draft = sale(
        line("30.00", name="Full colour", sku="SVC-COLOUR", category="Colour", tax="2.97", service_charge="3.00"),
        line("80.00", name="Olaplex", sku="TRT-OLAPLEX", category="Treatment"),
        line("50.00", name="Gift card", sku="GC-050", category="Gift Card"),
        at=during_cny,
    )
    preview = preview_earning(demo, draft, MemberStanding("GOLD", 4200), EarnContext())
    colour, olaplex, gift = preview.lines
    assert (
        colour.explanation
        == "S$30 × 1 pt/S$1 = 30; Colour ×1.5 Gold = 45; Gold tier ×1.25 = 56.25; CNY double points ×2 = 112.5 → 112"
    )
    assert olaplex.raw_points == (80 + 50) * Decimal("1.25") * 2
    assert gift.points == 0
    assert preview.visit_points == 20
    assert preview.total_points == 112 + 325 + 20  # 437.5 rounded down once per bill


# --- bad sale input ----------------------------------------------------------------------------------------------


def test_validate_sale_names_every_bad_field():
    bad = SaleDraft(
        outlet="",
        sales_mode="counter",
        occurred_at=datetime(2026, 3, 2, 12),
        currency="USD",
        lines=(
            line("30.00", quantity=0),
            line("-5.00"),
            line("10.00", discount="12.00"),
            line("10.00", tax="-1.00"),
        ),
        tips=Money.parse("1", "USD"),
        bill_discount=money("0"),
    )
    problems = {(problem.field, problem.reason) for problem in validate_sale(bad, "SGD")}
    assert problems == {
        ("outlet", "is required"),
        ("occurred_at", "needs a time zone"),
        ("currency", "must be SGD, the programme's currency"),
        ("lines[0].quantity", "must be at least 1"),
        ("lines[1].unit_price", "cannot be negative"),
        ("lines[2].discount", "is more than the line's price"),
        ("lines[3].tax", "cannot be negative"),
        ("tips", "is in USD, the programme uses SGD"),
    }


def test_bill_discount_larger_than_the_lines_and_no_lines_are_refused():
    too_much = sale(line("10.00"), bill_discount="10.01")
    assert [(p.field, p.reason) for p in validate_sale(too_much, "SGD")] == [
        ("bill_discount", "is more than the lines add up to (S$10.00)")
    ]
    empty = SaleDraft("ORCHARD", "counter", NOON, "SGD", (), money("0"), money("0"))
    with pytest.raises(SaleError) as caught:
        preview_earning(programme(), empty, CLASSIC)
    assert caught.value.field == "lines"


def test_preview_refuses_the_first_problem_and_a_bad_context():
    with pytest.raises(SaleError) as caught:
        preview_earning(programme(), sale(line("10.00", quantity=-2)), CLASSIC)
    assert (caught.value.field, caught.value.reason) == ("lines[0].quantity", "must be at least 1")
    with pytest.raises(SaleError) as caught:
        preview_earning(programme(), sale(line("10.00")), CLASSIC, EarnContext(points_earned_today=-1))
    assert caught.value.field == "context.points_earned_today"


def test_sale_total_adds_tax_service_tips_and_takes_off_discounts():
    draft = sale(
        line("100.00", tax="9.00", service_charge="10.00", discount="5.00"),
        line("20.00"),
        tips="3.00",
        bill_discount="4.00",
    )
    assert draft.total == money("133.00")
