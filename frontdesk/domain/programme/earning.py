"""How many points a sale earns, and why: `preview_earning(programme, sale, member, context)`.

How rules combine (the contract; tests in tests/programme/test_earning.py pin every step):

1. Gate. If the programme restricts earning to some outlets or sales modes and the sale is elsewhere, nothing earns
   (lines are still listed, with the reason, and a warning says why).
2. Exclusions. A line whose SKU or category is excluded earns nothing and its amount counts for nothing (not for
   spend rules, not for a visit's minimum spend).
3. Eligible amount of a line = quantity × unit price − line discount − the line's share of the bill discount
   (bill discount spread over all lines in proportion to their net, to the cent, largest remainder first), never below
   zero; plus the line's tax if `include_tax`, plus its service charge if `include_service_charge`. Tips, if
   `include_tips`, are a bill-level pseudo-line that only rules without SKU/category conditions can match.
4. Base points: the FIRST spend rule (file order) whose conditions match gives eligible ÷ per × points. Put specific
   spend rules before the general one.
5. Bonuses are additive: every matching spend_bonus adds eligible ÷ per × points, every matching item_bonus adds
   quantity × points.
6. Multipliers multiply (base + bonuses): the HIGHEST matching multiplier rule (they do not stack with each other),
   times the member's tier multiplier, times the HIGHEST active matching promotion (promotions do not stack either).
   So a Gold member (×1.25) buying Colour (rule ×1.5 for Gold) during double points (×2) earns ×3.75 on that line.
7. Rounding, per `rounding` (down / up / nearest with halves up) and `rounding_scope`:
   - "bill": the exact sum of all lines is rounded once; each line shows a whole share of it, given out by largest
     remainder, so the lines always add up to the bill's points;
   - "line": each line is rounded on its own and the bill is the sum.
8. Visit points (fixed, never multiplied) come from the first visit rule whose conditions and minimum eligible spend
   are met, and only if the member has not already earned a visit today.
9. Daily cap: lines + visit are limited to `daily_cap − points already earned today` (never below zero); what the cap
   removes is reported in `capped_by` and a warning, and comes off the total (lines keep their uncapped figures).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from frontdesk.domain.money import Money
from frontdesk.domain.programme.arithmetic import (
    distribute,
    format_number,
    format_points,
    largest_remainder,
    round_points,
)
from frontdesk.domain.programme.errors import SaleError
from frontdesk.domain.programme.inputs import (
    EarnContext,
    MemberStanding,
    SaleDraft,
    SaleLine,
    validate_sale,
)
from frontdesk.domain.programme.model import (
    EarnRule,
    Programme,
    Promotion,
    Rounding,
    RoundingScope,
    RuleKind,
    Tier,
    name_key,
)

_T = TypeVar("_T")
_ROUNDING_WORDS = {Rounding.DOWN: "rounded down", Rounding.UP: "rounded up", Rounding.NEAREST: "rounded"}


@dataclass(frozen=True)
class EarnLine:
    line_index: int | None  # index into sale.lines; None for the tips pseudo-line
    label: str
    rule_ids: tuple[str, ...]  # every rule that fired, in the order applied ("tier:GOLD", "promo:<id>" included)
    explanation: str  # e.g. "S$30.00 × 1 pt/S$1 = 30; Colour ×1.5 Gold = 45"
    raw_points: Decimal  # exact, before rounding
    points: int
    eligible_amount: Money
    excluded: bool = False

    @property
    def rule_id(self) -> str | None:
        """The last rule that changed this line's points: the one that explains the final figure."""
        return self.rule_ids[-1] if self.rule_ids else None


@dataclass(frozen=True)
class EarnPreview:
    lines: tuple[EarnLine, ...]
    visit_points: int
    visit_rule_id: str | None
    visit_explanation: str | None
    points_before_cap: int  # lines + visit
    capped_by: int  # points the daily cap removed; 0 when the cap did not bite
    total_points: int  # what the member earns: points_before_cap - capped_by
    eligible_amount: Money  # spend that earned (after exclusions and discounts, with tax/service/tips per settings)
    tier_code: str | None
    rounding_note: str
    warnings: tuple[str, ...]

    def summary(self) -> str:
        text = f"Earns {format_points(self.total_points)}"
        if self.capped_by:
            text += f" (daily cap: {format_points(self.capped_by)} not awarded)"
        return text


@dataclass(frozen=True)
class _Priced:
    line_index: int | None
    label: str
    rule_ids: tuple[str, ...]
    explanation: str
    raw: Decimal
    eligible: Money
    excluded: bool


def preview_earning(
    programme: Programme, sale: SaleDraft, member: MemberStanding, context: EarnContext | None = None
) -> EarnPreview:
    """Points this sale earns for this member. Raises `SaleError` (first problem) for a sale that cannot be priced;
    call `validate_sale` first to show every problem beside its field."""
    context = context or EarnContext()
    problems = validate_sale(sale, programme.currency)
    if problems:
        raise problems[0]
    if (
        isinstance(context.points_earned_today, bool)
        or not isinstance(context.points_earned_today, int)
        or context.points_earned_today < 0
    ):
        raise SaleError("context.points_earned_today", "must be a whole number of points, zero or more")

    settings = programme.earning
    currency = programme.currency
    warnings: list[str] = []
    tier = programme.tier(member.tier_code)
    if member.tier_code and tier is None:
        warnings.append(f"Unknown tier “{member.tier_code}”: no tier multiplier or tier-only rule applied")
    tier_code = tier.code if tier else None

    gate = _gate_reason(programme, sale)
    if gate:
        warnings.append(gate)
    shares = _bill_discount_shares(sale, currency)

    priced: list[_Priced] = []
    for index, line in enumerate(sale.lines):
        priced.append(_price_line(programme, sale, tier, index, line, shares[index], gate))
    if settings.include_tips and not sale.tips.is_zero():
        priced.append(_price_amount(programme, sale, tier, None, "Tips", sale.tips, None, None, 1, gate))

    raw_total = sum((item.raw for item in priced), Decimal(0))
    if settings.rounding_scope is RoundingScope.LINE:
        whole = [round_points(item.raw, settings.rounding) for item in priced]
        rounding_note = f"Each line {_ROUNDING_WORDS[settings.rounding]} to whole points"
    else:
        bill_points = round_points(raw_total, settings.rounding)
        whole = distribute(bill_points, [item.raw for item in priced])
        rounding_note = (
            f"Bill {format_number(raw_total)} → {format_points(bill_points)} "
            f"({_ROUNDING_WORDS[settings.rounding]} once per bill)"
        )
    lines = tuple(
        EarnLine(
            line_index=item.line_index,
            label=item.label,
            rule_ids=item.rule_ids,
            explanation=_with_rounding(item.explanation, item.raw, points, settings.rounding_scope, settings.rounding),
            raw_points=item.raw,
            points=points,
            eligible_amount=item.eligible,
            excluded=item.excluded,
        )
        for item, points in zip(priced, whole, strict=True)
    )

    eligible_total = Money.zero(currency)
    for item in priced:
        eligible_total = eligible_total + item.eligible
    visit_points, visit_rule_id, visit_explanation = _visit(programme, sale, tier_code, eligible_total, context, gate)

    before_cap = sum(whole) + visit_points
    capped_by = 0
    if settings.daily_cap is not None:
        room = max(0, settings.daily_cap - context.points_earned_today)
        if before_cap > room:
            capped_by = before_cap - room
            warnings.append(
                f"Daily cap of {format_points(settings.daily_cap)} reached: {format_points(capped_by)} not awarded"
            )
    return EarnPreview(
        lines=lines,
        visit_points=visit_points,
        visit_rule_id=visit_rule_id,
        visit_explanation=visit_explanation,
        points_before_cap=before_cap,
        capped_by=capped_by,
        total_points=before_cap - capped_by,
        eligible_amount=eligible_total,
        tier_code=tier_code,
        rounding_note=rounding_note,
        warnings=tuple(warnings),
    )


def _gate_reason(programme: Programme, sale: SaleDraft) -> str | None:
    settings = programme.earning
    if settings.outlets and name_key(sale.outlet) not in settings.outlets:
        return f"Outlet “{sale.outlet}” does not earn points in {programme.name}"
    if settings.sales_modes and name_key(sale.sales_mode) not in settings.sales_modes:
        return f"Sales mode “{sale.sales_mode}” does not earn points in {programme.name}"
    return None


def _bill_discount_shares(sale: SaleDraft, currency: str) -> list[Money]:
    nets = [line.net.minor for line in sale.lines]
    minors = largest_remainder(sale.bill_discount.minor, nets)
    return [Money.from_minor(minor, currency) for minor in minors]


def _price_line(
    programme: Programme, sale: SaleDraft, tier: Tier | None, index: int, line: SaleLine, share: Money, gate: str | None
) -> _Priced:
    settings = programme.earning
    label = line.name or line.sku or f"Line {index + 1}"
    zero = Money.zero(programme.currency)
    if name_key(line.sku) and name_key(line.sku) in settings.excluded_skus:
        return _Priced(index, label, ("exclusion",), f"No points: SKU “{line.sku}” is excluded", Decimal(0), zero, True)
    if name_key(line.category) and name_key(line.category) in settings.excluded_categories:
        return _Priced(
            index, label, ("exclusion",), f"No points: category “{line.category}” is excluded", Decimal(0), zero, True
        )
    amount = line.net - share
    if amount.is_negative():
        amount = zero
    if settings.include_tax:
        amount = amount + line.tax
    if settings.include_service_charge:
        amount = amount + line.service_charge
    return _price_amount(programme, sale, tier, index, label, amount, line.sku, line.category, line.quantity, gate)


def _price_amount(
    programme: Programme,
    sale: SaleDraft,
    tier: Tier | None,
    index: int | None,
    label: str,
    amount: Money,
    sku: str | None,
    category: str | None,
    quantity: int,
    gate: str | None,
) -> _Priced:
    if gate:
        return _Priced(index, label, (), "No points: " + gate, Decimal(0), Money.zero(amount.currency), False)
    tier_code = tier.code if tier else None

    def applies(rule: EarnRule | Promotion) -> bool:
        return rule.conditions.matches_bill(
            outlet=sale.outlet, sales_mode=sale.sales_mode, tier_code=tier_code, at=sale.occurred_at
        ) and rule.conditions.matches_item(sku, category)

    rules = [rule for rule in programme.earning.rules if rule.kind is not RuleKind.VISIT and applies(rule)]
    fired: list[str] = []
    steps: list[str] = []
    running = Decimal(0)

    base = next((rule for rule in rules if rule.kind is RuleKind.SPEND), None)
    if base is not None:
        running = _per_amount(amount, base)
        fired.append(base.id)
        steps.append(f"{_short(amount)} × {_rate(base)} = {format_number(running)}")
    else:
        steps.append(f"{_short(amount)}: no base rule")

    bonus_count = 0
    for rule in rules:
        if rule.kind is RuleKind.SPEND_BONUS:
            bonus = _per_amount(amount, rule)
        elif rule.kind is RuleKind.ITEM_BONUS:
            bonus = rule.points * quantity
        else:
            continue
        running += bonus
        bonus_count += 1
        fired.append(rule.id)
        steps.append(f"+ {rule.label} {format_number(bonus)}")
    if bonus_count:
        steps.append(f"= {format_number(running)}")

    multiplier_rule = _highest(
        (rule for rule in rules if rule.kind is RuleKind.MULTIPLIER), lambda rule: rule.multiplier
    )
    rule_multiplier = multiplier_rule.multiplier if multiplier_rule is not None else None
    if multiplier_rule is not None and rule_multiplier is not None and rule_multiplier != 1:
        running *= rule_multiplier
        fired.append(multiplier_rule.id)
        tag = f" {tier.name}" if multiplier_rule.conditions.tiers and tier else ""
        steps.append(f"; {multiplier_rule.label} ×{format_number(rule_multiplier)}{tag} = {format_number(running)}")
    if tier is not None and tier.multiplier != 1:
        running *= tier.multiplier
        fired.append(f"tier:{tier.code}")
        steps.append(f"; {tier.name} tier ×{format_number(tier.multiplier)} = {format_number(running)}")
    promotion = _highest(
        (promo for promo in programme.earning.promotions if applies(promo)), lambda promo: promo.multiplier
    )
    if promotion is not None and promotion.multiplier != 1:
        running *= promotion.multiplier
        fired.append(f"promo:{promotion.id}")
        steps.append(f"; {promotion.label} ×{format_number(promotion.multiplier)} = {format_number(running)}")

    explanation = " ".join(steps).replace(" ;", ";")
    return _Priced(index, label, tuple(fired), explanation, running, amount, False)


def _highest(candidates: Iterable[_T], key: Callable[[_T], Decimal | None]) -> _T | None:
    """The candidate with the highest key; the earliest one on a tie, so file order decides."""
    best: _T | None = None
    for candidate in candidates:
        if best is None or (key(candidate) or 0) > (key(best) or 0):
            best = candidate
    return best


def _per_amount(amount: Money, rule: EarnRule) -> Decimal:
    assert rule.per is not None
    return amount.amount / rule.per.amount * rule.points


def _rate(rule: EarnRule) -> str:
    assert rule.per is not None
    unit = "pt" if rule.points == 1 else "pts"
    return f"{format_number(rule.points)} {unit}/{_short(rule.per)}"


def _short(amount: Money) -> str:
    """S$30.00 -> "S$30", S$0.50 stays: rates and amounts read the way a receptionist says them."""
    text = amount.display()
    return text[:-3] if amount.amount == amount.amount.to_integral_value() and text.endswith(".00") else text


def _with_rounding(explanation: str, raw: Decimal, points: int, scope: RoundingScope, rounding: Rounding) -> str:
    if raw == points:
        return explanation
    if scope is RoundingScope.LINE:
        return f"{explanation} → {points} ({_ROUNDING_WORDS[rounding]})"
    return f"{explanation} → {points}"  # this line's whole share of the bill's rounded points


def _visit(
    programme: Programme,
    sale: SaleDraft,
    tier_code: str | None,
    eligible_total: Money,
    context: EarnContext,
    gate: str | None,
) -> tuple[int, str | None, str | None]:
    visit_rules = [
        rule
        for rule in programme.earning.rules
        if rule.kind is RuleKind.VISIT
        and rule.conditions.matches_bill(
            outlet=sale.outlet, sales_mode=sale.sales_mode, tier_code=tier_code, at=sale.occurred_at
        )
    ]
    if not visit_rules or gate:
        return 0, None, None
    if context.visited_today:
        return 0, None, "Visit points already earned today"
    for rule in visit_rules:
        if rule.min_spend is None or eligible_total >= rule.min_spend:
            points = int(rule.points)  # the loader only accepts whole visit points
            return points, rule.id, f"{rule.label}: {format_points(points)}"
    needed = min(rule.min_spend for rule in visit_rules if rule.min_spend is not None)
    return 0, None, f"Visit points need {needed.display()} of eligible spend"
