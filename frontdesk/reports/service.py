"""What the Day screen calls, in one place: read a day's state, export it, close and reopen it, settle its
blockers, adjust points, open a receipt. Call from the UI's serial DB worker (PIN checks cost ~40 ms of scrypt)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import Engine, select

from frontdesk.config import Settings
from frontdesk.reports import close as closing
from frontdesk.reports.day import DayScope, Home
from frontdesk.reports.export import write_csv
from frontdesk.sales.adjustments import AdjustmentResult, PointAdjustments
from frontdesk.staff.service import StaffService
from frontdesk.store.models import Member, Sale


@dataclass(frozen=True)
class Receipt:
    sale_id: int
    kind: str  # sale | void | refund
    receipt_no: str
    member_name: str
    text: str
    reversible: bool  # a sale (not a reversal) with a member: void/refund applies


class DayService:
    def __init__(self, engine: Engine, settings: Settings, staff: StaffService,
                 decisions: closing.SyncDecisions | None = None) -> None:
        """`decisions`: the sync engine's retry and discard (`sync_decisions()` in the UI); without them those two
        blocker actions are refused with a message."""
        self.engine = engine
        self.decisions = decisions
        self.settings = settings
        self.staff = staff
        self.home = Home(outlet=settings.outlet_code, counter=settings.counter_id, zone=settings.zone,
                         currency=settings.currency)
        self.adjustments = PointAdjustments(engine, settings, staff)

    def this_counter(self, day: date) -> DayScope:
        return DayScope(day=day, outlet=self.home.outlet, counter=self.home.counter)

    def scopes(self) -> list[tuple[str, str]]:
        """Every (outlet, counter) this database has sales of, this counter's first."""
        with self.engine.connect() as conn:
            pairs = [(r[0], r[1]) for r in conn.execute(
                select(Sale.outlet_code, Sale.counter_id).distinct().order_by(Sale.outlet_code, Sale.counter_id))]
        mine = (self.home.outlet, self.home.counter)
        return [mine] + [pair for pair in pairs if pair != mine]

    def state(self, scope: DayScope) -> closing.DayState:
        return closing.day_state(self.engine, scope, self.home)

    def export_csv(self, scope: DayScope, path: Path) -> tuple[Path, Path]:
        return write_csv(self.state(scope).report, path)

    def close(self, scope: DayScope, approved_by: int, override_reason: str | None = None) -> closing.CloseRecord:
        """Close, approved by a manager whose PIN the screen checked (ManagerApprovalDialog)."""
        return closing.close_day(self.engine, scope, self.home, self.staff, approved_by=approved_by,
                                 override_reason=override_reason)

    def reopen(self, scope: DayScope, approved_by: int, reason: str) -> None:
        closing.reopen_day(self.engine, scope, self.staff, approved_by=approved_by, reason=reason)

    def resolve(self, action: str, outbox_id: int, manager_id: int | None, reason: str = "") -> None:
        """One blocker action, approved by `manager_id` (the screen checked the PIN)."""
        person = self.staff.get(manager_id) if manager_id is not None else None
        if person is None or not person.is_manager:
            raise closing.DayActionRefused({"manager": "Only a manager can approve this"})
        if action in ("retry", "discard", "send_without_refused") and self.decisions is None:
            raise closing.DayActionRefused({"action": "Sync is not available here: retry or discard from the counter"})
        if action == "retry":
            assert self.decisions is not None
            closing.retry(self.decisions, self.engine, outbox_id, manager_id, note=reason)
        elif action == "discard":
            assert self.decisions is not None
            closing.discard_with_reason(self.decisions, self.engine, outbox_id, manager_id, reason)
        elif action == "explain":
            closing.explain_entry(self.engine, outbox_id, manager_id, reason)
        elif action == "send_without_refused":
            assert self.decisions is not None
            closing.send_without_refused(self.decisions, self.engine, outbox_id, manager_id, reason)
        else:
            raise closing.DayActionRefused({"action": f"Unknown action “{action}”"})

    def adjust_points(self, member_id: int, points: str, *, reason: str, note: str, manager_id: int | None,
                      pin: str, requested_by: int | None = None) -> AdjustmentResult:
        return self.adjustments.adjust(member_id, points, reason=reason, note=note, manager_id=manager_id, pin=pin,
                                       requested_by=requested_by)

    def receipt(self, sale_id: int) -> Receipt | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(Sale.id, Sale.kind, Sale.receipt_no, Sale.receipt_text, Sale.member_id)
                               .where(Sale.id == sale_id)).first()
            if row is None:
                return None
            name = ""
            if row.member_id is not None:
                member = conn.execute(select(Member.display_name, Member.first_name, Member.last_name)
                                      .where(Member.id == row.member_id)).first()
                if member is not None:
                    name = member.display_name or f"{member.first_name} {member.last_name}".strip()
        text = row.receipt_text or f"Receipt {row.receipt_no} (no receipt text was kept for this sale)"
        return Receipt(sale_id=row.id, kind=row.kind, receipt_no=row.receipt_no, member_name=name, text=text,
                       reversible=row.kind == "sale" and row.member_id is not None)
