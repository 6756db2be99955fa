"""The day report as a two-page A4 PDF: page 1 the totals, page 2 the charts and the exceptions.

An X report while the day is open, a Z report once it is closed (with who closed it and any override); a closed
day that changed afterwards lists the after-close adjustments. Drawn with Qt's own PDF writer (QPdfWriter) and
painter: the tables are a QTextDocument, the charts are Qt Charts drawn through the same painter, so the file is
vector and needs no printer. Works headless (QT_QPA_PLATFORM=offscreen): `headless_pdf_writer()` is what the
command line uses.
"""
from __future__ import annotations

import html
import os
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, QSizeF
from PySide6.QtGui import QPagedPaintDevice, QPageLayout, QPageSize, QPainter, QPdfWriter, QTextDocument

from frontdesk.reports.close import ACTION_WORDS, DayState, describe_state
from frontdesk.reports.day import KIND_WORDS, PAYMENT_WORDS, SYNC_WORDS, DayTotals
from frontdesk.ui.day.charts import day_charts, render_chart

DPI = 96  # page coordinates in CSS pixels: A4 is 794 × 1123
MARGIN = 40
MAX_LISTED = 14  # rows per table before "and N more"
STYLE = """
body { font-family: 'DejaVu Sans', 'Segoe UI', Arial, sans-serif; font-size: 9pt; color: #1f2933; }
h1 { font-size: 16pt; margin: 0; } h2 { font-size: 10.5pt; margin: 8px 0 3px 0; color: #243b53; }
.muted { color: #616e7c; } .warn { color: #a61b1b; } .ok { color: #2e7d32; }
td { padding: 1px 4px; } th { padding: 2px 4px; text-align: left; background: #eef1f4; color: #52606d; }
td.n { text-align: right; }
"""


def _esc(text: object) -> str:
    return html.escape(str(text))


def _table(headers: list[str], rows: list[list[object]], numeric_from: int = 1,
           widths: list[int] | None = None) -> str:
    def width(i: int) -> str:
        return f" width={widths[i]}%" if widths else ""

    head = "".join(f"<th{width(i)}{' align=right' if i >= numeric_from else ''}>{_esc(h)}</th>"
                   for i, h in enumerate(headers))
    body = []
    shown = rows[:MAX_LISTED]
    for row in shown:
        cells = "".join(f"<td{' class=n align=right' if i >= numeric_from else ''}>{_esc(v)}</td>"
                        for i, v in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    if len(rows) > len(shown):
        body.append(f"<tr><td colspan={len(headers)} class=muted>… and {len(rows) - len(shown)} more "
                    "(see the CSV)</td></tr>")
    if not rows:
        body.append(f"<tr><td colspan={len(headers)} class=muted>none</td></tr>")
    return f"<table width=100% cellspacing=0>{''.join([f'<tr>{head}</tr>'] + body)}</table>"


def _kv(pairs: list[tuple[str, object]]) -> str:
    # A label starting with an em space is a sub-line of the one above: indented (HTML collapses plain spaces).
    rows = "".join(f"<tr><td>{_esc(k).replace(chr(0x2003), '&nbsp;' * 4)}</td><td class=n align=right>{_esc(v)}</td></tr>"
                   for k, v in pairs)
    return f"<table width=100% cellspacing=0>{rows}</table>"


def _title(state: DayState) -> str:
    return "Z report — day closed" if state.closed else "X report — day open"


def page_one_html(state: DayState, generated_at: datetime) -> str:
    report = state.report
    t: DayTotals = report.totals
    d = t.to_dict()
    zone = report.home.zone
    when = generated_at.astimezone(zone).strftime("%d %b %Y %H:%M")
    status = describe_state(state)
    close_line = ""
    if state.close is not None:
        closed = state.close.closed_at.astimezone(zone).strftime("%d %b %Y %H:%M")
        by = f" by staff #{state.close.closed_by}" if state.close.closed_by else ""
        close_line = f"<p>Closed {closed}{_esc(by)}" + (
            f" · <span class=warn>override: {_esc(state.close.override_reason)}</span>"
            if state.close.override_reason else "") + "</p>"
    money = [("Sales", f"{d['sales']['count']}"), ("Gross sales", d["sales"]["gross"]),
             ("Voids", f"{d['voids']['count']} · {d['voids']['amount']}"),
             ("Refunds", f"{d['refunds']['count']} · {d['refunds']['amount']}"), ("Net sales", d["net"]),
             ("Subtotal", d["sales"]["subtotal"]), ("Tax", d["sales"]["tax"]),
             ("Service charge", d["sales"]["service_charge"]), ("Discounts (incl. rewards)", d["sales"]["discounts"]),
             ("Sales the server refused", f"{d['sales']['rejected']['count']} · {d['sales']['rejected']['amount']}")]
    p = d["points"]
    points = [("Issued (counter)", f"{p['issued']:,}"), ("\u2003of which confirmed by the server", f"{p['issued_server']:,}"),
              ("\u2003not yet confirmed", f"{p['issued_unconfirmed']:,}"), ("Redeemed", f"{p['redeemed']:,}"),
              ("Clawed back (refunds, voids)", f"{p['reversed']['clawed_back']:,}"),
              ("Given back (voids)", f"{p['reversed']['restored']:,}"),
              ("Shortfall (already spent)", f"{p['reversed']['shortfall']:,}"),
              ("Provisional (offline)", f"{p['provisional']['points']:,} · {p['provisional']['sales']} sales"),
              ("Adjusted", f"+{p['adjusted']['added']:,} / −{p['adjusted']['removed']:,} "
                           f"({p['adjusted']['count']})"),
              ("Net change to balances", f"{p['net']:+,}")]
    sync = d["sync"]
    oldest = sync["oldest_unsynced"]
    sync_pairs = [(SYNC_WORDS[k].capitalize(), sync[k]) for k in ("synced", "pending", "in_doubt", "rejected",
                                                                   "discarded", "local")]
    sync_pairs.append(("Oldest not settled", f"{oldest['local_time']} ({oldest['kind']} {oldest['receipt_no'] or ''})"
                       if oldest else "—"))
    payments = [[PAYMENT_WORDS.get(m, m), a] for m, a in d["by_payment_method"].items()]
    staff = [[f"{s['name']}", s["sales"], s["gross"], s["reversed"], s["net"], f"{s['points_earned']:,}"]
             for s in sorted(d["by_staff"].values(), key=lambda s: -float(s["net"]))]
    categories = [[name, c["quantity"], c["amount"]] for name, c in
                  sorted(d["by_category"].items(), key=lambda kv: -float(kv[1]["amount"]))]
    rewards = [[{"reward": "Rewards", "voucher": "Vouchers", "points_money": "Points as money",
                 "stored_value": "Stored value"}.get(k, k), r["count"], f"{r['points']:,}", r["amount"]]
               for k, r in d["rewards"].items()]
    return f"""<html><head><style>{STYLE}</style></head><body>
<h1>{_esc(_title(state))}</h1>
<p class=muted>{_esc(report.scope.label())} · {_esc(t.zone)} · amounts in {_esc(t.currency)} · printed {when}</p>
<p><b>{_esc(status)}</b></p>{close_line}
<table width=100% cellspacing=0><tr>
<td width=50% valign=top><h2>Sales</h2>{_kv(money)}<h2>By payment method</h2>{_table(['Method', 'Amount'], payments)}
<h2>Rewards and vouchers used</h2>{_table(['Kind', 'Used', 'Points', 'Amount'], rewards)}
<p class=muted>Members enrolled: {d['members_enrolled']}</p></td>
<td width=50% valign=top><h2>Points</h2>{_kv(points)}<h2>Sync health</h2>{_kv(sync_pairs)}</td>
</tr></table>
<h2>By staff</h2>{_table(['Staff', 'Sales', 'Gross', 'Reversed', 'Net', 'Points'], staff)}
<h2>By category (line totals before bill rewards)</h2>{_table(['Category', 'Qty', 'Amount'], categories)}
</body></html>"""


def page_two_html(state: DayState) -> str:
    report = state.report
    exceptions = [[e.kind.replace("_", " "), e.text] for e in report.exceptions]
    blockers = [[b.kind.replace("_", " "), b.text, " / ".join(ACTION_WORDS[a] for a in b.actions)]
                for b in state.blockers]
    parts = [f"<html><head><style>{STYLE}</style></head><body>",
             f"<h2>Exceptions ({len(exceptions)})</h2>",
             _table(["Kind", "What"], exceptions, numeric_from=9, widths=[12, 88])]
    if not state.closed:
        parts += [f"<h2>Before the day can close ({len(blockers)})</h2>",
                  _table(["Kind", "What", "Action"], blockers, numeric_from=9, widths=[12, 58, 30])]
    else:
        changes = [[a.text] for a in state.after_close()]
        parts += [f"<h2>Changes after the close ({len(changes)})</h2>",
                  "<p class=muted>The closed figures on page 1 are as they are now; the snapshot taken at the close "
                  "is kept unchanged.</p>" if changes else "", _table(["Change"], changes, numeric_from=9)]
    parts.append("</body></html>")
    return "".join(parts)


def _draw_html(painter: QPainter, markup: str, rect: QRectF) -> float:
    document = QTextDocument()
    document.setDocumentMargin(0)
    document.setHtml(markup)
    document.setTextWidth(rect.width())
    height = document.size().height()
    scale = min(1.0, rect.height() / height) if height else 1.0  # never spill off the page: shrink to fit
    painter.save()
    painter.translate(rect.topLeft())
    painter.scale(scale, scale)
    document.setTextWidth(rect.width() / scale)
    document.drawContents(painter, QRectF(0, 0, rect.width() / scale, rect.height() / scale))
    painter.restore()
    return height * scale


def write_day_pdf(state: DayState, path: str | Path, *, generated_at: datetime | None = None) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    writer = QPdfWriter(str(target))
    writer.setResolution(DPI)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                     QMarginsF(0, 0, 0, 0)))
    writer.setTitle(f"Front Desk day report {state.report.scope.day.isoformat()}")
    writer.setCreator("Front Desk")
    paint_day_report(state, writer, generated_at=generated_at)
    return target


def paint_day_report(state: DayState, device: QPagedPaintDevice, *, generated_at: datetime | None = None) -> None:
    """Paint the two pages on a PDF writer or a printer (QPrinter), laid out in 96-dpi units whatever its
    resolution."""
    scale = device.logicalDpiX() / DPI
    page = device.pageLayout().paintRectPixels(device.logicalDpiX())
    width, height = page.width() / scale, page.height() / scale
    content = QRectF(MARGIN, MARGIN, width - 2 * MARGIN, height - 2 * MARGIN)
    painter = QPainter(device)
    painter.scale(scale, scale)
    try:
        _draw_html(painter, page_one_html(state, generated_at or datetime.now(timezone.utc)), content)
        device.newPage()
        charts = day_charts(state.report.totals)
        gap = 12
        cell_w = (content.width() - gap) / 2
        cell_h = 250
        for index, chart in enumerate(charts):
            row, column = divmod(index, 2)
            rect = QRectF(content.left() + column * (cell_w + gap), content.top() + row * (cell_h + gap),
                          cell_w, cell_h)
            render_chart(chart, painter, rect, QSizeF(cell_w, cell_h))
        below = content.top() + 2 * (cell_h + gap) + 6
        _draw_html(painter, page_two_html(state), QRectF(content.left(), below, content.width(),
                                                         content.bottom() - below))
    finally:
        painter.end()


def headless_pdf_writer() -> Callable[[DayState, Path], Path]:
    """For the command line: a Qt application without a screen (the offscreen platform), then the writer."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    QApplication.instance() or QApplication([])  # charts are graphics widgets: they need a QApplication
    return write_day_pdf


__all__ = ["KIND_WORDS", "headless_pdf_writer", "page_one_html", "page_two_html", "paint_day_report", "write_day_pdf"]
