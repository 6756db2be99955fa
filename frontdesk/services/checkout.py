"""Recording a counter sale, and voiding or refunding one: the receptionist's main job, Qt-free.

A sale goes through two calls with the same `CheckoutDraft` (what the screen holds, as typed):
- `quote(draft)`, on every edit: every problem by field path ("lines[1].quantity": "Must be at least 1"), the points
  preview with its per-line explanation, each reward/voucher/points redemption with the exact discount to key into
  WESS, and whether the payments add up. Nothing is written.
- `confirm(draft)`: the same checks again *inside* one write transaction (BEGIN IMMEDIATE), then the sale, its items,
  payments and redemptions, the pending ledger entries (earn +, redeem −), the vouchers marked used and the outbox
  entry, all committed together or not at all.

Never twice. `draft.draft_id` (uuid4 hex, made when the screen opens) is the outbox idempotency key: confirming the
same draft again (double click, a retry after an error) returns the sale already written. A *different* draft with a
receipt number already recorded at this outlet is refused with the earlier sale described; the partial unique index
`uq_sales_outlet_receipt_sale` backs the in-transaction check up should anything slip past it.

Points the member can spend ("available") are the cached server balance plus this counter's pending ledger entries
(`MemberProfile.available_points`): burns made here but not yet confirmed cannot be spent twice, and the outbox
delivers one member's effects in order, so the server sees an earlier earn before a later burn. While the loyalty
server cannot be reached (`is_online()` is False) a redemption is still allowed, but only up to
`settings.offline_redeem_allowance_points` per member counting this counter's earlier unconfirmed offline burns, and
the sale and its redemptions are marked provisional: the server decides at sync.

Money arithmetic:
- bill = Σ lines (quantity × unit price − line discount + tax + service charge), as printed by WESS before rewards;
- rewards and vouchers are discounts on the bill, quoted in order on what is left of it (each is one amount to key
  into WESS); the engine spreads them over the lines before computing points, so discounted spend earns nothing;
- total = bill − discounts: what the customer pays, all tenders together; points-as-money is one tender of it
  (method "points"); cash, card, NETS and vouchers must add up to the rest to the cent.
Tax is taken as entered; a discount keyed into WESS may make WESS recompute GST, so key the discount first and
enter the receipt as WESS prints it when exactness to the cent matters.

Reversals (`quote_reversal`, `reverse`): a manager's PIN (checked with the staff lockout) approves a void (everything
left of the sale) or a partial refund (an amount). The engine's `reverse_sale` decides the points: a void reverses
exactly; a refund claws back pro rata, rounding down, cumulatively over earlier refunds (see the engine's
`reversal.py`). A reversal is a `sales` row of kind void/refund linked by `original_sale_id`, whose `points_earned`
holds the points it gives back (restored redemptions) and `points_redeemed` the points it takes (clawed-back
earnings), so a statement reads "+1,000 −68". Ledger: 'restore' +R, 'clawback' −C, and when the member has already
spent what is clawed back, a 'shortfall' +S row: the part of the clawback the balance could not cover. The three sum
to the balance's actual change, and the shortfall stays visible instead of a silent negative balance.
"""
from __future__ import annotations

import json
import re
import textwrap
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from frontdesk.config import Settings
from frontdesk.domain import phone as phones
from frontdesk.domain.members import MemberProfile
from frontdesk.domain.money import Money, MoneyError
from frontdesk.domain.programme import (
    Balances,
    EarnContext,
    EarnPreview,
    IssuedVoucher,
    MemberStanding,
    PointsPaymentQuote,
    Programme,
    RedemptionRefused,
    RefusalCode,
    Refund,
    Reversal,
    ReversalError,
    RewardKind,
    RewardQuote,
    SaleDraft,
    SaleEffects,
    SaleError,
    SaleLine,
    Tender,
    TenderCheck,
    check_tenders,
    preview_earning,
    quote_points_payment,
    quote_reward,
    quote_voucher,
    reverse_sale,
    validate_sale,
)
from frontdesk.domain.programme.arithmetic import format_points
from frontdesk.search import SearchService
from frontdesk.services.enrolment import EnrolmentService
from frontdesk.services.programme import ProgrammeService, fully_reversed_sale_ids, local_day_bounds, reward_use_counts
from frontdesk.services.staff import StaffService
from frontdesk.store.members import load_profile
from frontdesk.store.models import (
    AuditEntry,
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
from frontdesk.store.types import utc_now

# Tenders a receptionist picks; points are paid through a redemption (they need a quote), never typed as a tender.
PAYMENT_METHODS: dict[str, str] = {"cash": "Cash", "card": "Card", "nets": "NETS", "voucher": "Voucher"}
MAX_AMOUNT = Money.parse("1000000")
MAX_QUANTITY = 999
RECEIPT_WIDTH = 44  # characters: fits an 80 mm receipt printer's line in a monospaced font
FUTURE_TOLERANCE = timedelta(minutes=5)  # counter clocks drift; a receipt from the future is a typo
_RECEIPT_SHAPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ./_#-]{0,63}$")
_DRAFT_ID = re.compile(r"^[0-9a-f]{32}$")
# outbox.response is NOT NULL in schema 0001 and JSONText stores None as NULL: an empty object means "no answer yet".
NO_RESPONSE: dict[str, object] = {"response": {}}


def new_draft_id() -> str:
    return uuid.uuid4().hex


# --- what the screen hands in ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class LineInput:
    name: str = ""
    sku: str = ""
    category: str = ""
    quantity: str = "1"
    unit_price: str = ""
    tax: str = ""
    service_charge: str = ""
    discount: str = ""


@dataclass(frozen=True)
class PaymentInput:
    method: str = "card"
    amount: str = ""
    reference: str = ""


@dataclass(frozen=True)
class RedemptionInput:
    kind: str  # reward (catalogue, costs points) | voucher (a code issued to the member) | points (points as money)
    code: str = ""
    amount: str = ""  # points: the money the member chooses to pay with points; empty = the most this bill accepts


@dataclass(frozen=True)
class CheckoutDraft:
    member_id: int
    staff_id: int | None
    receipt_no: str = ""
    occurred_at: datetime | None = None  # aware; None means now
    itemised: bool = True
    lines: tuple[LineInput, ...] = ()
    total: str = ""  # total-only: the bill as printed, before rewards
    total_tax: str = ""
    total_service_charge: str = ""
    payments: tuple[PaymentInput, ...] = ()
    redemptions: tuple[RedemptionInput, ...] = ()
    draft_id: str = field(default_factory=new_draft_id)
    sales_mode: str = "counter"  # counter | invoice_mail (a WESS invoice mail recorded by frontdesk.invoices)
    outlet_code: str = ""  # empty: this counter's outlet; invoice mail names the outlet on the receipt


# --- what comes back -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SaleSummary:
    id: int
    kind: str
    receipt_no: str
    outlet_code: str
    occurred_at: datetime
    member_id: int | None
    member_name: str
    staff_name: str
    total: Money
    points_earned: int
    points_redeemed: int
    status: str
    provisional: bool
    receipt_text: str

    def describe(self, settings: Settings) -> str:
        """ "23 Nov 2026 14:02 at BUGIS for Mei Ling Tan (S$88.00, +88 pts, served by Jason Lim)" """
        when = self.occurred_at.astimezone(settings.zone)
        who = f" for {self.member_name}" if self.member_name else ""
        by = f", served by {self.staff_name}" if self.staff_name else ""
        return (f"{when:%d %b %Y %H:%M} at {self.outlet_code}{who} "
                f"({self.total.display()}, {self.points_earned:+,} pts{by})")


@dataclass(frozen=True)
class AppliedRedemption:
    index: int  # position in draft.redemptions
    kind: str  # reward | voucher | points
    code: str
    name: str
    points: int  # points it costs
    discount: Money  # reward/voucher: off the bill (zero for points)
    amount: Money  # points: the tender paid with points (zero otherwise)
    free_sku: str | None
    provisional: bool
    wess_instruction: str  # what to key into WESS, exactly
    note: str | None = None


@dataclass(frozen=True)
class CheckoutQuote:
    draft_id: str
    errors: dict[str, str]  # field path -> plain-language message
    member: MemberProfile | None
    currency: str
    bill_total: Money | None  # lines with tax and service charge, before rewards
    discount_total: Money  # rewards and vouchers: the discount to key into WESS
    total: Money | None  # what the customer pays, all tenders
    points_payment: Money  # the part of `total` paid with points
    to_pay: Money | None  # what cash / card / NETS / vouchers must cover
    tenders: TenderCheck | None
    preview: EarnPreview | None
    redemptions: tuple[AppliedRedemption, ...]
    points_available: int  # balance the counter may spend (server balance + this counter's pending effects)
    points_spendable: int  # within the offline allowance while offline
    points_redeemed: int
    new_balance: int | None
    online: bool
    provisional: bool
    earlier_sale: SaleSummary | None  # the sale already recorded under this receipt number
    occurred_at: datetime | None

    @property
    def ok(self) -> bool:
        return not self.errors and self.preview is not None and self.total is not None

    @property
    def points_earned(self) -> int:
        return self.preview.total_points if self.preview else 0


@dataclass(frozen=True)
class ConfirmedSale:
    sale_id: int
    receipt_no: str
    receipt_text: str
    total: Money
    points_earned: int
    points_redeemed: int
    new_balance: int
    provisional: bool
    replayed: bool  # True when this draft had already been confirmed: nothing new was written


class CheckoutRefused(Exception):
    """`confirm` found problems: nothing was written. `quote.errors` names each field."""

    def __init__(self, quote: CheckoutQuote) -> None:
        self.quote = quote
        first = next(iter(quote.errors.items()), ("", "refused"))
        super().__init__(f"{first[0]}: {first[1]}")


# --- reversals -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReversalQuote:
    sale: SaleSummary
    void: bool
    reversal: Reversal | None
    refunded_before: Money
    left: Money  # what is still refundable
    errors: dict[str, str]

    @property
    def ok(self) -> bool:
        return self.reversal is not None and not self.errors


@dataclass(frozen=True)
class ReversalResult:
    reversal_sale_id: int
    original_sale_id: int
    kind: str  # void | refund
    reversal: Reversal
    new_balance: int
    receipt_text: str
    queued: bool  # False when the refund changed no points, so there is nothing to tell the server


class ReversalRefused(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        first = next(iter(errors.items()), ("", "refused"))
        super().__init__(f"{first[0]}: {first[1]}")


class CheckoutService:
    """Call from one worker thread at a time (the UI's serial DB worker)."""

    def __init__(self, engine: Engine, settings: Settings, programmes: ProgrammeService, staff: StaffService, *,
                 is_online: Callable[[], bool] = lambda: False, clock: Callable[[], datetime] = utc_now) -> None:
        self.engine = engine
        self.settings = settings
        self.programmes = programmes
        self.staff = staff
        self.is_online = is_online  # must be cheap (a flag the sync worker keeps): it is read inside transactions
        self.clock = clock

    # --- sale: quote and confirm ----------------------------------------------------------------------------------
    def quote(self, draft: CheckoutDraft) -> CheckoutQuote:
        with Session(self.engine) as session:
            return self._quote(session, draft)

    def confirm(self, draft: CheckoutDraft) -> ConfirmedSale:
        """Write the sale and everything it does, in one transaction; raises `CheckoutRefused` with the reasons."""
        # Load the programme first: loading reads programme_versions on a connection of its own, which would wait
        # forever for the write lock this transaction holds.
        self.programmes.programme
        try:
            with Session(self.engine) as session, session.begin():
                replay = self._replay(session, draft.draft_id)
                if replay is not None:
                    return replay
                quote = self._quote(session, draft)
                if not quote.ok:
                    raise CheckoutRefused(quote)
                return self._write_sale(session, draft, quote)
        except IntegrityError:
            # Only a concurrent writer could get here (the checks above run under the write lock); report it the
            # way a person understands: the receipt is already recorded, or this very draft already was.
            with Session(self.engine) as session:
                replay = self._replay(session, draft.draft_id)
                if replay is not None:
                    return replay
                quote = self._quote(session, draft)
            if quote.errors:
                raise CheckoutRefused(quote) from None
            raise

    def sale(self, sale_id: int) -> SaleSummary | None:
        with Session(self.engine) as session:
            row = session.get(Sale, sale_id)
            return _summary(session, row) if row is not None else None

    def find_sales(self, receipt_no: str, member_id: int | None = None) -> list[SaleSummary]:
        """Sales (not reversals) under a receipt number: this outlet's, plus any of the member's elsewhere."""
        receipt_no = receipt_no.strip()
        with Session(self.engine) as session:
            query = select(Sale).where(Sale.kind == "sale", Sale.receipt_no == receipt_no)
            if member_id is not None:
                query = query.where((Sale.outlet_code == self.settings.outlet_code) | (Sale.member_id == member_id))
            else:
                query = query.where(Sale.outlet_code == self.settings.outlet_code)
            return [_summary(session, row) for row in session.scalars(query.order_by(Sale.occurred_at.desc()))]

    # --- internals: quoting ---------------------------------------------------------------------------------------
    def _quote(self, session: Session, draft: CheckoutDraft) -> CheckoutQuote:
        programme = self.programmes.programme
        currency = programme.currency
        errors: dict[str, str] = {}
        zero = Money.zero(currency)
        online = bool(self.is_online())

        if not _DRAFT_ID.match(draft.draft_id or ""):
            errors["draft"] = "This checkout has no valid id: close it and start the sale again"
        profile = load_profile(session, draft.member_id, recent_limit=0)
        if profile is None:
            errors["member"] = "This member is no longer in the local cache"
        elif profile.status == "inactive":
            errors["member"] = f"{profile.name}'s membership is inactive: the sale cannot earn or redeem"

        receipt_no = (draft.receipt_no or "").strip()
        outlet_code = draft.outlet_code or self.settings.outlet_code
        earlier = None
        if not receipt_no:
            errors["receipt_no"] = "Enter the WESS receipt number"
        elif not _RECEIPT_SHAPE.match(receipt_no):
            errors["receipt_no"] = "A receipt number is letters and digits (up to 64), as printed by WESS"
        else:
            row = session.scalar(select(Sale).where(
                Sale.kind == "sale", Sale.outlet_code == outlet_code, Sale.receipt_no == receipt_no))
            if row is not None:
                earlier = _summary(session, row)
                errors["receipt_no"] = f"Receipt {receipt_no} is already recorded: {earlier.describe(self.settings)}"

        staff_row = session.get(Staff, draft.staff_id) if draft.staff_id is not None else None
        if staff_row is None or not staff_row.active:
            errors["staff"] = "Pick who served the customer"

        now = self.clock()
        occurred_at = draft.occurred_at or now
        if occurred_at.tzinfo is None:
            errors["occurred_at"] = "The time needs a time zone"
            occurred_at = None
        elif occurred_at - now > FUTURE_TOLERANCE:
            errors["occurred_at"] = "That time is in the future"
        today = (occurred_at or now).astimezone(self.settings.zone).date()

        lines = self._lines(draft, currency, errors)
        bill_total = None
        if lines is not None:
            bill_total = zero
            for line in lines:
                bill_total = bill_total + line.net + line.tax + line.service_charge

        # Redemptions: discounts first, in the order applied, then points as money on what is left.
        available = profile.available_points if profile else 0
        spendable = available
        if not online and profile is not None:
            allowance_left = max(0, self.settings.offline_redeem_allowance_points
                                 - provisional_burns(session, profile.id))
            spendable = min(available, allowance_left)
        standing = MemberStanding(tier_code=profile.tier_code if profile else None, points_balance=available)
        applied: list[AppliedRedemption] = []
        discount_total = zero
        points_left = spendable
        remaining = bill_total
        used_counts = reward_use_counts(session, draft.member_id) if profile else {}
        vouchers_seen: set[str] = set()
        order = [i for i, r in enumerate(draft.redemptions) if r.kind != "points"] + \
                [i for i, r in enumerate(draft.redemptions) if r.kind == "points"]
        points_payment = zero
        if sum(1 for r in draft.redemptions if r.kind == "points") > 1:
            errors["redemptions"] = "Points can pay once per bill: change the amount instead of adding it twice"
        for index in order:
            request = draft.redemptions[index]
            path = f"redemptions[{index}]"
            if remaining is None or profile is None:
                continue  # the bill itself has problems; they are shown where they are
            result = self._redeem(session, programme, request, remaining, standing, points_left, used_counts,
                                  vouchers_seen, profile, today, online)
            if isinstance(result, str):
                if not online and available > spendable and "available" in result:
                    result += (f" (offline: at most {format_points(spendable)} can be redeemed until the loyalty "
                               "server confirms)")
                errors[path] = result
                continue
            applied_one = replace(result, index=index)
            applied.append(applied_one)
            points_left -= applied_one.points
            if applied_one.kind == "points":
                points_payment = points_payment + applied_one.amount
            else:
                discount_total = discount_total + applied_one.discount
                remaining = remaining - applied_one.discount
                if applied_one.kind == "reward":
                    key = applied_one.code.casefold()
                    used_counts[key] = used_counts.get(key, 0) + 1
        applied.sort(key=lambda a: a.index)

        preview = None
        total = None
        if lines is not None and occurred_at is not None:
            sale_draft = SaleDraft(outlet=outlet_code, sales_mode=draft.sales_mode, occurred_at=occurred_at,
                                   currency=currency, lines=tuple(lines), tips=zero, bill_discount=discount_total)
            problems = validate_sale(sale_draft, currency)
            for problem in problems:
                errors.setdefault(_engine_path(problem.field), _sentence(problem.reason))
            if not problems:
                total = sale_draft.total
                if profile is not None:
                    context = self._earn_context(session, profile.id, today)
                    try:
                        preview = preview_earning(programme, sale_draft, standing, context)
                    except SaleError as error:
                        errors.setdefault(_engine_path(error.field), _sentence(error.reason))

        to_pay = None
        tenders = None
        payments = self._payments(draft, currency, errors)
        if total is not None:
            to_pay = total - points_payment
            if payments is not None:
                offered = list(payments)
                if not points_payment.is_zero():
                    offered.append(Tender("points", points_payment))
                if offered or not total.is_zero():
                    tenders = check_tenders(total, offered)
                    if not tenders.ok and "payments" not in errors:
                        errors["payments"] = tenders.message if offered else (
                            f"Add how the customer paid ({to_pay.display()})")

        redeemed = sum(a.points for a in applied)
        earned = preview.total_points if preview else 0
        new_balance = available - redeemed + earned if preview is not None else None
        provisional = not online and bool(applied)
        if provisional:
            applied = [replace(a, provisional=True) for a in applied]
        return CheckoutQuote(
            draft_id=draft.draft_id, errors=errors, member=profile, currency=currency, bill_total=bill_total,
            discount_total=discount_total, total=total, points_payment=points_payment, to_pay=to_pay,
            tenders=tenders, preview=preview, redemptions=tuple(applied), points_available=available,
            points_spendable=spendable, points_redeemed=redeemed, new_balance=new_balance, online=online,
            provisional=provisional, earlier_sale=earlier, occurred_at=occurred_at,
        )

    def _lines(self, draft: CheckoutDraft, currency: str, errors: dict[str, str]) -> list[SaleLine] | None:
        lines: list[SaleLine] = []
        ok = True
        if not draft.itemised:
            total = _money(draft.total, "total", errors, currency, required=True)
            tax = _money(draft.total_tax, "total_tax", errors, currency)
            service = _money(draft.total_service_charge, "total_service_charge", errors, currency)
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
            quantity = _quantity(line.quantity, f"{path}.quantity", errors)
            unit_price = _money(line.unit_price, f"{path}.unit_price", errors, currency, required=True)
            tax = _money(line.tax, f"{path}.tax", errors, currency)
            service = _money(line.service_charge, f"{path}.service_charge", errors, currency)
            discount = _money(line.discount, f"{path}.discount", errors, currency)
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

    def _payments(self, draft: CheckoutDraft, currency: str, errors: dict[str, str]) -> list[Tender] | None:
        tenders: list[Tender] = []
        ok = True
        for index, payment in enumerate(draft.payments):
            path = f"payments[{index}]"
            if payment.method not in PAYMENT_METHODS:
                errors[f"{path}.method"] = "Pick cash, card, NETS or voucher (points are applied as a redemption)"
                ok = False
            if len((payment.reference or "").strip()) > 100:
                errors[f"{path}.reference"] = "At most 100 characters"
                ok = False
            amount = _money(payment.amount, f"{path}.amount", errors, currency, required=True)
            if amount is None:
                ok = False
                continue
            if amount.is_zero():
                errors[f"{path}.amount"] = "Enter the amount paid this way, or remove the payment"
                ok = False
                continue
            tenders.append(Tender(payment.method, amount, (payment.reference or "").strip() or None))
        return tenders if ok else None

    def _redeem(self, session: Session, programme: Programme, request: RedemptionInput, bill: Money,
                standing: MemberStanding, points_left: int, used_counts: dict[str, int], vouchers_seen: set[str],
                profile: MemberProfile, today, online: bool) -> AppliedRedemption | str:  # type: ignore[no-untyped-def]
        currency = programme.currency
        zero = Money.zero(currency)
        code = (request.code or "").strip()
        if request.kind == "reward":
            if not code:
                return "Pick a reward"
            quote = quote_reward(programme, code, bill, standing, used_counts.get(code.casefold(), 0), today,
                                 points_available=points_left)
            if isinstance(quote, RedemptionRefused):
                return _sentence(quote.reason)
            return _applied_discount(quote, online)
        if request.kind == "voucher":
            if not code:
                return "Type or pick the voucher code"
            if code.casefold() in vouchers_seen:
                return f"Voucher {code} is already on this bill"
            row = session.scalar(select(MemberVoucher).where(
                MemberVoucher.member_id == profile.id, func.lower(MemberVoucher.code) == code.casefold()))
            if row is None:
                return f"Voucher {code} is not one of {profile.name}'s vouchers"
            vouchers_seen.add(code.casefold())
            quote = quote_voucher(programme, _issued_voucher(row, currency, self.settings), bill, today)
            if isinstance(quote, RedemptionRefused):
                return _sentence(quote.reason)
            return _applied_discount(quote, online)
        if request.kind == "points":
            requested = None
            if (request.amount or "").strip():
                try:
                    requested = Money.parse(request.amount, currency)
                except MoneyError as error:
                    return _sentence(str(error))
            quote = quote_points_payment(programme, points_left, bill, requested_amount=requested)
            if isinstance(quote, RedemptionRefused):
                if quote.code is RefusalCode.BELOW_MINIMUM_POINTS and points_left < standing.points_balance:
                    return _sentence(quote.reason) + " (offline allowance)"
                return _sentence(quote.reason)
            assert isinstance(quote, PointsPaymentQuote)
            return AppliedRedemption(
                index=0, kind="points", code="POINTS", name=f"Paid with points ({format_points(quote.points)})",
                points=quote.points, discount=zero, amount=quote.amount, free_sku=None, provisional=not online,
                wess_instruction=f"Key {quote.amount.display()} as a points payment in WESS", note=quote.note)
        return "Unknown kind of redemption"

    def _earn_context(self, session: Session, member_id: int, day) -> EarnContext:  # type: ignore[no-untyped-def]
        start, end = local_day_bounds(day, self.settings.zone)
        rows = session.execute(select(Sale.id, Sale.points_earned, Sale.server_points).where(
            Sale.member_id == member_id, Sale.kind == "sale", Sale.status != "rejected",
            Sale.occurred_at >= start, Sale.occurred_at < end)).all()
        reversed_ids = fully_reversed_sale_ids(session, [r[0] for r in rows])
        kept = [r for r in rows if r[0] not in reversed_ids]
        earned = sum((server if server is not None else local) for _id, local, server in kept)
        return EarnContext(visited_today=bool(kept), points_earned_today=max(0, earned))

    # --- internals: writing ---------------------------------------------------------------------------------------
    def _replay(self, session: Session, draft_id: str) -> ConfirmedSale | None:
        entry = session.scalar(select(OutboxEntry).where(OutboxEntry.idempotency_key == draft_id))
        if entry is None or entry.sale_id is None:
            return None
        sale = session.get(Sale, entry.sale_id)
        assert sale is not None
        profile = load_profile(session, sale.member_id, recent_limit=0) if sale.member_id else None
        return ConfirmedSale(sale_id=sale.id, receipt_no=sale.receipt_no, receipt_text=sale.receipt_text,
                             total=Money.from_minor(sale.total_minor, sale.currency), points_earned=sale.points_earned,
                             points_redeemed=sale.points_redeemed,
                             new_balance=profile.available_points if profile else 0,
                             provisional=sale.provisional, replayed=True)

    def _write_sale(self, session: Session, draft: CheckoutDraft, quote: CheckoutQuote) -> ConfirmedSale:
        assert quote.preview is not None and quote.total is not None and quote.member is not None
        assert quote.occurred_at is not None and draft.staff_id is not None
        programme = self.programmes.programme
        currency = quote.currency
        member = session.get(Member, draft.member_id)
        staff = session.get(Staff, draft.staff_id)
        assert member is not None and staff is not None
        lines = self._lines(draft, currency, {})
        payments = self._payments(draft, currency, {})
        assert lines is not None and payments is not None
        occurred_at = quote.occurred_at.astimezone(timezone.utc)
        zero = Money.zero(currency)
        subtotal = sum((line.unit_price * line.quantity for line in lines), zero)
        tax = sum((line.tax for line in lines), zero)
        service = sum((line.service_charge for line in lines), zero)
        discount = sum((line.discount for line in lines), zero) + quote.discount_total
        earn_lines = {earn.line_index: earn for earn in quote.preview.lines}

        sale = Sale(kind="sale", receipt_no=draft.receipt_no.strip(),
                    outlet_code=draft.outlet_code or self.settings.outlet_code,
                    counter_id=self.settings.counter_id, sales_mode=draft.sales_mode, staff_id=staff.id,
                    member_id=member.id,
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

        sale.receipt_text = sale_receipt_text(self.settings, programme, sale, member, staff, quote)
        session.add(OutboxEntry(idempotency_key=draft.draft_id, kind="sale", partition_key=f"member:{member.id}",
                                sale_id=sale.id, member_id=member.id,
                                payload=sale_payload(self.settings, sale, member, staff, quote), **NO_RESPONSE))
        session.flush()
        return ConfirmedSale(sale_id=sale.id, receipt_no=sale.receipt_no, receipt_text=sale.receipt_text,
                             total=quote.total, points_earned=quote.points_earned,
                             points_redeemed=quote.points_redeemed, new_balance=quote.new_balance or 0,
                             provisional=quote.provisional, replayed=False)

    # --- reversals ------------------------------------------------------------------------------------------------
    def quote_reversal(self, sale_id: int, *, void: bool, amount: str = "") -> ReversalQuote:
        with Session(self.engine) as session:
            return self._quote_reversal(session, sale_id, void=void, amount=amount)

    def reverse(self, sale_id: int, *, void: bool, amount: str = "", manager_id: int | None, manager_pin: str,
                reason: str, requested_by: int | None = None) -> ReversalResult:
        """Void (everything left) or refund `amount` of a sale, approved by a manager's PIN. Raises
        `ReversalRefused` with field errors ("pin", "manager", "amount", "reason", "sale") and writes nothing."""
        errors: dict[str, str] = {}
        reason = (reason or "").strip()
        if len(reason) < 3:
            errors["reason"] = "Say why, in a few words (it goes in the audit log)"
        if manager_id is None:
            errors["manager"] = "Pick the manager approving this"
        preview = self.quote_reversal(sale_id, void=void, amount=amount)
        errors.update(preview.errors)
        if errors:
            raise ReversalRefused(errors)
        assert manager_id is not None
        check = self.staff.check_pin(manager_id, manager_pin, require_manager=True,
                                     purpose="void" if void else "refund")
        if not check.ok:
            raise ReversalRefused({"pin": check.message})
        with Session(self.engine) as session, session.begin():
            quote = self._quote_reversal(session, sale_id, void=void, amount=amount)  # again, under the write lock
            if not quote.ok:
                raise ReversalRefused(quote.errors)
            return self._write_reversal(session, quote, manager_id, reason, requested_by)

    def _quote_reversal(self, session: Session, sale_id: int, *, void: bool, amount: str) -> ReversalQuote:
        original = session.get(Sale, sale_id)
        if original is None or original.kind != "sale":
            raise ReversalRefused({"sale": "That sale is not in this counter's records"})
        summary = _summary(session, original)
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
            value = _money(amount, "amount", errors, currency, required=True)
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
            stored_value_used=Money.zero(currency),
            reward_codes=tuple(r.code for r in redemptions if r.kind == "reward"),
            voucher_codes=tuple(r.code for r in redemptions if r.kind == "voucher"),
        )
        profile = load_profile(session, original.member_id, recent_limit=0)
        balance = Balances(points=profile.available_points if profile else 0, stored_value=Money.zero(currency))
        previous = _previous_reversal(earlier, total, balance) if earlier else None
        try:
            reversal = reverse_sale(effects, refund, balance, previous)
        except ReversalError as error:
            errors["amount" if error.field.startswith("refund") else "sale"] = _sentence(error.reason)
            return refused()
        return ReversalQuote(summary, void, reversal, refunded_before, left, errors)

    def _write_reversal(self, session: Session, quote: ReversalQuote, manager_id: int, reason: str,
                        requested_by: int | None) -> ReversalResult:
        reversal = quote.reversal
        assert reversal is not None
        original = session.get(Sale, quote.sale.id)
        member = session.get(Member, original.member_id) if original else None
        manager = session.get(Staff, manager_id)
        assert original is not None and member is not None and manager is not None
        kind = "void" if quote.void else "refund"
        now = self.clock()
        row = Sale(kind=kind, receipt_no=original.receipt_no, outlet_code=original.outlet_code,
                   counter_id=self.settings.counter_id, sales_mode=original.sales_mode, staff_id=manager.id,
                   member_id=member.id, occurred_at=now, currency=original.currency,
                   subtotal_minor=reversal.refunded_amount.minor, total_minor=reversal.refunded_amount.minor,
                   points_earned=reversal.points_restored, points_redeemed=reversal.points_clawed_back,
                   status="pending", original_sale_id=original.id, provisional=original.provisional,
                   note=reason, receipt_text="")
        session.add(row)
        session.flush()
        label = f"{'Void' if quote.void else 'Refund'} of receipt {original.receipt_no}"

        def ledger(entry_kind: str, points: int, why: str) -> None:
            session.add(LedgerEntry(member_id=member.id, sale_id=row.id, kind=entry_kind, points=points,
                                    reason=why, staff_id=manager.id, outlet_code=self.settings.outlet_code,
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
        if quote.void:
            payload = {"endpoint": "integration/point_transaction/void", "original_sale_id": original.id,
                       "transaction_no": original.receipt_no, "redeem_codes": reinstated}
        elif change:
            params = {"action": "deduct" if change < 0 else "add", "points": abs(change),
                      **member_identifier(member, self.settings), "note": f"refund of {original.receipt_no}"}
            payload = {"endpoint": "point/adjust", "params": params, "original_sale_id": original.id}
        else:
            queued = False
            payload = {}
        if queued:
            session.add(OutboxEntry(idempotency_key=new_draft_id(), kind=kind, partition_key=f"member:{member.id}",
                                    sale_id=row.id, member_id=member.id, payload=payload, **NO_RESPONSE))
        session.add(AuditEntry(staff_id=manager.id, action=kind, details={
            "sale_id": row.id, "original_sale_id": original.id, "receipt_no": original.receipt_no,
            "refunded": reversal.refunded_amount.plain(), "points_clawed_back": reversal.points_clawed_back,
            "points_restored": reversal.points_restored, "shortfall_points": reversal.shortfall_points,
            "codes_reinstated": reinstated, "reason": reason, "approved_by": manager.code,
            "requested_by": requested_by, "queued": queued}))
        new_balance = reversal.balance_after.points
        row.receipt_text = reversal_receipt_text(self.settings, original, row, member, manager, reversal, reason,
                                                 new_balance)
        session.flush()
        return ReversalResult(reversal_sale_id=row.id, original_sale_id=original.id, kind=kind, reversal=reversal,
                              new_balance=new_balance, receipt_text=row.receipt_text, queued=queued)


# --- shared helpers -------------------------------------------------------------------------------------------
def provisional_burns(session: Session, member_id: int) -> int:
    """Points this counter redeemed offline for the member that the server has not confirmed yet (net of restores
    by voids of those sales)."""
    value = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.points), 0)).join(Sale, LedgerEntry.sale_id == Sale.id).where(
            LedgerEntry.member_id == member_id, LedgerEntry.status == "pending",
            LedgerEntry.kind.in_(("redeem", "restore")), Sale.provisional.is_(True)))
    return max(0, -int(value or 0))


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


def sale_payload(settings: Settings, sale: Sale, member: Member, staff: Staff, quote: CheckoutQuote) -> dict:
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


def sale_receipt_text(settings: Settings, programme: Programme, sale: Sale, member: Member, staff: Staff,
                      quote: CheckoutQuote) -> str:
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
    if reversal.shortfall_points:
        out.append(f"Shortfall: {reversal.shortfall_points:,} pts already spent could not be taken back")
    codes = list(reversal.reward_codes_reinstated) + list(reversal.voucher_codes_reinstated)
    if codes:
        out.append("Reinstated: " + ", ".join(codes))
    out.append(f"New balance: {new_balance:,} pts")
    return "\n".join(textwrap.fill(line, RECEIPT_WIDTH, subsequent_indent="  ") for line in out)


def _previous_reversal(earlier: list[Sale], total: Money, balance: Balances) -> Reversal:
    """The running totals of a sale's earlier refunds, in the shape `reverse_sale` continues from."""
    currency = total.currency
    refunded = Money.from_minor(sum(r.total_minor for r in earlier), currency)
    clawed = sum(r.points_redeemed for r in earlier)
    restored = sum(r.points_earned for r in earlier)
    zero = Money.zero(currency)
    return Reversal(refunded_amount=Money.from_minor(earlier[-1].total_minor, currency), points_clawed_back=0,
                    points_restored=0, stored_value_restored=zero, shortfall_points=0, balance_before=balance,
                    balance_after=balance, reward_codes_reinstated=(), voucher_codes_reinstated=(),
                    fully_reversed=refunded >= total, total_refunded=refunded, total_points_clawed_back=clawed,
                    total_points_restored=restored, total_stored_value_restored=zero, explanation="")


def _summary(session: Session, row: Sale) -> SaleSummary:
    member = session.get(Member, row.member_id) if row.member_id else None
    staff = session.get(Staff, row.staff_id) if row.staff_id else None
    member_name = ""
    if member is not None:
        member_name = member.display_name or f"{member.first_name} {member.last_name}".strip()
    return SaleSummary(id=row.id, kind=row.kind, receipt_no=row.receipt_no, outlet_code=row.outlet_code,
                       occurred_at=row.occurred_at, member_id=row.member_id, member_name=member_name,
                       staff_name=staff.name if staff else "", total=Money.from_minor(row.total_minor, row.currency),
                       points_earned=row.points_earned, points_redeemed=row.points_redeemed, status=row.status,
                       provisional=row.provisional, receipt_text=row.receipt_text)


def _issued_voucher(row: MemberVoucher, currency: str, settings: Settings) -> IssuedVoucher:
    kind = {"amount": RewardKind.AMOUNT, "percentage": RewardKind.PERCENT, "sku": RewardKind.FREE_SKU}.get(
        row.method, RewardKind.AMOUNT)
    amount = Money.from_minor(row.amount_minor, currency) if row.amount_minor else None
    percent = None
    if row.percentage:
        try:
            percent = Decimal(row.percentage)
        except ArithmeticError:
            percent = None
    until = row.expires_at.astimezone(settings.zone).date() if row.expires_at else None
    return IssuedVoucher(code=row.code, name=row.name, kind=kind,
                         amount=amount if kind is RewardKind.AMOUNT else None, percent=percent,
                         sku=row.sku, value=amount if kind is RewardKind.FREE_SKU else None, valid_until=until,
                         used=row.status != "available")


def _applied_discount(quote: RewardQuote, online: bool) -> AppliedRedemption:
    label = "voucher" if quote.source == "voucher" else "reward"
    return AppliedRedemption(
        index=0, kind=label, code=quote.code, name=quote.name, points=quote.points_cost, discount=quote.discount,
        amount=Money.zero(quote.discount.currency), free_sku=quote.free_sku, provisional=not online,
        wess_instruction=f"Key a {quote.discount.display()} discount into WESS ({quote.code})", note=quote.note)


def _money(text: str | None, path: str, errors: dict[str, str], currency: str, *,
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
        errors[path] = _sentence(str(error))
        return None
    if value.is_negative():
        errors[path] = "Cannot be negative"
        return None
    if value.amount > MAX_AMOUNT.amount:
        errors[path] = f"Too large: at most {MAX_AMOUNT.display()}"
        return None
    return value


def _quantity(text: str | None, path: str, errors: dict[str, str]) -> int | None:
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


def _engine_path(path: str) -> str:
    if path == "bill_discount":
        return "redemptions"
    if path.startswith("lines[") or path == "occurred_at":
        return path
    if path == "lines":
        return "lines"
    return "draft"


def _sentence(text: str) -> str:
    text = (text or "").strip()
    return text[:1].upper() + text[1:] if text else text


# --- wiring ---------------------------------------------------------------------------------------------------
@dataclass
class CounterServices:
    """Everything the counter screens call, built once per window."""

    programmes: ProgrammeService
    staff: StaffService
    checkout: CheckoutService
    enrolment: EnrolmentService


def build_counter_services(engine: Engine, settings: Settings, search: SearchService, *,
                           is_online: Callable[[], bool] = lambda: False) -> CounterServices:
    """`search` is the lookup's search service: the enrolment's duplicate check shares its connection (both run on
    the UI's serial DB worker). `is_online` is the sync engine's cheap "server reachable" flag."""
    programmes = ProgrammeService(engine, settings)
    staff = StaffService(engine)
    checkout = CheckoutService(engine, settings, programmes, staff, is_online=is_online)
    return CounterServices(programmes=programmes, staff=staff, checkout=checkout,
                           enrolment=EnrolmentService(engine, settings, search))
