"""Where a member stands: tier, progress to the next one, and an early warning before a downgrade.

Tiers are measured over a rolling window of `window_days` days ending today (today and the window_days − 1 days
before it), on spend or on points (`tiers.basis`), from the member's dated activity. A member holds a tier while the
window holds its threshold; as old activity leaves the window the value falls, and the first day it falls below the
current tier's threshold is the downgrade day. When that day is within `warn_days`, the status carries a warning with
the amount that, spent today, keeps the tier past that day — and until when it would then last:
"S$40.00 more today keeps Gold until 9 Jun 2026 (otherwise Silver from 14 Mar 2026)".

The current tier is the one the server says the member holds (`MemberStanding.tier_code`); what the window qualifies
for is reported beside it (`qualified`), because upgrades and downgrades are the server's decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from frontdesk.domain.money import Money
from frontdesk.domain.programme.arithmetic import format_day, format_points
from frontdesk.domain.programme.inputs import ActivityEntry, MemberStanding
from frontdesk.domain.programme.model import Programme, Tier, TierBasis

Measure = Money | int


@dataclass(frozen=True)
class DowngradeWarning:
    on: date  # the first day the window no longer holds the current tier, without new activity
    to_tier: Tier  # what the member would fall to on that day
    keep_with: Measure  # spend (or points) needed before then to keep the tier past that day
    kept_until: date  # if keep_with is spent today: the last day the tier then holds without further activity
    text: str


@dataclass(frozen=True)
class TierStatus:
    current: Tier
    qualified: Tier  # the highest tier today's window value reaches
    next: Tier | None  # the tier above the current one; None at the top
    basis: TierBasis
    window_value: Measure
    progress: Decimal  # 0..1 toward `next` (window value ÷ its threshold); 1 at the top tier
    remaining: Measure | None  # still needed for `next`; None at the top
    downgrade: DowngradeWarning | None
    warnings: tuple[str, ...]

    def progress_text(self) -> str:
        if self.next is None:
            return f"{self.current.name}: top tier"
        if self.remaining in (0, None) or (isinstance(self.remaining, Money) and self.remaining.is_zero()):
            return f"Qualifies for {self.next.name}"
        return f"{_show(self.remaining)} more for {self.next.name}"


def tier_status(programme: Programme, member: MemberStanding, today: date) -> TierStatus:
    settings = programme.tiers
    levels = settings.levels
    activity = tuple(entry for entry in member.activity if entry.on <= today)
    value = _window_value(programme, activity, today)
    qualified = _tier_for(levels, value)
    warnings: list[str] = []
    current = programme.tier(member.tier_code)
    if current is None:
        if member.tier_code:
            warnings.append(f"Unknown tier “{member.tier_code}”: shown as {qualified.name} from recent activity")
        current = qualified
    position = levels.index(current)
    next_tier = levels[position + 1] if position + 1 < len(levels) else None

    if next_tier is None:
        progress = Decimal(1)
        remaining: Measure | None = None
    else:
        progress = min(Decimal(1), max(Decimal(0), _ratio(value, next_tier.threshold)))
        remaining = _at_least_zero(_minus(next_tier.threshold, value))
    downgrade = _downgrade(programme, activity, current, today)
    return TierStatus(
        current=current,
        qualified=qualified,
        next=next_tier,
        basis=settings.basis,
        window_value=value,
        progress=progress,
        remaining=remaining,
        downgrade=downgrade,
        warnings=tuple(warnings),
    )


def _downgrade(
    programme: Programme, activity: tuple[ActivityEntry, ...], current: Tier, today: date
) -> DowngradeWarning | None:
    settings = programme.tiers
    if current is settings.levels[0]:
        return None
    lost_on = _first_day_below(programme, activity, current.threshold, today)
    if lost_on is None or (lost_on - today).days > settings.warn_days:
        return None
    value_then = _window_value(programme, activity, lost_on)
    keep_with = _minus(current.threshold, value_then)
    topped_up = activity + (_entry(programme, today, keep_with),)
    next_loss = _first_day_below(programme, topped_up, current.threshold, today)
    assert next_loss is not None and next_loss > lost_on
    kept_until = next_loss - timedelta(days=1)
    to_tier = _tier_for(settings.levels, value_then)
    fallback = "now" if lost_on == today else f"from {format_day(lost_on)}"
    text = (
        f"{_show(keep_with)} more today keeps {current.name} until {format_day(kept_until)} "
        f"(otherwise {to_tier.name} {fallback})"
    )
    return DowngradeWarning(on=lost_on, to_tier=to_tier, keep_with=keep_with, kept_until=kept_until, text=text)


def _first_day_below(
    programme: Programme, activity: tuple[ActivityEntry, ...], threshold: Measure, today: date
) -> date | None:
    """The first day from today on when the window, with no new activity, holds less than `threshold`."""
    window = programme.tiers.window_days
    candidates = {today} | {entry.on + timedelta(days=window) for entry in activity}
    for day in sorted(candidate for candidate in candidates if candidate >= today):
        if _window_value(programme, activity, day) < threshold:  # type: ignore[operator]
            return day
    return None


def _window_value(programme: Programme, activity: tuple[ActivityEntry, ...], day: date) -> Measure:
    standing = MemberStanding(tier_code=None, activity=activity)
    if programme.tiers.basis is TierBasis.SPEND:
        return standing.window_spend(day, programme.tiers.window_days, programme.currency)
    return standing.window_points(day, programme.tiers.window_days)


def _entry(programme: Programme, day: date, amount: Measure) -> ActivityEntry:
    if isinstance(amount, Money):
        return ActivityEntry(on=day, spend=amount, points=0)
    return ActivityEntry(on=day, spend=Money.zero(programme.currency), points=amount)


def _tier_for(levels: tuple[Tier, ...], value: Measure) -> Tier:
    reached = levels[0]
    for tier in levels:
        if value >= tier.threshold:  # type: ignore[operator]
            reached = tier
    return reached


def _ratio(value: Measure, threshold: Measure) -> Decimal:
    if isinstance(value, Money) and isinstance(threshold, Money):
        return value.amount / threshold.amount
    return Decimal(value) / Decimal(threshold)  # type: ignore[arg-type]


def _minus(left: Measure, right: Measure) -> Measure:
    return left - right  # type: ignore[operator]


def _at_least_zero(value: Measure) -> Measure:
    if isinstance(value, Money):
        return Money.zero(value.currency) if value.is_negative() else value
    return max(0, value)


def _show(value: Measure) -> str:
    return value.display() if isinstance(value, Money) else format_points(value)
