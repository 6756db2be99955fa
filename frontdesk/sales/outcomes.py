"""What a delivery outcome means for the counter's records: the one place that applies it.

The sync engine (`sync.outbox`) delivers queued effects and reports, for each, a `Delivery` in the counter's own
terms: applied (with the server's transaction id, points and balance when it said them), in doubt, refused, or
"applied but one part refused". This module turns that into the sale's status, the ledger rows' status, the
vouchers, the redemptions and the member cache, inside the caller's write transaction. The transport never
writes these tables itself, so the rules below are read in one place:

- applied: sale `synced` (server id and points when known; an unknown id stays NULL = "applied, id unknown"),
  its pending ledger rows `confirmed`, the member's balance set to the server's when the answer carried one,
  redemptions `applied`, vouchers of a void back to `available`, an enrolled member `active` with its server id;
- a refused part (a reward or voucher the server would not take after the sale posted): that redemption
  `refused` with the server's words, its ledger row `rejected` (those points were never deducted on the server),
  an audit entry for the manager, who settles the discount already given with the customer; the sale stays
  `synced`;
- in doubt: sale `in_doubt` (never `rejected`: the server may hold it);
- refused: sale `rejected` with the server's words, its pending ledger rows `rejected`; a refused enrolment marks
  the member `conflict` (it takes no sales until a manager resolves it, see `resolve_identity`);
- a server member id is linked only to the member it was learnt for, never moved from another member.

Qt-free and HTTP-free; imports only `frontdesk.store` and `frontdesk.domain`.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.engine import Connection

from frontdesk.domain import phone as phones
from frontdesk.store.models import (
    AuditEntry,
    LedgerEntry,
    Member,
    MemberVoucher,
    OutboxEntry,
    Sale,
    SaleRedemption,
)

log = logging.getLogger(__name__)

SALES = cast(Table, Sale.__table__)
LEDGER = cast(Table, LedgerEntry.__table__)
MEMBERS = cast(Table, Member.__table__)
VOUCHERS = cast(Table, MemberVoucher.__table__)
REDEMPTIONS = cast(Table, SaleRedemption.__table__)
AUDIT = cast(Table, AuditEntry.__table__)
OUTBOX = cast(Table, OutboxEntry.__table__)

APPLIED = "applied"
IN_DOUBT = "in_doubt"
REFUSED = "refused"
PENDING = "pending"


@dataclass
class Delivery:
    """One queued effect's fate, as the sync engine reports it (plain data; no wire format in here)."""

    kind: str  # sale | void | refund | adjust | enrol | redeem
    result: str  # applied | in_doubt | refused | pending (back in the queue, nothing known changed)
    sale_id: int | None = None
    member_id: int | None = None
    server_transaction_id: str | None = None
    server_points: int | None = None
    balance: int | None = None
    server_user_id: int | None = None
    reason: str | None = None  # the server's words (refused), or why it is in doubt
    applied_codes: tuple[str, ...] = ()
    refused_codes: dict[str, str] = field(default_factory=dict)  # code -> the server's words
    restored_codes: tuple[str, ...] = ()  # a void gave these vouchers back
    ledger_entry_ids: tuple[int, ...] = ()  # adjustments confirm exactly these rows
    identity_refused: bool = False  # an enrolment the server refused (phone or email held by another member)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def apply_deliveries(conn: Connection, deliveries: Iterable[Delivery], *, now: datetime | None = None) -> None:
    """Apply every delivery's meaning, inside the caller's write transaction."""
    now = now or utc_now()
    for delivery in deliveries:
        if delivery.result == APPLIED:
            _applied(conn, delivery, now)
        elif delivery.result == IN_DOUBT:
            _in_doubt(conn, delivery)
        elif delivery.result == REFUSED:
            _refused(conn, delivery, now)


def _applied(conn: Connection, d: Delivery, now: datetime) -> None:
    if d.sale_id is not None and d.kind in ("sale", "void", "refund"):
        values: dict[str, Any] = {"status": "synced", "reject_reason": None}
        if d.server_transaction_id is not None:
            values["server_transaction_id"] = d.server_transaction_id
        if d.server_points is not None and d.kind == "sale":
            values["server_points"] = d.server_points
        conn.execute(update(SALES).where(SALES.c.id == d.sale_id).values(**values))
        conn.execute(update(LEDGER).where(LEDGER.c.sale_id == d.sale_id, LEDGER.c.status == "pending")
                     .values(status="confirmed"))
    if d.ledger_entry_ids:
        conn.execute(update(LEDGER).where(LEDGER.c.id.in_(d.ledger_entry_ids), LEDGER.c.status == "pending")
                     .values(status="confirmed"))
    if d.sale_id is not None and d.kind == "sale":
        for code in d.applied_codes:
            conn.execute(update(REDEMPTIONS).where(REDEMPTIONS.c.sale_id == d.sale_id, REDEMPTIONS.c.code == code)
                         .values(status="applied"))
        conn.execute(update(REDEMPTIONS).where(REDEMPTIONS.c.sale_id == d.sale_id,
                                               REDEMPTIONS.c.kind == "points_money",
                                               REDEMPTIONS.c.status == "pending").values(status="applied"))
        for code, reason in d.refused_codes.items():
            _part_refused(conn, d, code, reason, now)
        if d.member_id is not None:
            for code in d.applied_codes:
                conn.execute(update(VOUCHERS).where(VOUCHERS.c.code == code, VOUCHERS.c.member_id == d.member_id)
                             .values(status="used"))
    if d.member_id is not None:
        for code in d.restored_codes:
            conn.execute(update(VOUCHERS).where(VOUCHERS.c.code == code, VOUCHERS.c.member_id == d.member_id)
                         .values(status="available"))
        target = _points_holder(conn, d.member_id)
        if d.balance is not None:
            conn.execute(update(MEMBERS).where(MEMBERS.c.id == target).values(points_balance=d.balance))
        if d.kind == "enrol":
            conn.execute(update(MEMBERS).where(MEMBERS.c.id == d.member_id, MEMBERS.c.status.in_(
                ("pending", "conflict"))).values(status="active"))
        if d.server_user_id is not None and target == d.member_id:
            learn_server_id(conn, d.member_id, d.server_user_id)


def _points_holder(conn: Connection, member_id: int) -> int:
    """A household member's points live on the member it is linked to."""
    household = conn.execute(select(MEMBERS.c.household_member_id).where(MEMBERS.c.id == member_id)).scalar()
    return int(household) if household else member_id


def _part_refused(conn: Connection, d: Delivery, code: str, reason: str, now: datetime) -> None:
    redemption = conn.execute(select(REDEMPTIONS).where(REDEMPTIONS.c.sale_id == d.sale_id,
                                                        REDEMPTIONS.c.code == code)).first()
    conn.execute(update(REDEMPTIONS).where(REDEMPTIONS.c.sale_id == d.sale_id, REDEMPTIONS.c.code == code)
                 .values(status="refused", server_note=reason[:500]))
    if redemption is not None and redemption.points:
        # The points this reward would have cost were never deducted on the server: the ledger row goes too.
        row = conn.execute(select(LEDGER.c.id).where(
            LEDGER.c.sale_id == d.sale_id, LEDGER.c.kind == "redeem", LEDGER.c.points == -redemption.points,
            LEDGER.c.status.in_(("pending", "confirmed"))).order_by(LEDGER.c.id)).first()
        if row is not None:
            conn.execute(update(LEDGER).where(LEDGER.c.id == row.id).values(status="rejected"))
    sale = conn.execute(select(SALES.c.receipt_no).where(SALES.c.id == d.sale_id)).first()
    conn.execute(insert(AUDIT).values(occurred_at=now, staff_id=None, action="sync.part_refused", details={
        "sale_id": d.sale_id, "receipt_no": sale.receipt_no if sale else None, "code": code,
        "description": redemption.description if redemption is not None else code,
        "discount_minor": redemption.discount_minor if redemption is not None else None,
        "reason": reason, "settle": "the discount was given in WESS; settle it with the customer"}))


def _in_doubt(conn: Connection, d: Delivery) -> None:
    if d.sale_id is not None and d.kind in ("sale", "void", "refund"):
        conn.execute(update(SALES).where(SALES.c.id == d.sale_id, SALES.c.status.in_(("pending", "in_doubt")))
                     .values(status="in_doubt", reject_reason=d.reason))


def _refused(conn: Connection, d: Delivery, now: datetime) -> None:
    if d.sale_id is not None:
        conn.execute(update(SALES).where(SALES.c.id == d.sale_id).values(status="rejected", reject_reason=d.reason))
        conn.execute(update(LEDGER).where(LEDGER.c.sale_id == d.sale_id, LEDGER.c.status == "pending")
                     .values(status="rejected"))
    if d.kind == "enrol" and d.member_id is not None and d.identity_refused:
        conn.execute(update(MEMBERS).where(MEMBERS.c.id == d.member_id).values(status="conflict"))


def learn_server_id(conn: Connection, member_id: int, server_id: int) -> bool:
    """Link a server member id to the member it was learnt for; never take it from (or give it to) another."""
    current = conn.execute(select(MEMBERS.c.server_id).where(MEMBERS.c.id == member_id)).scalar()
    if current == server_id:
        return True
    if current is not None:
        log.warning("member %s is %s on the server but %s here; keeping ours", member_id, server_id, current)
        return False
    holder = conn.execute(select(MEMBERS.c.id).where(MEMBERS.c.server_id == server_id)).scalar()
    if holder is not None:
        log.warning("server member %s is already linked to local member %s, not to %s", server_id, holder,
                    member_id)
        return False
    conn.execute(update(MEMBERS).where(MEMBERS.c.id == member_id).values(server_id=server_id))
    return True


def back_in_queue(conn: Connection, sale_id: int | None) -> None:
    """A manager sent an entry again: its sale and ledger rows are pending once more."""
    if sale_id is None:
        return
    conn.execute(update(SALES).where(SALES.c.id == sale_id, SALES.c.status.in_(("rejected", "in_doubt")))
                 .values(status="pending", reject_reason=None))
    conn.execute(update(LEDGER).where(LEDGER.c.sale_id == sale_id, LEDGER.c.status == "rejected")
                 .values(status="pending"))


# --- identity: a member the server refused --------------------------------------------------------------------
class IdentityError(ValueError):
    """The resolution does not apply (the member is not in conflict, or the other member is unknown)."""


def resolve_identity(conn: Connection, member_id: int, action: str, staff_id: int | None, *,
                     other_member_id: int | None = None, phone_e164: str | None = None,
                     email: str | None = None, note: str = "") -> None:
    """A manager's decision for a member the server refused (its phone or email belongs to another member).

    - `household`: link it to `other_member_id` (who holds the phone on the server); its queued and future effects
      are credited to that member, and the counter shows it as that member's household;
    - `reenrol`: enrol it again with another phone and/or email (its refused enrolment is sent again with them);
    - `merge`: it is the same person as `other_member_id`: its sales, ledger and queued effects move there.
    Audited. Nothing is ever credited to another member without one of these decisions.
    """
    member = conn.execute(select(MEMBERS).where(MEMBERS.c.id == member_id)).first()
    if member is None or member.status != "conflict":
        raise IdentityError("only a member the loyalty server refused can be resolved")
    enrol = conn.execute(select(OUTBOX).where(OUTBOX.c.member_id == member_id, OUTBOX.c.kind == "enrol",
                                              OUTBOX.c.status == "parked").order_by(OUTBOX.c.id.desc())).first()
    details: dict[str, Any] = {"member_id": member_id, "action": action, "note": note}
    if action in ("household", "merge"):
        other = conn.execute(select(MEMBERS).where(MEMBERS.c.id == other_member_id)).first() \
            if other_member_id is not None else None
        if other is None or other.id == member_id or other.status == "conflict":
            raise IdentityError("choose the member who holds this phone or email on the server")
        details["other_member_id"] = other.id
        if enrol is not None:
            conn.execute(update(OUTBOX).where(OUTBOX.c.id == enrol.id).values(status="discarded",
                                                                              next_attempt_at=None))
        if action == "household":
            conn.execute(update(MEMBERS).where(MEMBERS.c.id == member_id).values(
                status="active", household_member_id=other.id))
        else:
            for table in (SALES, LEDGER):
                conn.execute(update(table).where(table.c.member_id == member_id).values(member_id=other.id))
            conn.execute(update(OUTBOX).where(OUTBOX.c.member_id == member_id).values(
                member_id=other.id, partition_key=f"member:{other.id}"))
            conn.execute(update(VOUCHERS).where(VOUCHERS.c.member_id == member_id).values(member_id=other.id))
            conn.execute(update(MEMBERS).where(MEMBERS.c.id == member_id).values(
                status="inactive", household_member_id=other.id))
    elif action == "reenrol":
        if enrol is None:
            raise IdentityError("this member has no refused enrolment to send again")
        if not phone_e164 and not email:
            raise IdentityError("give another phone or email to enrol with")
        if phone_e164:
            parsed = phones.normalise(phone_e164, "SG")
            if parsed is None or parsed.e164 != phone_e164:
                raise IdentityError("the new phone number is not a valid international number (+65 ...)")
        payload = dict(enrol.payload or {})
        params = dict(payload.get("params") or {})
        if phone_e164:
            params["phone_e164"] = phone_e164
            params.pop("phone", None)
            params.pop("phone_code", None)
        if email:
            params["email"] = email
        payload["params"] = params
        conn.execute(update(OUTBOX).where(OUTBOX.c.id == enrol.id).values(
            status="pending", payload=payload, next_attempt_at=None, last_error=None))
        values: dict[str, Any] = {"status": "pending"}
        if email:
            values["email"] = email
        if phone_e164:
            values["phone_e164"] = phone_e164
            values["phone_rev"] = phone_e164.lstrip("+")[::-1]
        conn.execute(update(MEMBERS).where(MEMBERS.c.id == member_id).values(**values))
        details.update(phone_changed=bool(phone_e164), email_changed=bool(email))
    else:
        raise IdentityError(f"unknown resolution “{action}”")
    conn.execute(insert(AUDIT).values(occurred_at=utc_now(), staff_id=staff_id, action="sync.identity",
                                      details=details))
