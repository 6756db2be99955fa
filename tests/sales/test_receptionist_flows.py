"""The five counter tasks as a receptionist does them, keyboard first, with every key and click counted.

A typed string counts as one action (it is one thing to read off the receipt). The counts asserted here are the
targets of issue 12; before it: find 2, a 3-line cash+card bill 37 actions (54 by keyboard alone), a reward 3 keys
+ 3 clicks, enrol 7, void 9, the sync panel by mouse only.
"""
from __future__ import annotations

from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from frontdesk.app.wiring import build_window
from frontdesk.domain import phone as phones
from frontdesk.ui.resources import stylesheet
from tests.conftest import save_screenshot as _save_screenshot
from tests.sales.conftest import execute, member_with_points, query

WAIT = 5000
CTRL = Qt.KeyboardModifier.ControlModifier
ALT = Qt.KeyboardModifier.AltModifier


class Counted:
    """qtbot's keyboard and mouse, counting actions: a key, a click, or a typed string."""

    def __init__(self, qtbot) -> None:  # type: ignore[no-untyped-def]
        self.qtbot = qtbot
        self.actions = 0

    def key(self, widget, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:  # type: ignore[no-untyped-def]
        self.actions += 1
        self.qtbot.keyClick(widget, key, modifier)

    def type(self, widget, text: str) -> None:  # type: ignore[no-untyped-def]
        self.actions += 1
        self.qtbot.keyClicks(widget, text)

    def click(self, widget) -> None:  # type: ignore[no-untyped-def]
        self.actions += 1
        self.qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def focused():  # type: ignore[no-untyped-def]
    return QApplication.focusWidget()


def shot(widget, name: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        QApplication.processEvents()
    _save_screenshot(widget, name)


@pytest.fixture
def window(qtbot, qapp, settings):
    qapp.setStyleSheet(stylesheet())
    win = build_window(settings)
    qtbot.addWidget(win)
    win.resize(1366, 768)
    win.show()
    qtbot.waitExposed(win)
    win.lock()
    panel = win.sign_in
    qtbot.waitUntil(lambda: panel.staff_list.count() > 0, timeout=WAIT)
    panel.staff_list.setCurrentRow(next(i for i in range(panel.staff_list.count())
                                        if panel.staff_list.item(i).text().startswith("Jason Lim")))
    qtbot.keyClicks(panel.pin_edit, "1111")
    with qtbot.waitSignal(win.staff_changed, timeout=WAIT):
        qtbot.keyClick(panel.pin_edit, Qt.Key.Key_Return)
    yield win
    for dialog in (win.checkout_dialog, win.enrol_dialog, win.void_dialog):
        if dialog is not None and dialog.isVisible():
            dialog.done(0)
    win.runner.shutdown()
    win.lookup.close()


def _find(qtbot, window, you: Counted, typed: str, member_id: int) -> None:
    with qtbot.waitSignal(window.search_finished, timeout=WAIT):
        you.type(window.search_box, typed)
    with qtbot.waitSignal(window.member_opened, timeout=WAIT) as opened:
        you.key(window.search_box, Qt.Key.Key_Return)
    assert opened.args == [member_id]


def _quote(qtbot, dialog):  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(dialog.quote_ready, timeout=WAIT) as ready:
        dialog.request_quote()
    return ready.args[0]


def _open_checkout(qtbot, window, you: Counted):  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(window.dialog_opened, timeout=WAIT) as opened:
        you.key(window.search_box, Qt.Key.Key_F2)
    dialog = opened.args[0]
    qtbot.waitUntil(lambda: bool(dialog.products) and dialog.staff_combo.count() > 1, timeout=WAIT)
    qtbot.waitUntil(dialog.receipt_edit.hasFocus, timeout=WAIT)
    return dialog


def test_find_a_member_in_two_actions(qtbot, window, demo_db):
    member_id = member_with_points(demo_db, 0)
    (phone,) = query(demo_db, "SELECT phone_e164 FROM members WHERE id = ?", (member_id,))[0]
    you = Counted(qtbot)
    _find(qtbot, window, you, phones.digits_only(phone)[2:], member_id)
    assert you.actions == 2


def test_a_three_line_cash_and_card_bill_by_keyboard_in_at_most_15_actions(qtbot, window, demo_db):
    member_id = member_with_points(demo_db, 0, "GOLD")
    (phone,) = query(demo_db, "SELECT phone_e164 FROM members WHERE id = ?", (member_id,))[0]
    _find(qtbot, window, Counted(qtbot), phones.digits_only(phone)[2:], member_id)
    you = Counted(qtbot)
    dialog = _open_checkout(qtbot, window, you)

    you.type(dialog.receipt_edit, "W30001")
    you.key(focused(), Qt.Key.Key_Tab)
    assert focused() is dialog.line_rows[0].edits["name"], "Tab goes from the receipt straight to the first line"
    you.type(focused(), "ladies cut")
    you.key(focused(), Qt.Key.Key_Return)  # picked from the catalogue, next line
    you.type(focused(), "col-r")  # by SKU
    you.key(focused(), Qt.Key.Key_Return)
    you.type(focused(), "2x shampoo")
    you.key(focused(), Qt.Key.Key_Return)
    assert [(r.edits["name"].text(), r.edits["sku"].text(), r.edits["category"].text(), r.edits["quantity"].text(),
             r.edits["unit_price"].text()) for r in dialog.line_rows[:3]] == [
        ("Ladies Cut & Blow", "SVC-CUT-L", "Hair", "1", "68.00"),
        ("Colour Retouch", "SVC-COL-R", "Colour", "1", "120.00"),
        ("Repair Shampoo 250ml", "PRD-SHA-250", "Retail", "2", "32.00")]
    assert focused() is dialog.line_rows[3].edits["name"]
    you.key(focused(), Qt.Key.Key_Return)  # an empty line: on to the payments
    cash, card = dialog.payment_rows
    assert focused() is cash.amount and cash.method.currentData() == "cash"
    you.type(focused(), "100")
    quote = _quote(qtbot, dialog)
    assert quote.ok, quote.errors
    assert card.amount.text() == (quote.to_pay - quote.to_pay.parse("100")).plain()  # the rest, by card
    assert dialog.tender_label.text() == "✓ Payments add up"
    shot(dialog, "flow-checkout-3-lines-cash-card")
    with qtbot.waitSignal(dialog.confirmed, timeout=WAIT) as confirmed:
        you.key(focused(), Qt.Key.Key_Return, CTRL)
    sale = confirmed.args[0]
    assert you.actions <= 15, you.actions
    assert you.actions == 12
    rows = query(demo_db, "SELECT method, amount_minor FROM sale_payments WHERE sale_id = ? ORDER BY method",
                 (sale.sale_id,))
    assert rows == [("card", quote.to_pay.minor - 10000), ("cash", 10000)]
    assert query(demo_db, "SELECT count(*) FROM sale_items WHERE sale_id = ?", (sale.sale_id,)) == [(3,)]
    shot(dialog, "flow-checkout-receipt")


def test_a_reward_in_three_keys_and_the_card_payment_rebalances(qtbot, window, demo_db):
    member_id = member_with_points(demo_db, 1500)
    (phone,) = query(demo_db, "SELECT phone_e164 FROM members WHERE id = ?", (member_id,))[0]
    _find(qtbot, window, Counted(qtbot), phones.digits_only(phone)[2:], member_id)
    dialog = _open_checkout(qtbot, window, Counted(qtbot))
    qtbot.keyClicks(dialog.receipt_edit, "W30002")
    qtbot.keyClicks(dialog.line_rows[0].edits["name"], "ladies cut")
    qtbot.keyClick(dialog.line_rows[0].edits["name"], Qt.Key.Key_Return)
    before = _quote(qtbot, dialog)
    card = dialog.payment_rows[1]
    assert card.amount.text() == before.to_pay.plain() == "68.00"

    you = Counted(qtbot)
    you.key(focused(), Qt.Key.Key_R, ALT)
    assert focused() is dialog.reward_combo
    you.key(focused(), Qt.Key.Key_Down)
    assert dialog.reward_combo.currentData() == "reward:CUT10"
    you.key(focused(), Qt.Key.Key_Return)
    assert you.actions == 3
    after = _quote(qtbot, dialog)
    assert [r.code for r in after.redemptions] == ["CUT10"]
    assert card.amount.text() == after.to_pay.plain() == "58.00", "the card payment follows what is left to pay"
    assert dialog.tender_label.text() == "✓ Payments add up"
    shot(dialog, "flow-checkout-reward")


def test_confirm_with_problems_lists_them_all_beside_confirm(qtbot, window, demo_db):
    member_id = member_with_points(demo_db, 0)
    window.open_member(member_id)
    qtbot.waitUntil(lambda: window.current_view is not None, timeout=WAIT)
    dialog = _open_checkout(qtbot, window, Counted(qtbot))
    qtbot.keyClicks(dialog.line_rows[0].edits["name"], "Fringe trim")
    row = dialog.line_rows[0]
    qtbot.keyClicks(row.edits["category"], "Retial")
    qtbot.keyClicks(row.edits["unit_price"], "12,50")
    with qtbot.waitSignal(dialog.confirm_failed, timeout=WAIT):
        qtbot.keyClick(dialog.receipt_edit, Qt.Key.Key_Return, CTRL)
    summary = dialog.error_summary.text()
    assert summary.startswith("Not saved: 2 things to fix")
    assert "Receipt no.: Enter the WESS receipt number" in summary
    assert "Line 1, unit price: “12,50” uses a comma for the decimals: did you mean 12.50?" in summary
    assert "“Retial” is not a category of the programme: no category bonus applies. Did you mean Retail?" in \
        row.error.text()
    shot(dialog, "flow-checkout-error-summary")


def test_a_bill_far_above_the_usual_asks_once(qtbot, window, demo_db, monkeypatch):
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "question", lambda *args: asked.append(args[2]) or QMessageBox.StandardButton.No)
    member_id = member_with_points(demo_db, 0)
    window.open_member(member_id)
    qtbot.waitUntil(lambda: window.current_view is not None, timeout=WAIT)
    dialog = _open_checkout(qtbot, window, Counted(qtbot))
    qtbot.keyClicks(dialog.receipt_edit, "W30003")
    qtbot.keyClicks(dialog.line_rows[0].edits["name"], "Colour Retouch")
    row = dialog.line_rows[0]
    row.edits["unit_price"].selectAll()
    qtbot.keyClicks(row.edits["unit_price"], "12000")
    quote = _quote(qtbot, dialog)
    assert quote.total.amount == Decimal("12000.00") and dialog.usual_bill_ceiling < quote.total
    qtbot.keyClick(dialog.receipt_edit, Qt.Key.Key_Return, CTRL)
    assert len(asked) == 1 and "far above this shop's usual bills" in asked[0]
    assert dialog.result_sale is None  # "No": nothing saved, the form stays


def test_enrol_a_new_member_from_the_number_typed_in_the_search(qtbot, window, demo_db):
    you = Counted(qtbot)
    with qtbot.waitSignal(window.search_finished, timeout=WAIT):
        you.type(window.search_box, "9000 0123")  # nobody has it: enrol them
    with qtbot.waitSignal(window.dialog_opened, timeout=WAIT) as opened:
        you.key(window.search_box, Qt.Key.Key_N, CTRL)
    dialog = opened.args[0]
    qtbot.waitUntil(dialog.edits["first_name"].hasFocus, timeout=WAIT)
    assert dialog.edits["phone"].text() == "9000 0123"
    you.type(focused(), "Nur Aisyah")
    you.key(focused(), Qt.Key.Key_Tab)
    you.type(focused(), "binte Salleh")
    with qtbot.waitSignal(window.member_opened, timeout=WAIT):
        you.key(focused(), Qt.Key.Key_Return, CTRL)
    assert you.actions == 6  # find (typed number) 1 + enrol 5
    assert window.member_panel.name_label.text() == "Nur Aisyah binte Salleh"


def test_esc_in_enrolment_asks_before_discarding(qtbot, window, monkeypatch):
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "question", lambda *args: asked.append(args[1]) or QMessageBox.StandardButton.No)
    with qtbot.waitSignal(window.dialog_opened, timeout=WAIT) as opened:
        qtbot.keyClick(window.search_box, Qt.Key.Key_N, CTRL)
    dialog = opened.args[0]
    qtbot.keyClicks(dialog.edits["phone"], "9000 0124")
    qtbot.keyClick(dialog.edits["phone"], Qt.Key.Key_Escape)
    assert asked == ["Discard this enrolment?"] and dialog.isVisible()


def test_void_in_six_actions(qtbot, window, demo_db):
    member_id = member_with_points(demo_db, 0)
    window.open_member(member_id)
    qtbot.waitUntil(lambda: window.current_view is not None, timeout=WAIT)
    dialog = _open_checkout(qtbot, window, Counted(qtbot))
    qtbot.keyClicks(dialog.receipt_edit, "W30004")
    qtbot.keyClicks(dialog.line_rows[0].edits["name"], "men's cut")
    qtbot.keyClick(dialog.line_rows[0].edits["name"], Qt.Key.Key_Return)
    _quote(qtbot, dialog)
    with qtbot.waitSignal(dialog.confirmed, timeout=WAIT):
        qtbot.keyClick(dialog.receipt_edit, Qt.Key.Key_Return, CTRL)
    with qtbot.waitSignal(window.member_opened, timeout=WAIT):
        qtbot.mouseClick(dialog.receipt_view.done_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(window.search_box.hasFocus, timeout=WAIT)

    you = Counted(qtbot)
    with qtbot.waitSignal(window.dialog_opened, timeout=WAIT) as opened:
        you.key(window.search_box, Qt.Key.Key_F9)
    void = opened.args[0]
    qtbot.waitUntil(lambda: void.manager_combo.count() > 1, timeout=WAIT)
    you.type(void.receipt_edit, "W30004")
    with qtbot.waitSignal(void.quote_ready, timeout=WAIT):
        you.key(void.receipt_edit, Qt.Key.Key_Return)
    you.type(void.reason_edit, "Wrong member")
    you.type(void.pin_edit, "9999")
    with qtbot.waitSignal(void.reversed, timeout=WAIT):
        you.key(void.pin_edit, Qt.Key.Key_Return)
    assert you.actions == 6
    qtbot.mouseClick(void.receipt_view.done_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(window.search_box.hasFocus, timeout=WAIT)


def test_the_sync_panel_opens_by_a_key_and_hands_the_keyboard_back(qtbot, window, settings):
    from frontdesk.app.wiring import start_sync
    from frontdesk.ui.sync_status import SyncPanel

    controller = start_sync(window, settings)  # no loyalty server configured: the queue is shown, nothing sent
    try:
        you = Counted(qtbot)
        with qtbot.waitSignal(window.dialog_opened, timeout=WAIT) as opened:
            you.key(window.search_box, Qt.Key.Key_F6)
        panel = opened.args[0]
        assert isinstance(panel, SyncPanel) and panel.isVisible() and you.actions == 1
        shot(panel, "flow-sync-panel")
        qtbot.keyClick(panel, Qt.Key.Key_Escape)
        qtbot.waitUntil(lambda: not panel.isVisible(), timeout=WAIT)
        qtbot.waitUntil(window.search_box.hasFocus, timeout=WAIT)
    finally:
        controller.stop()


def test_stored_value_pays_what_it_can_in_one_key_and_a_void_gives_it_back(qtbot, window, demo_db):
    member_id = member_with_points(demo_db, 0)
    execute(demo_db, "UPDATE members SET stored_value_minor = 4000 WHERE id = ?", (member_id,))
    (phone,) = query(demo_db, "SELECT phone_e164 FROM members WHERE id = ?", (member_id,))[0]
    _find(qtbot, window, Counted(qtbot), phones.digits_only(phone)[2:], member_id)
    assert window.member_panel.stored_value_label.text() == "Stored value S$40.00"
    dialog = _open_checkout(qtbot, window, Counted(qtbot))
    qtbot.keyClicks(dialog.receipt_edit, "W30010")
    qtbot.keyClicks(dialog.line_rows[0].edits["name"], "ladies cut")
    qtbot.keyClick(dialog.line_rows[0].edits["name"], Qt.Key.Key_Return)
    _quote(qtbot, dialog)
    assert dialog.stored_value_box.isVisible()
    assert dialog.stored_value_label.text() == "Stored value S$40.00 available"

    you = Counted(qtbot)
    you.key(focused(), Qt.Key.Key_V, ALT)  # all S$40 of it; the card takes the other S$28
    assert you.actions == 1
    stored = next(r for r in dialog.payment_rows if r.method.currentData() == "stored_value")
    card = next(r for r in dialog.payment_rows if r.method.currentData() == "card")
    qtbot.waitUntil(lambda: card.amount.text() == "28.00" and dialog.tender_label.text() == "✓ Payments add up"
                    and dialog.stored_value_label.text() == "Stored value S$40.00: S$40.00 on this bill, S$0.00 left",
                    timeout=WAIT)
    assert stored.amount.text() == "40.00"
    shot(dialog, "flow-checkout-stored-value")
    with qtbot.waitSignal(dialog.confirmed, timeout=WAIT) as confirmed:
        qtbot.keyClick(dialog.receipt_edit, Qt.Key.Key_Return, CTRL)
    sale = confirmed.args[0]
    assert "Stored value S$40.00 · balance left S$0.00" in sale.receipt_text
    assert query(demo_db, "SELECT stored_value_minor FROM members WHERE id = ?", (member_id,)) == [(0,)]
    shot(dialog, "flow-checkout-stored-value-receipt")
    with qtbot.waitSignal(window.member_opened, timeout=WAIT):
        qtbot.mouseClick(dialog.receipt_view.done_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.member_panel.stored_value_label.isVisible(), timeout=WAIT)

    with qtbot.waitSignal(window.dialog_opened, timeout=WAIT) as opened:
        qtbot.keyClick(window.search_box, Qt.Key.Key_F9)
    void = opened.args[0]
    qtbot.waitUntil(lambda: void.manager_combo.count() > 1, timeout=WAIT)
    qtbot.keyClicks(void.receipt_edit, "W30010")
    with qtbot.waitSignal(void.quote_ready, timeout=WAIT):
        qtbot.keyClick(void.receipt_edit, Qt.Key.Key_Return)
    qtbot.keyClicks(void.reason_edit, "Wrong member")
    qtbot.keyClicks(void.pin_edit, "9999")
    shot(void, "flow-void-stored-value")
    with qtbot.waitSignal(void.reversed, timeout=WAIT):
        qtbot.keyClick(void.pin_edit, Qt.Key.Key_Return)
    assert query(demo_db, "SELECT stored_value_minor FROM members WHERE id = ?", (member_id,)) == [(4000,)]
    shot(void, "flow-void-stored-value-done")
    qtbot.mouseClick(void.receipt_view.done_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.member_panel.stored_value_label.text() == "Stored value S$40.00", timeout=WAIT)


def test_the_birthday_month_discount_is_on_the_bill_and_in_what_to_key_into_wess(qtbot, window, demo_db):
    from datetime import datetime, timezone

    member_id = member_with_points(demo_db, 0, "GOLD")
    month = datetime.now(timezone.utc).astimezone(window.settings.zone).month
    execute(demo_db, "UPDATE members SET birthday = ? WHERE id = ?", (f"1990-{month:02d}-15", member_id))
    window.open_member(member_id)
    qtbot.waitUntil(lambda: window.current_view is not None, timeout=WAIT)
    assert window.member_panel.birthday_flag.isVisible()
    dialog = _open_checkout(qtbot, window, Counted(qtbot))
    qtbot.keyClicks(dialog.receipt_edit, "W30011")
    qtbot.keyClicks(dialog.line_rows[0].edits["name"], "ladies cut")
    qtbot.keyClick(dialog.line_rows[0].edits["name"], Qt.Key.Key_Return)
    quote = _quote(qtbot, dialog)
    assert quote.total.amount == Decimal("57.80")
    qtbot.waitUntil(lambda: "S$10.20 birthday discount" in dialog.wess_label.text(), timeout=WAIT)
    shot(dialog, "flow-checkout-birthday-perk")


def test_the_receipt_says_so_when_the_server_credits_other_points_than_the_preview(qtbot, window, demo_db):
    from frontdesk.sales.outcomes import Delivery, apply_deliveries
    from frontdesk.store import make_engine

    member_id = member_with_points(demo_db, 0)
    window.open_member(member_id)
    qtbot.waitUntil(lambda: window.current_view is not None, timeout=WAIT)
    dialog = _open_checkout(qtbot, window, Counted(qtbot))
    qtbot.keyClicks(dialog.receipt_edit, "W30012")
    qtbot.keyClicks(dialog.line_rows[0].edits["name"], "ladies cut")
    qtbot.keyClick(dialog.line_rows[0].edits["name"], Qt.Key.Key_Return)
    _quote(qtbot, dialog)
    with qtbot.waitSignal(dialog.confirmed, timeout=WAIT) as confirmed:
        qtbot.keyClick(dialog.receipt_edit, Qt.Key.Key_Return, CTRL)
    sale = confirmed.args[0]
    assert not dialog.receipt_view.note.isVisible()
    # Sync delivers the sale (the outcome it applies, as the engine applies it): the server credited 10 more.
    engine = make_engine(demo_db)
    try:
        with engine.begin() as conn:
            apply_deliveries(conn, [Delivery("sale", "applied", sale_id=sale.sale_id, member_id=member_id,
                                             server_transaction_id="T-1", server_points=sale.points_earned + 10)])
    finally:
        engine.dispose()
    with qtbot.waitSignal(dialog.server_points_shown, timeout=WAIT):
        pass
    assert dialog.receipt_view.note.isVisible()
    assert dialog.receipt_view.note.text() == (
        f"The loyalty server credited {sale.points_earned + 10:+,} pts for this sale, not the "
        f"{sale.points_earned:+,} pts previewed: the server's figure is the one that counts.")
    shot(dialog, "flow-receipt-server-points-differ")
