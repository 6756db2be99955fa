"""The manager's day, Qt-free: the day's rows and totals (one calculation for the screen, the JSON, the CSV and the
PDF), the exports, closing and reopening a day with its snapshot, and point adjustments.

May import frontdesk.domain, frontdesk.store, frontdesk.services and sync.outbox's manager actions; never Qt (the
PDF, which needs Qt's painter, lives in frontdesk.ui.day).
"""
from frontdesk.reports.day import DayReport, DayRow, DayScope, DayTotals, load_day

__all__ = ["DayReport", "DayRow", "DayScope", "DayTotals", "load_day"]
