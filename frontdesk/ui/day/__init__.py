"""The manager's day on screen: the Day window (table, totals, charts, close), its Qt model, the charts (Qt Charts)
and the PDF day report. Figures come from frontdesk.reports; this package only shows and prints them.
"""


def sync_decisions():  # type: ignore[no-untyped-def]
    """The sync engine's retry and discard, for `DayService` (the reports package sits below sync)."""
    from frontdesk.reports.close import SyncDecisions
    from sync.outbox import discard_entry, retry_entry

    return SyncDecisions(retry=retry_entry, discard=discard_entry)
