"""The demo counter as a newcomer meets it: a local loyalty server, a sale recorded, and the sale synced."""
from __future__ import annotations

import sqlite3
from dataclasses import replace

from frontdesk.app.main import start_demo_server
from frontdesk.app.wiring import build_window, start_sync
from frontdesk.config import Settings
from frontdesk.demo.generator import build_demo_database
from frontdesk.sales import LineInput, PaymentInput, SaleRequest
from tests.conftest import save_screenshot


def test_a_sale_recorded_at_the_demo_counter_reaches_the_demo_server(qtbot, qapp, tmp_path):
    from frontdesk.ui.resources import stylesheet

    qapp.setStyleSheet(stylesheet())
    db = tmp_path / "demo.sqlite"
    build_demo_database(db, members=300)  # the same members the demo server is seeded with
    settings, api_key, stop_server = start_demo_server(replace(Settings(), database=str(db), demo=True))
    try:
        window = build_window(settings)
        qtbot.addWidget(window)
        window.show()
        controller = start_sync(window, settings, api_key)
        qtbot.waitUntil(window.is_online, timeout=10_000)

        member_id = 12
        with qtbot.waitSignal(window.member_opened, timeout=3000):
            window.open_member(member_id)
        staff_id = window.counter.staff.list_staff()[0].id
        draft = SaleRequest(member_id=member_id, staff_id=staff_id, receipt_no="T-DEMO-1",
                              lines=(LineInput(name="Ladies Cut & Blow", sku="SVC-CUT-L", category="Hair",
                                               unit_price="68.00"),),
                              payments=())
        # What the card pays is whatever the bill comes to (a birthday-month tier discount may apply).
        to_pay = window.counter.sales.quote(draft).to_pay
        assert to_pay is not None
        draft = replace(draft, payments=(PaymentInput(method="card", amount=to_pay.plain()),))
        confirmed = window.counter.sales.record(draft)
        window._dialog_closed()  # what closing the checkout does: show the sale, wake the sync

        def synced() -> bool:
            conn = sqlite3.connect(db)
            try:
                return conn.execute("SELECT status FROM sales WHERE id = ?", (confirmed.sale_id,)).fetchone()[0] \
                    == "synced"
            finally:
                conn.close()

        qtbot.waitUntil(synced, timeout=15_000)
        qtbot.waitUntil(lambda: controller.last_status is not None and controller.last_status.queued == 0,
                        timeout=10_000)
        assert "online" in window.sync_widget.text().lower()
        def panel_shows_synced() -> bool:
            status = window.member_panel.visits_table.item(0, 4)
            return status is not None and status.text() == "synced"

        controller.refresh_status()
        qtbot.waitUntil(panel_shows_synced, timeout=10_000)
        save_screenshot(window, "demo-counter-synced")
        controller.stop()
        window.runner.shutdown()
    finally:
        stop_server()
