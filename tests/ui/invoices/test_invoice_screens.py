"""The invoice-mail screens driven like a person: the receipts-waiting list (one key attaches the receipt to the
member on screen) and the managers' review list with its reconciliation tab. Screenshots at 1366x768 go to
tests/screenshots/ (invoice-*.png)."""
from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from devtools.invoice_corpus import SGT, Line, make_receipt, refund_of, settle, to_eml
from frontdesk.app.wiring import build_window
from frontdesk.config import Settings
from frontdesk.invoices.importer import Origin
from frontdesk.invoices.service import build_invoice_services
from frontdesk.store import make_engine
from frontdesk.ui.resources import stylesheet
from tests.conftest import save_screenshot as _save_screenshot
from tests.invoices.conftest import query

WAIT = 8000
FOLDER = Origin(source="folder", mailbox="ui")


def save_screenshot(widget, name: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        QApplication.processEvents()
    _save_screenshot(widget, name)


@pytest.fixture
def settings(demo_db) -> Settings:  # type: ignore[no-untyped-def]
    return replace(Settings(), database=str(demo_db), outlet_code="TAMPINES", counter_id="C2",
                   extra={"invoices": {"default_staff": "S01"}})


@pytest.fixture
def window(qtbot, qapp, settings):  # type: ignore[no-untyped-def]
    qapp.setStyleSheet(stylesheet())
    win = build_window(settings)
    qtbot.addWidget(win)
    win.resize(1366, 768)
    win.show()
    qtbot.waitExposed(win)
    yield win
    dialog = getattr(win, "invoice_dialog", None)
    if dialog is not None and dialog.isVisible():
        dialog.done(0)
    win.runner.shutdown()
    win.lookup.close()
    services = getattr(win, "_invoice_services", None)
    if services is not None:
        services.close()


def members(db) -> list[tuple[str, str, str, str]]:  # type: ignore[no-untyped-def]
    rows = query(db, "SELECT member_no, display_name, phone_e164, email FROM members m WHERE status = 'active' AND "
                     "(SELECT count(*) FROM members o WHERE o.phone_e164 = m.phone_e164) = 1 ORDER BY id LIMIT 10")
    return [(c, n, p, e) for c, n, p, e in rows]


def today(minutes_ago: int):  # type: ignore[no-untyped-def]
    """A time earlier today (SGT), so that the day's reconciliation has them; just after midnight, a minute ago."""
    now = datetime.now(SGT).replace(second=0, microsecond=0)
    return max(now - timedelta(minutes=minutes_ago), now.replace(hour=0, minute=0) + timedelta(minutes=1))


def seed_mail(settings: Settings) -> dict[str, object]:
    """A realistic morning: three receipts that found their member, two walk-ins, a GST misprint, a conflict, a
    refund, a mail nobody can read."""
    engine = make_engine(settings.database_path)
    services = build_invoice_services(engine, settings)
    people = members(settings.database_path)
    rng = random.Random(3)
    made: dict[str, object] = {}
    try:
        for n in range(3):
            receipt = make_receipt(rng, 100 + n, member=people[n], when=today(10 + n))
            services.importer.process_mail(to_eml(receipt, ("html", "text", "html")[n]), FOLDER)
            made.setdefault("queued", receipt)
        for n in range(2):
            walk_in = make_receipt(rng, 200 + n, member=None, when=today(40 + n))
            services.importer.process_mail(to_eml(walk_in, "html"), FOLDER)
            made.setdefault("walk_in", walk_in)
        misprint = make_receipt(rng, 300, member=people[4], when=today(60))
        misprint.gst += Decimal("0.40")
        services.importer.process_mail(to_eml(misprint, "html"), FOLDER)
        made["misprint"] = misprint
        original = made["queued"]
        changed = replace(original, lines=original.lines + [Line("PRD-X", "Extra Serum", "P", 1,  # type: ignore
                                                                 Decimal("20.00"), Decimal(0), "Jason")])
        services.importer.process_mail(to_eml(settle(changed), "html"), FOLDER)
        services.importer.process_mail(to_eml(refund_of(original, Decimal("15.00"), 100), "text"),  # type: ignore
                                       FOLDER)
        services.importer.process_mail(b"From: receipts@wess.example\r\nSubject: Receipt T000999-2\r\n"
                                       b"Content-Type: application/pdf\r\n\r\n%PDF-1.4 broken", FOLDER)
    finally:
        services.close()
        engine.dispose()
    return made


def pick(qtbot, dialog, code: str) -> None:  # type: ignore[no-untyped-def]
    """Click the first row stopped for `code` and wait until its detail is on screen."""
    row = next(i for i, item in enumerate(dialog.items) if item.code == code)
    dialog.table.selectRow(row)
    qtbot.waitUntil(lambda: dialog.current is not None and dialog.current.item.code == code, timeout=WAIT)


def sign_in(qtbot, window, name: str, pin: str) -> None:  # type: ignore[no-untyped-def]
    window.lock()
    panel = window.sign_in
    qtbot.waitUntil(lambda: panel.staff_list.count() > 0, timeout=WAIT)
    row = next(i for i in range(panel.staff_list.count()) if panel.staff_list.item(i).text().startswith(name))
    panel.staff_list.setCurrentRow(row)
    panel.pin_edit.setFocus()
    qtbot.keyClicks(panel.pin_edit, pin)
    with qtbot.waitSignal(panel.pin_checked, timeout=WAIT):
        qtbot.keyClick(panel.pin_edit, Qt.Key.Key_Return)
    assert not window.locked


def test_receptionist_attaches_a_waiting_receipt_to_the_member_on_screen_with_one_key(qtbot, window, settings):
    made = seed_mail(settings)
    db = settings.database_path
    sign_in(qtbot, window, "Jason Lim", "1111")
    code, _name, phone, _email = members(db)[6]
    with qtbot.waitSignal(window.search_finished, timeout=WAIT):
        qtbot.keyClicks(window.search_box, phone[3:])
    with qtbot.waitSignal(window.member_opened, timeout=WAIT):
        qtbot.keyClick(window.search_box, Qt.Key.Key_Return)
    with qtbot.waitSignal(window.dialog_opened, timeout=WAIT) as opened:
        qtbot.keyClick(window.search_box, Qt.Key.Key_F7)
    dialog = opened.args[0]
    qtbot.waitUntil(lambda: len(dialog.items) == 2, timeout=WAIT)
    assert dialog.attach_button.isEnabled() and "Attach to" in dialog.attach_button.text()
    save_screenshot(dialog, "invoice-receipts-waiting")
    save_screenshot(window, "invoice-receipts-waiting-window")
    newest = dialog.items[0]
    with qtbot.waitSignal(dialog.attached, timeout=WAIT) as attached:
        qtbot.keyClick(dialog.table, Qt.Key.Key_Return)
    assert attached.args[0].status == "queued", attached.args[0].reason
    qtbot.waitUntil(lambda: len(dialog.items) == 1, timeout=WAIT)
    save_screenshot(dialog, "invoice-receipts-waiting-after")
    sale = query(db, "SELECT s.receipt_no, m.member_no, s.sales_mode FROM sales s JOIN members m ON m.id = s.member_id "
                     "WHERE s.receipt_no = ?", (newest.receipt_no,))
    assert sale == [(newest.receipt_no, code, "invoice_mail")]
    assert made


def test_manager_reviews_accepts_a_misprint_approves_a_refund_and_sees_the_reconciliation(qtbot, window, settings):
    made = seed_mail(settings)
    db = settings.database_path
    sign_in(qtbot, window, "Mei Tan", "9999")
    with qtbot.waitSignal(window.dialog_opened, timeout=WAIT) as opened:
        qtbot.keyClick(window.search_box, Qt.Key.Key_R,
                       Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    dialog = opened.args[0]
    qtbot.waitUntil(lambda: len(dialog.items) == 6, timeout=WAIT)
    qtbot.waitUntil(lambda: dialog.current is not None, timeout=WAIT)
    assert {i.code for i in dialog.items} == {"no_member", "gst", "conflict", "refund", "parse"}
    save_screenshot(dialog, "invoice-review-list")

    # The GST misprint: accept the figures as printed, with a reason and the PIN.
    misprint = made["misprint"]
    pick(qtbot, dialog, "gst")
    assert "GST" in dialog.reason.text() and misprint.receipt_no in dialog.extracted_view.toPlainText()
    save_screenshot(dialog, "invoice-review-detail")
    qtbot.mouseClick(dialog.accept_figures, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(dialog.note, "WESS rounds GST per line")
    qtbot.keyClicks(dialog.pin, "9999")
    with qtbot.waitSignal(dialog.decided, timeout=WAIT) as decided:
        qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    assert decided.args[0].status == "queued"
    qtbot.waitUntil(lambda: len(dialog.items) == 5, timeout=WAIT)

    # The refund: approve it; a wrong PIN first.
    pick(qtbot, dialog, "refund")
    assert dialog.refund_button.isVisible() and not dialog.accept_button.isVisible()
    qtbot.keyClicks(dialog.pin, "1234")
    with qtbot.waitSignal(dialog.refused, timeout=WAIT):
        qtbot.mouseClick(dialog.refund_button, Qt.MouseButton.LeftButton)
    assert dialog.error.text() and dialog.error.isVisible()
    save_screenshot(dialog, "invoice-review-refund-wrong-pin")
    qtbot.keyClicks(dialog.pin, "9999")
    with qtbot.waitSignal(dialog.decided, timeout=WAIT) as decided:
        qtbot.mouseClick(dialog.refund_button, Qt.MouseButton.LeftButton)
    assert decided.args[0].status == "reversed"
    assert query(db, "SELECT count(*) FROM sales WHERE kind = 'refund'")[0][0] == 1

    # The unreadable mail can only be discarded, with a reason.
    qtbot.waitUntil(lambda: len(dialog.items) == 4, timeout=WAIT)
    pick(qtbot, dialog, "parse")
    assert not dialog.accept_button.isVisible()
    qtbot.keyClicks(dialog.note, "broken PDF, keyed at the counter")
    qtbot.keyClicks(dialog.pin, "9999")
    with qtbot.waitSignal(dialog.decided, timeout=WAIT) as decided:
        qtbot.mouseClick(dialog.discard_button, Qt.MouseButton.LeftButton)
    assert decided.args[0].status == "discarded"
    qtbot.waitUntil(lambda: len(dialog.items) == 3, timeout=WAIT)

    dialog.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: dialog.recon_table.rowCount() > 0, timeout=WAIT)
    save_screenshot(dialog, "invoice-reconciliation")
    actions = query(db, "SELECT action FROM audit_log WHERE action LIKE 'invoice%' ORDER BY id")
    assert [a for (a,) in actions] == ["invoice_accept", "invoice_refund", "invoice_discard"]
    assert query(db, "SELECT count(*) FROM audit_log WHERE action = 'refund'")[0][0] == 1


def test_the_day_close_lists_the_reconciliation_and_opens_the_invoice_review(qtbot, window, settings) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QDate
    from PySide6.QtWidgets import QPushButton

    from tests.ui.day.test_from_main_window import _sign_in

    db = settings.database_path
    people = members(db)
    when = (datetime.now(SGT) - timedelta(days=1)).replace(hour=11, minute=0, second=0, microsecond=0)
    rng = random.Random(1413)
    missed = make_receipt(rng, 1, member=people[0], when=when)
    missed.gst += Decimal("1.00")  # in review: a member's receipt with no loyalty sale
    walk_in = make_receipt(rng, 2, member=None, when=when.replace(hour=12))
    engine = make_engine(db)
    services = build_invoice_services(engine, settings)
    try:
        assert services.importer.process_mail(to_eml(missed, "html"), FOLDER).status == "review"
        services.importer.process_mail(to_eml(walk_in, "html"), FOLDER)
    finally:
        services.close()
        engine.dispose()

    qtbot.keyClick(window.search_box, Qt.Key.Key_F10)
    with qtbot.waitSignal(window.dialog_opened, timeout=WAIT) as opened:
        _sign_in(qtbot, window, "Mei Tan", "9999")
    day = opened.args[0]
    qtbot.waitUntil(lambda: day.state is not None, timeout=WAIT)
    d = when.date()
    with qtbot.waitSignal(day.loaded, timeout=WAIT):
        day.date_edit.setDate(QDate(d.year, d.month, d.day))
    day.resize(1366, 768)
    day.tabs.setCurrentIndex(2)
    qtbot.waitUntil(lambda: day.blockers_table.rowCount() > 0, timeout=WAIT)
    texts = [day.blockers_table.item(r, 0).text() for r in range(day.blockers_table.rowCount())]
    row = next(r for r, text in enumerate(texts) if missed.receipt_no in text and "missed points" in text)
    assert not day.close_button.isEnabled()  # the reconciliation blocker holds the day open
    assert "Warnings (1)" in day.after_label.text() and walk_in.receipt_no in day.after_label.text()
    save_screenshot(day, "invoice-day-close-reconciliation")
    holder = day.blockers_table.cellWidget(row, 1)
    [button] = [b for b in holder.findChildren(QPushButton) if b.text() == "Open invoice review"]
    with qtbot.waitSignal(window.dialog_opened, timeout=WAIT) as review_opened:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    review = review_opened.args[0]
    assert review is window.invoice_dialog and review.parent() is day  # over the day, not hidden behind it
    qtbot.waitUntil(lambda: any(missed.receipt_no in str(item) for item in review.items), timeout=WAIT)
    qtbot.waitSignal(review.detail_shown, timeout=WAIT, raising=False).wait()
    with qtbot.waitSignal(day.loaded, timeout=WAIT):
        review.done(0)  # the day reloads when the review closes
