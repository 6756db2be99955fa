"""Reading and writing members in the local cache."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frontdesk.domain import phone as phones
from frontdesk.domain.members import (
    MemberProfile,
    RecentTransaction,
    normalise_email,
    search_name,
)
from frontdesk.store.models import LedgerEntry, Member, MemberCode, Sale
from frontdesk.store.types import utc_now


@dataclass
class MemberFields:
    """Input for creating or updating a cached member; derived search columns are computed here, once."""

    first_name: str = ""
    last_name: str = ""
    display_name: str = ""
    phone_raw: str | None = None
    email: str | None = None
    member_no: str | None = None
    server_id: int | None = None
    tier_code: str | None = None
    points_balance: int = 0
    lifetime_points: int = 0
    points_expiring: int = 0
    points_expiring_on: date | None = None
    birthday: date | None = None
    notes: str = ""
    marketing_consent: bool = False
    status: str = "active"
    window_spend_minor: int = 0
    window_points: int = 0
    tier_expires_on: date | None = None
    visits_count: int = 0
    last_visit_at: datetime | None = None
    server_updated_at: datetime | None = None


def column_values(fields: MemberFields, region: str) -> dict[str, Any]:
    parsed = phones.normalise(fields.phone_raw or "", region) if fields.phone_raw else None
    e164 = parsed.e164 if parsed else None
    display = fields.display_name or f"{fields.first_name} {fields.last_name}".strip()
    return {
        "server_id": fields.server_id,
        "member_no": fields.member_no or None,
        "first_name": fields.first_name,
        "last_name": fields.last_name,
        "display_name": display,
        "search_name": search_name(fields.first_name, fields.last_name, fields.display_name),
        "phone_e164": e164,
        "phone_raw": fields.phone_raw,
        "phone_rev": phones.reversed_digits(e164),
        "email": normalise_email(fields.email),
        "tier_code": fields.tier_code,
        "points_balance": fields.points_balance,
        "lifetime_points": fields.lifetime_points,
        "points_expiring": fields.points_expiring,
        "points_expiring_on": fields.points_expiring_on,
        "birthday": fields.birthday,
        "notes": fields.notes,
        "marketing_consent": fields.marketing_consent,
        "status": fields.status,
        "window_spend_minor": fields.window_spend_minor,
        "window_points": fields.window_points,
        "tier_expires_on": fields.tier_expires_on,
        "visits_count": fields.visits_count,
        "last_visit_at": fields.last_visit_at,
        "server_updated_at": fields.server_updated_at,
        "updated_at": utc_now(),
    }


def add_member(session: Session, fields: MemberFields, region: str,
               codes: Sequence[tuple[str, str]] = ()) -> Member:
    member = Member(**column_values(fields, region))
    for code, kind in codes:
        member.codes.append(MemberCode(code=code, kind=kind))
    session.add(member)
    session.flush()
    return member


def update_member(session: Session, member: Member, fields: MemberFields, region: str) -> Member:
    for key, value in column_values(fields, region).items():
        setattr(member, key, value)
    session.flush()
    return member


def unsynced_points(session: Session, member_id: int) -> int:
    """Points effects recorded here that the server has not confirmed yet (earns positive, burns negative)."""
    value = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
            LedgerEntry.member_id == member_id, LedgerEntry.status == "pending"
        )
    )
    return int(value or 0)


def load_profile(session: Session, member_id: int, recent_limit: int = 8) -> MemberProfile | None:
    member = session.get(Member, member_id)
    if member is None:
        return None
    sales = session.scalars(
        select(Sale).where(Sale.member_id == member_id).order_by(Sale.occurred_at.desc()).limit(recent_limit)
    ).all()
    recent = [
        RecentTransaction(
            occurred_at=s.occurred_at, receipt_no=s.receipt_no, kind=s.kind, total_minor=s.total_minor,
            currency=s.currency, points_earned=s.points_earned, points_redeemed=s.points_redeemed, status=s.status,
        )
        for s in sales
    ]
    return MemberProfile(
        id=member.id, server_id=member.server_id, member_no=member.member_no,
        name=member.display_name or f"{member.first_name} {member.last_name}".strip(),
        first_name=member.first_name, last_name=member.last_name, phone_e164=member.phone_e164,
        email=member.email, tier_code=member.tier_code, points_balance=member.points_balance,
        lifetime_points=member.lifetime_points, points_expiring=member.points_expiring,
        points_expiring_on=member.points_expiring_on, stored_value_minor=member.stored_value_minor,
        window_spend_minor=member.window_spend_minor, window_points=member.window_points,
        tier_expires_on=member.tier_expires_on, birthday=member.birthday, notes=member.notes,
        status=member.status, visits_count=member.visits_count, last_visit_at=member.last_visit_at,
        unsynced_points=unsynced_points(session, member_id), recent=recent,
    )
