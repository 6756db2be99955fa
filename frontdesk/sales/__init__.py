"""The sale's home, Qt-free: what a sale is (`model`), reading what was typed (`form`), quoting it (`quote`),
recording it (`record`), voiding or refunding it (`reversal`), its receipt text (`receipts`), what a sync outcome
means for it, its ledger, vouchers and member (`outcomes`, applied in one place for the sync engine), and the one
entry point that does all of it (`SalesService`). The counter's checkout and invoice mail both record through `SalesService`.

May import `frontdesk.domain`, `frontdesk.store`, `frontdesk.loyalty`, `frontdesk.staff` and `frontdesk.config`;
never Qt, HTTP, `frontdesk.ui` or `sync`.
"""
from frontdesk.sales.model import (
    PAYMENT_METHODS,
    AppliedRedemption,
    LineInput,
    PaymentInput,
    RecordedSale,
    RedemptionInput,
    ReversalQuote,
    ReversalRefused,
    ReversalResult,
    SaleQuote,
    SaleRefused,
    SaleRequest,
    SaleSummary,
    new_draft_id,
)
from frontdesk.sales.service import SalesService

__all__ = [
    "PAYMENT_METHODS", "AppliedRedemption", "LineInput", "PaymentInput", "RecordedSale", "RedemptionInput",
    "ReversalQuote", "ReversalRefused", "ReversalResult", "SaleQuote", "SaleRefused", "SaleRequest", "SaleSummary",
    "SalesService", "new_draft_id",
]
