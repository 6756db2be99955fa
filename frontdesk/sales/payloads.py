"""The loyalty API request a queued sale or refund carries (endpoint path and form fields)."""
from __future__ import annotations

import json
from datetime import timezone

from frontdesk.config import Settings
from frontdesk.domain import phone as phones
from frontdesk.domain.money import Money
from frontdesk.sales.model import SaleQuote
from frontdesk.store.models import Member, Sale, Staff


def member_identifier(member: Member, settings: Settings) -> dict[str, object]:
    """How the loyalty API finds the member: its user id when known, else the phone, else the email."""
    if member.server_id is not None:
        return {"user_id": member.server_id}
    parsed = phones.normalise(member.phone_e164 or "", settings.phone_region) if member.phone_e164 else None
    if parsed is not None:
        return {"phone": parsed.national, "phone_code": parsed.region}
    if member.email:
        return {"email": member.email}
    return {"external_member_id": f"{settings.outlet_code}-{settings.counter_id}-{member.id}"}

def sale_payload(settings: Settings, sale: Sale, member: Member, staff: Staff, quote: SaleQuote) -> dict:
    currency = sale.currency

    def plain(minor: int) -> str:
        return Money.from_minor(minor, currency).plain()

    items = [{"name": item.name, "sku": item.sku, "category": item.category, "quantity": item.quantity,
              "unit_amount": plain(item.unit_price_minor),
              "total_amount": plain(item.unit_price_minor * item.quantity - item.discount_minor)}
             for item in sale.items]
    payments = [{"name": payment.method, "amount": plain(payment.amount_minor), "description": payment.reference}
                for payment in sale.payments]
    params: dict[str, object] = {
        **member_identifier(member, settings),
        "amount": plain(sale.total_minor),
        "transaction_no": sale.receipt_no,
        "custom_store_id": sale.outlet_code,
        "custom_store_code": sale.outlet_code,
        "custom_staff_id": staff.code,
        "tax": plain(sale.tax_minor),
        "service_charge": plain(sale.service_charge_minor),
        "discount": plain(sale.discount_minor),
        "utc_transaction_created_at": sale.occurred_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
        "item_data_json": json.dumps(items, ensure_ascii=False, separators=(",", ":")),
        "payment_data_json": json.dumps(payments, ensure_ascii=False, separators=(",", ":")),
    }
    points_paid = sum(a.points for a in quote.redemptions if a.kind == "points")
    if points_paid:
        params["point_conversion_points"] = points_paid
    codes = [a.code for a in quote.redemptions if a.kind in ("reward", "voucher")]
    return {"endpoint": "integration/issue_point", "params": params, "redeem_codes": codes}