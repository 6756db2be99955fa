"""From extracted text to a checked receipt: typed values (Decimal money, aware datetimes, E.164 phones) and every
rule a WESS receipt must satisfy before it may earn points.

Rules (see the reference notes on Singapore receipts):
- each line: qty × unit price − discount = amount, when the unit price is printed;
- Σ line amounts = subtotal; subtotal − discount + service charge + GST (when exclusive) + rounding = total;
- GST within a cent per line: exclusive GST = (subtotal − discount + service charge) × rate, inclusive GST =
  (total − rounding) × rate / (1 + rate);
- payments − change (+ balance due) = total; a prepaid/package redemption line is 0.00 and earns nothing;
- the date is not in the future and within the configured window; the outlet is known; the receipt number has the
  expected shape. A negative total is a refund: it must reverse an original sale, never become a purchase.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from frontdesk.domain import phone as phones
from frontdesk.domain.money import Money, MoneyError
from frontdesk.invoices.extract import Extraction
from frontdesk.invoices.profiles import Profile

CENT = Decimal("0.01")
FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class Problem:
    field: str
    message: str
    code: str  # parse | arithmetic | gst | payments | date | outlet | receipt_no

    def text(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass
class InvoiceLine:
    name: str
    amount: Decimal
    code: str = ""
    kind: str = "service"  # service | product | package | redemption
    category: str = ""
    staff: str = ""
    qty: int = 1
    unit_price: Decimal | None = None
    discount: Decimal = Decimal(0)


@dataclass
class InvoicePayment:
    printed: str
    tender: str | None  # cash | card | nets | voucher; None when the profile does not map the printed name
    amount: Decimal


@dataclass
class Invoice:
    profile: str
    currency: str
    receipt_no: str = ""
    outlet_printed: str = ""
    outlet_code: str = ""
    occurred_at: datetime | None = None
    staff: str = ""
    customer_name: str = ""
    customer_code: str = ""
    customer_mobile: str = ""  # E.164 when it normalised, else as printed
    customer_email: str = ""
    lines: list[InvoiceLine] = field(default_factory=list)
    subtotal: Decimal | None = None
    discount: Decimal = Decimal(0)
    service_charge: Decimal = Decimal(0)
    gst: Decimal = Decimal(0)
    gst_inclusive: bool = False
    rounding: Decimal = Decimal(0)
    total: Decimal | None = None
    payments: list[InvoicePayment] = field(default_factory=list)
    change: Decimal = Decimal(0)
    balance_due: Decimal = Decimal(0)
    refund_of: str = ""

    @property
    def is_refund(self) -> bool:
        return self.total is not None and self.total < 0

    @property
    def names_customer(self) -> bool:
        return bool(self.customer_code or self.customer_mobile or self.customer_email)

    def total_minor(self) -> int | None:
        return Money(self.total, self.currency).minor if self.total is not None else None

    def figures(self) -> tuple[Any, ...]:
        """What must be identical for two copies to be the same receipt (a reprint), not a conflict."""
        return (self.total, self.subtotal, self.discount, self.service_charge, self.gst, self.rounding,
                tuple((ln.code, ln.name.casefold(), ln.qty, ln.amount) for ln in self.lines),
                self.occurred_at.replace(second=0, microsecond=0) if self.occurred_at else None,
                self.customer_code.casefold(), self.customer_mobile)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)

        def plain(value: Any) -> Any:
            if isinstance(value, Decimal):
                return str(value)
            if isinstance(value, datetime):
                return value.isoformat()
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list):
                return [plain(v) for v in value]
            return value

        return plain(data)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Invoice:
        def dec(value: Any) -> Decimal | None:
            return Decimal(value) if value is not None else None

        lines = [InvoiceLine(name=ln["name"], amount=Decimal(ln["amount"]), code=ln["code"], kind=ln["kind"],
                             category=ln["category"], staff=ln["staff"], qty=int(ln["qty"]),
                             unit_price=dec(ln["unit_price"]), discount=Decimal(ln["discount"]))
                 for ln in data.get("lines", [])]
        payments = [InvoicePayment(p["printed"], p["tender"], Decimal(p["amount"])) for p in data.get("payments", [])]
        occurred = datetime.fromisoformat(data["occurred_at"]) if data.get("occurred_at") else None
        simple = {k: data[k] for k in ("profile", "currency", "receipt_no", "outlet_printed", "outlet_code", "staff",
                                       "customer_name", "customer_code", "customer_mobile", "customer_email",
                                       "gst_inclusive", "refund_of") if k in data}
        return cls(**simple, occurred_at=occurred, lines=lines, payments=payments, subtotal=dec(data.get("subtotal")),
                   discount=Decimal(data.get("discount", "0")), service_charge=Decimal(data.get("service_charge", "0")),
                   gst=Decimal(data.get("gst", "0")), rounding=Decimal(data.get("rounding", "0")),
                   total=dec(data.get("total")), change=Decimal(data.get("change", "0")),
                   balance_due=Decimal(data.get("balance_due", "0")))


# --- parsing -------------------------------------------------------------------------------------------------
def parse_amount(text: str, currency: str) -> Decimal:
    cleaned = text.strip()
    trailing_minus = cleaned.endswith("-") and not cleaned.startswith("-")
    if trailing_minus:
        cleaned = cleaned[:-1]
    cleaned = cleaned.replace("−", "-").replace("S $", "S$")
    if cleaned.startswith("-") and len(cleaned) > 1 and not cleaned[1].isdigit():
        cleaned = "-" + cleaned[1:].lstrip().lstrip("S$").lstrip("SGD").lstrip("$").strip()  # "-S$18.80"
    value = Money.parse(cleaned, currency).amount
    return -value if trailing_minus else value


def parse_when(text: str, profile: Profile) -> datetime:
    cleaned = " ".join(text.replace(",", " ").split())
    for fmt in profile.date_formats:
        try:
            naive = datetime.strptime(cleaned, fmt)
        except ValueError:
            continue
        return naive.replace(tzinfo=profile.zone).astimezone(timezone.utc)
    raise ValueError(f"“{text[:40]}” is not a date in any of the formats {', '.join(profile.date_formats)}")


def build_invoice(extraction: Extraction, profile: Profile, region: str = "SG") -> tuple[Invoice, list[Problem]]:
    problems: list[Problem] = []
    currency = profile.currency
    invoice = Invoice(profile=profile.name, currency=currency, gst_inclusive=extraction.gst_inclusive)

    def text(name: str) -> str:
        return (extraction.value(name) or "").strip()

    def amount(name: str, required: bool = False) -> Decimal | None:
        raw = text(name)
        if not raw:
            if required:
                trace = extraction.fields.get(name)
                why = trace.error if trace else "the profile has no pattern for it"
                problems.append(Problem(name, f"not found ({why})", "parse"))
            return None
        try:
            return parse_amount(raw, currency)
        except MoneyError as error:
            problems.append(Problem(name, str(error), "parse"))
            return None

    invoice.receipt_no = text("receipt_no")
    if not invoice.receipt_no:
        problems.append(Problem("receipt_no", "not found: a receipt without a number cannot be checked for "
                                              "duplicates", "parse"))
    elif not profile.receipt_pattern.match(invoice.receipt_no):
        problems.append(Problem("receipt_no", f"“{invoice.receipt_no[:40]}” does not look like a receipt number",
                                "receipt_no"))
    when = text("date")
    if not when:
        problems.append(Problem("date", "not found", "parse"))
    else:
        try:
            invoice.occurred_at = parse_when(when, profile)
        except ValueError as error:
            problems.append(Problem("date", str(error), "parse"))
    invoice.outlet_printed = text("outlet")
    invoice.staff = text("staff")
    invoice.customer_name = text("customer_name")
    invoice.customer_code = text("customer_code")
    invoice.customer_email = text("customer_email").lower()
    mobile = text("customer_mobile")
    if mobile:
        parsed = phones.normalise(mobile, region)
        invoice.customer_mobile = parsed.e164 if parsed else mobile
    invoice.refund_of = text("refund_of")
    invoice.subtotal = amount("subtotal")
    invoice.discount = abs(amount("discount") or Decimal(0))
    invoice.service_charge = amount("service_charge") or Decimal(0)
    invoice.gst = amount("gst") or Decimal(0)
    invoice.rounding = amount("rounding") or Decimal(0)
    invoice.total = amount("total", required=True)
    invoice.change = amount("change") or Decimal(0)
    invoice.balance_due = amount("balance_due") or Decimal(0)

    if not extraction.lines:
        problems.append(Problem("lines", extraction.lines_error or "no item lines found", "parse"))
    for index, raw in enumerate(extraction.lines):
        path = f"lines[{index}]"
        name = " ".join((raw.get("name") or "").split())
        try:
            line_amount = parse_amount(raw.get("amount", ""), currency)
        except MoneyError as error:
            problems.append(Problem(f"{path}.amount", str(error), "parse"))
            continue
        qty_text = (raw.get("qty") or "1").strip()
        try:
            qty = int(Decimal(qty_text))
            if Decimal(qty_text) != qty:
                raise ValueError
        except (ArithmeticError, ValueError):
            problems.append(Problem(f"{path}.qty", f"“{qty_text[:20]}” is not a whole quantity", "parse"))
            continue
        unit_price = None
        discount = Decimal(0)
        try:
            if (raw.get("unit_price") or "").strip():
                unit_price = parse_amount(raw["unit_price"], currency)
            if (raw.get("discount") or "").strip():
                discount = abs(parse_amount(raw["discount"], currency))
        except MoneyError as error:
            problems.append(Problem(path, str(error), "parse"))
            continue
        kind = profile.kind_for(raw.get("type", ""), name)
        invoice.lines.append(InvoiceLine(
            name=name or raw.get("code", ""), amount=line_amount, code=(raw.get("code") or "").strip(), kind=kind,
            category=profile.lines.categories.get(kind, ""), staff=" ".join((raw.get("staff") or "").split()),
            qty=qty, unit_price=unit_price, discount=discount))
    for printed, value in extraction.payments:
        try:
            paid = parse_amount(value, currency)
        except MoneyError as error:
            problems.append(Problem("payments", f"{printed}: {error}", "parse"))
            continue
        invoice.payments.append(InvoicePayment(printed=" ".join(printed.split()), tender=profile.tender_for(printed),
                                               amount=paid))
    return invoice, problems


# --- checking ------------------------------------------------------------------------------------------------
def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def check_arithmetic(invoice: Invoice, gst_rate: Decimal) -> list[Problem]:
    problems: list[Problem] = []
    if invoice.total is None:
        return problems
    zero = Decimal(0)
    for index, line in enumerate(invoice.lines):
        if line.unit_price is not None and line.qty * line.unit_price - line.discount != line.amount:
            problems.append(Problem(f"lines[{index}]", f"{line.qty} × {line.unit_price} − {line.discount} is not "
                                                       f"{line.amount}", "arithmetic"))
        if line.kind == "redemption" and line.amount != zero:
            problems.append(Problem(f"lines[{index}]", f"a package redemption is 0.00, not {line.amount}",
                                    "arithmetic"))
    lines_sum = sum((line.amount for line in invoice.lines), zero)
    subtotal = invoice.subtotal if invoice.subtotal is not None else lines_sum
    if invoice.lines and lines_sum != subtotal:
        problems.append(Problem("subtotal", f"the lines add up to {lines_sum}, the receipt says {subtotal}",
                                "arithmetic"))
    exclusive_gst = zero if invoice.gst_inclusive else invoice.gst
    expected = subtotal - invoice.discount + invoice.service_charge + exclusive_gst + invoice.rounding
    if invoice.is_refund and invoice.discount and expected != invoice.total:
        expected = subtotal + invoice.discount + invoice.service_charge + exclusive_gst + invoice.rounding
    if expected != invoice.total:
        problems.append(Problem("total", f"subtotal − discount + service charge{'' if invoice.gst_inclusive else ' + GST'}"
                                         f" + rounding = {expected}, the receipt says {invoice.total}", "arithmetic"))
    tolerance = CENT * max(1, len([ln for ln in invoice.lines if ln.amount]))
    if invoice.gst or gst_rate:
        if invoice.gst_inclusive:
            gst_expected = _cents((invoice.total - invoice.rounding) * gst_rate / (1 + gst_rate))
        else:
            gst_expected = _cents((subtotal - invoice.discount + invoice.service_charge) * gst_rate)
        if abs(gst_expected - invoice.gst) > tolerance:
            mode = "included" if invoice.gst_inclusive else "on top"
            problems.append(Problem("gst", f"GST {(gst_rate * 100).normalize():f}% {mode} should be {gst_expected}, the receipt "
                                           f"says {invoice.gst}", "gst"))
    if invoice.payments:
        paid = sum((p.amount for p in invoice.payments), zero)
        if paid - invoice.change + invoice.balance_due != invoice.total:
            problems.append(Problem("payments", f"payments {paid} − change {invoice.change}"
                                                f"{f' + balance due {invoice.balance_due}' if invoice.balance_due else ''}"
                                                f" = {paid - invoice.change + invoice.balance_due}, the total is "
                                                f"{invoice.total}", "payments"))
    elif invoice.total != zero:
        problems.append(Problem("payments", "no payments found on a receipt that is not 0.00", "payments"))
    return problems


def check_context(invoice: Invoice, profile: Profile, *, now: datetime, window_days: int,
                  outlet_names: dict[str, str]) -> list[Problem]:
    """Date window and outlet. `outlet_names`: casefolded outlet code and name -> code, from the outlets table."""
    problems: list[Problem] = []
    if invoice.occurred_at is not None:
        if invoice.occurred_at - now > FUTURE_TOLERANCE:
            problems.append(Problem("date", "the receipt is dated in the future", "date"))
        elif now - invoice.occurred_at > timedelta(days=window_days):
            problems.append(Problem("date", f"the receipt is more than {window_days} days old", "date"))
    printed = " ".join(invoice.outlet_printed.split()).casefold()
    code = profile.outlets.get(printed) or outlet_names.get(printed)
    if code is None and printed:
        for name, known in outlet_names.items():
            if name and (name in printed):
                code = known
                break
    if code is None or code.casefold() not in outlet_names:
        shown = invoice.outlet_printed or "(none printed)"
        problems.append(Problem("outlet", f"outlet “{shown[:60]}” is not one of ours", "outlet"))
    else:
        invoice.outlet_code = code.upper()
    return problems
