"""The counter as a receptionist uses it: sign in, find the member, ring up the sale, apply a reward, confirm, see the
new balance; a manager voids it with a PIN and the balance is back. Plus enrolment. Real window, real worker threads,
real database file; screenshots of every screen go to tests/screenshots/."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from frontdesk.app.wiring import build_window
from frontdesk.domain import phone as phones
from frontdesk.ui.resources import stylesheet
from frontdesk.ui.sales.receipt_view import save_pdf
from tests.conftest import save_screenshot as _save_screenshot
from tests.sales.conftest import member_with_points, query

WAIT = 5000


def save_screenshot(widget, name: str) -> None:  # type: ignore[no-untyped-def]
    """Let Qt finish the re-layouts an edit queued (error lines appearing, rows growing), then save the picture."""
    for _ in range(3):
        QApplication.processEvents()
    _save_screenshot(widget, name)


@pytest.fixture
def window(qtbot, qapp, settings):
    qapp.setStyleSheet(stylesheet())
    win = build_window(settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    for dialog in (win.checkout_dialog, win.enrol_dialog, win.void_dialog):
        if dialog is not None and dialog.isVisible():
            dialog.done(0)
    win.runner.shutdown()
    win.lookup.close()


def _sign_in(qtbot, window, name: str, pin: str) -> None:
    panel = window.sign_in
    qtbot.waitUntil(lambda: panel.staff_list.count() > 0, timeout=WAIT)
    row = next(i for i in range(panel.staff_list.count()) if panel.staff_list.item(i).text().startswith(name))
    panel.staff_list.setCurrentRow(row)
    panel.pin_edit.setFocus()
    qtbot.keyClicks(panel.pin_edit, pin)
    with qtbot.waitSignal(panel.pin_checked, timeout=WAIT) as checked:
        qtbot.keyClick(panel.pin_edit, Qt.Key.Key_Return)
    return checked.args[0]


def _open_member(qtbot, window, member_id: int, typed: str) -> None:
    with qtbot.waitSignal(window.search_finished, timeout=WAIT):
        qtbot.keyClicks(window.search_box, typed)
    with qtbot.waitSignal(window.member_opened, timeout=WAIT) as opened:
        qtbot.keyClick(window.search_box, Qt.Key.Key_Return)
    assert opened.args == [member_id]


def _type_line(qtbot, row, **values: str) -> None:
    for field, text in values.items():
        edit = row.edits[field]
        edit.selectAll()
        qtbot.keyClicks(edit, text)


def _settle(qtbot, dialog):
    """Wait for the quote that answers the latest edit."""
    with qtbot.waitSignal(dialog.quote_ready, timeout=WAIT) as ready:
        dialog.request_quote()
    return ready.args[0]


def test_receptionist_sale_with_reward_then_manager_void(qtbot, window, demo_db, tmp_path):
    member_id = member_with_points(demo_db, 3000, "GOLD")
    (phone,) = query(demo_db, "SELECT phone_e164 FROM members WHERE id = ?", (member_id,))[0]

    # Sign in at the start of the shift: one wrong PIN first.
    window.lock()
    assert window.locked
    qtbot.waitUntil(lambda: window.sign_in.staff_list.count() > 0, timeout=WAIT)
    save_screenshot(window, "sign-in-lock-screen")
    wrong = _sign_in(qtbot, window, "Jason Lim", "1234")
    assert not wrong.ok and window.sign_in.error.text() == "Wrong PIN (2 more tries before a pause)"
    save_screenshot(window.sign_in.card, "sign-in-wrong-pin")
    window.sign_in.pin_edit.clear()
    assert _sign_in(qtbot, window, "Jason Lim", "1111").ok
    assert not window.locked and window.staff.name == "Jason Lim"
    assert window.staff_label.text() == "Signed in: Jason Lim (receptionist)"

    # Find the member by typing their phone; F2 opens the sale.
    _open_member(qtbot, window, member_id, phones.digits_only(phone)[2:])
    balance_before = window.current_view.profile.available_points
    with qtbot.waitSignal(window.dialog_opened, timeout=WAIT) as opened:
        qtbot.keyClick(window.search_box, Qt.Key.Key_F2)
    dialog = opened.args[0]
    qtbot.waitUntil(lambda: dialog.staff_combo.count() > 1, timeout=WAIT)
    assert dialog.staff_combo.currentText() == "Jason Lim (S01)"
    qtbot.waitUntil(dialog.receipt_edit.hasFocus, timeout=WAIT)

    # Confirm on an empty form: every missing field says so, nothing is saved.
    with qtbot.waitSignal(dialog.confirm_failed, timeout=WAIT):
        qtbot.keyClick(dialog.receipt_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert dialog.receipt_error.text() == "Enter the WESS receipt number"
    assert "Item: Enter the item as printed on the receipt" in dialog.line_rows[0].error.text()
    save_screenshot(dialog, "checkout-empty-confirm-errors")

    # Three lines from the WESS receipt, typed; a typo in a price is flagged beside the line.
    qtbot.keyClicks(dialog.receipt_edit, "W20001")
    _type_line(qtbot, dialog.line_rows[0], name="Ladies Cut & Blow", sku="SVC-CUT-L", category="Hair",
               unit_price="68.00", tax="6.12")
    qtbot.mouseClick(dialog.add_line_button, Qt.MouseButton.LeftButton)
    _type_line(qtbot, dialog.line_rows[1], name="Colour Retouch", sku="SVC-COL-R", category="Colour",
               quantity="-1", unit_price="12O", tax="10.80")
    qtbot.mouseClick(dialog.add_line_button, Qt.MouseButton.LeftButton)
    _type_line(qtbot, dialog.line_rows[2], name="Repair Shampoo 250ml", sku="PRD-SHA-250", category="Retail",
               quantity="2", unit_price="32.00", tax="5.76")
    _settle(qtbot, dialog)
    assert dialog.line_rows[1].error.text() == ("Quantity: Must be at least 1 (enter a refund as a refund, not a "
                                                "negative line)   ·   Unit price: “12O” is not an amount")
    save_screenshot(dialog, "checkout-inline-validation")
    _type_line(qtbot, dialog.line_rows[1], quantity="1", unit_price="120.00")

    # An unaffordable reward is refused beside it; the affordable one shows the exact WESS discount.
    dialog.reward_combo.setCurrentIndex(dialog.reward_combo.findData("reward:FREE-BLOWDRY"))
    qtbot.mouseClick(dialog.apply_reward_button, Qt.MouseButton.LeftButton)
    dialog.reward_combo.setCurrentIndex(dialog.reward_combo.findData("reward:CUT10"))
    qtbot.mouseClick(dialog.apply_reward_button, Qt.MouseButton.LeftButton)
    quote = _settle(qtbot, dialog)
    assert dialog.redemption_rows[0].error.text() == (
        "Free blow-dry costs 2,500 pts; 2,000 pts available (offline: at most 2,000 pts can be redeemed until the "
        "loyalty server confirms)")
    qtbot.mouseClick(dialog.redemption_rows[0].remove_button, Qt.MouseButton.LeftButton)
    quote = _settle(qtbot, dialog)
    assert dialog.redemption_rows[0].detail.text() == "Key a S$10.00 discount into WESS (CUT10)"
    assert quote.preview is not None and len(quote.preview.lines) == 3
    assert "Colour ×1.5 Gold" in dialog.lines_preview.text()

    # Split payment: S$100 by card, the rest in cash (the new row starts with what is left to pay).
    qtbot.mouseClick(dialog.add_payment_button, Qt.MouseButton.LeftButton)
    card = dialog.payment_rows[0]
    assert card.amount.text() == quote.to_pay.plain()
    card.amount.selectAll()
    qtbot.keyClicks(card.amount, "100")
    quote = _settle(qtbot, dialog)
    assert dialog.payments_error.text() == f"{(quote.to_pay - type(quote.to_pay).parse('100')).display()} still to pay"
    qtbot.mouseClick(dialog.add_payment_button, Qt.MouseButton.LeftButton)
    cash = dialog.payment_rows[1]
    cash.method.setCurrentIndex(cash.method.findData("cash"))
    quote = _settle(qtbot, dialog)
    assert quote.ok, quote.errors
    assert dialog.tender_label.text() == "✓ Payments add up"
    save_screenshot(dialog, "checkout-ready")

    with qtbot.waitSignal(dialog.confirmed, timeout=WAIT) as confirmed:
        qtbot.keyClick(cash.amount, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    sale = confirmed.args[0]
    assert sale.new_balance == balance_before - 1000 + sale.points_earned
    receipt = dialog.receipt_view
    assert f"New balance{' ' * 10}" in receipt.text or "New balance" in receipt.text
    assert receipt.headline.text().endswith(f"new balance {sale.new_balance:,} pts")
    save_screenshot(dialog, "checkout-receipt")
    qtbot.mouseClick(receipt.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == sale.receipt_text
    pdf = save_pdf(sale.receipt_text, tmp_path / "receipt.pdf")
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 1000

    # Done: the panel shows the new balance, including this counter's unconfirmed points.
    with qtbot.waitSignal(window.member_opened, timeout=WAIT):
        qtbot.mouseClick(receipt.done_button, Qt.MouseButton.LeftButton)
    assert window.member_panel.points_label.text() == f"{sale.new_balance:,} pts"
    assert "not yet confirmed by the server" in window.member_panel.unsynced_label.text()
    save_screenshot(window, "member-after-sale")

    # The manager voids it: F9, the receipt number, a reason, their PIN (a wrong one first).
    with qtbot.waitSignal(window.dialog_opened, timeout=WAIT) as opened:
        qtbot.keyClick(window.search_box, Qt.Key.Key_F9)
    void = opened.args[0]
    qtbot.keyClicks(void.receipt_edit, "W20001")
    with qtbot.waitSignal(void.quote_ready, timeout=WAIT) as ready:
        qtbot.keyClick(void.receipt_edit, Qt.Key.Key_Return)
    preview = ready.args[0]
    assert preview.reversal.points_clawed_back == sale.points_earned and preview.reversal.points_restored == 1000
    qtbot.waitUntil(lambda: void.manager_combo.count() > 1, timeout=WAIT)
    assert void.manager_combo.currentText() == "Mei Tan (S03)"
    qtbot.keyClicks(void.reason_edit, "Keyed on the wrong member")
    qtbot.keyClicks(void.pin_edit, "1234")
    save_screenshot(void, "void-preview")
    with qtbot.waitSignal(void.failed, timeout=WAIT):
        qtbot.keyClick(void.pin_edit, Qt.Key.Key_Return)
    assert void.pin_error.text().startswith("Wrong PIN")
    save_screenshot(void, "void-wrong-pin")
    void.pin_edit.clear()
    qtbot.keyClicks(void.pin_edit, "9999")
    with qtbot.waitSignal(void.reversed, timeout=WAIT) as done:
        qtbot.keyClick(void.pin_edit, Qt.Key.Key_Return)
    result = done.args[0]
    assert result.new_balance == balance_before
    save_screenshot(void, "void-done")
    with qtbot.waitSignal(window.member_opened, timeout=WAIT):
        qtbot.mouseClick(void.receipt_view.done_button, Qt.MouseButton.LeftButton)
    assert window.member_panel.points_label.text() == f"{balance_before:,} pts"
    assert window.member_panel.visits_table.item(0, 1).text() == "W20001 (void)"
    save_screenshot(window, "member-after-void")

    # Ctrl+L locks: the member disappears behind the sign-in panel.
    qtbot.keyClick(window.search_box, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert window.locked and window.staff is None
    qtbot.waitUntil(lambda: window.sign_in.staff_list.currentItem() is not None, timeout=WAIT)
    assert window.sign_in.title.text() == "Counter locked"
    save_screenshot(window, "counter-locked")


def test_enrolment_warns_of_a_duplicate_and_enrols_a_new_member(qtbot, window, demo_db):
    (existing_id, phone, name) = query(
        demo_db, "SELECT id, phone_e164, display_name FROM members WHERE (SELECT count(*) FROM members o "
                 "WHERE o.phone_e164 = members.phone_e164) = 1 ORDER BY id LIMIT 1 OFFSET 5")[0]
    window.lock()
    _sign_in(qtbot, window, "Aisha Rahman", "2222")
    with qtbot.waitSignal(window.dialog_opened, timeout=WAIT) as opened:
        qtbot.keyClick(window.search_box, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    dialog = opened.args[0]
    qtbot.waitUntil(dialog.edits["phone"].hasFocus, timeout=WAIT)  # window activation is asynchronous

    # Letters in the phone and a bad email: messages beside the fields.
    qtbot.keyClicks(dialog.edits["phone"], "9123 45x7")
    qtbot.keyClicks(dialog.edits["email"], "mei@")
    with qtbot.waitSignal(dialog.checked, timeout=WAIT):
        dialog.request_check()
    assert dialog.errors["phone"].text() == "A phone number is digits (spaces, dashes and a leading + are fine)"
    assert dialog.errors["email"].text() == "That is not an email address (name@example.com)"
    save_screenshot(dialog, "enrol-validation")

    # The phone of an existing member: warned, and staff can open them instead.
    dialog.edits["phone"].clear()
    qtbot.keyClicks(dialog.edits["phone"], phones.digits_only(phone)[2:])
    dialog.edits["email"].clear()
    qtbot.keyClicks(dialog.edits["first_name"], "Walk-in")
    with qtbot.waitSignal(dialog.checked, timeout=WAIT) as checked:
        dialog.request_check()
    assert [(d.member.id, d.reason) for d in checked.args[0].duplicates] == [(existing_id, "same phone")]
    assert dialog.duplicates_card.isVisible()
    save_screenshot(dialog, "enrol-duplicate-warning")
    qtbot.mouseClick(dialog.enrol_button, Qt.MouseButton.LeftButton)
    assert dialog.duplicates_error.text().startswith("Open the existing member")
    open_button = dialog.duplicates_card.findChildren(type(dialog.enrol_button), "")[0]
    with qtbot.waitSignal(window.member_opened, timeout=WAIT) as opened_member:
        qtbot.mouseClick(open_button, Qt.MouseButton.LeftButton)
    assert opened_member.args == [existing_id] and window.member_panel.name_label.text() == name

    # A genuinely new person.
    with qtbot.waitSignal(window.dialog_opened, timeout=WAIT) as opened:
        qtbot.keyClick(window.search_box, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    dialog = opened.args[0]
    for key, text in (("phone", "9123 4560"), ("first_name", "Nur Aisyah"), ("last_name", "binte Salleh"),
                      ("email", "nur.aisyah@example.sg"), ("birthday", "02/03/1994")):
        qtbot.keyClicks(dialog.edits[key], text)
    dialog.consent.setChecked(True)
    with qtbot.waitSignal(dialog.checked, timeout=WAIT) as checked:
        dialog.request_check()
    if checked.args[0].duplicates:  # a similar name in the demo data: staff confirm it is someone else
        dialog.new_person.setChecked(True)
    with qtbot.waitSignal(window.member_opened, timeout=WAIT) as opened_member:
        qtbot.keyClick(dialog.edits["birthday"], Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    new_id = opened_member.args[0]
    assert query(demo_db, "SELECT status, display_name FROM members WHERE id = ?", (new_id,))[0] == (
        "pending", "Nur Aisyah binte Salleh")
    assert window.member_panel.pending_flag.text() == "New member: waiting for the loyalty server"
    save_screenshot(window, "member-new-pending")


def test_new_sale_without_anyone_signed_in_asks_for_sign_in_first(qtbot, window, demo_db):
    member_id = member_with_points(demo_db, 0)
    (phone,) = query(demo_db, "SELECT phone_e164 FROM members WHERE id = ?", (member_id,))[0]
    _open_member(qtbot, window, member_id, phone)
    qtbot.keyClick(window.search_box, Qt.Key.Key_F2)
    assert window.locked and window.sign_in.subtitle.text().startswith("Sign in to record sales")
    with qtbot.waitSignal(window.dialog_opened, timeout=WAIT) as opened:
        _sign_in(qtbot, window, "Priya Nair", "3333")
    dialog = opened.args[0]
    qtbot.waitUntil(lambda: dialog.staff_combo.count() > 1, timeout=WAIT)
    assert dialog.staff_combo.currentText() == "Priya Nair (S04)"
    QApplication.processEvents()


def test_refund_screen_shows_the_shortfall_and_the_panel_warns_of_a_downgrade(qtbot, window, demo_db):
    from datetime import date, timedelta

    from frontdesk.ui.sales.void_dialog import VoidDialog
    from tests.sales.conftest import draft_for, execute, paid_in_full, set_balance

    services = window.counter
    member_id = member_with_points(demo_db, 0, "GOLD")
    set_balance(demo_db, member_id, 0)
    sale = services.sales.record(paid_in_full(services, draft_for(member_id, "W30001")))
    set_balance(demo_db, member_id, 40 - sale.points_earned)  # they spent all but 40 of those points elsewhere
    dialog = VoidDialog(window.settings, services, window.runner, sale_id=sale.sale_id, parent=window)
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.quote_ready, timeout=WAIT):
        dialog.refund_radio.setChecked(True)
    with qtbot.waitSignal(dialog.quote_ready, timeout=WAIT) as ready:
        qtbot.keyClicks(dialog.amount_edit, sale.total.plain())
    assert ready.args[0].reversal.shortfall_points == sale.points_earned - 40
    assert dialog.shortfall_label.isVisible() and "Shortfall" in dialog.shortfall_label.text()
    assert dialog.submit_button.text() == "Refund"
    save_screenshot(dialog, "refund-shortfall")
    dialog.done(0)

    # Gold held by spend that leaves the window in 30 days: the panel says what keeps it.
    execute(demo_db, "UPDATE members SET window_spend_minor = 205000, tier_expires_on = ? WHERE id = ?",
            ((date.today() + timedelta(days=30)).isoformat(), member_id))
    with qtbot.waitSignal(window.member_opened, timeout=WAIT):
        window.open_member(member_id)
    warning = window.member_panel.downgrade_label.text()
    assert "more today keeps Gold until" in warning and window.member_panel.downgrade_label.isVisible()
    save_screenshot(window, "member-downgrade-warning")
