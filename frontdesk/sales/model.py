"""What a sale is made of, as the screens and the invoice importer hand it in and as it comes back. Qt-free.

`SaleRequest` is the sale as typed (strings, exactly as entered: parsing is `form`'s job, so every problem can be
reported against the field it came from); `SaleQuote` is everything the screen shows before confirming;
`RecordedSale` is what `SalesService.record` wrote. Reversals have their own `ReversalQuote` / `ReversalResult`.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from frontdesk.config import Settings
from frontdesk.domain.members import MemberProfile
from frontdesk.domain.money import Money
from frontdesk.domain.programme import EarnPreview, Reversal, TenderCheck

# Tenders a receptionist picks; points are paid through a redemption (they need a quote), never typed as a tender.
# Stored value is the member's prepaid balance: typed like a tender, checked against the balance and the
# programme's per-bill limits, and taken off the balance with the sale.
PAYMENT_METHODS: dict[str, str] = {"cash": "Cash", "card": "Card", "nets": "NETS", "voucher": "Voucher",
                                   "stored_value": "Stored value"}
MAX_AMOUNT = Money.parse("1000000")
MAX_QUANTITY = 999
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
class SaleRequest:
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
    kind: str  # reward | voucher | points | perk (the tier's birthday-month discount, from the programme)
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
class SaleQuote:
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
    voided_sale: SaleSummary | None = None  # a voided sale under this receipt number: this one records it again
    stored_value_balance: Money | None = None  # the member's prepaid balance before this sale
    stored_value_max: Money | None = None  # the most of it this bill may take (balance and programme limits)
    stored_value_used: Money | None = None  # the stored-value payment on this bill

    @property
    def stored_value_after(self) -> Money | None:
        if self.stored_value_balance is None or self.stored_value_used is None:
            return None
        return self.stored_value_balance - self.stored_value_used

    @property
    def ok(self) -> bool:
        return not self.errors and self.preview is not None and self.total is not None

    @property
    def points_earned(self) -> int:
        return self.preview.total_points if self.preview else 0


@dataclass(frozen=True)
class RecordedSale:
    sale_id: int
    receipt_no: str
    receipt_text: str
    total: Money
    points_earned: int
    points_redeemed: int
    new_balance: int
    provisional: bool
    replayed: bool  # True when this draft had already been confirmed: nothing new was written


class SaleRefused(Exception):
    """`confirm` found problems: nothing was written. `quote.errors` names each field."""

    def __init__(self, quote: SaleQuote) -> None:
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


