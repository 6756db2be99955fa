"""Synthetic WESS receipt mails for tests and benchmarks (never part of the installed product).

Three layouts, all invented (no real WESS mail is public): "html" (an HTML-table tax invoice, GST inclusive),
"text" (the plain-text receipt of the reference notes' worked example) and "pdf" (a hotel-spa style PDF attachment,
service charge and GST on top). The arithmetic of every receipt is exact; `broken` variants break one rule each.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from zoneinfo import ZoneInfo

SGT = ZoneInfo("Asia/Singapore")
CENT = Decimal("0.01")
SENDER = "receipts@wess.example"

SERVICES = [("SVC-CUT-L", "Ladies Cut & Blow", "68.00"), ("SVC-COL-R", "Colour Retouch", "120.00"),
            ("SVC-SPA-S", "Scalp Spa", "88.00"), ("SVC-CUT-M", "Men's Cut", "38.00"),
            ("SVC-TRT-K", "Keratin Treatment", "260.00"), ("SVC-WSH", "Wash & Blow", "25.00")]
PRODUCTS = [("PRD-SHA-250", "Repair Shampoo 250ml", "32.00"), ("PRD-MSK-200", "Hydrating Mask 200ml", "45.50"),
            ("PRD-OIL-50", "Argan Oil 50ml", "39.90")]
STAFF = ["Jason", "Aisha", "Priya", "Alice (Assist)"]


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class Line:
    code: str
    name: str
    type: str  # S service | P product | G package | C redemption
    qty: int
    unit: Decimal
    discount: Decimal
    staff: str

    @property
    def amount(self) -> Decimal:
        return self.qty * self.unit - self.discount


@dataclass
class Receipt:
    receipt_no: str
    when: datetime  # aware, SGT
    outlet: str = "Tampines Mall"
    staff: str = "Jason"
    customer_code: str = ""
    customer_name: str = ""
    mobile: str = ""
    email: str = ""
    lines: list[Line] = field(default_factory=list)
    discount: Decimal = Decimal(0)
    service_charge: Decimal = Decimal(0)
    gst: Decimal = Decimal(0)
    inclusive: bool = True
    rounding: Decimal = Decimal(0)
    total: Decimal = Decimal(0)
    payments: list[tuple[str, Decimal]] = field(default_factory=list)
    change: Decimal = Decimal(0)
    refund_of: str = ""
    reprint: bool = False

    @property
    def subtotal(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))


def settle(receipt: Receipt, *, cash_rounding: bool = False, split: bool = True, rng: random.Random | None = None
           ) -> Receipt:
    """Fill in GST, total, rounding and payments so that every rule holds."""
    rng = rng or random.Random(0)
    net = receipt.subtotal - receipt.discount
    if receipt.inclusive:
        total = net
        receipt.rounding = Decimal(0)
        if cash_rounding:
            rounded = (total / Decimal("0.05")).quantize(Decimal(1), rounding=ROUND_HALF_UP) * Decimal("0.05")
            receipt.rounding = cents(rounded - total)
        receipt.total = total + receipt.rounding
        receipt.gst = cents(total * Decimal(9) / Decimal(109))
    else:
        receipt.gst = cents((net + receipt.service_charge) * Decimal("0.09"))
        receipt.total = net + receipt.service_charge + receipt.gst + receipt.rounding
    total = receipt.total
    if total == 0:
        receipt.payments = []
    elif total < 0:
        receipt.payments = [("Cash", total)]
    elif split and total > 20:
        first = cents(Decimal(rng.randint(10, int(total) - 5)))
        receipt.payments = [("NETS", first), ("Cash", total - first)]
    else:
        receipt.payments = [(rng.choice(["Visa", "NETS", "Master", "PayNow"]), total)]
    receipt.change = Decimal(0)
    if receipt.payments and receipt.payments[-1][0] == "Cash" and total > 0:
        tendered = (receipt.payments[-1][1] / 10).quantize(Decimal(1), rounding="ROUND_CEILING") * 10
        receipt.change = tendered - receipt.payments[-1][1]
        receipt.payments[-1] = ("Cash", tendered)
    return receipt


def make_receipt(rng: random.Random, number: int, *, when: datetime | None = None, member: tuple[str, str, str, str]
                 | None = None, inclusive: bool = True, service_charge: bool = False, redemption: bool = False,
                 outlet: str = "Tampines Mall") -> Receipt:
    """`member`: (code, name, mobile, email); None makes a walk-in."""
    when = when or datetime.now(SGT).replace(second=0, microsecond=0) - timedelta(hours=rng.randint(1, 48))
    receipt = Receipt(receipt_no=f"T{number:06d}-2", when=when, outlet=outlet, inclusive=inclusive)
    if member:
        receipt.customer_code, receipt.customer_name, receipt.mobile, receipt.email = member
    for code, name, price in rng.sample(SERVICES, rng.randint(1, 3)):
        receipt.lines.append(Line(code, name, "S", 1, Decimal(price), Decimal(0), rng.choice(STAFF)))
    if rng.random() < 0.5:
        code, name, price = rng.choice(PRODUCTS)
        receipt.lines.append(Line(code, name, "P", rng.randint(1, 2), Decimal(price), Decimal(0), rng.choice(STAFF)))
    if redemption:
        receipt.lines.append(Line("PKG-SPA-10", 'Scalp Spa (Pkg "Scalp Spa x10", 6 left)', "C", 1, Decimal(0),
                                  Decimal(0), "Aisha"))
    if member and rng.random() < 0.5:
        services = sum((ln.amount for ln in receipt.lines if ln.type == "S"), Decimal(0))
        receipt.discount = cents(services * Decimal("0.10"))
    if service_charge:
        receipt.service_charge = cents((receipt.subtotal - receipt.discount) * Decimal("0.10"))
    return settle(receipt, cash_rounding=inclusive and rng.random() < 0.3, rng=rng)


def refund_of(original: Receipt, amount: Decimal, number: int) -> Receipt:
    line = Line("RFD", f"Refund: {original.lines[0].name}", "S", 1, -amount, Decimal(0), original.staff)
    receipt = Receipt(receipt_no=f"R{number:06d}-2", when=original.when + timedelta(minutes=5), outlet=original.outlet,
                      customer_code=original.customer_code, customer_name=original.customer_name,
                      mobile=original.mobile, email=original.email, lines=[line], inclusive=True,
                      refund_of=original.receipt_no)
    return settle(receipt)


# --- layouts -------------------------------------------------------------------------------------------------
def _m(value: Decimal) -> str:
    return f"{value:,.2f}" if value >= 0 else f"-{-value:,.2f}"


def render_html(r: Receipt, *, extra_head: str = "") -> str:
    rows = "".join(
        f"<tr><td>{ln.staff}</td><td>{ln.code}</td><td>{ln.name}</td><td>{ln.type}</td><td>{ln.qty}</td>"
        f"<td>{_m(ln.unit)}</td><td>{_m(ln.discount) if ln.discount else ''}</td><td>{_m(ln.amount)}</td></tr>"
        for ln in r.lines)
    customer = ""
    if r.customer_code or r.customer_name:
        customer = (f"<tr><td>Customer Code:</td><td>{r.customer_code}</td></tr>"
                    f"<tr><td>Customer:</td><td>{r.customer_name}</td></tr>")
        if r.mobile:
            customer += f"<tr><td>Mobile:</td><td>{r.mobile}</td></tr>"
        if r.email:
            customer += f"<tr><td>Email:</td><td>{r.email}</td></tr>"
    else:
        customer = "<tr><td>Customer:</td><td>Walk-in</td></tr>"
    totals = f"<tr><td>Subtotal</td><td>{_m(r.subtotal)}</td></tr>"
    if r.discount:
        totals += f"<tr><td>Member Discount</td><td>-{_m(r.discount)}</td></tr>"
    if r.service_charge:
        totals += f"<tr><td>Service Charge 10%</td><td>{_m(r.service_charge)}</td></tr>"
    if not r.inclusive:
        totals += f"<tr><td>GST 9%</td><td>{_m(r.gst)}</td></tr>"
    if r.rounding:
        totals += f"<tr><td>Rounding</td><td>{_m(r.rounding)}</td></tr>"
    totals += f"<tr><td><b>Total</b></td><td><b>S${_m(r.total)}</b></td></tr>"
    if r.inclusive:
        totals += f"<tr><td>GST 9% (incl.)</td><td>S${_m(r.gst)}</td></tr>"
    pays = "".join(f"<tr><td>{m}</td><td>{_m(a)}</td></tr>" for m, a in r.payments)
    pays += f"<tr><td>Change</td><td>{_m(r.change)}</td></tr>"
    refund = f"<tr><td>Refund of:</td><td>{r.refund_of}</td></tr>" if r.refund_of else ""
    title = "REPRINT - Tax Invoice" if r.reprint else "Tax Invoice"
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><style>td{{padding:2px 6px}}</style>{extra_head}</head>
<body><h2>EXAMPLE HAIR STUDIO</h2><p>{title}<br>GST Reg No: 201912345K<br>1 Tampines Central 5, Singapore 529508</p>
<table class="head"><tr><td>Receipt No:</td><td>{r.receipt_no}</td></tr>
<tr><td>Date:</td><td>{r.when:%d/%m/%Y %I:%M %p}</td></tr><tr><td>Outlet:</td><td>{r.outlet}</td></tr>
<tr><td>Served by:</td><td>{r.staff}</td></tr>{customer}{refund}</table>
<table class="items"><tr><th>Staff</th><th>Code</th><th>Item</th><th>Type</th><th>Qty</th><th>Price</th><th>Disc</th>
<th>Amount</th></tr>{rows}</table>
<table class="totals">{totals}</table><table class="payments"><tr><th>Paid By</th><th>Amount</th></tr>{pays}</table>
<p>Packages: 5-working-day cooling-off period. Thank you for visiting!</p></body></html>"""


def render_text(r: Receipt) -> str:
    out = ["EXAMPLE HAIR STUDIO" + ("  (REPRINT)" if r.reprint else ""), "GST Reg No: 201912345K",
           f"Outlet: {r.outlet}", f"Receipt No: {r.receipt_no}    Date: {r.when:%d-%m-%Y %I:%M %p}"]
    if r.customer_code or r.customer_name:
        out.append(f"Customer: {r.customer_code} {r.customer_name}".rstrip())
        if r.mobile:
            out.append(f"Mobile: {r.mobile}")
        if r.email:
            out.append(f"Email: {r.email}")
    else:
        out.append("Customer: Walk-in")
    if r.refund_of:
        out.append(f"Refund of receipt: {r.refund_of}")
    out.append(f"{'Staff':<16}  {'Item':<44}  {'Qty':>3}  {'Amount':>10}")
    for ln in r.lines:
        name = ln.name if ln.type != "P" else f"{ln.name} (product)"
        out.append(f"{ln.staff:<16}  {name:<44}  {ln.qty:>3}  {_m(ln.amount):>10}")
    out.append(f"{'':<16}  {'Subtotal':<44}  {'':>3}  {_m(r.subtotal):>10}")
    if r.discount:
        out.append(f"{'':<16}  {'Member 10% off services':<44}  {'':>3}  {'-' + _m(r.discount):>10}")
    if r.rounding:
        out.append(f"Rounding  {_m(r.rounding)}")
    out.append(f"Total (incl. GST)  S${_m(r.total)}")
    out.append(f"GST 9% included  S${_m(r.gst)}")
    out.append(" | ".join(f"{m} {_m(a)}" for m, a in r.payments) + f" | Change {_m(r.change)}")
    out.append("Thank you! Packages have a 5-working-day cooling-off period.")
    return "\n".join(out) + "\n"


def render_pdf(r: Receipt) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format=(148, 210))  # A5, in mm
    pdf.add_page()
    pdf.set_font("helvetica", size=9)

    def line(text: str) -> None:
        pdf.cell(0, 5, text, new_x="LMARGIN", new_y="NEXT")

    line("SERENITY HOTEL SPA by Example Hair Studio" + (" - REPRINT" if r.reprint else ""))
    line("GST Reg No: 201912345K   TAX INVOICE")
    line(f"Branch: {r.outlet}")
    line(f"Invoice No: {r.receipt_no}")
    line(f"Date/Time: {r.when:%d/%m/%Y %H:%M}")
    if r.customer_code:
        line(f"Member: {r.customer_code} / {r.customer_name}")
    if r.mobile:
        line(f"Tel: {r.mobile}")
    if r.refund_of:
        line(f"Original Invoice: {r.refund_of}")
    line("Code Description Qty Price Amount Therapist")
    for ln in r.lines:
        line(f"{ln.code} {ln.name} {ln.qty} {_m(ln.unit)} {_m(ln.amount)} {ln.staff}")
    line("----")
    line(f"Sub Total {_m(r.subtotal)}")
    if r.discount:
        line(f"Discount ({_m(r.discount)})")
    line(f"Service Charge 10% {_m(r.service_charge)}")
    line(f"GST 9% {_m(r.gst)}")
    if r.rounding:
        line(f"Rounding {_m(r.rounding)}")
    line(f"Grand Total SGD {_m(r.total)}")
    for method, amount in r.payments:
        line(f"Payment: {method} {_m(amount)}")
    line(f"Change Due {_m(r.change)}")
    return bytes(pdf.output())


def to_eml(r: Receipt, layout: str, *, message_id: str | None = None, sender: str = SENDER,
           subject: str | None = None, charset: str = "utf-8", cte: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"WESS Receipts <{sender}>"
    msg["To"] = "frontdesk@salon.test"
    msg["Subject"] = subject or f"Your receipt {r.receipt_no} from Example Hair Studio"
    msg["Date"] = format_datetime(r.when)
    msg["Message-ID"] = message_id or make_msgid(domain="wess.example")
    if layout == "html":
        msg.set_content("This receipt is best viewed as HTML.", charset=charset)
        msg.add_alternative(render_html(r), subtype="html", charset=charset, cte=cte)
    elif layout == "text":
        msg.set_content(render_text(r), charset=charset, cte=cte)
    elif layout == "pdf":
        msg.set_content("Dear guest, please find your tax invoice attached.", charset=charset)
        msg.add_attachment(render_pdf(r), maintype="application", subtype="pdf", filename=f"{r.receipt_no}.pdf")
    else:
        raise ValueError(layout)
    return bytes(msg)


def corpus(count: int, *, seed: int = 1, members: list[tuple[str, str, str, str]] | None = None,
           layouts: tuple[str, ...] = ("html", "text", "pdf"), start: int = 1) -> list[tuple[Receipt, bytes]]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        layout = layouts[i % len(layouts)]
        member = rng.choice(members) if members and rng.random() < 0.85 else None
        receipt = make_receipt(rng, start + i, member=member, inclusive=layout != "pdf",
                               service_charge=layout == "pdf", redemption=rng.random() < 0.15)
        out.append((receipt, to_eml(receipt, layout)))
    return out


__all__ = ["Line", "Receipt", "corpus", "make_receipt", "refund_of", "render_html", "render_pdf", "render_text",
           "replace", "settle", "to_eml"]
