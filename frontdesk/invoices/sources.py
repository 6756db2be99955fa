"""Files as sources: a folder (or list) of .eml files, and a WESS sales CSV export for back-filling a day.

The WESS CSV (as seen in public code that parses it; WESS documents nothing): a header row `Date, Reference No.,
Employee, Customer, <item>, Type, Qty, Nett, Deduction`; data rows start with a row number, group headers and
totals rows are interleaved (they have no row number); dates like `07-06-2026 01:47 PM` in the shop's zone;
`Customer` is `CODE:Name` (empty for a walk-in); the item is `CODE: A La Carte - name` or a bare code. A ticket
spans several rows. The export has no payments or GST: a receipt from it is recorded as one card payment of its
total, with a reference saying so, and GST as included in the prices.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from frontdesk.domain.money import MoneyError
from frontdesk.invoices.importer import InvoiceImporter, Origin, Outcome
from frontdesk.invoices.validate import Invoice, InvoiceLine, InvoicePayment, Problem, parse_amount

CSV_PROFILE = "wess-csv"
CSV_TYPES = {"S": "service", "P": "product", "G": "package", "C": "redemption"}
CSV_CATEGORIES = {"product": "Retail", "package": "Package", "redemption": "Package Redemption"}
_ITEM = re.compile(r"^\s*(?P<code>[^:]+?)\s*:\s*(?:A La Carte\s*-\s*)?(?P<name>.+)$")


@dataclass(frozen=True)
class FileOutcome:
    path: Path
    outcome: Outcome


def iter_mail_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.eml") if p.is_file())
        else:
            yield path


def import_mail_file(importer: InvoiceImporter, path: Path) -> Outcome:
    size = path.stat().st_size
    origin = Origin(source="folder", mailbox=str(path.resolve())[:255])
    if size > importer.config.max_mail_bytes:
        with path.open("rb") as handle:
            head = handle.read(65536)
        return importer.process_oversized(head.split(b"\r\n\r\n")[0].split(b"\n\n")[0], size, origin)
    return importer.process_mail(path.read_bytes(), origin)


@dataclass
class _Ticket:
    receipt_no: str
    rows: list[list[str]]


def read_wess_csv(data: str, *, outlet_code: str, zone: ZoneInfo, currency: str = "SGD",
                  region: str = "SG") -> list[tuple[Invoice, list[Problem], str]]:
    """Every ticket in the export: (receipt, problems, fingerprint)."""
    reader = csv.reader(io.StringIO(data))
    header: list[str] | None = None
    tickets: dict[str, _Ticket] = {}
    for row in reader:
        cells = [c.strip() for c in row]
        if header is None:
            lowered = [c.casefold() for c in cells]
            if "reference no." in lowered and "nett" in lowered:
                header = lowered
            continue
        if not cells or not cells[0].isdigit():
            continue  # group headers and totals rows carry no row number
        record = dict(zip(header, cells))
        receipt = record.get("reference no.", "")
        if not receipt:
            continue
        tickets.setdefault(receipt, _Ticket(receipt, [])).rows.append(cells)
    if header is None:
        raise ValueError("not a WESS sales export: no header row with “Reference No.” and “Nett”")
    item_column = next((h for h in header if h not in ("", "date", "reference no.", "employee", "customer", "type",
                                                      "qty", "nett", "deduction") and not h.isdigit()), "item")
    out = []
    for ticket in tickets.values():
        problems: list[Problem] = []
        invoice = Invoice(profile=CSV_PROFILE, currency=currency, receipt_no=ticket.receipt_no, outlet_printed=outlet_code,
                          outlet_code=outlet_code, gst_inclusive=True)
        for index, cells in enumerate(ticket.rows):
            record = dict(zip(header, cells))
            if index == 0:
                try:
                    naive = datetime.strptime(" ".join(record.get("date", "").split()), "%d-%m-%Y %I:%M %p")
                    invoice.occurred_at = naive.replace(tzinfo=zone).astimezone(ZoneInfo("UTC"))
                except ValueError:
                    problems.append(Problem("date", f"“{record.get('date', '')[:30]}” is not DD-MM-YYYY hh:mm AM/PM",
                                            "parse"))
                customer = record.get("customer", "")
                if customer:
                    code, _, name = customer.partition(":")
                    invoice.customer_code, invoice.customer_name = code.strip(), name.strip()
                invoice.staff = record.get("employee", "")
            item = record.get(item_column, "")
            found = _ITEM.match(item)
            code, name = (found.group("code"), found.group("name")) if found else (item, item)
            kind = CSV_TYPES.get(record.get("type", "").upper(), "service")
            try:
                amount = parse_amount(record.get("nett", ""), currency)
                qty = int(Decimal(record.get("qty", "1") or "1"))
            except (MoneyError, ArithmeticError, ValueError):
                problems.append(Problem(f"lines[{index}]", f"the amount or quantity of {item[:40]} cannot be read",
                                        "parse"))
                continue
            if kind == "redemption" and amount == 0:
                pass
            elif kind == "redemption":
                kind = "service"  # a negative credit line is a price adjustment: the importer makes it a discount
            invoice.lines.append(InvoiceLine(name=name.strip(), amount=amount, code=code.strip(), kind=kind,
                                             category=CSV_CATEGORIES.get(kind, ""), staff=record.get("employee", ""),
                                             qty=max(qty, 1)))
        total = sum((line.amount for line in invoice.lines), Decimal(0))
        invoice.subtotal = total
        invoice.total = total
        if total:
            invoice.payments = [InvoicePayment("WESS CSV export (tenders are not exported)", "card", total)]
        digest = hashlib.sha256(("csv|" + outlet_code + "|" + "\n".join(
            "|".join(cells) for cells in ticket.rows)).encode("utf-8")).hexdigest()
        out.append((invoice, problems, digest))
    return out


def import_wess_csv(importer: InvoiceImporter, path: Path, outlet_code: str) -> list[Outcome]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        text = path.read_text(encoding="cp1252", errors="replace")
    settings = importer.settings
    outcomes = []
    from frontdesk.invoices.validate import check_arithmetic

    for invoice, problems, digest in read_wess_csv(text, outlet_code=outlet_code, zone=settings.zone,
                                                    currency=settings.currency, region=settings.phone_region):
        problems = problems + check_arithmetic(invoice, Decimal(0))
        if invoice.occurred_at is not None and invoice.occurred_at > importer.clock():
            problems.append(Problem("date", "the receipt is dated in the future", "date"))
        outcomes.append(importer.process_invoice(invoice, Origin(source="csv", mailbox=str(path)[:255]), digest,
                                                 problems))
    return outcomes
