"""Screens for WESS invoice mail: the managers' review list (with the day's reconciliation) and the receptionists'
receipts-waiting list. Qt only; all work goes through frontdesk.invoices on the UI's database worker."""
