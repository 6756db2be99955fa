"""WESS invoice mail: receipts that arrive by themselves, checked, de-duplicated, linked and queued as sales.

What lives here (Qt-free, no HTTP): reading mail (IMAP with IMAPClient, a folder of .eml files, a WESS sales CSV
export), layout profiles as TOML data (`profiles/`), extraction (`email` with policy.default, BeautifulSoup + lxml,
pdfplumber), validation with Decimal, de-duplication and conflicts, linking the member through the normal search,
recording through the checkout's single entry point (`SalesService.record`, sales_mode "invoice_mail"), the
managers' review decisions and the day's three-way reconciliation.

May import: frontdesk.domain, frontdesk.store, frontdesk.search, frontdesk.sales (the one way a sale is recorded),
frontdesk.loyalty, frontdesk.staff, frontdesk.config, frontdesk.secrets. Never the UI, never sync/.
"""
