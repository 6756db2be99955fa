"""The manager's day, Qt-free: the day's rows and totals (one calculation for the screen, the JSON, the CSV and the
PDF), the exports, closing and reopening a day with its snapshot, and point adjustments.

May import frontdesk.domain, frontdesk.store, frontdesk.staff, frontdesk.sales, frontdesk.invoices (the WESS-receipt
reconciliation the close lists) and frontdesk.config; never Qt (the
PDF, which needs Qt's painter, lives in frontdesk.ui.day), HTTP or sync (the sync engine's retry and discard are
handed in by the caller: `close.SyncDecisions`).
"""
from frontdesk.reports.day import DayReport, DayRow, DayScope, DayTotals, load_day

__all__ = ["DayReport", "DayRow", "DayScope", "DayTotals", "load_day"]
