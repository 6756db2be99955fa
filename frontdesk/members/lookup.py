"""Finding a member and preparing what the member panel shows."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from frontdesk.domain.members import MemberProfile
from frontdesk.domain.money import Money
from frontdesk.search import SearchResult, SearchService
from frontdesk.search.service import CodeResolver
from frontdesk.store.members import load_profile
from frontdesk.store.models import MemberVoucher, Tier


@dataclass(frozen=True)
class TierInfo:
    code: str
    name: str
    colour: str


@dataclass(frozen=True)
class UsableReward:
    code: str
    name: str
    detail: str  # "S$10 off · 1,000 pts" / "voucher · expires 3 Dec"
    kind: str  # reward | voucher


@dataclass(frozen=True)
class MemberView:
    """The member panel's content, computed off the GUI thread."""

    profile: MemberProfile
    tier: TierInfo | None
    points_value: Money | None  # what the available points are worth where the programme converts them
    next_tier_name: str | None
    next_tier_progress: float | None  # 0..1
    next_tier_text: str
    downgrade_warning: str
    birthday_this_month: bool
    rewards: list[UsableReward]
    perks: tuple[str, ...] = ()  # the member's tier perks, as the programme words them
    birthday_perk: str = ""  # the tier's birthday perk, when it is the member's birthday month


class ProgrammeView:
    """What the panel needs from the loyalty programme. The checkout's programme engine provides a richer one."""

    def points_value(self, points: int) -> Money | None:
        return None

    def tier_progress(self, profile: MemberProfile, today: date) -> tuple[str | None, float | None, str, str]:
        return None, None, "", ""

    def rewards_for(self, profile: MemberProfile, today: date) -> list[UsableReward]:
        return []

    def tier_perks(self, tier_code: str | None) -> tuple[str, ...]:
        return ()


def scan_code_resolver(card_key: str, region: str = "SG") -> CodeResolver:
    """Read scanned text the way the camera scanner does, for codes typed by a USB scanner into the search box.

    Only codes that carry their own meaning are resolved here (our signed cards, Eber member codes, vouchers);
    phones and member IDs go through the ordinary search, which also finds partial matches.
    """
    from frontdesk.scan.codes import ScanCodeRules, interpret

    rules = ScanCodeRules(card_key=card_key or None, phone_region=region)

    def resolve(text: str) -> tuple[str, str] | None:
        # Phones go to the search, which normalises them itself: not parsed here (libphonenumber's parse costs
        # more than the exact lookup that follows).
        code = interpret(text, rules, check_phones=False)
        if code.kind == "member_card":
            return "member_no", code.value
        if code.kind == "forged":
            return "refused", code.message
        if code.kind == "eber_member":
            return "code", code.value
        if code.kind == "voucher":
            return "voucher", f"{code.message}: open the member, then apply it in the sale"
        if code.kind == "unknown" and code.text[:4].upper() == "FDM1":
            return "refused", code.message  # a card this PC cannot check (no card key): say so, never guess
        return None

    return resolve


class LookupService:
    """Search and profile loading. Call from one worker thread at a time (the UI's serial DB worker)."""

    def __init__(self, engine: Engine, region: str = "SG", code_resolver: CodeResolver | None = None,
                 programme: ProgrammeView | None = None, outlet_code: str = "") -> None:
        self.engine = engine
        self.search_service = SearchService(engine, region=region, code_resolver=code_resolver,
                                            outlet_code=outlet_code)
        self.programme = programme or ProgrammeView()

    def search(self, query: str, limit: int = 20) -> SearchResult:
        return self.search_service.search(query, limit)

    def member_view(self, member_id: int, today: date | None = None) -> MemberView | None:
        today = today or datetime.now().date()
        with Session(self.engine) as session:
            profile = load_profile(session, member_id)
            if profile is None:
                return None
            tier_row = session.get(Tier, profile.tier_code) if profile.tier_code else None
            vouchers = session.scalars(select(MemberVoucher).where(
                MemberVoucher.member_id == member_id, MemberVoucher.status == "available")).all()
            voucher_views = [
                UsableReward(code=v.code, name=v.name, kind="voucher",
                             detail="voucher" + (f" · expires {v.expires_at:%d %b}" if v.expires_at else ""))
                for v in vouchers
            ]
        tier = TierInfo(tier_row.code, tier_row.name, tier_row.colour) if tier_row else (
            TierInfo(profile.tier_code, profile.tier_code.title(), "#7a8794") if profile.tier_code else None)
        next_name, progress, progress_text, downgrade = self.programme.tier_progress(profile, today)
        perks = self.programme.tier_perks(profile.tier_code)
        birthday = profile.birthday_this_month(today)
        birthday_perk = next((perk for perk in perks if "birthday" in perk.casefold()), "") if birthday else ""
        return MemberView(
            profile=profile,
            tier=tier,
            points_value=self.programme.points_value(profile.available_points),
            next_tier_name=next_name,
            next_tier_progress=progress,
            next_tier_text=progress_text,
            downgrade_warning=downgrade,
            birthday_this_month=birthday,
            rewards=voucher_views + self.programme.rewards_for(profile, today),
            perks=perks,
            birthday_perk=birthday_perk,
        )

    def close(self) -> None:
        self.search_service.close()
