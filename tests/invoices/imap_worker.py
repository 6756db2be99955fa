"""A mailbox reader in its own process, for the kill -9 tests: `python -m tests.invoices.imap_worker DB PORT [PAUSE]`.

It prints "RECORDED <uid>" after the importer has recorded a mail's outcome and before the mail is marked on the
server, then sleeps PAUSE seconds: the window a kill -9 must not be able to exploit.
"""
from __future__ import annotations

import sys
import time
from dataclasses import replace

from frontdesk.config import Settings
from frontdesk.invoices.imap import MailboxWatcher
from frontdesk.invoices.service import build_invoice_services
from frontdesk.invoices.settings import ImapSettings, InvoiceSettings
from frontdesk.store import make_engine


def main() -> int:
    db, port = sys.argv[1], int(sys.argv[2])
    pause = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    settings = replace(Settings(), database=db, outlet_code="TAMPINES", counter_id="C2")
    imap = ImapSettings(host="127.0.0.1", port=port, security="plain", user="frontdesk@salon.test")
    config = InvoiceSettings(outlets=("TAMPINES",), imap=imap, default_staff="S01")
    engine = make_engine(db)
    services = build_invoice_services(engine, settings, config=config)

    def recorded(outcome) -> None:  # type: ignore[no-untyped-def]
        print(f"RECORDED {outcome.invoice_id} {outcome.status}", flush=True)
        if pause:
            time.sleep(pause)

    watcher = MailboxWatcher(services.importer, imap, "secret123", on_outcome=recorded)
    outcomes = watcher.run_once()
    print(f"DONE {len(outcomes)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
