"""The invoice mailbox against a real Dovecot on 127.0.0.1, started and stopped by each test."""
from __future__ import annotations

import email
import os
import random
import signal
import subprocess
import sys
import threading
import time
from email import policy

import pytest

from devtools.invoice_corpus import make_receipt, to_eml
from frontdesk.invoices.imap import MailboxError, MailboxWatcher
from frontdesk.invoices.settings import InvoiceSettings
from tests.invoices.conftest import PASSWORD, ROOT, query

DONE, REVIEW = b"$FrontDeskDone", b"$FrontDeskReview"


def receipts(members, count: int, start: int = 1):  # type: ignore[no-untyped-def]
    return [make_receipt(random.Random(n), n, member=members[n % len(members)]) for n in range(start, start + count)]


def wait_for(predicate, timeout: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def statuses(db) -> list[str]:  # type: ignore[no-untyped-def]
    return [r[0] if r[0] != "review" else f"review: {r[1]}" for r in query(
        db, "SELECT status, reason FROM inbound_invoices ORDER BY id")]


def watch(invoices, imap):  # type: ignore[no-untyped-def]
    watcher = MailboxWatcher(invoices.importer, imap, PASSWORD)
    stop = threading.Event()
    thread = threading.Thread(target=watcher.run, args=(stop,), daemon=True)
    thread.start()
    return watcher, stop, thread


def test_idle_delivers_an_appended_mail_and_marks_it_without_setting_seen(invoices, members, settings, dovecot):
    db = settings.database_path
    watcher, stop, thread = watch(invoices, dovecot.imap(poll_seconds=300.0))
    try:
        assert wait_for(lambda: watcher.status.mode == "idle"), watcher.status
        receipt = receipts(members, 1)[0]
        started = time.monotonic()
        dovecot.append(to_eml(receipt, "html"))
        assert wait_for(lambda: statuses(db) == ["queued"], timeout=10), (statuses(db), watcher.status)
        elapsed = time.monotonic() - started
        assert elapsed < 10  # the benchmark measures it; far inside the 300 s poll, so IDLE delivered it
        assert wait_for(lambda: DONE in next(iter(dovecot.flags().values()), ()))
    finally:
        stop.set()
        thread.join(10)
    flags = next(iter(dovecot.flags().values()))
    assert b"\\Seen" not in flags, "fetched with PEEK: a person reading the mailbox still sees it unread"
    assert query(db, "SELECT sales_mode FROM sales WHERE receipt_no = ?", (receipt.receipt_no,)) == [
        ("invoice_mail",)]
    assert watcher.status.mode == "stopped"


def test_polling_fallback_when_the_server_has_no_idle(invoices, members, settings, dovecot_without_idle):
    db = settings.database_path
    watcher, stop, thread = watch(invoices, dovecot_without_idle.imap(poll_seconds=0.5))
    try:
        assert wait_for(lambda: watcher.status.mode == "poll"), watcher.status
        for receipt in receipts(members, 2):
            dovecot_without_idle.append(to_eml(receipt, "text"))
        assert wait_for(lambda: statuses(db) == ["queued", "queued"]), statuses(db)
    finally:
        stop.set()
        thread.join(10)


def test_idle_is_renewed_and_mail_keeps_arriving(invoices, members, settings, dovecot):
    db = settings.database_path
    watcher, stop, thread = watch(invoices, dovecot.imap(idle_renew_seconds=0.3, poll_seconds=300.0))
    try:
        assert wait_for(lambda: watcher.status.mode == "idle")
        time.sleep(1.0)  # several renewals
        dovecot.append(to_eml(receipts(members, 1)[0], "html"))
        assert wait_for(lambda: statuses(db) == ["queued"])
    finally:
        stop.set()
        thread.join(10)


def test_duplicates_resends_and_bad_mail_over_imap(invoices, members, settings, dovecot):
    db = settings.database_path
    receipt = receipts(members, 1)[0]
    raw = to_eml(receipt, "html", message_id="<one@wess.example>")
    dovecot.append(raw)
    dovecot.append(raw)  # the same mail twice in the box
    dovecot.append(to_eml(receipt, "html", message_id="<resent@wess.example>"))
    dovecot.append(b"From: receipts@wess.example\r\nSubject: broken\r\n\r\nno receipt here\r\n")
    outcomes = MailboxWatcher(invoices.importer, dovecot.imap(), PASSWORD).run_once()
    assert [o.status for o in outcomes] == ["queued", "duplicate", "duplicate", "review"]
    assert query(db, "SELECT count(*) FROM sales")[0][0] == query(db, "SELECT count(*) FROM sales")[0][0]
    assert query(db, "SELECT count(*) FROM sales WHERE receipt_no = ?", (receipt.receipt_no,))[0][0] == 1
    flags = dovecot.flags()
    assert all(DONE in f for f in flags.values())
    assert [REVIEW in f for _uid, f in sorted(flags.items())] == [False, False, False, True]
    assert MailboxWatcher(invoices.importer, dovecot.imap(), PASSWORD).run_once() == [], "marked mail is not re-read"


def test_uidvalidity_change_rescans_without_losing_or_doubling_mail(invoices, members, settings, dovecot):
    db = settings.database_path
    first = receipts(members, 2)
    client = dovecot.client()
    client.create_folder("WESS")
    client.logout()
    for receipt in first:
        dovecot.append(to_eml(receipt, "html", message_id=f"<{receipt.receipt_no}@wess.example>"), folder="WESS")
    imap = dovecot.imap(folder="WESS")
    assert [o.status for o in MailboxWatcher(invoices.importer, imap, PASSWORD).run_once()] == ["queued", "queued"]
    before = query(db, "SELECT uidvalidity, last_uid, rescans FROM invoice_mailbox_state")[0]
    assert before[1:] == (2, 0)

    # The server rebuilds the folder: the same two mails (no keywords any more) plus a new one, new UIDVALIDITY.
    client = dovecot.client()
    client.delete_folder("WESS")
    client.create_folder("WESS")
    client.logout()
    for receipt in first:
        dovecot.append(to_eml(receipt, "html", message_id=f"<{receipt.receipt_no}@wess.example>"), folder="WESS")
    new = receipts(members, 1, start=50)[0]
    dovecot.append(to_eml(new, "html"), folder="WESS")
    watcher = MailboxWatcher(invoices.importer, imap, PASSWORD)
    outcomes = watcher.run_once()
    assert [o.status for o in outcomes] == ["duplicate", "duplicate", "queued"]
    after = query(db, "SELECT uidvalidity, last_uid, rescans FROM invoice_mailbox_state")[0]
    assert after[0] != before[0] and after[1:] == (3, 1) and watcher.status.rescans == 1
    assert query(db, "SELECT count(*) FROM sales WHERE sales_mode = 'invoice_mail'")[0][0] == 3
    assert all(DONE in f for f in dovecot.flags("WESS").values())


def test_move_mode_moves_processed_mail_out(invoices, members, settings, dovecot):
    for receipt in receipts(members, 2):
        dovecot.append(to_eml(receipt, "pdf" if receipt.service_charge else "text"))
    imap = dovecot.imap(mark="move", processed_folder="Processed")
    outcomes = MailboxWatcher(invoices.importer, imap, PASSWORD).run_once()
    assert len(outcomes) == 2
    assert dovecot.flags("INBOX") == {}
    assert len(dovecot.flags("Processed")) == 2


def test_mail_over_the_size_limit_is_not_downloaded(engine, settings, members, dovecot):
    from frontdesk.invoices.service import build_invoice_services

    config = InvoiceSettings(outlets=("TAMPINES",), max_mail_bytes=512 * 1024, default_staff="S01")
    services = build_invoice_services(engine, settings, config=config)
    try:
        receipt = receipts(members, 1)[0]
        message = email.message_from_bytes(to_eml(receipt, "html"), policy=policy.default)
        message.add_attachment(os.urandom(1024 * 1024), maintype="application", subtype="octet-stream",
                               filename="scan.bin")
        raw = bytes(message)
        dovecot.append(raw)
        outcomes = MailboxWatcher(services.importer, dovecot.imap(), PASSWORD).run_once()
        assert [(o.status, o.review_code) for o in outcomes] == [("review", "too_large")]
        row = query(settings.database_path, "SELECT subject, length(raw_mail), raw_size FROM inbound_invoices")[0]
        assert receipt.receipt_no in row[0] and row[1] < 64 * 1024 and row[2] > 1024 * 1024
    finally:
        services.close()


def test_wrong_password_is_a_clear_error(invoices, dovecot):
    with pytest.raises(MailboxError, match="refused the login"):
        MailboxWatcher(invoices.importer, dovecot.imap(), "wrong").run_once()


def _worker(db, port: int, pause: float) -> subprocess.Popen[str]:  # type: ignore[no-untyped-def]
    return subprocess.Popen([sys.executable, "-m", "tests.invoices.imap_worker", str(db), str(port), str(pause)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_kill_9_between_queueing_and_marking_loses_nothing_and_queues_nothing_twice(members, settings, dovecot):
    db = settings.database_path
    mails = receipts(members, 4)
    for receipt in mails:
        dovecot.append(to_eml(receipt, "html"))
    kills = 0
    for _round in range(len(mails)):
        process = _worker(db, dovecot.port, pause=30.0)
        line = process.stdout.readline() if process.stdout else ""
        if not line.startswith("RECORDED"):
            process.wait(30)
            break
        os.kill(process.pid, signal.SIGKILL)  # the outcome is recorded, the mail not yet marked
        process.wait(10)
        kills += 1
    assert kills >= 2
    unmarked = [uid for uid, f in dovecot.flags().items() if DONE not in f]
    assert unmarked, "the kills left mail unmarked on the server"
    final = _worker(db, dovecot.port, pause=0.0)
    out, err = final.communicate(timeout=60)
    assert final.returncode == 0, err[-2000:]
    assert all(DONE in f for f in dovecot.flags().values()), "every mail ends marked"
    for receipt in mails:
        assert query(db, "SELECT count(*) FROM sales WHERE receipt_no = ?", (receipt.receipt_no,))[0][0] == 1
        assert query(db, "SELECT count(*) FROM outbox o JOIN sales s ON s.id = o.sale_id WHERE s.receipt_no = ?",
                     (receipt.receipt_no,))[0][0] == 1
    assert set(statuses(db)) == {"queued"} and len(statuses(db)) == len(mails)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_kill_9_at_random_moments(members, settings, dovecot):
    db = settings.database_path
    mails = receipts(members, 8, start=100)
    for receipt in mails:
        dovecot.append(to_eml(receipt, random.Random(receipt.receipt_no).choice(["html", "text"])))
    rng = random.Random(4)
    for _round in range(6):
        process = _worker(db, dovecot.port, pause=0.0)
        time.sleep(rng.uniform(0.3, 2.0))
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
    final = _worker(db, dovecot.port, pause=0.0)
    _out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err[-2000:]
    assert all(DONE in f for f in dovecot.flags().values())
    for receipt in mails:
        assert query(db, "SELECT count(*) FROM sales WHERE receipt_no = ?", (receipt.receipt_no,))[0][0] == 1
    assert len(statuses(db)) == len(mails) and "received" not in statuses(db)


def test_tls_and_starttls_with_a_verified_certificate(invoices, members, settings, dovecot_tls):
    for number, receipt in enumerate(receipts(members, 2)):
        dovecot_tls.append(to_eml(receipt, "html"))
    context = dovecot_tls.ssl_context()
    tls = dovecot_tls.imap(port=dovecot_tls.tls_port, security="tls")
    first = MailboxWatcher(invoices.importer, tls, PASSWORD, ssl_context=context).run_once()
    assert [o.status for o in first] == ["queued", "queued"]
    dovecot_tls.append(to_eml(receipts(members, 1, start=30)[0], "text"))
    starttls = dovecot_tls.imap(security="starttls")
    second = MailboxWatcher(invoices.importer, starttls, PASSWORD, ssl_context=context).run_once()
    assert [o.status for o in second] == ["queued"]
    # A certificate nobody vouches for is refused, never silently accepted.
    import ssl

    with pytest.raises(ssl.SSLError):
        MailboxWatcher(invoices.importer, tls, PASSWORD).run_once()
