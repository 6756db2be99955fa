"""The managers' review list and the receptionists' receipts-waiting list: reading what stopped and deciding.

Decisions (each audited in `audit_log`, none of them deletes anything):
- link: attach the receipt to a member (the one on screen, from the receipts-waiting list) and record it;
- accept: a manager's PIN, corrections to printed fields if any, and optionally "accept the figures as printed";
  the receipt is then checked again and recorded;
- keep counter sale: the receipt was keyed at the counter with differences; the counter sale stands;
- approve refund: a manager's PIN reverses the original sale through the checkout's reversal path;
- discard: a manager's PIN and a reason; the mail stays in the table, marked discarded.
"""
from __future__ import annotations

import email
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from email import policy
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from frontdesk.domain.money import Money
from frontdesk.invoices.importer import REVIEW_LABELS, Decision, InvoiceImporter, Outcome
from frontdesk.invoices.validate import Invoice, Problem, check_arithmetic, parse_amount
from frontdesk.sales import ReversalRefused, SalesService
from frontdesk.staff.service import StaffService
from frontdesk.store.models import AuditEntry, InboundInvoice, Member
from frontdesk.store.types import utc_now

GST_RATE = Decimal("0.09")
EDITABLE_FIELDS = ("receipt_no", "outlet_code", "total", "customer_code", "customer_mobile", "customer_email")


class ReviewRefused(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))


@dataclass(frozen=True)
class ReviewItem:
    id: int
    status: str
    code: str
    label: str  # the code in words
    reason: str
    received_at: datetime
    occurred_at: datetime | None
    outlet_code: str
    receipt_no: str
    total: Money | None
    customer: str
    member_id: int | None
    member_name: str
    sale_id: int | None
    sender: str
    subject: str
    profile: str
    source: str


@dataclass(frozen=True)
class ReviewDetail:
    item: ReviewItem
    mail_text: str  # the mail as a person reads it (headers and the readable body)
    extracted: dict[str, Any]
    problems: list[str]


def _item(session: Session, row: InboundInvoice) -> ReviewItem:
    member = session.get(Member, row.member_id) if row.member_id else None
    return ReviewItem(
        id=row.id, status=row.status, code=row.review_code, label=REVIEW_LABELS.get(row.review_code, row.status),
        reason=row.reason, received_at=row.received_at, occurred_at=row.occurred_at, outlet_code=row.outlet_code,
        receipt_no=row.receipt_no,
        total=Money.from_minor(row.total_minor, row.currency) if row.total_minor is not None else None,
        customer=row.customer_label, member_id=row.member_id,
        member_name=(member.display_name if member else ""), sale_id=row.sale_id, sender=row.sender,
        subject=row.subject, profile=row.profile, source=row.source)


def mail_text(raw: bytes | None, limit: int = 20000) -> str:
    if not raw:
        return "(the mail was not kept)"
    try:
        message = email.message_from_bytes(raw, policy=policy.default)
        head = "\n".join(f"{k}: {' '.join(str(message.get(k, '')).split())}" for k in ("From", "To", "Subject",
                                                                                        "Date", "Message-ID"))
        body = message.get_body(preferencelist=("html", "plain"))
        text = body.get_content() if body is not None else ""
        if body is not None and body.get_content_type() == "text/html":
            from frontdesk.invoices.extract import html_source

            text = html_source(text).text
        names = [part.get_filename() or part.get_content_type()
                 for part in message.iter_attachments()]
        if names:
            text += "\n\nAttachments: " + ", ".join(str(n) for n in names)
        return (head + "\n\n" + text)[:limit]
    except Exception as error:  # noqa: BLE001 - the review list shows broken mail too
        return f"(the mail cannot be shown: {type(error).__name__})\n\n" + raw[:limit].decode("utf-8", "replace")


class ReviewService:
    def __init__(self, engine: Engine, importer: InvoiceImporter, checkout: SalesService,
                 staff: StaffService) -> None:
        self.engine = engine
        self.importer = importer
        self.checkout = checkout
        self.staff = staff

    # --- reading ---------------------------------------------------------------------------------------------
    def review_list(self, outlet_code: str | None = None, limit: int = 500) -> list[ReviewItem]:
        with Session(self.engine) as session:
            query = select(InboundInvoice).where(InboundInvoice.status == "review")
            if outlet_code:
                query = query.where(InboundInvoice.outlet_code == outlet_code)
            rows = session.scalars(query.order_by(InboundInvoice.received_at.desc(), InboundInvoice.id.desc())
                                   .limit(limit))
            return [_item(session, row) for row in rows]

    def receipts_waiting(self, outlet_code: str, limit: int = 30) -> list[ReviewItem]:
        """The newest WESS receipts of this outlet that name no member we could link."""
        with Session(self.engine) as session:
            rows = session.scalars(select(InboundInvoice).where(
                InboundInvoice.status == "review", InboundInvoice.review_code == "no_member",
                InboundInvoice.outlet_code == outlet_code).order_by(
                InboundInvoice.occurred_at.desc(), InboundInvoice.id.desc()).limit(limit))
            return [_item(session, row) for row in rows]

    def detail(self, invoice_id: int) -> ReviewDetail:
        with Session(self.engine) as session:
            row = session.get(InboundInvoice, invoice_id)
            if row is None:
                raise ReviewRefused({"invoice": "no such invoice mail"})
            extracted = dict(row.extracted or {})
            problems = [Problem(**p).text() for p in extracted.get("problems", [])]
            if extracted.get("fatal"):
                problems.insert(0, str(extracted["fatal"]))
            return ReviewDetail(item=_item(session, row), mail_text=mail_text(row.raw_mail), extracted=extracted,
                                problems=problems)

    # --- deciding --------------------------------------------------------------------------------------------
    def _open_row(self, invoice_id: int) -> InboundInvoice:
        with Session(self.engine) as session:
            row = session.get(InboundInvoice, invoice_id)
            if row is None:
                raise ReviewRefused({"invoice": "no such invoice mail"})
            if row.status != "review":
                raise ReviewRefused({"invoice": f"this mail is already {row.status}"})
            session.expunge(row)
            return row

    def _manager(self, manager_id: int | None, pin: str, purpose: str) -> None:
        if manager_id is None:
            raise ReviewRefused({"manager": "Pick the manager deciding this"})
        check = self.staff.check_pin(manager_id, pin, require_manager=True, purpose=purpose)
        if not check.ok:
            raise ReviewRefused({"pin": check.message})

    def _audit(self, invoice_id: int, staff_id: int | None, action: str, note: str, outcome: Outcome | None,
               **details: Any) -> None:
        with Session(self.engine) as session, session.begin():
            row = session.get(InboundInvoice, invoice_id)
            assert row is not None
            if outcome is None or outcome.status != "review":
                row.decided_by = staff_id
                row.decided_at = utc_now()
                row.decision_note = note
            session.add(AuditEntry(staff_id=staff_id, action=action, details={
                "invoice_id": invoice_id, "receipt_no": row.receipt_no, "outlet": row.outlet_code, "note": note,
                "result": outcome.status if outcome else row.status, **details}))

    def link(self, invoice_id: int, member_id: int, staff_id: int | None) -> Outcome:
        """Attach a receipt that named no one to a member (the receptionist's one key) and record it."""
        row = self._open_row(invoice_id)
        if row.review_code not in ("no_member", "staff", "checkout"):
            raise ReviewRefused({"invoice": "this receipt needs a manager's decision, not a member"})
        outcome = self.importer.decide(invoice_id, Decision(member_id=member_id,
                                                            staff_id=staff_id if row.review_code == "staff" else None))
        self._audit(invoice_id, staff_id, "invoice_link", f"linked to member {member_id}", outcome,
                    member_id=member_id)
        return outcome

    def accept(self, invoice_id: int, *, manager_id: int | None, pin: str, note: str,
               fixes: dict[str, str] | None = None, accept_figures: bool = False, member_id: int | None = None,
               staff_id: int | None = None) -> Outcome:
        if len((note or "").strip()) < 3:
            raise ReviewRefused({"note": "Say why, in a few words (it goes in the audit log)"})
        row = self._open_row(invoice_id)
        if row.review_code == "refund":
            raise ReviewRefused({"invoice": "approve a refund with “Approve refund”"})
        extracted = dict(row.extracted or {})
        if extracted.get("fatal") or "invoice" not in extracted:
            raise ReviewRefused({"invoice": "nothing could be read from this mail: key the receipt at the counter "
                                            "and discard the mail"})
        self._manager(manager_id, pin, "invoice review")
        keep_counter = row.review_code == "counter_mismatch"
        if fixes:
            self._apply_fixes(invoice_id, extracted, fixes)
        outcome = self.importer.decide(invoice_id, Decision(member_id=member_id, staff_id=staff_id,
                                                            override_checks=accept_figures,
                                                            keep_counter_sale=keep_counter))
        self._audit(invoice_id, manager_id, "invoice_accept", note.strip(), outcome, fixes=fixes or {},
                    accept_figures=accept_figures)
        return outcome

    def _apply_fixes(self, invoice_id: int, extracted: dict[str, Any], fixes: dict[str, str]) -> None:
        invoice = Invoice.from_json(extracted["invoice"])
        problems = [Problem(**p) for p in extracted.get("problems", [])]
        errors: dict[str, str] = {}
        for name, value in fixes.items():
            value = (value or "").strip()
            if name not in EDITABLE_FIELDS:
                errors[name] = "cannot be corrected here"
            elif name == "total":
                try:
                    invoice.total = parse_amount(value, invoice.currency)
                except ValueError as error:
                    errors[name] = str(error)
            else:
                setattr(invoice, name, value.upper() if name == "outlet_code" else value)
        if errors:
            raise ReviewRefused(errors)
        fixed = {"outlet": "outlet_code", "receipt_no": "receipt_no"}
        problems = [p for p in problems if fixed.get(p.field) not in fixes and p.field not in fixes]
        if "total" in fixes:
            problems = [p for p in problems if p.code not in ("arithmetic", "gst", "payments")]
            problems += check_arithmetic(invoice, GST_RATE)
        extracted["invoice"] = invoice.to_json()
        extracted["problems"] = [p.__dict__ for p in problems]
        with Session(self.engine) as session, session.begin():
            row = session.get(InboundInvoice, invoice_id)
            assert row is not None
            row.extracted = extracted
            row.receipt_no = invoice.receipt_no[:64]
            row.outlet_code = invoice.outlet_code[:32]
            row.total_minor = invoice.total_minor()

    def approve_refund(self, invoice_id: int, *, manager_id: int | None, pin: str, note: str = "") -> Outcome:
        row = self._open_row(invoice_id)
        if row.review_code != "refund" or row.sale_id is None:
            raise ReviewRefused({"invoice": "this mail is not a refund waiting for approval"})
        invoice = Invoice.from_json((row.extracted or {})["invoice"])
        amount = Money(-(invoice.total or Decimal(0)), invoice.currency)
        original = self.checkout.sale(row.sale_id)
        assert original is not None
        summary = self.checkout.quote_reversal(row.sale_id, void=False, amount=amount.plain())
        void = summary.ok and summary.left == amount and summary.refunded_before.is_zero()
        try:
            result = self.checkout.reverse(row.sale_id, void=void, amount="" if void else amount.plain(),
                                           manager_id=manager_id, manager_pin=pin,
                                           reason=note.strip() or f"WESS refund receipt {invoice.receipt_no}")
        except ReversalRefused as refused:
            raise ReviewRefused(refused.errors) from None
        outcome = self.importer.finish(invoice_id, "reversed", "", f"{result.kind} of sale #{row.sale_id}: "
                                        f"{result.reversal.points_change:+,} points",
                                        sale_id=result.reversal_sale_id)
        self._audit(invoice_id, manager_id, "invoice_refund", note or result.kind, outcome,
                    reversal_sale_id=result.reversal_sale_id)
        return outcome

    def discard(self, invoice_id: int, *, manager_id: int | None, pin: str, reason: str) -> Outcome:
        if len((reason or "").strip()) < 3:
            raise ReviewRefused({"reason": "Say why, in a few words (it goes in the audit log)"})
        row = self._open_row(invoice_id)
        self._manager(manager_id, pin, "invoice discard")
        outcome = self.importer.finish(invoice_id, "discarded", row.review_code,
                                       f"discarded: {reason.strip()} (it stopped because: {row.reason})")
        self._audit(invoice_id, manager_id, "invoice_discard", reason.strip(), outcome)
        return outcome
