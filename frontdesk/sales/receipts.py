"""Receipt text for a sale and for a void or refund: fits an 80 mm receipt printer in a monospaced font."""
from __future__ import annotations

import textwrap

from frontdesk.config import Settings
from frontdesk.domain.money import Money
from frontdesk.domain.programme import Programme, Reversal
from frontdesk.sales.model import PAYMENT_METHODS, SaleQuote
from frontdesk.store.models import Member, Sale, Staff

RECEIPT_WIDTH = 44  # characters: fits an 80 mm receipt printer's line in a monospaced font


def sale_receipt_text(settings: Settings, programme: Programme, sale: Sale, member: Member, staff: Staff,
                      quote: SaleQuote) -> str:
    currency = sale.currency
    width = RECEIPT_WIDTH

    def row(left: str, right: str) -> str:
        space = max(1, width - len(left) - len(right))
        return f"{left}{' ' * space}{right}"

    def money(minor: int) -> str:
        return Money.from_minor(minor, currency).display()

    when = sale.occurred_at.astimezone(settings.zone)
    name = member.display_name or f"{member.first_name} {member.last_name}".strip()
    out = [programme.name, f"Outlet {sale.outlet_code} · counter {sale.counter_id}",
           f"Receipt {sale.receipt_no} · {when:%d %b %Y %H:%M}", f"Member: {name}",
           f"Served by: {staff.name}", "-" * width]
    for item in sale.items:
        label = item.name if item.quantity == 1 else f"{item.quantity} × {item.name}"
        out.append(row(label[:width - 12], money(item.unit_price_minor * item.quantity - item.discount_minor)))
        if item.discount_minor:
            out.append(f"  incl. discount {money(item.discount_minor)}")
    if sale.tax_minor:
        out.append(row("Tax", money(sale.tax_minor)))
    if sale.service_charge_minor:
        out.append(row("Service charge", money(sale.service_charge_minor)))
    for applied in quote.redemptions:
        if applied.kind != "points":
            out.append(row(f"{applied.name} ({applied.code})"[:width - 12], "-" + applied.discount.display()))
    out.append(row("Total", money(sale.total_minor)))
    for payment in sale.payments:
        method = "Points" if payment.method == "points" else PAYMENT_METHODS.get(payment.method, payment.method)
        ref = f" {payment.reference}" if payment.reference else ""
        out.append(row(f"  {method}{ref}"[:width - 12], money(payment.amount_minor)))
    after = quote.stored_value_after
    if quote.stored_value_used is not None and not quote.stored_value_used.is_zero() and after is not None:
        out.append(f"Stored value {quote.stored_value_used.display()} · balance left {after.display()}")
    out.append("-" * width)
    out.append(row("Points earned", f"{sale.points_earned:,}"))
    if sale.points_redeemed:
        out.append(row("Points redeemed", f"{sale.points_redeemed:,}"))
    out.append(row("New balance", f"{quote.new_balance or 0:,} pts"))
    if quote.provisional:
        out.append(textwrap.fill("Redemption made offline: the loyalty server confirms it when the counter "
                                 "reconnects.", width))
    else:
        out.append(textwrap.fill("Points are confirmed when the loyalty server receives this sale.", width))
    return "\n".join(out)

def reversal_receipt_text(settings: Settings, original: Sale, row: Sale, member: Member, manager: Staff,
                          reversal: Reversal, reason: str, new_balance: int) -> str:
    when = row.occurred_at.astimezone(settings.zone)
    name = member.display_name or f"{member.first_name} {member.last_name}".strip()
    title = "VOID" if row.kind == "void" else "REFUND"
    out = [f"{title} of receipt {original.receipt_no}", f"{when:%d %b %Y %H:%M} · approved by {manager.name}",
           f"Member: {name}", f"Reason: {reason}", f"Refunded: {reversal.refunded_amount.display()}",
           f"Points taken back: {reversal.points_clawed_back:,}",
           f"Points given back: {reversal.points_restored:,}"]
    if not reversal.stored_value_restored.is_zero():
        out.append(f"Stored value given back: {reversal.stored_value_restored.display()}")
        out.append(f"Stored value balance: {reversal.balance_after.stored_value.display()}")
    if reversal.shortfall_points:
        out.append(f"Shortfall: {reversal.shortfall_points:,} pts already spent could not be taken back")
    codes = list(reversal.reward_codes_reinstated) + list(reversal.voucher_codes_reinstated)
    if codes:
        out.append("Reinstated: " + ", ".join(codes))
    out.append(f"New balance: {new_balance:,} pts")
    return "\n".join(textwrap.fill(line, RECEIPT_WIDTH, subsequent_indent="  ") for line in out)