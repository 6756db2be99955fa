"""The day's three-way reconciliation: WESS receipts by mail, loyalty sales recorded here, and the server.

For one outlet and one local day:
- missed points (blocker): a WESS receipt names a member but no loyalty sale has its receipt number;
- totals differ (blocker): both exist with different totals;
- rejected by the server (blocker): the loyalty sale for a WESS receipt was refused;
- not confirmed yet (warning): the loyalty sale is still pending or in doubt at the server;
- no WESS receipt (warning): a counter sale whose receipt number no WESS mail carries (a typo, a wrong number);
  only listed once mail arrives for the day at all, since without mail every sale would be listed;
- receipts waiting (warning): WESS receipts that name no member and wait for the receptionist.
Qt-free; the manager's day screen and `frontdesk invoices review --json` show it, the day close lists it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from frontdesk.domain.money import Money
from frontdesk.loyalty.programme import local_day_bounds
from frontdesk.store.models import InboundInvoice, Sale

BLOCKER = "blocker"
WARNING = "warning"


@dataclass(frozen=True)
class ReconciliationItem:
    kind: str  # missed_points | totals_differ | rejected_by_server | not_confirmed | no_wess_receipt | waiting
    severity: str  # blocker | warning
    receipt_no: str
    message: str
    invoice_id: int | None = None
    sale_id: int | None = None
    wess_total: Money | None = None
    loyalty_total: Money | None = None
    server_status: str = ""


@dataclass(frozen=True)
class Reconciliation:
    day: date
    outlet_code: str
    wess_receipts: int  # distinct receipt numbers that came by mail
    loyalty_sales: int  # sales recorded here (counter and invoice mail)
    counter_sales: int
    mail_sales: int
    synced: int  # of the loyalty sales, confirmed by the server
    items: tuple[ReconciliationItem, ...] = field(default_factory=tuple)

    @property
    def blockers(self) -> list[ReconciliationItem]:
        return [i for i in self.items if i.severity == BLOCKER]

    @property
    def warnings(self) -> list[ReconciliationItem]:
        return [i for i in self.items if i.severity == WARNING]

    def to_json(self) -> dict[str, Any]:
        def plain(value: Any) -> Any:
            if isinstance(value, Money):
                return value.plain()
            if isinstance(value, date):
                return value.isoformat()
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return [plain(v) for v in value]
            return value

        data = plain({k: v for k, v in asdict(self).items() if k != "items"})
        data["items"] = [plain({k: getattr(i, k) for k in i.__dataclass_fields__}) for i in self.items]
        data["blockers"] = len(self.blockers)
        data["warnings"] = len(self.warnings)
        return data


def _names_customer(row: InboundInvoice) -> bool:
    invoice = (row.extracted or {}).get("invoice") or {}
    return bool(invoice.get("customer_code") or invoice.get("customer_mobile") or invoice.get("customer_email"))


def reconcile_day(engine: Engine | Connection, day: date, outlet_code: str, zone: ZoneInfo | str = "Asia/Singapore"
                  ) -> Reconciliation:
    """`engine` may be a connection in a transaction (the day close re-reads the day inside its write lock)."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    start, end = local_day_bounds(day, zone)
    items: list[ReconciliationItem] = []
    with Session(engine) as session:
        invoices = session.scalars(select(InboundInvoice).where(
            InboundInvoice.outlet_code == outlet_code, InboundInvoice.occurred_at >= start,
            InboundInvoice.occurred_at < end, InboundInvoice.receipt_no != "",
            InboundInvoice.status.notin_(("discarded", "duplicate", "received"))).order_by(InboundInvoice.id)).all()
        sales = session.scalars(select(Sale).where(
            Sale.outlet_code == outlet_code, Sale.kind == "sale", Sale.occurred_at >= start,
            Sale.occurred_at < end)).all()
        by_receipt: dict[str, InboundInvoice] = {}
        for row in invoices:
            if row.total_minor is not None and row.total_minor < 0:
                continue  # refunds reconcile against their original sale's reversal, not as receipts
            if row.review_code == "conflict" and row.receipt_no in by_receipt:
                continue
            by_receipt.setdefault(row.receipt_no, row)
        sales_by_receipt = {s.receipt_no: s for s in sales}
        for receipt_no in sorted(set(by_receipt) - set(sales_by_receipt)):
            row = by_receipt[receipt_no]
            other = session.scalar(select(Sale).where(Sale.outlet_code == outlet_code, Sale.kind == "sale",
                                                      Sale.receipt_no == receipt_no))
            if other is not None:
                sales_by_receipt[receipt_no] = other  # keyed on another day: still reconciled below
        for receipt_no, row in sorted(by_receipt.items()):
            wess_total = Money.from_minor(row.total_minor, row.currency) if row.total_minor is not None else None
            sale = sales_by_receipt.get(receipt_no)
            if sale is None:
                if row.review_code == "no_member" or not _names_customer(row):
                    items.append(ReconciliationItem(
                        "waiting", WARNING, receipt_no, f"WESS receipt {receipt_no} names no member: waiting for "
                        "the receptionist to attach it", invoice_id=row.id, wess_total=wess_total))
                else:
                    why = f" (in review: {row.reason[:120]})" if row.status == "review" else ""
                    items.append(ReconciliationItem(
                        "missed_points", BLOCKER, receipt_no, f"WESS receipt {receipt_no} names a member but no "
                        f"loyalty sale was recorded: missed points{why}", invoice_id=row.id, wess_total=wess_total))
                continue
            loyalty_total = Money.from_minor(sale.total_minor, sale.currency)
            if row.total_minor is not None and row.total_minor != sale.total_minor:
                items.append(ReconciliationItem(
                    "totals_differ", BLOCKER, receipt_no, f"receipt {receipt_no}: WESS says "
                    f"{wess_total.display() if wess_total else '?'}, the loyalty sale {loyalty_total.display()}",
                    invoice_id=row.id, sale_id=sale.id, wess_total=wess_total, loyalty_total=loyalty_total,
                    server_status=sale.status))
            if sale.status == "rejected":
                items.append(ReconciliationItem(
                    "rejected_by_server", BLOCKER, receipt_no, f"the loyalty server rejected receipt {receipt_no}: "
                    f"{sale.reject_reason or 'no reason given'}", invoice_id=row.id, sale_id=sale.id,
                    wess_total=wess_total, loyalty_total=loyalty_total, server_status=sale.status))
            elif sale.status != "synced":
                items.append(ReconciliationItem(
                    "not_confirmed", WARNING, receipt_no, f"receipt {receipt_no} is not confirmed by the loyalty "
                    f"server yet ({sale.status})", invoice_id=row.id, sale_id=sale.id, wess_total=wess_total,
                    loyalty_total=loyalty_total, server_status=sale.status))
        if by_receipt:
            for sale in sorted(sales, key=lambda s: s.receipt_no):
                if sale.receipt_no not in by_receipt and sale.sales_mode == "counter":
                    items.append(ReconciliationItem(
                        "no_wess_receipt", WARNING, sale.receipt_no, f"counter sale {sale.receipt_no} has no WESS "
                        "receipt by mail: check the receipt number for a typo", sale_id=sale.id,
                        loyalty_total=Money.from_minor(sale.total_minor, sale.currency), server_status=sale.status))
    order = {BLOCKER: 0, WARNING: 1}
    items.sort(key=lambda i: (order[i.severity], i.kind, i.receipt_no))
    return Reconciliation(
        day=day, outlet_code=outlet_code, wess_receipts=len(by_receipt), loyalty_sales=len(sales),
        counter_sales=sum(1 for s in sales if s.sales_mode == "counter"),
        mail_sales=sum(1 for s in sales if s.sales_mode == "invoice_mail"),
        synced=sum(1 for s in sales if s.status == "synced"), items=tuple(items))
