"""Recording a counter sale, and voiding or refunding one: the receptionist's main job, Qt-free.

A sale goes through two calls with the same `SaleRequest` (what the screen holds, as typed):
- `quote(request)`, on every edit: every problem by field path ("lines[1].quantity": "Must be at least 1"), the points
  preview with its per-line explanation, each reward/voucher/points redemption with the exact discount to key into
  WESS, and whether the payments add up. Nothing is written.
- `record(request)`: the same checks again *inside* one write transaction (BEGIN IMMEDIATE), then the sale, its items,
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

from collections.abc import Callable
from dataclasses import replace as dc_replace
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from frontdesk.config import Settings
from frontdesk.domain.money import Money
from frontdesk.loyalty.programme import ProgrammeService
from frontdesk.sales.model import (
    RecordedSale,
    ReversalQuote,
    ReversalRefused,
    ReversalResult,
    SaleQuote,
    SaleRefused,
    SaleRequest,
    SaleSummary,
)
from frontdesk.sales.quote import quote_sale, summarise_sale
from frontdesk.sales.record import replay, write_sale
from frontdesk.sales.reversal import quote_reversal, write_reversal
from frontdesk.staff.service import StaffService
from frontdesk.store.health import describe_storage_error, free_space_problem
from frontdesk.store.models import Sale
from frontdesk.store.types import utc_now


class SalesService:
    """Call from one worker thread at a time (the UI's serial DB worker)."""

    def __init__(self, engine: Engine, settings: Settings, programmes: ProgrammeService, staff: StaffService, *,
                 is_online: Callable[[], bool] = lambda: False, clock: Callable[[], datetime] = utc_now) -> None:
        self.engine = engine
        self.settings = settings
        self.programmes = programmes
        self.staff = staff
        self.is_online = is_online  # must be cheap (a flag the sync worker keeps): it is read inside transactions
        self.clock = clock

    def usual_bill_ceiling(self, days: int = 90) -> Money:
        """Above this a typed bill is probably a slip ("1250" for "12.50"): three times the largest sale at this
        outlet in the last `days` days, or S$5,000 in a shop with no history yet."""
        currency = self.settings.currency
        since = self.clock() - timedelta(days=days)
        with Session(self.engine) as session:
            largest = session.scalar(select(func.max(Sale.total_minor)).where(
                Sale.kind == "sale", Sale.outlet_code == self.settings.outlet_code, Sale.occurred_at >= since))
        if not largest:
            return Money.parse("5000", currency)
        return Money.from_minor(int(largest) * 3, currency)

    # --- sale: quote and confirm ----------------------------------------------------------------------------------
    def quote(self, draft: SaleRequest) -> SaleQuote:
        with Session(self.engine) as session:
            return self._quote(session, draft)

    def record(self, draft: SaleRequest) -> RecordedSale:
        """Write the sale and everything it does, in one transaction; raises `SaleRefused` with the reasons."""
        # Load the programme first: loading reads programme_versions on a connection of its own, which would wait
        # forever for the write lock this transaction holds.
        self.programmes.programme
        try:
            with Session(self.engine) as session, session.begin():
                earlier = replay(session, draft.draft_id)
                if earlier is not None:
                    return earlier
                quote = self._quote(session, draft)
                if not quote.ok:
                    raise SaleRefused(quote)
                return write_sale(session, draft, quote, settings=self.settings, programme=self.programmes.programme)
        except OperationalError as error:
            # The disk filled (or went read-only) between the quote and the write: the transaction rolled back,
            # so nothing of the sale was written; say so in the receptionist's words, as a refusal.
            problem = describe_storage_error(error, self._database_path())
            if problem is None:
                raise
            quote = self.quote(draft)
            raise SaleRefused(dc_replace(quote, errors={**quote.errors, "storage": str(problem)})) from None
        except IntegrityError:
            # Only a concurrent writer could get here (the checks above run under the write lock); report it the
            # way a person understands: the receipt is already recorded, or this very draft already was.
            with Session(self.engine) as session:
                earlier = replay(session, draft.draft_id)
                if earlier is not None:
                    return earlier
                quote = self._quote(session, draft)
            if quote.errors:
                raise SaleRefused(quote) from None
            raise

    def sale(self, sale_id: int) -> SaleSummary | None:
        with Session(self.engine) as session:
            row = session.get(Sale, sale_id)
            return summarise_sale(session, row) if row is not None else None

    def find_sales(self, receipt_no: str, member_id: int | None = None) -> list[SaleSummary]:
        """Sales (not reversals) under a receipt number: this outlet's, plus any of the member's elsewhere."""
        receipt_no = receipt_no.strip()
        with Session(self.engine) as session:
            query = select(Sale).where(Sale.kind == "sale", Sale.receipt_no == receipt_no)
            if member_id is not None:
                query = query.where((Sale.outlet_code == self.settings.outlet_code) | (Sale.member_id == member_id))
            else:
                query = query.where(Sale.outlet_code == self.settings.outlet_code)
            return [summarise_sale(session, row) for row in session.scalars(query.order_by(Sale.occurred_at.desc()))]

    # --- reversals ------------------------------------------------------------------------------------------------
    def server_points(self, sale_id: int) -> int | None:
        """The points the loyalty server credited for the sale, once sync has delivered it (None until then)."""
        with Session(self.engine) as session:
            row = session.get(Sale, sale_id)
            return row.server_points if row is not None else None

    def quote_reversal(self, sale_id: int, *, void: bool, amount: str = "") -> ReversalQuote:
        with Session(self.engine) as session:
            return quote_reversal(session, sale_id, void=void, amount=amount)

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
        # A full disk is said before the manager's PIN is checked (and counted), not as a database error after it.
        room = free_space_problem(self._database_path(), what="this void" if void else "this refund")
        if room:
            errors["storage"] = room
        if errors:
            raise ReversalRefused(errors)
        assert manager_id is not None
        try:
            check = self.staff.check_pin(manager_id, manager_pin, require_manager=True,
                                         purpose="void" if void else "refund")
            if not check.ok:
                raise ReversalRefused({"pin": check.message})
            with Session(self.engine) as session, session.begin():
                quote = quote_reversal(session, sale_id, void=void, amount=amount)  # again, under the write lock
                if not quote.ok:
                    raise ReversalRefused(quote.errors)
                return write_reversal(session, quote, manager_id, reason, requested_by, settings=self.settings,
                                      now=self.clock())
        except OperationalError as error:
            # The disk filled (or went read-only) during the write: the transaction rolled back, nothing of the
            # reversal was written; said as a refusal the dialog shows beside its button.
            problem = describe_storage_error(error, self._database_path())
            if problem is None:
                raise
            raise ReversalRefused({"storage": str(problem)}) from None


    # --- internals ------------------------------------------------------------------------------------------------
    def _quote(self, session: Session, draft: SaleRequest) -> SaleQuote:
        quote = quote_sale(session, draft, settings=self.settings, programme=self.programmes.programme,
                           online=bool(self.is_online()), now=self.clock())
        # A full disk refuses the sale while it is being typed, not half-way through writing it.
        room = free_space_problem(self._database_path())
        return dc_replace(quote, errors={**quote.errors, "storage": room}) if room else quote

    def _database_path(self) -> Path:
        return Path(self.engine.url.database or self.settings.database_path)
