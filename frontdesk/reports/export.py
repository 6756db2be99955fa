"""The day as CSV files a spreadsheet opens as they are: UTF-8 with a BOM (Excel needs it to read UTF-8), ISO
dates and times in the shop's zone with their offset, plain decimal amounts ("1234.50", never "S$1,234.50"), one
header row. `sales_csv` has a row per sale, void, refund, enrolment and point adjustment; `lines_csv` a row per
item line of the day's sales. The figures are the `DayReport`'s, so they agree with the screen and the PDF.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from frontdesk.domain.money import Money
from frontdesk.reports.day import DayReport

SALES_COLUMNS = ["date", "time", "kind", "receipt_no", "member_id", "member", "staff_code", "staff", "total",
                 "currency", "points_earned", "points_redeemed", "server_points", "tender", "status", "sync",
                 "provisional", "detail"]
LINES_COLUMNS = ["date", "time", "receipt_no", "line_no", "name", "sku", "category", "quantity", "unit_price",
                 "discount", "tax", "service_charge", "total", "currency", "staff_code", "points"]


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A cell starting with = + - @ is a formula to a spreadsheet; member names and notes are typed by people.
    if text[:1] in ("=", "+", "@", "\t", "\r") or (text[:1] == "-" and not _is_number(text)):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _write(columns: list[str], rows: list[list[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return "\ufeff" + buffer.getvalue()


def sales_csv(report: DayReport) -> str:
    zone = report.home.zone
    rows: list[list[object]] = []
    for r in report.rows:
        local = r.occurred_at.astimezone(zone)
        rows.append([local.date().isoformat(), local.isoformat(timespec="seconds"), r.kind, r.receipt_no,
                     r.member_id or "", r.member_name, r.staff_code, r.staff_name,
                     Money.from_minor(r.total_minor, r.currency).plain(), r.currency, r.points_earned,
                     r.points_redeemed, "" if r.server_points is None else r.server_points, r.tender, r.status,
                     r.sync, "yes" if r.provisional else "no", r.detail])
    return _write(SALES_COLUMNS, rows)


def lines_csv(report: DayReport) -> str:
    zone = report.home.zone
    rows: list[list[object]] = []
    for item, sale in report.lines:
        local = sale.occurred_at.astimezone(zone)
        currency = sale.currency

        def plain(minor: int) -> str:
            return Money.from_minor(minor, currency).plain()

        rows.append([local.date().isoformat(), local.isoformat(timespec="seconds"), sale.receipt_no,
                     item.line_no, item.name, item.sku, item.category, item.quantity, plain(item.unit_price_minor),
                     plain(item.discount_minor), plain(item.tax_minor), plain(item.service_charge_minor),
                     plain(item.total_minor), currency, item.staff_code, item.points])
    return _write(LINES_COLUMNS, rows)


def lines_path_for(path: Path) -> Path:
    """Where the lines file goes beside the sales file: day.csv -> day-lines.csv."""
    return path.with_name(f"{path.stem}-lines{path.suffix or '.csv'}")


def write_csv(report: DayReport, path: str | Path) -> tuple[Path, Path]:
    """Write the sales file at `path` and the lines file beside it; returns both paths."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    lines_target = lines_path_for(target)
    # newline="" keeps csv's CRLF as written on every platform.
    with open(target, "w", encoding="utf-8", newline="") as handle:
        handle.write(sales_csv(report))
    with open(lines_target, "w", encoding="utf-8", newline="") as handle:
        handle.write(lines_csv(report))
    return target, lines_target
