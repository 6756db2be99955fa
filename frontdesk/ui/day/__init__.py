"""The manager's day on screen: the Day window (table, totals, charts, close), its Qt model, the charts (Qt Charts)
and the PDF day report. Figures come from frontdesk.reports; this package only shows and prints them.
"""
