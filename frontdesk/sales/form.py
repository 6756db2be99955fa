"""Reading what was typed into a sale: strict parsing of lines, payments, amounts and quantities, each problem
reported against its field path ("lines[1].quantity": "Must be at least 1"). Qt-free; imports domain only."""
from __future__ import annotations

from frontdesk.domain.money import Money, MoneyError
from frontdesk.domain.programme import SaleLine, Tender
from frontdesk.sales.model import MAX_AMOUNT, MAX_QUANTITY, PAYMENT_METHODS, SaleRequest


def parse_lines(draft: SaleRequest, currency: str, errors: dict[str, str]) -> list[SaleLine] | None:
    lines: list[SaleLine] = []
    ok = True
    if not draft.itemised:
        total = parse_money(draft.total, "total", errors, currency, required=True)
        tax = parse_money(draft.total_tax, "total_tax", errors, currency)
        service = parse_money(draft.total_service_charge, "total_service_charge", errors, currency)
        if total is None or tax is None or service is None:
            return None
        if total.is_zero():
            errors["total"] = "Enter the bill total as printed by WESS"
            return None
        if tax + service > total:
            errors["total_tax"] = "Tax and service charge cannot be more than the total"
            return None
        return [SaleLine(name="Bill total", sku=None, category=None, quantity=1, unit_price=total - tax - service,
                         tax=tax, service_charge=service, discount=Money.zero(currency))]
    if not draft.lines:
        errors["lines"] = "Add at least one line from the receipt (or switch to total only)"
        return None
    for index, line in enumerate(draft.lines):
        path = f"lines[{index}]"
        name = (line.name or "").strip()
        if not name and not (line.sku or "").strip():
            errors[f"{path}.name"] = "Enter the item as printed on the receipt"
            ok = False
        elif len(name) > 200:
            errors[f"{path}.name"] = "At most 200 characters"
            ok = False
        for key, text, limit in (("sku", line.sku, 64), ("category", line.category, 64)):
            if len((text or "").strip()) > limit:
                errors[f"{path}.{key}"] = f"At most {limit} characters"
                ok = False
        quantity = parse_quantity(line.quantity, f"{path}.quantity", errors)
        unit_price = parse_money(line.unit_price, f"{path}.unit_price", errors, currency, required=True)
        tax = parse_money(line.tax, f"{path}.tax", errors, currency)
        service = parse_money(line.service_charge, f"{path}.service_charge", errors, currency)
        discount = parse_money(line.discount, f"{path}.discount", errors, currency)
        if quantity is None or unit_price is None or tax is None or service is None or discount is None:
            ok = False
            continue
        if discount > unit_price * quantity:
            errors[f"{path}.discount"] = f"More than the line's price ({(unit_price * quantity).display()})"
            ok = False
            continue
        lines.append(SaleLine(name=name or line.sku.strip(), sku=(line.sku or "").strip() or None,
                              category=(line.category or "").strip() or None, quantity=quantity,
                              unit_price=unit_price, tax=tax, service_charge=service, discount=discount))
    return lines if ok else None

def parse_payments(draft: SaleRequest, currency: str, errors: dict[str, str]) -> list[Tender] | None:
    tenders: list[Tender] = []
    ok = True
    for index, payment in enumerate(draft.payments):
        path = f"payments[{index}]"
        if payment.method not in PAYMENT_METHODS:
            errors[f"{path}.method"] = "Pick cash, card, NETS, voucher or stored value (points are applied as a redemption)"
            ok = False
        if len((payment.reference or "").strip()) > 100:
            errors[f"{path}.reference"] = "At most 100 characters"
            ok = False
        amount = parse_money(payment.amount, f"{path}.amount", errors, currency, required=True)
        if amount is None:
            ok = False
            continue
        if amount.is_zero():
            errors[f"{path}.amount"] = "Enter the amount paid this way, or remove the payment"
            ok = False
            continue
        tenders.append(Tender(payment.method, amount, (payment.reference or "").strip() or None))
    return tenders if ok else None

def parse_money(text: str | None, path: str, errors: dict[str, str], currency: str, *,
           required: bool = False) -> Money | None:
    cleaned = (text or "").strip()
    if not cleaned:
        if required:
            errors[path] = "Enter an amount"
            return None
        return Money.zero(currency)
    try:
        value = Money.parse(cleaned, currency)
    except MoneyError as error:
        errors[path] = sentence(str(error))
        return None
    if value.is_negative():
        errors[path] = "Cannot be negative"
        return None
    if value.amount > MAX_AMOUNT.amount:
        errors[path] = f"Too large: at most {MAX_AMOUNT.display()}"
        return None
    return value

def parse_quantity(text: str | None, path: str, errors: dict[str, str]) -> int | None:
    cleaned = (text or "").strip()
    if not cleaned:
        errors[path] = "Enter how many"
        return None
    try:
        value = int(cleaned)
    except ValueError:
        errors[path] = f"“{cleaned[:20]}” is not a whole number"
        return None
    if value < 1:
        errors[path] = "Must be at least 1 (enter a refund as a refund, not a negative line)"
        return None
    if value > MAX_QUANTITY:
        errors[path] = f"At most {MAX_QUANTITY}"
        return None
    return value

def engine_path(path: str) -> str:
    if path == "bill_discount":
        return "redemptions"
    if path.startswith("lines[") or path == "occurred_at":
        return path
    if path == "lines":
        return "lines"
    return "draft"

def sentence(text: str) -> str:
    text = (text or "").strip()
    return text[:1].upper() + text[1:] if text else text