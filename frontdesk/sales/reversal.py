"""Voiding or refunding a recorded sale: what it gives back and takes (the engine's `reverse_sale` decides the
points), and writing the reversal row, its ledger entries, reinstated vouchers, outbox entry and audit entry."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frontdesk.config import Settings
from frontdesk.domain.money import Money
from frontdesk.domain.programme import (
    Balances,
    Refund,
    Reversal,
    ReversalError,
    SaleEffects,
    reverse_sale,
)
from frontdesk.domain.programme.arithmetic import format_points
from frontdesk.sales.form import parse_money, sentence
from frontdesk.sales.model import (
    NO_RESPONSE,
    ReversalQuote,
    ReversalRefused,
    ReversalResult,
    new_draft_id,
)
from frontdesk.sales.quote import summarise_sale
from frontdesk.sales.receipts import reversal_receipt_text
from frontdesk.store.members import load_profile
from frontdesk.store.models import (
    AuditEntry,
    LedgerEntry,
    Member,
    MemberVoucher,
    OutboxEntry,
    Sale,
    SaleRedemption,
    Staff,
)


def quote_reversal(session: Session, sale_id: int, *, void: bool, amount: str) -> ReversalQuote:
    original = session.get(Sale, sale_id)
    if original is None or original.kind != "sale":
        raise ReversalRefused({"sale": "That sale is not in this counter's records"})
    summary = summarise_sale(session, original)
    currency = original.currency
    total = Money.from_minor(original.total_minor, currency)
    earlier = session.scalars(select(Sale).where(Sale.original_sale_id == sale_id,
                                                 Sale.kind.in_(("void", "refund"))).order_by(Sale.id)).all()
    refunded_before = Money.from_minor(sum(r.total_minor for r in earlier), currency)
    left = total - refunded_before
    errors: dict[str, str] = {}

    def refused() -> ReversalQuote:
        return ReversalQuote(summary, void, None, refunded_before, left, errors)

    if original.member_id is None:
        errors["sale"] = "This sale has no member: there are no points to reverse"
        return refused()
    if any(r.kind == "void" for r in earlier):
        errors["sale"] = "This sale has already been voided"
        return refused()
    if earlier and not left.is_negative() and left.is_zero():
        errors["sale"] = "This sale has already been refunded in full"
        return refused()
    if original.status == "rejected":
        errors["sale"] = "The loyalty server rejected this sale: it earned and redeemed nothing to reverse"
        return refused()
    refund = Refund.full_void()
    if not void:
        value = parse_money(amount, "amount", errors, currency, required=True)
        if value is None:
            return refused()
        if value.is_zero():
            errors["amount"] = "Enter the amount refunded, more than zero"
            return refused()
        if value > left:
            errors["amount"] = f"More than is left of the sale ({left.display()})"
            return refused()
        refund = Refund.of_amount(value)
    redemptions = original.redemptions
    effects = SaleEffects(
        sale_total=total,
        points_earned=original.server_points if original.server_points is not None else original.points_earned,
        points_redeemed=original.points_redeemed,
        stored_value_used=Money.from_minor(sum(r.discount_minor for r in redemptions if r.kind == "stored_value"),
                                           currency),
        reward_codes=tuple(r.code for r in redemptions if r.kind == "reward"),
        voucher_codes=tuple(r.code for r in redemptions if r.kind == "voucher"),
    )
    profile = load_profile(session, original.member_id, recent_limit=0)
    balance = Balances(points=profile.available_points if profile else 0,
                       stored_value=Money.from_minor(profile.stored_value_minor if profile else 0, currency))
    previous = _previous_reversal(list(earlier), total, balance) if earlier else None
    try:
        reversal = reverse_sale(effects, refund, balance, previous)
    except ReversalError as error:
        errors["amount" if error.field.startswith("refund") else "sale"] = sentence(error.reason)
        return refused()
    return ReversalQuote(summary, void, reversal, refunded_before, left, errors)


def write_reversal(session: Session, quote: ReversalQuote, manager_id: int, reason: str, requested_by: int | None,
                   *, settings: Settings, now: datetime) -> ReversalResult:
    reversal = quote.reversal
    assert reversal is not None
    original = session.get(Sale, quote.sale.id)
    member = session.get(Member, original.member_id) if original else None
    manager = session.get(Staff, manager_id)
    assert original is not None and member is not None and manager is not None
    kind = "void" if quote.void else "refund"
    row = Sale(kind=kind, receipt_no=original.receipt_no, outlet_code=original.outlet_code,
               counter_id=settings.counter_id, sales_mode=original.sales_mode, staff_id=manager.id,
               member_id=member.id, occurred_at=now, currency=original.currency,
               subtotal_minor=reversal.refunded_amount.minor, total_minor=reversal.refunded_amount.minor,
               points_earned=reversal.points_restored, points_redeemed=reversal.points_clawed_back,
               status="pending", original_sale_id=original.id, provisional=original.provisional,
               note=reason, receipt_text="")
    if not reversal.stored_value_restored.is_zero():
        # What this reversal gave back, on its own row, so the next refund of the sale continues from it.
        row.redemptions.append(SaleRedemption(kind="stored_value", code="", description="Stored value given back",
                                              points=0, discount_minor=reversal.stored_value_restored.minor,
                                              provisional=False))
        member.stored_value_minor += reversal.stored_value_restored.minor
    session.add(row)
    session.flush()
    label = f"{'Void' if quote.void else 'Refund'} of receipt {original.receipt_no}"

    def ledger(entry_kind: str, points: int, why: str) -> None:
        session.add(LedgerEntry(member_id=member.id, sale_id=row.id, kind=entry_kind, points=points,
                                reason=why, staff_id=manager.id, outlet_code=settings.outlet_code,
                                occurred_at=now, status="pending"))

    if reversal.points_restored:
        ledger("restore", reversal.points_restored, f"{label}: redeemed points given back")
    if reversal.points_clawed_back:
        ledger("clawback", -reversal.points_clawed_back, f"{label}: earned points taken back")
    if reversal.shortfall_points:
        ledger("shortfall", reversal.shortfall_points,
               f"{label}: {format_points(reversal.shortfall_points)} already spent could not be clawed back")
    reinstated = list(reversal.reward_codes_reinstated) + list(reversal.voucher_codes_reinstated)
    for code in reversal.voucher_codes_reinstated:
        voucher = session.scalar(select(MemberVoucher).where(
            MemberVoucher.member_id == member.id, func.lower(MemberVoucher.code) == code.casefold()))
        if voucher is not None and voucher.status == "used":
            voucher.status = "available"

    change = reversal.points_change
    queued = True
    # The payload says what the reversal is in the counter's terms; the sync engine builds the API requests
    # (a void of the server's transaction, or a points adjustment) from the rows when it sends them.
    payload: dict[str, object]
    if quote.void:
        payload = {"v": 2, "original_sale_id": original.id, "redeem_codes": reinstated}
    elif change:
        payload = {"v": 2, "original_sale_id": original.id, "points_change": change,
                   "note": f"refund of {original.receipt_no}"}
    else:
        queued = False
        payload = {}
    if queued:
        session.add(OutboxEntry(idempotency_key=new_draft_id(), kind=kind, partition_key=f"member:{member.id}",
                                sale_id=row.id, member_id=member.id, payload=payload, **NO_RESPONSE))
    session.add(AuditEntry(staff_id=manager.id, action=kind, details={
        "sale_id": row.id, "original_sale_id": original.id, "receipt_no": original.receipt_no,
        "refunded": reversal.refunded_amount.plain(), "points_clawed_back": reversal.points_clawed_back,
        "points_restored": reversal.points_restored,
        "stored_value_restored": reversal.stored_value_restored.plain(), "shortfall_points": reversal.shortfall_points,
        "codes_reinstated": reinstated, "reason": reason, "approved_by": manager.code,
        "requested_by": requested_by, "queued": queued}))
    new_balance = reversal.balance_after.points
    row.receipt_text = reversal_receipt_text(settings, original, row, member, manager, reversal, reason,
                                             new_balance)
    session.flush()
    return ReversalResult(reversal_sale_id=row.id, original_sale_id=original.id, kind=kind, reversal=reversal,
                          new_balance=new_balance, receipt_text=row.receipt_text, queued=queued)

def _previous_reversal(earlier: Sequence[Sale], total: Money, balance: Balances) -> Reversal:
    """The running totals of a sale's earlier refunds, in the shape `reverse_sale` continues from."""
    currency = total.currency
    refunded = Money.from_minor(sum(r.total_minor for r in earlier), currency)
    clawed = sum(r.points_redeemed for r in earlier)
    restored = sum(r.points_earned for r in earlier)
    zero = Money.zero(currency)
    stored = Money.from_minor(sum(r.discount_minor for row in earlier for r in row.redemptions
                                  if r.kind == "stored_value"), currency)
    return Reversal(refunded_amount=Money.from_minor(earlier[-1].total_minor, currency), points_clawed_back=0,
                    points_restored=0, stored_value_restored=zero, shortfall_points=0, balance_before=balance,
                    balance_after=balance, reward_codes_reinstated=(), voucher_codes_reinstated=(),
                    fully_reversed=refunded >= total, total_refunded=refunded, total_points_clawed_back=clawed,
                    total_points_restored=restored, total_stored_value_restored=stored, explanation="")