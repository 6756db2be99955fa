"""Writing a sale: the sale, items, payments, redemptions, pending ledger rows, used vouchers and the outbox entry,
inside the caller's write transaction; and recognising a request that was already recorded."""
from __future__ import annotations

from datetime import timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frontdesk.config import Settings
from frontdesk.domain.money import Money
from frontdesk.domain.programme import Programme
from frontdesk.sales.form import parse_lines, parse_payments
from frontdesk.sales.model import NO_RESPONSE, RecordedSale, SaleQuote, SaleRequest
from frontdesk.sales.receipts import sale_receipt_text
from frontdesk.store.members import load_profile
from frontdesk.store.models import (
    LedgerEntry,
    Member,
    MemberVoucher,
    OutboxEntry,
    Sale,
    SaleItem,
    SalePayment,
    SaleRedemption,
    Staff,
)


def sale_effect(sale: Sale) -> dict[str, object]:
    """The outbox payload of a sale, in the counter's terms: which sale. The sync engine builds the loyalty API
    request from the sale's rows when it sends it (so the member's server id, once known, is the one used)."""
    return {"v": 2, "sale_id": sale.id}


def replay(session: Session, draft_id: str) -> RecordedSale | None:
    entry = session.scalar(select(OutboxEntry).where(OutboxEntry.idempotency_key == draft_id))
    if entry is None or entry.sale_id is None:
        return None
    sale = session.get(Sale, entry.sale_id)
    assert sale is not None
    profile = load_profile(session, sale.member_id, recent_limit=0) if sale.member_id else None
    return RecordedSale(sale_id=sale.id, receipt_no=sale.receipt_no, receipt_text=sale.receipt_text,
                         total=Money.from_minor(sale.total_minor, sale.currency), points_earned=sale.points_earned,
                         points_redeemed=sale.points_redeemed,
                         new_balance=profile.available_points if profile else 0,
                         provisional=sale.provisional, replayed=True)

def write_sale(session: Session, draft: SaleRequest, quote: SaleQuote, *, settings: Settings,
               programme: Programme) -> RecordedSale:
    """The sale, its items, payments, redemptions, pending ledger rows and the outbox entry (inside the caller's
    write transaction)."""
    assert quote.preview is not None and quote.total is not None and quote.member is not None
    assert quote.occurred_at is not None and draft.staff_id is not None
    currency = quote.currency
    member = session.get(Member, draft.member_id)
    staff = session.get(Staff, draft.staff_id)
    assert member is not None and staff is not None
    lines = parse_lines(draft, currency, {})
    payments = parse_payments(draft, currency, {})
    assert lines is not None and payments is not None
    occurred_at = quote.occurred_at.astimezone(timezone.utc)
    zero = Money.zero(currency)
    subtotal = sum((line.unit_price * line.quantity for line in lines), zero)
    tax = sum((line.tax for line in lines), zero)
    service = sum((line.service_charge for line in lines), zero)
    discount = sum((line.discount for line in lines), zero) + quote.discount_total
    earn_lines = {earn.line_index: earn for earn in quote.preview.lines}

    sale = Sale(kind="sale", receipt_no=draft.receipt_no.strip(), outlet_code=draft.outlet_code or settings.outlet_code,
                counter_id=settings.counter_id, sales_mode=draft.sales_mode, staff_id=staff.id, member_id=member.id,
                occurred_at=occurred_at, currency=currency, subtotal_minor=subtotal.minor, tax_minor=tax.minor,
                service_charge_minor=service.minor, discount_minor=discount.minor, total_minor=quote.total.minor,
                points_earned=quote.points_earned, points_redeemed=quote.points_redeemed, status="pending",
                provisional=quote.provisional, receipt_text="", note="")
    for number, line in enumerate(lines, start=1):
        earn = earn_lines.get(number - 1)
        sale.items.append(SaleItem(
            line_no=number, name=line.name, sku=line.sku or "", category=line.category or "",
            quantity=line.quantity, unit_price_minor=line.unit_price.minor, tax_minor=line.tax.minor,
            service_charge_minor=line.service_charge.minor, discount_minor=line.discount.minor,
            total_minor=(line.net + line.tax + line.service_charge).minor, staff_code=staff.code,
            points=earn.points if earn else 0, explanation=earn.explanation if earn else ""))
    for tender in payments:
        sale.payments.append(SalePayment(method=tender.method, amount_minor=tender.amount.minor,
                                         reference=tender.reference or ""))
    for applied in quote.redemptions:
        if applied.kind == "points":
            sale.payments.append(SalePayment(method="points", amount_minor=applied.amount.minor,
                                             reference=f"{applied.points} pts"))
        sale.redemptions.append(SaleRedemption(
            kind="points_money" if applied.kind == "points" else applied.kind, code=applied.code,
            description=applied.name, points=applied.points,
            discount_minor=(applied.amount if applied.kind == "points" else applied.discount).minor,
            free_sku=applied.free_sku, provisional=applied.provisional))
    stored_used = quote.stored_value_used
    if stored_used is not None and not stored_used.is_zero():
        # Kept as a redemption too, so a void or refund knows exactly how much stored value to give back.
        sale.redemptions.append(SaleRedemption(kind="stored_value", code="", description="Stored value",
                                               points=0, discount_minor=stored_used.minor, provisional=False))
        member.stored_value_minor -= stored_used.minor
    session.add(sale)
    session.flush()

    def ledger(kind: str, points: int, reason: str) -> None:
        session.add(LedgerEntry(member_id=member.id, sale_id=sale.id, kind=kind, points=points, reason=reason,
                                staff_id=staff.id, outlet_code=sale.outlet_code,
                                occurred_at=occurred_at, status="pending"))

    if quote.points_earned:
        ledger("earn", quote.points_earned, f"Receipt {sale.receipt_no}: {quote.preview.summary()}")
    for applied in quote.redemptions:
        if applied.points:
            ledger("redeem", -applied.points, f"Receipt {sale.receipt_no}: {applied.name}")
        if applied.kind == "voucher":
            voucher = session.scalar(select(MemberVoucher).where(
                MemberVoucher.member_id == member.id, func.lower(MemberVoucher.code) == applied.code.casefold()))
            if voucher is not None:
                voucher.status = "used"

    sale.receipt_text = sale_receipt_text(settings, programme, sale, member, staff, quote)
    session.add(OutboxEntry(idempotency_key=draft.draft_id, kind="sale", partition_key=f"member:{member.id}",
                            sale_id=sale.id, member_id=member.id,
                            payload=sale_effect(sale), **NO_RESPONSE))
    session.flush()
    return RecordedSale(sale_id=sale.id, receipt_no=sale.receipt_no, receipt_text=sale.receipt_text,
                         total=quote.total, points_earned=quote.points_earned,
                         points_redeemed=quote.points_redeemed, new_balance=quote.new_balance or 0,
                         provisional=quote.provisional, replayed=False)