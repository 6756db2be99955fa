"""The importer: one mail in, one recorded outcome out. Every mail ends queued (a sale in the outbox), matched (to
a sale keyed at the counter), duplicate, reversed (a refund a manager approved) or in review, and nothing is lost.

Order of work, so that a crash anywhere loses nothing and queues nothing twice:
1. the mail is written to `inbound_invoices` (status "received") with what was extracted, in its own transaction;
2. the sale is recorded through `SalesService.record`, the checkout's single entry point, with a draft id
   derived from the invoice row: confirming it again after a crash replays the sale already written;
3. the row gets its final status; only then does the caller mark the mail on the server (keyword or MOVE).
A mail seen again (same UID after a crash, same Message-ID, same normalised body) is recognised in step 1.

De-duplication keys: (mailbox, UIDVALIDITY, UID), Message-ID, the SHA-256 of the normalised body (all UNIQUE in
the table), then (outlet, receipt no.): the same figures are a reprint (duplicate), different figures a conflict
for a manager. A receipt already keyed at the counter is matched to that sale, with any difference flagged.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from frontdesk.config import Settings
from frontdesk.domain.money import Money
from frontdesk.invoices.extract import ExtractionFailed, Sources, choose_profile, extract
from frontdesk.invoices.mail import MailContent, header_only, read_mail
from frontdesk.invoices.profiles import Profile
from frontdesk.invoices.settings import InvoiceSettings
from frontdesk.invoices.validate import (
    Invoice,
    Problem,
    build_invoice,
    check_arithmetic,
    check_context,
)
from frontdesk.sales import LineInput, PaymentInput, SaleRefused, SaleRequest, SalesService
from frontdesk.search import SearchService
from frontdesk.store.models import InboundInvoice, OutboxEntry, Outlet, Sale, Staff
from frontdesk.store.types import utc_now

log = logging.getLogger(__name__)

MAX_STORED_MAIL = 5 * 1024 * 1024  # the review list shows the mail; beyond this only its headers are kept
FINAL = ("queued", "matched", "duplicate", "review", "discarded", "reversed")
# Review codes, in the words the review list uses.
REVIEW_LABELS = {
    "parse": "could not be read",
    "too_large": "too large",
    "no_profile": "unknown layout",
    "arithmetic": "does not add up",
    "gst": "GST does not match",
    "payments": "payments do not match",
    "date": "date out of range",
    "outlet": "unknown outlet",
    "other_outlet": "another outlet's receipt",
    "receipt_no": "bad receipt number",
    "conflict": "conflicts with an earlier copy",
    "counter_mismatch": "differs from the counter sale",
    "no_member": "no member",
    "staff": "staff not known",
    "refund": "refund to approve",
    "refund_no_original": "refund of an unknown sale",
    "checkout": "refused by the checkout",
    "balance_due": "not fully paid",
}


@dataclass(frozen=True)
class Origin:
    source: str  # imap | folder | csv
    mailbox: str = ""  # account/folder for IMAP, the file for a folder or CSV
    uidvalidity: int | None = None
    uid: int | None = None


@dataclass(frozen=True)
class Outcome:
    status: str
    invoice_id: int | None
    reason: str = ""
    review_code: str = ""
    sale_id: int | None = None
    seen_before: bool = False  # this very mail (or an identical copy) was already recorded

    @property
    def in_review(self) -> bool:
        return self.status == "review"


@dataclass
class Decision:
    """What a manager adds when accepting from the review list."""

    member_id: int | None = None
    staff_id: int | None = None
    override_checks: bool = False  # accept figures that do not add up, as printed by WESS
    keep_counter_sale: bool = False


def draft_id_for(invoice_id: int, body_sha256: str) -> str:
    return hashlib.sha256(f"invoice:{invoice_id}:{body_sha256}".encode()).hexdigest()[:32]


class InvoiceImporter:
    """Call from one thread at a time (it keeps a search connection)."""

    def __init__(self, engine: Engine, settings: Settings, invoice_settings: InvoiceSettings, profiles: list[Profile],
                 checkout: SalesService, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.engine = engine
        self.settings = settings
        self.config = invoice_settings
        self.profiles = profiles
        self.checkout = checkout
        self.search = SearchService(engine, region=settings.phone_region)
        self.clock = clock

    def close(self) -> None:
        self.search.close()

    # --- entry points --------------------------------------------------------------------------------------------
    def process_mail(self, raw: bytes, origin: Origin) -> Outcome:
        if len(raw) > self.config.max_mail_bytes:
            return self.process_oversized(raw[:65536].split(b"\r\n\r\n")[0].split(b"\n\n")[0], len(raw), origin)
        content = read_mail(raw, max_attachments=self.config.max_attachments)
        return self._process(content, raw, origin)

    def process_oversized(self, headers: bytes, size: int, origin: Origin) -> Outcome:
        content = header_only(headers, size)
        limit = self.config.max_mail_bytes // (1024 * 1024)
        content.fatal = f"the mail is {size / (1024 * 1024):.1f} MB, more than the {limit} MB limit: not opened"
        return self._process(content, headers, origin, code="too_large")

    def process_invoice(self, invoice: Invoice, origin: Origin, fingerprint: str, problems: list[Problem]) -> Outcome:
        """A receipt that did not come as a mail (a WESS CSV export row): same checks, same recording."""
        with Session(self.engine) as session, session.begin():
            existing = session.scalar(select(InboundInvoice).where(InboundInvoice.body_sha256 == fingerprint))
            if existing is not None:
                if existing.status != "received":
                    return _seen(existing, repeat=True)
                row_id = existing.id
            else:
                row = InboundInvoice(source=origin.source, message_id=None, body_sha256=fingerprint,
                                     mailbox=origin.mailbox, profile=invoice.profile, status="received",
                                     extracted={"invoice": invoice.to_json(), "problems": [p.__dict__ for p in problems],
                                                "notes": [], "trace": None},
                                     **_summary_columns(invoice))
                session.add(row)
                session.flush()
                row_id = row.id
        return self.decide(row_id)

    def resume_unfinished(self) -> list[Outcome]:
        """Rows a crash left between recording and deciding."""
        with Session(self.engine) as session:
            ids = list(session.scalars(select(InboundInvoice.id).where(InboundInvoice.status == "received")))
        return [self.decide(i) for i in ids]

    # --- step 1: record the mail -----------------------------------------------------------------------------
    def _process(self, content: MailContent, raw: bytes, origin: Origin, code: str = "") -> Outcome:
        fingerprint = content.fingerprint()
        seen = self._seen_before(content, fingerprint, origin)
        if isinstance(seen, Outcome):
            return seen
        if seen is None:
            with Session(self.engine) as session:
                outlet_names = self._outlet_names(session)
            row = self._extract(content, raw, origin, fingerprint, code, outlet_names)
            try:
                with Session(self.engine) as session, session.begin():
                    session.add(row)
                    session.flush()
                    seen = row.id
            except IntegrityError:  # another reader recorded the same mail meanwhile
                again = self._seen_before(content, fingerprint, origin)
                if isinstance(again, Outcome) or again is None:
                    return again or Outcome("duplicate", None, "recorded concurrently", seen_before=True)
                seen = again
        return self.decide(seen)

    def _seen_before(self, content: MailContent, fingerprint: str, origin: Origin) -> Outcome | int | None:
        """The outcome when this mail was already recorded, the row id when it was recorded but not decided
        (a crash), None when it is new."""
        with Session(self.engine) as session, session.begin():
            existing = self._find_existing(session, content, fingerprint, origin)
            if existing is None:
                return None
            if existing.status == "received":
                return existing.id
            same_uid = (origin.uid is not None and existing.uid == origin.uid
                        and existing.uidvalidity == origin.uidvalidity and existing.mailbox == origin.mailbox)
            if not same_uid:
                existing.seen_count += 1
            return _seen(existing, repeat=not same_uid)

    def _find_existing(self, session: Session, content: MailContent, fingerprint: str,
                       origin: Origin) -> InboundInvoice | None:
        if origin.uid is not None:
            row = session.scalar(select(InboundInvoice).where(
                InboundInvoice.mailbox == origin.mailbox, InboundInvoice.uidvalidity == origin.uidvalidity,
                InboundInvoice.uid == origin.uid))
            if row is not None:
                return row
        if content.message_id:
            row = session.scalar(select(InboundInvoice).where(InboundInvoice.message_id == content.message_id))
            if row is not None and row.body_sha256 == fingerprint:
                return row
            if row is not None:
                # Another mail under a Message-ID already seen (a sender reusing IDs): not a resend. It is read
                # like any new mail and recorded without the Message-ID, which stays the first mail's.
                content.notes.append(f"its Message-ID was already used by invoice mail #{row.id}; the contents "
                                     "differ, so it is read as a new mail")
                content.message_id = ""
        return session.scalar(select(InboundInvoice).where(InboundInvoice.body_sha256 == fingerprint))

    def _extract(self, content: MailContent, raw: bytes, origin: Origin, fingerprint: str, code: str,
                 outlet_names: dict[str, str]) -> InboundInvoice:
        extracted: dict[str, Any] = {"notes": content.notes, "attachments": content.attachments}
        invoice: Invoice | None = None
        problems: list[Problem] = []
        profile_name = ""
        if content.fatal:
            extracted["fatal"] = content.fatal
            extracted["fatal_code"] = code or "parse"
        else:
            sources = Sources(content, self.config.max_pdf_pages)
            try:
                profile, reasons = choose_profile(self.profiles, content, sources)
                extracted["profiles_tried"] = reasons
                if profile is None:
                    noted = f" ({'; '.join(content.notes)})" if content.notes else ""
                    extracted["fatal"] = f"no layout profile fits this mail{noted}: " + "; ".join(
                        f"{name}: {why}" for name, why in reasons.items())
                    extracted["fatal_code"] = "no_profile"
                else:
                    profile_name = profile.name
                    extraction = extract(profile, sources)
                    extracted["trace"] = extraction.as_dict()
                    extracted["text"] = extraction.text_excerpt
                    invoice, problems = build_invoice(extraction, profile, self.settings.phone_region)
                    problems += check_arithmetic(invoice, profile.gst_rate)
                    problems += check_context(invoice, profile, now=self.clock(),
                                              window_days=self.config.window_days,
                                              outlet_names=outlet_names)
            except ExtractionFailed as error:
                extracted["fatal"] = str(error)
                extracted["fatal_code"] = "parse"
            except Exception as error:  # noqa: BLE001 - a bug or a parser crash on hostile input must not stop the
                # importer: the mail goes to review with the reason, the next mail is read.
                log.exception("extraction failed")
                extracted["fatal"] = f"the mail could not be read ({type(error).__name__}: {str(error)[:200]})"
                extracted["fatal_code"] = "parse"
        if invoice is not None:
            extracted["invoice"] = invoice.to_json()
            extracted["problems"] = [p.__dict__ for p in problems]
        stored = raw if len(raw) <= MAX_STORED_MAIL else raw[:65536]
        row = InboundInvoice(
            source=origin.source, message_id=content.message_id or None, body_sha256=fingerprint,
            mailbox=origin.mailbox, uidvalidity=origin.uidvalidity, uid=origin.uid, profile=profile_name,
            extracted=extracted, status="received", sender=content.sender[:255], subject=content.subject[:255],
            raw_mail=stored, raw_size=content.size or len(raw),
            **(_summary_columns(invoice) if invoice is not None else {}))
        return row

    def _outlet_names(self, session: Session) -> dict[str, str]:
        names: dict[str, str] = {}
        for outlet in session.scalars(select(Outlet)):
            names[outlet.code.casefold()] = outlet.code
            names[" ".join(outlet.name.split()).casefold()] = outlet.code
        return names

    # --- steps 2 and 3: decide -----------------------------------------------------------------------------------
    def decide(self, invoice_id: int, decision: Decision | None = None) -> Outcome:
        decision = decision or Decision()
        with Session(self.engine) as session:
            row = session.get(InboundInvoice, invoice_id)
            assert row is not None
            extracted = dict(row.extracted or {})
            body = row.body_sha256
        draft_id = draft_id_for(invoice_id, body)
        if extracted.get("fatal"):
            return self.finish(invoice_id, "review", extracted.get("fatal_code") or "parse", extracted["fatal"])
        invoice = Invoice.from_json(extracted["invoice"])
        problems = [Problem(**p) for p in extracted.get("problems", [])]
        with Session(self.engine) as session:
            replay = session.scalar(select(OutboxEntry.sale_id).where(OutboxEntry.idempotency_key == draft_id))
        if replay is not None:  # a crash came between recording the sale and deciding the row
            return self.finish(invoice_id, "queued", "", "", sale_id=replay)
        if decision.override_checks:
            problems = [p for p in problems if p.code not in ("arithmetic", "gst", "payments", "date")]
        if problems:
            first = problems[0]
            return self.finish(invoice_id, "review", first.code, "; ".join(p.text() for p in problems))
        with Session(self.engine) as session:
            verdict = self._against_earlier(session, invoice_id, invoice)
        if verdict is not None:
            status, code, reason, related, sale_id = verdict
            return self.finish(invoice_id, status, code, reason, related=related, sale_id=sale_id)
        if invoice.is_refund:
            return self._refund(invoice_id, invoice)
        if invoice.outlet_code not in self.config.outlets:
            return self.finish(invoice_id, "review", "other_outlet",
                                f"receipt of outlet {invoice.outlet_code}: this counter records "
                                f"{', '.join(self.config.outlets)}")
        counter = self._counter_sale(invoice)
        if counter is not None:
            return self._match(invoice_id, invoice, counter, decision)
        if invoice.balance_due > 0:
            return self.finish(invoice_id, "review", "balance_due",
                                f"{invoice.balance_due} is still due: record it once the ticket is paid")
        member_id, why = (decision.member_id, "") if decision.member_id else self._link_member(invoice)
        if member_id is None:
            return self.finish(invoice_id, "review", "no_member", why)
        staff_id, why = (decision.staff_id, "") if decision.staff_id else self._staff_for(invoice)
        if staff_id is None:
            return self.finish(invoice_id, "review", "staff", why, member_id=member_id)
        draft = draft_from_invoice(invoice, member_id=member_id, staff_id=staff_id, draft_id=draft_id)
        if isinstance(draft, str):
            return self.finish(invoice_id, "review", "checkout", draft, member_id=member_id)
        try:
            confirmed = self.checkout.record(draft)
        except SaleRefused as refused:
            reason = "; ".join(f"{k}: {v}" for k, v in refused.quote.errors.items())
            return self.finish(invoice_id, "review", "checkout", reason, member_id=member_id)
        return self.finish(invoice_id, "queued", "", f"{confirmed.points_earned:+,} points",
                            sale_id=confirmed.sale_id, member_id=member_id)

    def finish(self, invoice_id: int, status: str, code: str, reason: str, *, sale_id: int | None = None,
                member_id: int | None = None, related: int | None = None) -> Outcome:
        with Session(self.engine) as session, session.begin():
            row = session.get(InboundInvoice, invoice_id)
            assert row is not None
            row.status = status
            row.review_code = code
            row.reason = reason[:4000]
            if sale_id is not None:
                row.sale_id = sale_id
            if member_id is not None:
                row.member_id = member_id
            if related is not None:
                row.related_invoice_id = related
        if status == "review":
            log.info("invoice %s in review (%s): %s", invoice_id, code, reason[:200])
        return Outcome(status=status, invoice_id=invoice_id, reason=reason, review_code=code, sale_id=sale_id)

    def _against_earlier(self, session: Session, invoice_id: int, invoice: Invoice
                         ) -> tuple[str, str, str, int, int | None] | None:
        """Another copy of the same receipt (same outlet and number, same sign): a reprint, or a conflict."""
        rows = session.scalars(select(InboundInvoice).where(
            InboundInvoice.id != invoice_id, InboundInvoice.outlet_code == invoice.outlet_code,
            InboundInvoice.receipt_no == invoice.receipt_no,
            InboundInvoice.status.in_(("queued", "matched", "reversed", "review", "received")),
            InboundInvoice.id < invoice_id).order_by(InboundInvoice.id)).all()
        for other in rows:
            data = (other.extracted or {}).get("invoice")
            if not data:
                continue
            earlier = Invoice.from_json(data)
            if earlier.is_refund != invoice.is_refund:
                continue
            same = (earlier.total == invoice.total if "wess-csv" in (earlier.profile, invoice.profile)
                    else earlier.figures() == invoice.figures())  # the CSV export has no GST or payments
            if same:
                return ("duplicate", "", f"a copy of invoice #{other.id} ({other.status})", other.id, other.sale_id)
            if other.review_code == "conflict":
                continue
            differences = _differences(earlier, invoice)
            return ("review", "conflict", f"receipt {invoice.receipt_no} came before (invoice #{other.id}) with "
                    f"other figures: {differences}. Nothing was overwritten.", other.id, None)
        return None

    def _counter_sale(self, invoice: Invoice) -> Sale | None:
        with Session(self.engine) as session:
            return session.scalar(select(Sale).where(Sale.kind == "sale", Sale.outlet_code == invoice.outlet_code,
                                                     Sale.receipt_no == invoice.receipt_no))

    def _match(self, invoice_id: int, invoice: Invoice, sale: Sale, decision: Decision) -> Outcome:
        differences = []
        total = invoice.total_minor()
        if total != sale.total_minor:
            differences.append(f"total {Money.from_minor(total or 0, invoice.currency).display()} by mail, "
                               f"{Money.from_minor(sale.total_minor, sale.currency).display()} at the counter")
        member_id, _why = self._link_member(invoice)
        if member_id is not None and sale.member_id is not None and member_id != sale.member_id:
            differences.append("the invoice names another member than the counter sale")
        if invoice.occurred_at and abs((invoice.occurred_at - sale.occurred_at).total_seconds()) > 12 * 3600:
            differences.append("the dates differ by more than 12 hours")
        if differences and not decision.keep_counter_sale:
            return self.finish(invoice_id, "review", "counter_mismatch",
                                f"receipt {invoice.receipt_no} was keyed at the counter (sale #{sale.id}); "
                                + "; ".join(differences), sale_id=sale.id)
        return self.finish(invoice_id, "matched", "", f"keyed at the counter as sale #{sale.id}", sale_id=sale.id,
                            member_id=sale.member_id)

    def _refund(self, invoice_id: int, invoice: Invoice) -> Outcome:
        original_no = invoice.refund_of or invoice.receipt_no
        with Session(self.engine) as session:
            original = session.scalar(select(Sale).where(Sale.kind == "sale", Sale.outlet_code == invoice.outlet_code,
                                                         Sale.receipt_no == original_no))
        if original is None:
            return self.finish(invoice_id, "review", "refund_no_original",
                                f"a refund of receipt {original_no}, which this counter has not recorded")
        amount = Money(-(invoice.total or Decimal(0)), invoice.currency)
        quote = self.checkout.quote_reversal(original.id, void=False, amount=amount.plain())
        effect = (f"{quote.reversal.points_change:+,} points" if quote.reversal is not None
                  else "; ".join(quote.errors.values()))
        return self.finish(invoice_id, "review", "refund",
                            f"refund of {amount.display()} on receipt {original_no} (sale #{original.id}): {effect}. "
                            "A manager approves it with a PIN, as at the counter.", sale_id=original.id)

    # --- linking ---------------------------------------------------------------------------------------------
    def _link_member(self, invoice: Invoice) -> tuple[int | None, str]:
        found: dict[str, list[int]] = {}
        if invoice.customer_code:
            found["member code"] = [h.id for h in self.search.by_member_no(invoice.customer_code)]
        if invoice.customer_mobile.startswith("+"):
            found["mobile"] = [h.id for h in self.search.by_phone(invoice.customer_mobile)]
        if invoice.customer_email:
            found["email"] = [h.id for h in self.search.by_email(invoice.customer_email)]
        if not found:
            who = invoice.customer_name or "a walk-in customer"
            return None, f"the receipt names no member code, mobile or email ({who}): attach it to the member"
        unique = {ids[0] for ids in found.values() if len(ids) == 1}
        if len(unique) > 1:
            return None, "the member code, mobile and email on the receipt point to different members"
        if len(unique) == 1:
            return unique.pop(), ""
        shared = [f"{len(ids)} members share the {kind}" for kind, ids in found.items() if len(ids) > 1]
        if shared:
            return None, "; ".join(shared) + ": pick the member (a shared phone is never picked automatically)"
        return None, "no member has the " + " or ".join(found) + " on the receipt"

    def _staff_for(self, invoice: Invoice) -> tuple[int | None, str]:
        names = [invoice.staff] + [line.staff for line in invoice.lines]
        with Session(self.engine) as session:
            staff = list(session.scalars(select(Staff).where(Staff.active.is_(True))))
            for printed in names:
                printed = printed.split("(")[0].strip().casefold()
                if not printed:
                    continue
                for row in staff:
                    if printed in (row.code.casefold(), row.name.casefold()):
                        return row.id, ""
                first = [row for row in staff if row.name.split()[0].casefold() == printed.split()[0]]
                if len(first) == 1:
                    return first[0].id, ""
            if self.config.default_staff:
                default = session.scalar(select(Staff).where(func.lower(Staff.code) == self.config.default_staff.lower()))
                if default is not None:
                    return default.id, ""
        printed_names = ", ".join(n for n in names if n) or "nobody"
        return None, f"the receipt names {printed_names}, not one of this counter's staff"


def _seen(row: InboundInvoice, *, repeat: bool) -> Outcome:
    status = "duplicate" if repeat else row.status
    return Outcome(status=status, invoice_id=row.id, reason=f"already recorded as invoice #{row.id} ({row.status})",
                   review_code=row.review_code if status == "review" else "", sale_id=row.sale_id, seen_before=True)


def _summary_columns(invoice: Invoice) -> dict[str, Any]:
    label = invoice.customer_name or invoice.customer_code or invoice.customer_mobile or invoice.customer_email
    return {"outlet_code": invoice.outlet_code or invoice.outlet_printed[:32], "receipt_no": invoice.receipt_no[:64],
            "occurred_at": invoice.occurred_at, "currency": invoice.currency, "total_minor": invoice.total_minor(),
            "customer_label": label[:200]}


def _differences(a: Invoice, b: Invoice) -> str:
    out = []
    for name in ("total", "subtotal", "discount", "service_charge", "gst", "rounding"):
        if getattr(a, name) != getattr(b, name):
            out.append(f"{name.replace('_', ' ')} {getattr(a, name)} then, {getattr(b, name)} now")
    if len(a.lines) != len(b.lines) or any(x.amount != y.amount or x.name != y.name for x, y in zip(a.lines, b.lines)):
        out.append("the item lines differ")
    if a.occurred_at != b.occurred_at:
        out.append("the date differs")
    if (a.customer_code, a.customer_mobile) != (b.customer_code, b.customer_mobile):
        out.append("the customer differs")
    return "; ".join(out) or "other details differ"


# --- from a checked receipt to the checkout's draft --------------------------------------------------------------
def _spread(amount: int, weights: list[int]) -> list[int] | None:
    """Split `amount` (minor units, ≥ 0) over the lines in proportion to `weights`, largest remainder first."""
    total = sum(weights)
    if amount == 0:
        return [0] * len(weights)
    if total <= 0:
        return None
    shares = [amount * w // total for w in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % total), i))
    for i in remainders[: amount - sum(shares)]:
        shares[i] += 1
    return shares


def draft_from_invoice(invoice: Invoice, *, member_id: int, staff_id: int, draft_id: str) -> SaleRequest | str:
    """The checkout draft a receptionist would key for this receipt. Bill discounts, negative lines and cash
    rounding down become line discounts; exclusive GST and service charge (and rounding up) are spread over the
    lines as tax and service charge, in proportion to each line's amount; inclusive GST stays inside the prices as
    printed. Returns the reason when the receipt cannot be expressed as a sale."""
    currency = invoice.currency

    def minor(value: Decimal) -> int:
        return Money(value, currency).minor

    def plain(value: int) -> str:
        return Money.from_minor(value, currency).plain()

    rows = []  # (line, qty, unit minor, line discount minor, net minor)
    pool = minor(invoice.discount)
    for line in invoice.lines:
        amount = minor(line.amount)
        if amount < 0:
            pool += -amount
            continue
        qty, unit, disc = line.qty, None, 0
        if line.unit_price is not None and line.qty * line.unit_price - line.discount == line.amount:
            unit, disc = minor(line.unit_price), minor(line.discount)
        elif qty > 0 and amount % qty == 0:
            unit = amount // qty
        else:
            qty, unit = 1, amount
        rows.append((line, qty, unit, disc, amount))
    if not rows:
        return "the receipt has no item with a price"
    rounding = minor(invoice.rounding)
    if rounding < 0:
        pool += -rounding
    weights = [net for *_rest, net in rows]
    extra_discount = _spread(pool, weights)
    if extra_discount is None:
        return "a discount on a bill whose items are all 0.00"
    nets = [net - d for net, d in zip(weights, extra_discount)]
    tax = _spread(0 if invoice.gst_inclusive else minor(invoice.gst), nets)
    service = _spread(minor(invoice.service_charge) + max(0, rounding), nets)
    if tax is None or service is None:
        return "GST or service charge on a bill whose items are all 0.00 after discounts"
    lines = []
    for (line, qty, unit, disc, _net), more, t, s in zip(rows, extra_discount, tax, service):
        name = line.name if qty == line.qty else f"{line.qty} × {line.name}"
        lines.append(LineInput(name=name[:200], sku=line.code[:64], category=line.category[:64], quantity=str(qty),
                               unit_price=plain(unit), tax=plain(t) if t else "", service_charge=plain(s) if s else "",
                               discount=plain(disc + more) if disc + more else ""))
    computed = sum(n + t + s for n, t, s in zip(nets, tax, service))
    if computed != invoice.total_minor():
        return (f"the lines come to {plain(computed)} after discounts, GST and service charge, not the total "
                f"{invoice.total}")
    payments = []
    change = minor(invoice.change)
    tenders = [(p.tender, minor(p.amount), p.printed) for p in invoice.payments if p.amount]
    unmapped = [printed for tender, _a, printed in tenders if tender is None]
    if unmapped:
        return f"payment “{unmapped[0]}” is not mapped to cash, card, NETS or voucher in the layout profile"
    if change:
        cash = [i for i, (tender, _a, _p) in enumerate(tenders) if tender == "cash"]
        index = cash[0] if cash else len(tenders) - 1
        tender, amount, printed = tenders[index]
        if amount - change <= 0:
            return "the change is more than the payment it was given from"
        tenders[index] = (tender, amount - change, printed)
    for tender, amount, printed in tenders:
        payments.append(PaymentInput(method=str(tender), amount=plain(amount), reference=printed[:100]))
    return SaleRequest(member_id=member_id, staff_id=staff_id, receipt_no=invoice.receipt_no,
                         occurred_at=invoice.occurred_at, itemised=True, lines=tuple(lines),
                         payments=tuple(payments), draft_id=draft_id, sales_mode="invoice_mail",
                         outlet_code=invoice.outlet_code)


__all__ = ["Decision", "FINAL", "InvoiceImporter", "Origin", "Outcome", "REVIEW_LABELS", "draft_from_invoice",
           "draft_id_for"]
