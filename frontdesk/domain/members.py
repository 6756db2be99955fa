"""What a member is at the counter, independent of how it is stored or fetched."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from frontdesk.domain import phone as phones
from frontdesk.domain.text import fold

# Deliberately permissive: one @, something before it, a dot in the domain, no spaces. The server has the last word.
EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]{2,}$")


def normalise_email(raw: str | None) -> str | None:
    if not raw:
        return None
    email = raw.strip().lower()
    return email if EMAIL_SHAPE.match(email) else None


def search_name(first_name: str, last_name: str, display_name: str = "") -> str:
    """The folded text the name index is built from; display names add nicknames ("Ah Mei")."""
    parts = [first_name, last_name]
    extra = fold(display_name)
    base = fold(" ".join(parts))
    if extra and extra != base and extra not in base:
        return f"{base} {extra}"
    return base


@dataclass(frozen=True)
class MemberSummary:
    """One search hit: enough to pick the right person from a list."""

    id: int
    name: str
    phone_e164: str | None
    email: str | None
    member_no: str | None
    tier_code: str | None
    points: int
    match: str = ""  # which identifier or rule matched: phone, phone_suffix, email, member_no, code, name

    @property
    def phone_display(self) -> str:
        return phones.display(self.phone_e164)


@dataclass(frozen=True)
class RecentTransaction:
    occurred_at: datetime
    receipt_no: str
    kind: str
    total_minor: int
    currency: str
    points_earned: int
    points_redeemed: int
    status: str
    outlet_code: str = ""
    reversed_as: str = ""  # "void" or "refund" when a later reversal undid this sale
    server_points: int | None = None  # what the server credited, once it answered


@dataclass(frozen=True)
class OutletVisits:
    """A member's visits at one outlet, from this counter's sales and the server's history (member_visits)."""

    outlet_code: str
    visits: int
    last_visit_at: datetime | None


@dataclass(frozen=True)
class MemberProfile:
    """Everything the member panel shows."""

    id: int
    server_id: int | None
    member_no: str | None
    name: str
    first_name: str
    last_name: str
    phone_e164: str | None
    email: str | None
    tier_code: str | None
    points_balance: int
    lifetime_points: int
    points_expiring: int
    points_expiring_on: date | None
    stored_value_minor: int
    window_spend_minor: int
    window_points: int
    tier_expires_on: date | None
    birthday: date | None
    notes: str
    status: str
    visits_count: int
    last_visit_at: datetime | None
    unsynced_points: int = 0  # this counter's effects not yet confirmed by the server (signed)
    recent: list[RecentTransaction] = field(default_factory=list)
    visits_by_outlet: tuple[OutletVisits, ...] = ()

    def birthday_this_month(self, today: date) -> bool:
        return self.birthday is not None and self.birthday.month == today.month

    @property
    def available_points(self) -> int:
        """Balance the counter may spend: server balance plus this counter's unsynced effects."""
        return max(0, self.points_balance + self.unsynced_points)
