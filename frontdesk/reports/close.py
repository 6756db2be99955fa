"""Closing a day (the Z report), reopening it, and what changed after it was closed.

A day closes only when every effect of it has settled with the loyalty server: nothing pending, nothing in doubt,
nothing parked, and nothing rejected without a manager's reason. `blockers(report)` lists what is open, each with the
actions that resolve it:
- pending: "sync_now" (send it now rather than at the next round);
- in doubt: "sync_now" (the same idempotency key is sent again and the server's answer settles it);
- rejected (parked): "retry" (after fixing the cause), "send_without_refused" (a sale whose reward, voucher or
  points payment the server refused goes again without them), "discard" (never send it; a reason is required);
- discarded without a reason: "explain".
- the WESS-receipt reconciliation (`frontdesk.invoices.reconcile`) of the outlet's day: missed points and totals
  that differ are blockers ("open_invoice_review"; "open_receipt" for a recorded sale), the rest are warnings that
  are shown and never block (`DayState.reconciliation`).
A manager may close over blockers with a reason ("override"), which is audited with the blockers it overrode.

The close keeps a snapshot: the totals (`DayTotals.to_dict`) and a fingerprint of every row. The snapshot is never
rewritten. Later changes to the day (a late sync answer, a refund, a new entry) show as `after_close` adjustments:
each figure that moved and each row that changed, compared with the snapshot. Reopening needs a manager's PIN and a
reason and is audited; the reopened close stays in the history.

All writes take the write lock first (BEGIN IMMEDIATE) and re-read the day inside the same transaction.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Engine, Table, insert, select, update
from sqlalchemy.engine import Connection

from frontdesk.invoices.reconcile import Reconciliation, reconcile_day
from frontdesk.reports.day import KIND_WORDS, SYNC_WORDS, DayReport, DayRow, DayScope, Home, load_day
from frontdesk.staff.service import StaffService
from frontdesk.store.models import AuditEntry, DayClose, LedgerEntry, MemberVoucher, OutboxEntry, Sale, SaleRedemption
from frontdesk.store.types import utc_now

log = logging.getLogger(__name__)

CLOSES = cast(Table, DayClose.__table__)
AUDIT = cast(Table, AuditEntry.__table__)
OUTBOX = cast(Table, OutboxEntry.__table__)
SALES = cast(Table, Sale.__table__)
LEDGER = cast(Table, LedgerEntry.__table__)
REDEMPTIONS = cast(Table, SaleRedemption.__table__)
VOUCHERS = cast(Table, MemberVoucher.__table__)
MIN_REASON = 3

ACTION_WORDS = {
    "sync_now": "Sync now",
    "retry": "Retry",
    "send_without_refused": "Send without the refused part",
    "discard": "Discard with a reason",
    "explain": "Explain",
    "open_invoice_review": "Open invoice review",
    "open_receipt": "Open the receipt",
}


@dataclass(frozen=True)
class Blocker:
    kind: str  # pending | in_doubt | rejected | unexplained | reconciliation kinds (missed_points, totals_differ ...)
    row_key: str
    outbox_id: int | None
    sale_id: int | None
    text: str
    actions: tuple[str, ...]

    invoice_id: int | None = None  # the WESS receipt mail, for a reconciliation blocker

    def to_dict(self) -> dict[str, Any]:
        found = {"kind": self.kind, "row": self.row_key, "outbox_id": self.outbox_id, "text": self.text,
                 "actions": [ACTION_WORDS[a] for a in self.actions]}
        if self.invoice_id is not None:
            found["invoice_id"] = self.invoice_id
        return found


@dataclass(frozen=True)
class CloseRecord:
    id: int
    closed_at: datetime
    closed_by: int | None
    override_reason: str | None
    blockers: list[dict[str, Any]]
    snapshot: dict[str, Any]


@dataclass(frozen=True)
class Adjustment:
    """A change to a closed day, found by comparing it with its snapshot."""

    what: str  # a figure's path ("net", "points.issued") or a row key ("sale:12")
    closed: Any
    now: Any
    text: str


@dataclass
class DayState:
    report: DayReport
    blockers: list[Blocker]
    close: CloseRecord | None  # the close in force, if the day is closed
    history: list[dict[str, Any]] = field(default_factory=list)  # every close and reopening of the scope
    reconciliation: Reconciliation | None = None  # WESS receipts vs loyalty sales; its blockers are in `blockers`

    @property
    def warnings(self) -> list[str]:
        """What the reconciliation found that does not block the close."""
        return [item.message for item in self.reconciliation.warnings] if self.reconciliation is not None else []

    @property
    def closed(self) -> bool:
        return self.close is not None

    def after_close(self) -> list[Adjustment]:
        return after_close(self.close, self.report) if self.close is not None else []


class DayActionRefused(Exception):
    """A close, reopen or sync decision could not be made; `errors` by field ("pin", "reason", "day", "entry")."""

    def __init__(self, errors: dict[str, str], blockers: list[Blocker] | None = None) -> None:
        self.errors = errors
        self.blockers = blockers or []
        first = next(iter(errors.items()), ("", "refused"))
        super().__init__(f"{first[0]}: {first[1]}")


# --- blockers ----------------------------------------------------------------------------------------------------
def _row_label(row: DayRow) -> str:
    if row.kind in ("sale", "void", "refund"):
        return f"{KIND_WORDS[row.kind]} {row.receipt_no}"
    return f"{KIND_WORDS[row.kind]} for {row.member_name or 'a member'}"


def blockers(report: DayReport) -> list[Blocker]:
    found: list[Blocker] = []
    for row in report.rows:
        if row.sync not in ("pending", "in_doubt", "rejected", "discarded") or (
                row.sync == "discarded" and row.explained):
            continue
        label = _row_label(row)
        local_time = row.occurred_at.astimezone(report.home.zone).strftime("%H:%M")
        if row.sync == "pending":
            found.append(Blocker("pending", row.key, row.outbox_id, row.sale_id,
                                 f"{label} ({local_time}) has not reached the loyalty server yet", ("sync_now",)))
        elif row.sync == "in_doubt":
            found.append(Blocker("in_doubt", row.key, row.outbox_id, row.sale_id,
                                 f"{label} ({local_time}): the server's answer was lost, so it is not known whether "
                                 "it arrived", ("sync_now",)))
        elif row.sync == "rejected":
            actions: tuple[str, ...] = ("retry", "discard") if row.outbox_id is not None else ("explain",)
            if row.kind == "sale" and row.outbox_id is not None and "Points" in row.tender:
                # Sync already posts a sale without a refused reward or voucher; a refused points payment is the
                # part a manager decides on (sync.outbox.send_without_refused_part says so when it is not).
                actions = ("retry", "send_without_refused", "discard")
            reason = f": {row.detail}" if row.detail else ""
            found.append(Blocker("rejected", row.key, row.outbox_id, row.sale_id,
                                 f"{label} ({local_time}) was rejected by the loyalty server{reason}", actions))
        elif row.sync == "discarded" and not row.explained:
            found.append(Blocker("unexplained", row.key, row.outbox_id, row.sale_id,
                                 f"{label} ({local_time}) was discarded without a reason", ("explain",)))
    return found


def reconciliation_of(conn: Connection, scope: DayScope, home: Home) -> Reconciliation | None:
    """The outlet's WESS-receipt reconciliation for the day (receipts carry no counter); none for one person's
    shift, which is not closed."""
    if scope.staff_id is not None:
        return None
    return reconcile_day(conn, scope.day, scope.outlet or home.outlet, home.zone)


def reconciliation_blockers(reconciliation: Reconciliation | None, found: list[Blocker]) -> list[Blocker]:
    """The reconciliation's blockers with what resolves each; a sale the server rejected that the day already
    lists (with retry and discard) is not listed twice."""
    if reconciliation is None:
        return []
    listed_sales = {b.sale_id for b in found if b.sale_id is not None}
    extra: list[Blocker] = []
    for item in reconciliation.blockers:
        if item.kind == "rejected_by_server" and item.sale_id in listed_sales:
            continue
        actions: tuple[str, ...] = ("open_invoice_review",)
        if item.sale_id is not None:
            actions = ("open_receipt", "open_invoice_review")
        key = f"invoice:{item.invoice_id}" if item.invoice_id is not None else f"receipt:{item.receipt_no}"
        extra.append(Blocker(item.kind, key, None, item.sale_id, item.message, actions, item.invoice_id))
    return extra


def _open_items(conn: Connection, scope: DayScope, home: Home, report: DayReport
                ) -> tuple[list[Blocker], Reconciliation | None]:
    found = blockers(report)
    reconciliation = reconciliation_of(conn, scope, home)
    return found + reconciliation_blockers(reconciliation, found), reconciliation


# --- reading the state ---------------------------------------------------------------------------------------------
def _scope_where(scope: DayScope) -> Any:
    return ((CLOSES.c.business_date == scope.day) & (CLOSES.c.outlet_code == scope.outlet)
            & (CLOSES.c.counter_id == scope.counter))


def _current_close(conn: Connection, scope: DayScope) -> CloseRecord | None:
    row = conn.execute(select(CLOSES).where(_scope_where(scope), CLOSES.c.status == "closed")).first()
    if row is None:
        return None
    return CloseRecord(id=row.id, closed_at=row.closed_at, closed_by=row.closed_by,
                       override_reason=row.override_reason, blockers=list(row.blockers or []),
                       snapshot=dict(row.snapshot or {}))


def _history(conn: Connection, scope: DayScope) -> list[dict[str, Any]]:
    return [{"id": r.id, "status": r.status, "closed_at": r.closed_at, "closed_by": r.closed_by,
             "override_reason": r.override_reason, "reopened_at": r.reopened_at, "reopened_by": r.reopened_by,
             "reopen_reason": r.reopen_reason}
            for r in conn.execute(select(CLOSES).where(_scope_where(scope)).order_by(CLOSES.c.id))]


def day_state(engine: Engine, scope: DayScope, home: Home) -> DayState:
    with engine.connect() as conn:
        report = load_day(conn, scope, home)
        open_items, reconciliation = _open_items(conn, scope, home, report)
        return DayState(report=report, blockers=open_items, close=_current_close(conn, scope),
                        history=_history(conn, scope), reconciliation=reconciliation)


# --- the snapshot and what changed after it --------------------------------------------------------------------
def snapshot_of(report: DayReport) -> dict[str, Any]:
    return {"totals": report.totals.to_dict(), "rows": {row.key: row.fingerprint() for row in report.rows},
            "labels": {row.key: _row_label(row) for row in report.rows}}


def _leaves(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            out.update(_leaves(inner, f"{path}.{key}" if path else str(key)))
        return out
    return {path: value}


FINGERPRINT = ("sync", "status", "total", "points earned", "points redeemed", "server points")


def after_close(close: CloseRecord | None, report: DayReport) -> list[Adjustment]:
    if close is None:
        return []
    found: list[Adjustment] = []
    before = _leaves({k: v for k, v in (close.snapshot.get("totals") or {}).items() if k != "scope"})
    now = _leaves({k: v for k, v in report.totals.to_dict().items() if k != "scope"})
    for path in sorted(set(before) | set(now)):
        if path.startswith("sync.oldest_unsynced") or path.startswith("points.differences"):
            continue
        if before.get(path) != now.get(path):
            found.append(Adjustment(path, before.get(path), now.get(path),
                                    f"{path}: {before.get(path, '—')} at close, {now.get(path, '—')} now"))
    rows_before: dict[str, list[Any]] = close.snapshot.get("rows") or {}
    labels: dict[str, str] = close.snapshot.get("labels") or {}
    for row in report.rows:
        earlier = rows_before.get(row.key)
        current = row.fingerprint()
        if earlier is None:
            found.append(Adjustment(row.key, None, current, f"{_row_label(row)}: recorded after the close"))
        elif list(earlier) != current:
            changes = [f"{name} {old} → {new}" for name, old, new in zip(FINGERPRINT, earlier, current) if old != new]
            found.append(Adjustment(row.key, earlier, current, f"{_row_label(row)}: " + ", ".join(changes)))
    seen = {row.key for row in report.rows}
    for key, earlier in rows_before.items():
        if key not in seen:
            found.append(Adjustment(key, earlier, None, f"{labels.get(key, key)}: no longer in the day"))
    return found


# --- manager actions ---------------------------------------------------------------------------------------------
def _check_manager(staff: StaffService, manager_id: int | None, pin: str | None, purpose: str,
                   approved_by: int | None = None) -> int:
    """The approving manager's id: `approved_by` when the screen already checked the PIN (ManagerApprovalDialog,
    with the lockout), else `manager_id` with `pin` checked here."""
    if approved_by is not None:
        person = staff.get(approved_by)
        if person is None or not person.is_manager:
            raise DayActionRefused({"manager": "Only a manager can approve this"})
        return person.id
    if manager_id is None or pin is None:
        raise DayActionRefused({"manager": "Pick the manager approving this"})
    check = staff.check_pin(manager_id, pin, require_manager=True, purpose=purpose)
    if not check.ok or check.staff is None:
        raise DayActionRefused({"pin": check.message})
    return check.staff.id


def _reason(reason: str | None, what: str) -> str:
    cleaned = " ".join((reason or "").split())
    if len(cleaned) < MIN_REASON:
        raise DayActionRefused({"reason": f"Say why {what}, in a few words (it goes in the audit log)"})
    return cleaned[:1000]


def close_day(engine: Engine, scope: DayScope, home: Home, staff: StaffService, *, manager_id: int | None = None,
              pin: str | None = None, override_reason: str | None = None,
              approved_by: int | None = None) -> CloseRecord:
    """Close the day with its snapshot. Refuses (`DayActionRefused` with `.blockers`) while anything is open,
    unless `override_reason` is given; the override and what it overrode are audited."""
    override = " ".join((override_reason or "").split()) or None
    if override is not None:
        override = _reason(override, "the day closes with open items")
    manager = _check_manager(staff, manager_id, pin, "day close", approved_by)
    with engine.begin() as conn:
        if _current_close(conn, scope) is not None:
            raise DayActionRefused({"day": f"{scope.label()} is already closed"})
        report = load_day(conn, scope, home)
        open_items, _reconciliation = _open_items(conn, scope, home, report)
        if open_items and override is None:
            raise DayActionRefused({"day": f"{len(open_items)} item(s) must be resolved before the day can close"},
                                   open_items)
        now = utc_now()
        snapshot = snapshot_of(report)
        listed = [b.to_dict() for b in open_items]
        key = conn.execute(insert(CLOSES).values(
            business_date=scope.day, outlet_code=scope.outlet, counter_id=scope.counter, status="closed",
            closed_at=now, closed_by=manager, override_reason=override if open_items else None, blockers=listed,
            snapshot=snapshot)).inserted_primary_key
        assert key is not None
        close_id = int(key[0])
        conn.execute(insert(AUDIT).values(
            occurred_at=now, staff_id=manager, action="day.close_override" if open_items else "day.close",
            details={"close_id": close_id, "date": scope.day.isoformat(), "outlet": scope.outlet,
                     "counter": scope.counter, "override_reason": override if open_items else None,
                     "blockers": listed, "net": report.totals.to_dict()["net"],
                     "points_net": report.totals.points_net}))
        return CloseRecord(id=close_id, closed_at=now, closed_by=manager,
                           override_reason=override if open_items else None, blockers=listed, snapshot=snapshot)


def reopen_day(engine: Engine, scope: DayScope, staff: StaffService, *, manager_id: int | None = None,
               pin: str | None = None, reason: str, approved_by: int | None = None) -> None:
    why = _reason(reason, "the day is reopened")
    manager = _check_manager(staff, manager_id, pin, "day reopen", approved_by)
    with engine.begin() as conn:
        current = _current_close(conn, scope)
        if current is None:
            raise DayActionRefused({"day": f"{scope.label()} is not closed"})
        now = utc_now()
        conn.execute(update(CLOSES).where(CLOSES.c.id == current.id).values(
            status="reopened", reopened_at=now, reopened_by=manager, reopen_reason=why))
        conn.execute(insert(AUDIT).values(occurred_at=now, staff_id=manager, action="day.reopen", details={
            "close_id": current.id, "date": scope.day.isoformat(), "outlet": scope.outlet, "counter": scope.counter,
            "reason": why}))


def explain_entry(engine: Engine, outbox_id: int, staff_id: int | None, reason: str) -> None:
    """A manager's reason for an entry that was discarded without one (or a rejected sale with no entry)."""
    why = _reason(reason, "this was discarded")
    with engine.begin() as conn:
        row = conn.execute(select(OUTBOX.c.id, OUTBOX.c.status, OUTBOX.c.sale_id).where(OUTBOX.c.id == outbox_id)).first()
        if row is None:
            raise DayActionRefused({"entry": f"There is no sync entry {outbox_id}"})
        if row.status != "discarded":
            raise DayActionRefused({"entry": f"Only discarded entries are explained (this one is {row.status})"})
        conn.execute(insert(AUDIT).values(occurred_at=utc_now(), staff_id=staff_id, action="day.explain",
                                          details={"outbox_id": outbox_id, "sale_id": row.sale_id, "reason": why}))


@dataclass(frozen=True)
class SyncDecisions:
    """The sync engine's own manager actions (`sync.outbox.retry_entry`, `discard_entry`,
    `send_without_refused_part`), handed in by the screen
    or the command line: this package sits below sync and never imports it. Each raises ValueError when the entry
    is not in a state that allows it."""

    retry: Callable[..., None]
    discard: Callable[..., None]
    send_without_refused: Callable[..., None]


def discard_with_reason(decisions: SyncDecisions, engine: Engine, outbox_id: int, staff_id: int | None,
                        reason: str) -> None:
    why = _reason(reason, "it is discarded")
    try:
        decisions.discard(engine, outbox_id, staff_id, note=why)
    except ValueError as error:
        raise DayActionRefused({"entry": str(error)}) from None
    _set_listed_ledger(engine, outbox_id, "pending", "rejected")


def _set_listed_ledger(engine: Engine, outbox_id: int, old: str, new: str) -> None:
    """Ledger rows an entry names in its payload (point adjustments) follow its fate: a discarded adjustment gives
    no points, a retried one is pending again. (Rows tied to a sale already follow the sale.)"""
    with engine.begin() as conn:
        payload = conn.execute(select(OUTBOX.c.payload).where(OUTBOX.c.id == outbox_id)).scalar()
        ids = [i for i in (payload or {}).get("ledger_entry_ids") or [] if isinstance(i, int)]
        if ids:
            conn.execute(update(LEDGER).where(LEDGER.c.id.in_(ids), LEDGER.c.status == old).values(status=new))


def retry(decisions: SyncDecisions, engine: Engine, outbox_id: int, staff_id: int | None, note: str = "") -> None:
    try:
        decisions.retry(engine, outbox_id, staff_id, note=note)
    except ValueError as error:
        raise DayActionRefused({"entry": str(error)}) from None
    _set_listed_ledger(engine, outbox_id, "rejected", "pending")


def send_without_refused(decisions: SyncDecisions, engine: Engine, outbox_id: int, staff_id: int | None,
                         reason: str) -> None:
    """Send a rejected sale again without the part the server refused (its points payment); the manager settles
    that with the customer. Sync owns what that means for the sale and its redemptions."""
    why = _reason(reason, "it is sent without the refused part")
    try:
        decisions.send_without_refused(engine, outbox_id, staff_id, note=why)
    except ValueError as error:
        raise DayActionRefused({"entry": str(error)}) from None

def describe_state(state: DayState) -> str:
    """One line for the screen and the command line."""
    if state.close is not None:
        when = state.close.closed_at.astimezone(state.report.home.zone).strftime("%d %b %Y %H:%M")
        extra = f" (override: {state.close.override_reason})" if state.close.override_reason else ""
        changes = len(state.after_close())
        tail = f" · {changes} change(s) since" if changes else ""
        return f"Closed {when}{extra}{tail}"
    warned = f" · {len(state.warnings)} warning(s)" if state.warnings else ""
    if state.blockers:
        return f"Open · {len(state.blockers)} item(s) to resolve before closing{warned}"
    return f"Open · ready to close{warned}"


__all__ = ["ACTION_WORDS", "SYNC_WORDS", "Adjustment", "Blocker", "CloseRecord", "DayActionRefused", "DayState",
           "after_close", "blockers", "close_day", "day_state", "describe_state", "discard_with_reason",
           "explain_entry", "reconciliation_blockers", "reconciliation_of", "reopen_day", "retry",
           "send_without_refused", "snapshot_of", "SyncDecisions"]
