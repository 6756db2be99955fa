"""Point adjustments: a manager adds or removes points for a member, with a reason (goodwill, correction).

One transaction writes the `point_adjustments` row, a pending ledger entry (kind 'adjust', so the member's available
points change at once, as for a sale), the outbox entry (kind 'adjust', endpoint `point/adjust`, in the member's
partition so it reaches the server in order with their sales) and the audit record. The sync worker confirms the
ledger entry when the server answers (`ledger_entry_ids` in the payload) and takes the server's new balance.

Removing more points than the member has available is refused: the server would refuse it too.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from frontdesk.config import Settings
from frontdesk.staff.service import StaffService
from frontdesk.store.members import load_profile
from frontdesk.store.models import AuditEntry, LedgerEntry, Member, OutboxEntry, PointAdjustment, Staff
from frontdesk.store.types import utc_now

ADJUSTMENT_REASONS = {"goodwill": "Goodwill", "correction": "Correction"}
MAX_POINTS = 1_000_000


@dataclass(frozen=True)
class AdjustmentResult:
    adjustment_id: int
    member_id: int
    points: int
    new_available: int


class AdjustmentRefused(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        first = next(iter(errors.items()), ("", "refused"))
        super().__init__(f"{first[0]}: {first[1]}")


def parse_points(text: str) -> int | None:
    """"+250", "-100", "250" -> signed points; None when it is not a whole number."""
    cleaned = (text or "").strip().replace(",", "").replace(" ", "").replace("\u2212", "-")
    if not cleaned or not (cleaned.lstrip("+-").isdigit()) or cleaned.count("+") + cleaned.count("-") > 1:
        return None
    return int(cleaned)


class PointAdjustments:
    """Call from the UI's serial DB worker (the PIN check costs ~40 ms of scrypt)."""

    def __init__(self, engine: Engine, settings: Settings, staff: StaffService,
                 clock: Callable[[], datetime] = utc_now) -> None:
        self.engine = engine
        self.settings = settings
        self.staff = staff
        self.clock = clock

    def adjust(self, member_id: int, points_text: str, *, reason: str, note: str, manager_id: int | None,
               pin: str, requested_by: int | None = None) -> AdjustmentResult:
        errors: dict[str, str] = {}
        points = parse_points(points_text)
        if points is None:
            errors["points"] = "Enter whole points, + to add or − to remove (e.g. +200 or -50)"
        elif points == 0:
            errors["points"] = "Enter a number of points other than zero"
        elif abs(points) > MAX_POINTS:
            errors["points"] = f"At most {MAX_POINTS:,} points at a time"
        if reason not in ADJUSTMENT_REASONS:
            errors["reason"] = "Pick goodwill or correction"
        note = " ".join((note or "").split())
        if len(note) < 3:
            errors["note"] = "Say why, in a few words (the member's statement and the audit log show it)"
        elif len(note) > 500:
            errors["note"] = "At most 500 characters"
        if manager_id is None:
            errors["manager"] = "Pick the manager approving this"
        if errors:
            raise AdjustmentRefused(errors)
        assert points is not None and manager_id is not None
        check = self.staff.check_pin(manager_id, pin, require_manager=True, purpose="point adjustment")
        if not check.ok:
            raise AdjustmentRefused({"pin": check.message})
        with Session(self.engine) as session, session.begin():
            member = session.get(Member, member_id)
            profile = load_profile(session, member_id, recent_limit=0)
            if member is None or profile is None:
                raise AdjustmentRefused({"member": "This member is no longer in the local cache"})
            if profile.status == "inactive":
                raise AdjustmentRefused({"member": f"{profile.name}'s membership is inactive"})
            if points < 0 and -points > profile.available_points:
                raise AdjustmentRefused({"points": (f"{profile.name} has only {profile.available_points:,} points "
                                                    "available to remove")})
            manager = session.get(Staff, manager_id)
            assert manager is not None
            now = self.clock()
            entry = LedgerEntry(member_id=member.id, sale_id=None, kind="adjust", points=points,
                                reason=f"{ADJUSTMENT_REASONS[reason]}: {note}", staff_id=manager.id,
                                outlet_code=self.settings.outlet_code, occurred_at=now, status="pending")
            session.add(entry)
            session.flush()
            # The effect in domain terms; sync builds the request (and the member's identifier) at send time.
            outbox = OutboxEntry(idempotency_key=uuid.uuid4().hex, kind="adjust", partition_key=f"member:{member.id}",
                                 member_id=member.id, response={},
                                 payload={"points_change": points, "note": f"{ADJUSTMENT_REASONS[reason]}: {note}",
                                          "ledger_entry_ids": [entry.id]})
            session.add(outbox)
            session.flush()
            row = PointAdjustment(member_id=member.id, points=points, reason=reason, note=note,
                                  approved_by=manager.id, requested_by=requested_by,
                                  outlet_code=self.settings.outlet_code, counter_id=self.settings.counter_id,
                                  occurred_at=now, ledger_entry_id=entry.id, outbox_id=outbox.id)
            session.add(row)
            session.flush()
            session.add(AuditEntry(staff_id=manager.id, action="points.adjust", details={
                "adjustment_id": row.id, "member_id": member.id, "points": points, "reason": reason, "note": note,
                "approved_by": manager.code, "requested_by": requested_by, "outbox_id": outbox.id}))
            return AdjustmentResult(adjustment_id=row.id, member_id=member.id, points=points,
                                    new_available=max(0, profile.available_points + points))
