"""The manager's day on screen: the Day window (table, totals, charts, close), its Qt model, the charts (Qt Charts)
and the PDF day report. Figures come from frontdesk.reports; this package only shows and prints them.
"""


def sync_decisions():  # type: ignore[no-untyped-def]
    """Sync's retry, discard and send-without-the-refused-part, for `DayService` (reports sit below sync)."""
    from frontdesk.reports.close import SyncDecisions
    from sync.outbox import discard_entry, retry_entry, send_without_refused_part

    return SyncDecisions(retry=retry_entry, discard=discard_entry, send_without_refused=send_without_refused_part)
