"""The invoice mailbox: IMAP over TLS or STARTTLS with IMAPClient, IDLE with a polling fallback.

- Mail is fetched with BODY.PEEK[] (never sets \\Seen: a person reading the mailbox must not hide a receipt from
  us, nor we from them) and marked only after the importer has recorded its outcome: the keyword $FrontDeskDone
  (plus $FrontDeskReview for mail in review), or MOVE to a processed folder where the server does not allow
  keywords. A kill between recording and marking re-fetches the mail later; the importer recognises it.
- UIDVALIDITY and the last UID are kept per folder (`invoice_mailbox_state`); a new UIDVALIDITY means the folder
  was rebuilt, and since the search is "not yet marked" rather than "above the last UID", nothing is skipped: the
  rescan is logged and counted, and de-duplication absorbs mail already recorded.
- IDLE is re-issued before `idle_renew_seconds` (servers drop it at 30 minutes) and a full check runs every
  `poll_seconds` even in IDLE, in case a notification is lost; without IDLE the folder is polled.
- Mail larger than the limit is not downloaded: its headers go to review with the reason.
"""
from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy.orm import Session

from frontdesk.invoices.importer import InvoiceImporter, Origin, Outcome
from frontdesk.invoices.settings import ImapSettings
from frontdesk.store.models import InvoiceMailboxState

log = logging.getLogger(__name__)


class MailboxError(RuntimeError):
    """The mailbox cannot be used (login refused, folder missing): the message says what to fix."""


@dataclass
class WatcherStatus:
    mode: str = "stopped"  # stopped | connecting | idle | poll | error
    last_sync: float | None = None
    last_error: str = ""
    processed: int = 0
    rescans: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


class MailboxWatcher:
    def __init__(self, importer: InvoiceImporter, imap: ImapSettings, password: str, *,
                 ssl_context: ssl.SSLContext | None = None,
                 on_outcome: Callable[[Outcome], None] | None = None,
                 db_call: Callable[[Callable[[], Any]], Any] | None = None) -> None:
        """`db_call` runs database work where the process wants it: in the app, the one database executor
        (`DatabaseExecutor.call`), so the importer queues behind the counter's own writes; by default inline."""
        if not imap.configured:
            raise MailboxError("no invoice mailbox is configured ([invoices.imap] host and user)")
        self.importer = importer
        self.imap = imap
        self.password = password
        self.ssl_context = ssl_context or ssl.create_default_context()
        self.on_outcome = on_outcome
        self.status = WatcherStatus()
        self._db: Callable[[Callable[[], Any]], Any] = db_call or (lambda fn: fn())
        self.mailbox = f"{imap.account}/{imap.folder}"[:255]

    # --- connection ------------------------------------------------------------------------------------------
    def connect(self) -> IMAPClient:
        imap = self.imap
        self.status.mode = "connecting"
        client = IMAPClient(imap.host, port=imap.port, ssl=imap.security == "tls", ssl_context=self.ssl_context,
                            timeout=imap.timeout_seconds)
        try:
            if imap.security == "starttls":
                client.starttls(self.ssl_context)
            client.login(imap.user, self.password)
        except IMAPClientError as error:
            _close(client)
            raise MailboxError(f"the mailbox refused the login for {imap.user} ({error})") from None
        return client

    def run_once(self) -> list[Outcome]:
        self._db(self.importer.resume_unfinished)
        client = self.connect()
        try:
            return self.sync(client)
        finally:
            _close(client)

    def run(self, stop: threading.Event) -> None:
        """Watch until `stop` is set; reconnects with back-off after network errors."""
        self._db(self.importer.resume_unfinished)
        backoff = 1.0
        while not stop.is_set():
            client = None
            try:
                client = self.connect()
                self.sync(client)
                backoff = 1.0
                use_idle = self.imap.idle and b"IDLE" in client.capabilities()
                self.status.mode = "idle" if use_idle else "poll"
                while not stop.is_set():
                    if use_idle:
                        self._idle_wait(client, stop)
                    else:
                        stop.wait(self.imap.poll_seconds)
                    if stop.is_set():
                        break
                    self.sync(client)
            except MailboxError as error:
                self._failed(str(error))
                stop.wait(min(60.0, backoff * 10))
            except (IMAPClientError, OSError, socket.timeout, ssl.SSLError) as error:
                self._failed(f"{type(error).__name__}: {error}")
                stop.wait(backoff)
                backoff = min(60.0, backoff * 2)
            finally:
                if client is not None:
                    _close(client)
        self.status.mode = "stopped"

    def _failed(self, message: str) -> None:
        self.status.mode = "error"
        self.status.last_error = message[:300]
        log.warning("invoice mailbox: %s", message)

    def _idle_wait(self, client: IMAPClient, stop: threading.Event) -> None:
        client.idle()
        started = time.monotonic()
        limit = min(self.imap.idle_renew_seconds, self.imap.poll_seconds)
        try:
            while not stop.is_set() and time.monotonic() - started < limit:
                responses = client.idle_check(timeout=0.5)
                if any(isinstance(r, tuple) and len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                    return
        finally:
            client.idle_done()

    # --- one pass over the folder ------------------------------------------------------------------------------
    def sync(self, client: IMAPClient) -> list[Outcome]:
        imap = self.imap
        try:
            selected = client.select_folder(imap.folder)
        except IMAPClientError as error:
            raise MailboxError(f"the folder {imap.folder} cannot be opened ({error})") from None
        uidvalidity = int(selected[b"UIDVALIDITY"])
        permanent = selected.get(b"PERMANENTFLAGS", ())
        mark = imap.mark
        if mark == "keyword" and b"\\*" not in permanent:
            mark = "move"  # the server keeps no keywords of ours: move processed mail out instead
        self._db(lambda: self._check_uidvalidity(uidvalidity))
        if mark == "move" and imap.processed_folder and not client.folder_exists(imap.processed_folder):
            client.create_folder(imap.processed_folder)
        outcomes: list[Outcome] = []
        tried: set[int] = set()
        # Search again until nothing new is left: mail that arrives while this pass runs is announced in the
        # responses to our own commands (which IMAPClient does not hand back), not later in IDLE, so it would
        # otherwise wait for the next poll.
        while True:
            found = client.search(["NOT", "KEYWORD", imap.done_keyword] if mark == "keyword" else ["ALL"])
            uids = sorted(set(found) - tried)
            if not uids:
                break
            for uid in uids:
                tried.add(uid)
                outcome = self._one(client, uid, uidvalidity)
                if outcome is None:
                    continue
                if self.on_outcome is not None:
                    self.on_outcome(outcome)
                self._mark(client, uid, outcome, mark)
                self._db(lambda: self._save_last_uid(uidvalidity, uid))
                outcomes.append(outcome)
                self.status.processed += 1
                self.status.outcomes[outcome.status] = self.status.outcomes.get(outcome.status, 0) + 1
        self.status.last_sync = time.time()
        return outcomes

    def _one(self, client: IMAPClient, uid: int, uidvalidity: int) -> Outcome | None:
        origin = Origin(source="imap", mailbox=self.mailbox, uidvalidity=uidvalidity, uid=uid)
        sizes = client.fetch([uid], ["RFC822.SIZE"])
        if uid not in sizes:
            return None  # expunged meanwhile
        size = int(sizes[uid].get(b"RFC822.SIZE", 0))
        if size > self.importer.config.max_mail_bytes:
            head = client.fetch([uid], ["BODY.PEEK[HEADER]"]).get(uid, {}).get(b"BODY[HEADER]", b"")
            return self._db(lambda: self.importer.process_oversized(head, size, origin))
        data = client.fetch([uid], ["BODY.PEEK[]"]).get(uid)
        if data is None:
            return None
        raw = data.get(b"BODY[]", b"")
        return self._db(lambda: self.importer.process_mail(raw, origin))

    def _mark(self, client: IMAPClient, uid: int, outcome: Outcome, mark: str) -> None:
        if mark == "keyword":
            flags = [self.imap.done_keyword.encode()]
            if outcome.in_review:
                flags.append(self.imap.review_keyword.encode())
            client.add_flags([uid], flags, silent=True)
        else:
            if outcome.in_review:
                try:
                    client.add_flags([uid], [self.imap.review_keyword.encode()], silent=True)
                except IMAPClientError:
                    pass
            client.move([uid], self.imap.processed_folder)

    # --- state -------------------------------------------------------------------------------------------------
    def _check_uidvalidity(self, uidvalidity: int) -> None:
        with Session(self.importer.engine) as session, session.begin():
            state = session.get(InvoiceMailboxState, (self.imap.account, self.imap.folder))
            if state is None:
                session.add(InvoiceMailboxState(account=self.imap.account, folder=self.imap.folder,
                                                uidvalidity=uidvalidity, last_uid=0, rescans=0))
            elif state.uidvalidity != uidvalidity:
                log.warning("invoice mailbox %s was rebuilt (UIDVALIDITY %s -> %s): rescanning it",
                            self.mailbox, state.uidvalidity, uidvalidity)
                state.uidvalidity = uidvalidity
                state.last_uid = 0
                state.rescans += 1
                self.status.rescans += 1

    def _save_last_uid(self, uidvalidity: int, uid: int) -> None:
        with Session(self.importer.engine) as session, session.begin():
            state = session.get(InvoiceMailboxState, (self.imap.account, self.imap.folder))
            if state is not None and state.uidvalidity == uidvalidity and uid > state.last_uid:
                state.last_uid = uid


def _close(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # noqa: BLE001 - the connection may already be gone
        try:
            client.shutdown()
        except Exception:  # noqa: BLE001
            pass
