"""The active loyalty programme at this counter, and what the member panel shows from it.

Which programme is active, first match wins:
1. the newest active row of `programme_versions` (the sync engine stores each pulled programme there, its definition
   as the JSON document the engine's `programme_from_dict` reads);
2. `settings.programme_file`, when configured;
3. the bundled demo programme, `resources/programme/demo.toml`.
A stored definition or a configured file that does not load is logged with the field and the reason and skipped, so
a bad pull never leaves the counter without a programme; `ActiveProgramme.problems` says what was skipped.

The programme is loaded lazily, on first use, on whatever worker thread asks (never at window construction), and
kept until `reload()`. `ProgrammeService` also implements the member panel's `ProgrammeView`: points money value,
tier progress, the downgrade warning ("S$40.00 more today keeps Gold until 9 Jun 2026 …") and usable rewards.

Tier measurement at the counter. The engine measures tiers over dated activity; the counter knows the server's
rolling-window total (`members.window_spend_minor` / `window_points`) and its own sales. Activity is therefore:
this member's local sales in the window (pending ones too, voided ones not), plus whatever of the server's window
total the local synced sales do not explain, dated so that it leaves the window on `members.tier_expires_on` (when
the server told us), else dated today (so no downgrade is ever invented from missing data).
"""
from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from frontdesk.config import Settings
from frontdesk.domain.members import MemberProfile
from frontdesk.domain.money import Money
from frontdesk.domain.programme import (
    ActivityEntry,
    MemberStanding,
    Programme,
    ProgrammeError,
    Reward,
    RewardKind,
    TierBasis,
    load_programme,
    points_value,
    programme_from_dict,
    programme_from_json,
    tier_status,
)
from frontdesk.domain.programme.arithmetic import (
    format_day,
    format_number,
    format_points,
)
from frontdesk.members.lookup import ProgrammeView, UsableReward
from frontdesk.store.models import ProgrammeVersion, Sale, SaleRedemption

log = logging.getLogger(__name__)


def bundled_programme_path() -> Path:
    """resources/programme/demo.toml in a source tree, or inside the frozen app (PyInstaller's _MEIPASS)."""
    frozen_root = getattr(sys, "_MEIPASS", None)
    root = Path(frozen_root) if frozen_root else Path(__file__).resolve().parents[2]
    return root / "resources" / "programme" / "demo.toml"


@dataclass(frozen=True)
class ActiveProgramme:
    programme: Programme
    source: str  # "server <version>", "file <path>", "bundled demo"
    problems: tuple[str, ...] = ()  # definitions that were skipped, and why


def load_active_programme(engine: Engine | None, settings: Settings) -> ActiveProgramme:
    """The programme this counter prices with (see the module docstring for the order)."""
    problems: list[str] = []
    if engine is not None:
        with Session(engine) as session:
            rows = session.scalars(
                select(ProgrammeVersion).where(ProgrammeVersion.active.is_(True))
                .order_by(ProgrammeVersion.fetched_at.desc(), ProgrammeVersion.id.desc())
            ).all()
            stored = [(row.id, row.version, row.source, row.definition) for row in rows]
        for row_id, version, source, definition in stored:
            try:
                if isinstance(definition, str):
                    programme = programme_from_json(definition)
                elif isinstance(definition, dict):
                    programme = programme_from_dict(definition)
                else:
                    raise ProgrammeError("", "the stored definition is not a JSON object")
            except ProgrammeError as error:
                problem = f"stored programme {version} ({source}, row {row_id}) skipped: {error}"
                log.error(problem)
                problems.append(problem)
                continue
            return ActiveProgramme(programme, f"{source} {version}", tuple(problems))
    if settings.programme_file:
        try:
            programme = load_programme(settings.programme_file)
        except ProgrammeError as error:
            problem = f"programme file {settings.programme_file} skipped: {error}"
            log.error(problem)
            problems.append(problem)
        else:
            return ActiveProgramme(programme, f"file {settings.programme_file}", tuple(problems))
    path = bundled_programme_path()
    return ActiveProgramme(load_programme(path), "bundled demo", tuple(problems))


class ProgrammeService(ProgrammeView):
    """The active programme plus the member panel's view of it. Safe to call from any worker thread."""

    def __init__(self, engine: Engine | None, settings: Settings, *, programme: Programme | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self._lock = threading.Lock()
        self._active = ActiveProgramme(programme, "given") if programme is not None else None

    # --- the programme -------------------------------------------------------------------------------------------
    @property
    def active(self) -> ActiveProgramme:
        with self._lock:
            if self._active is None:
                self._active = load_active_programme(self.engine, self.settings)
                log.info("loyalty programme: %s %s from %s", self._active.programme.name,
                         self._active.programme.version, self._active.source)
            return self._active

    @property
    def programme(self) -> Programme:
        return self.active.programme

    def reload(self) -> ActiveProgramme:
        """Forget the loaded programme (after the sync engine stored a new one) and load again."""
        with self._lock:
            self._active = None
        return self.active

    # --- ProgrammeView -------------------------------------------------------------------------------------------
    def points_value(self, points: int) -> Money | None:
        settings = self.programme.points_payment
        if settings is None:
            return None
        return points_value(settings, max(0, points))

    def tier_progress(self, profile: MemberProfile, today: date) -> tuple[str | None, float | None, str, str]:
        programme = self.programme
        standing = MemberStanding(tier_code=profile.tier_code, points_balance=profile.available_points,
                                  activity=self.activity(profile, today))
        status = tier_status(programme, standing, today)
        progress = float(status.progress) if status.next is not None else None
        downgrade = status.downgrade.text if status.downgrade else ""
        return (status.next.name if status.next else None), progress, status.progress_text(), downgrade

    def rewards_for(self, profile: MemberProfile, today: date) -> list[UsableReward]:
        """Catalogue rewards the member can afford today (tier, dates and per-member limit respected), and what their
        points pay for. The bill's own conditions (minimum bill) are checked at checkout."""
        programme = self.programme
        available = profile.available_points
        used = self.reward_use_counts(profile.id) if self.engine is not None else {}
        usable: list[UsableReward] = []
        for reward in programme.rewards:
            if reward.points_cost > available:
                continue
            if reward.valid_from and today < reward.valid_from or reward.valid_until and today > reward.valid_until:
                continue
            if reward.tiers and (profile.tier_code or "").strip().casefold() not in reward.tiers:
                continue
            if reward.per_member_limit is not None and used.get(reward.code.casefold(), 0) >= reward.per_member_limit:
                continue
            # The catalogue name already says what it is worth ("S$10 off any service"): the detail is the cost.
            usable.append(UsableReward(code=reward.code, name=reward.name, kind="reward",
                                       detail=format_points(reward.points_cost)))
        payment = programme.points_payment
        if payment is not None and available >= max(1, payment.min_points):
            worth = points_value(payment, available)
            if payment.max_amount_per_bill is not None and payment.max_amount_per_bill < worth:
                detail = f"up to {payment.max_amount_per_bill.display()} a bill"
            else:
                detail = f"up to {worth.display()}"
            usable.append(UsableReward(code="POINTS", name="Pay with points", kind="points", detail=detail))
        return usable

    # --- helpers shared with the checkout -----------------------------------------------------------------------
    def reward_use_counts(self, member_id: int) -> dict[str, int]:
        """How often this member redeemed each catalogue reward here, not counting sales since voided or fully
        refunded (their rewards came back). Keys are case-folded reward codes."""
        assert self.engine is not None
        with Session(self.engine) as session:
            return reward_use_counts(session, member_id)

    def activity(self, profile: MemberProfile, today: date) -> tuple[ActivityEntry, ...]:
        programme = self.programme
        window = programme.tiers.window_days
        zone = self.settings.zone
        currency = programme.currency
        entries: list[ActivityEntry] = []
        synced_spend = 0
        synced_points = 0
        if self.engine is not None:
            start = datetime.combine(today - timedelta(days=window - 1), time.min, zone).astimezone(timezone.utc)
            with Session(self.engine) as session:
                sales = session.scalars(select(Sale).where(
                    Sale.member_id == profile.id, Sale.occurred_at >= start)).all()
                reversed_ids = fully_reversed_sale_ids(session, [s.id for s in sales if s.kind == "sale"])
            for sale in sales:
                if sale.kind == "sale" and sale.id in reversed_ids:
                    continue
                spend_minor = sale.total_minor - sale.tax_minor - sale.service_charge_minor
                points = sale.server_points if sale.server_points is not None else sale.points_earned
                if sale.kind == "refund":
                    spend_minor, points = -spend_minor, -sale.points_redeemed  # see checkout: clawed-back points
                elif sale.kind == "void":
                    continue  # the voided sale itself is already left out
                on = sale.occurred_at.astimezone(zone).date()
                entries.append(ActivityEntry(on=on, spend=Money.from_minor(spend_minor, currency), points=points))
                if sale.status == "synced":
                    synced_spend += spend_minor
                    synced_points += points
        residual_spend = max(0, profile.window_spend_minor - synced_spend)
        residual_points = max(0, profile.window_points - synced_points)
        if residual_spend or residual_points:
            on = today
            if profile.tier_expires_on is not None:
                # Spend dated here leaves the window on tier_expires_on: the day the server says the tier lapses.
                on = max(today - timedelta(days=window - 1), min(today, profile.tier_expires_on - timedelta(days=window)))
            entries.append(ActivityEntry(on=on, spend=Money.from_minor(residual_spend, currency),
                                         points=residual_points if programme.tiers.basis is TierBasis.POINTS else 0))
        return tuple(entries)


def reward_value_text(reward: Reward) -> str:
    if reward.kind is RewardKind.AMOUNT and reward.amount is not None:
        return f"{_short(reward.amount)} off"
    if reward.kind is RewardKind.PERCENT and reward.percent is not None:
        cap = f" (up to {_short(reward.max_discount)})" if reward.max_discount else ""
        return f"{format_number(reward.percent)}% off{cap}"
    if reward.kind is RewardKind.FREE_SKU:
        return f"free {reward.sku}" + (f" (worth {_short(reward.value)})" if reward.value else "")
    return reward.name


def _short(amount: Money) -> str:
    text = amount.display()
    return text[:-3] if text.endswith(".00") else text


def fully_reversed_sale_ids(session: Session, sale_ids: list[int]) -> set[int]:
    """Sales among `sale_ids` that a void, or refunds adding up to their total, have reversed completely."""
    if not sale_ids:
        return set()
    rows = session.execute(
        select(Sale.original_sale_id, Sale.kind, func.sum(Sale.total_minor))
        .where(Sale.original_sale_id.in_(sale_ids), Sale.kind.in_(("void", "refund")))
        .group_by(Sale.original_sale_id, Sale.kind)
    ).all()
    if not rows:
        return set()
    totals = dict(session.execute(select(Sale.id, Sale.total_minor).where(Sale.id.in_(sale_ids))).all())
    done: set[int] = set()
    refunded: dict[int, int] = {}
    for original_id, kind, amount in rows:
        if original_id is None:
            continue
        if kind == "void":
            done.add(original_id)
        else:
            refunded[original_id] = refunded.get(original_id, 0) + int(amount or 0)
    done.update(sale_id for sale_id, amount in refunded.items() if amount >= totals.get(sale_id, 0))
    return done


def reward_use_counts(session: Session, member_id: int) -> dict[str, int]:
    rows = session.execute(
        select(SaleRedemption.code, Sale.id).join(Sale, SaleRedemption.sale_id == Sale.id)
        .where(Sale.member_id == member_id, Sale.kind == "sale", SaleRedemption.kind == "reward")
    ).all()
    reversed_ids = fully_reversed_sale_ids(session, sorted({sale_id for _code, sale_id in rows}))
    counts: dict[str, int] = {}
    for code, sale_id in rows:
        if sale_id not in reversed_ids:
            counts[code.casefold()] = counts.get(code.casefold(), 0) + 1
    return counts


def local_day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants a local calendar day starts and ends (daylight saving included)."""
    start = datetime.combine(day, time.min, zone).astimezone(timezone.utc)
    end = datetime.combine(day + timedelta(days=1), time.min, zone).astimezone(timezone.utc)
    return start, end


__all__ = [
    "ActiveProgramme",
    "ProgrammeService",
    "format_day",
    "fully_reversed_sale_ids",
    "load_active_programme",
    "local_day_bounds",
    "reward_use_counts",
]
