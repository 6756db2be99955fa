"""The status-bar item and the sync panel, driven by a real engine against a real server."""
from __future__ import annotations

import os
import uuid
from dataclasses import replace

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from sqlalchemy import Engine

from frontdesk.config import Settings
from frontdesk.ui.sync_status import SyncController, SyncPanel, SyncStatusWidget
from sync.engine import EngineOptions, SyncEngine
from sync.outbox import WorkerOptions
from tests.sync.conftest import FAST_RETRY, RunningServer
from tests.sync.helpers import Line, queue_sale, queue_void

pytest.importorskip("pytestqt")


def controller_for(qtbot, counter: Engine, server: RunningServer, **options: float) -> SyncController:  # type: ignore[no-untyped-def]
    settings = replace(Settings(), database=str(counter.url.database), api_url=server.api_url)

    def factory() -> SyncEngine:
        return SyncEngine(counter, server.client(), options=EngineOptions(
            probe_interval=0.2, status_interval=0.2, programme_interval=3600, members_interval=3600,
            worker=WorkerOptions(retry=FAST_RETRY, idle_interval=0.2), **options))

    return SyncController(settings, factory)


def test_status_bar_and_panel_with_retry_and_discard(qtbot, server: RunningServer, counter: Engine) -> None:  # type: ignore[no-untyped-def]
    bad_receipt = f"BAD-{uuid.uuid4().hex[:6]}"
    bad_sale, _ = queue_sale(counter, 9, bad_receipt, lines=(Line("Broken", "X", "Hair", 0, 100),))
    queue_void(counter, bad_sale)  # depends on the refused sale: it waits
    queue_sale(counter, 9, f"OK-{uuid.uuid4().hex[:6]}")  # does not: it goes
    queue_sale(counter, 10, f"OK-{uuid.uuid4().hex[:6]}")
    controller = controller_for(qtbot, counter, server)
    approvals: list[str] = []

    def approve(_parent, text: str) -> int:  # type: ignore[no-untyped-def]
        approvals.append(text)
        return 3

    from PySide6.QtWidgets import QApplication, QMainWindow, QStatusBar

    from frontdesk.ui.resources import stylesheet

    QApplication.instance().setStyleSheet(stylesheet())  # type: ignore[union-attr]
    window = QMainWindow()
    window.setStatusBar(QStatusBar())
    window.resize(1000, 120)
    widget = SyncStatusWidget(controller, approve=approve)
    window.statusBar().addPermanentWidget(widget)
    qtbot.addWidget(window)
    window.show()
    controller.start()
    try:
        qtbot.waitUntil(lambda: widget.status is not None and widget.status.parked == 1
                        and widget.status.queued == 1, timeout=15000)
        assert widget.text().startswith("● Online · 1 queued · oldest ")
        assert widget.text().endswith(" s · 1 needs attention")
        qtbot.wait(50)
        window.grab().save("/tmp/sync_status_widget.png")

        widget.open_panel()
        panel = widget.panel
        assert isinstance(panel, SyncPanel)
        qtbot.waitUntil(lambda: len(panel.entries) == 2, timeout=10000)
        assert panel.table.item(0, 7).text().startswith("Needs attention: item_data_json")
        assert panel.table.item(1, 7).text().startswith("Waits (#1): waits for its sale")
        assert not panel.retry_button.isEnabled()
        panel.table.selectRow(0)
        assert panel.retry_button.isEnabled() and panel.discard_button.isEnabled()
        assert "Server said: item_data_json" in panel.detail.text()
        qtbot.wait(50)
        panel.grab().save("/tmp/sync_panel.png")

        panel.retry_button.click()
        qtbot.waitUntil(lambda: "back in the queue" in panel.message.text() or
                        (panel.entries and panel.entries[0].attempts >= 2), timeout=10000)
        qtbot.waitUntil(lambda: len(panel.entries) == 2 and panel.entries[0].status == "parked"
                        and panel.entries[0].attempts == 2, timeout=15000)
        panel.table.selectRow(0)
        panel.discard_button.click()
        # Its sale will never reach the server: the void has nothing to take back, and says so.
        qtbot.waitUntil(lambda: len(panel.entries) == 1 and panel.entries[0].status == "parked"
                        and "never reached" in (panel.entries[0].last_error or ""), timeout=15000)
        panel.table.selectRow(0)
        panel.discard_button.click()
        qtbot.waitUntil(lambda: panel.entries == [] and widget.status is not None and widget.status.queued == 0
                        and widget.status.parked == 0, timeout=15000)
        assert widget.text() == "● Online · all synced"
        assert approvals[0].startswith("Retry sending #1") and approvals[1].startswith("Discard #1")
        panel.grab().save("/tmp/sync_panel_empty.png")
    finally:
        controller.stop()
        QApplication.instance().setStyleSheet("")  # type: ignore[union-attr]


def test_member_refresh_comes_back_by_signal(qtbot, server: RunningServer, counter: Engine) -> None:  # type: ignore[no-untyped-def]
    controller = controller_for(qtbot, counter, server)
    controller.start()
    try:
        with qtbot.waitSignal(controller.memberRefreshed, timeout=15000) as blocker:
            controller.refresh_member(8)
        member_id, result = blocker.args
        assert member_id == 8 and result is not None and result.found
    finally:
        controller.stop()


def test_panel_without_a_manager_callback_keeps_buttons_off(qtbot, server: RunningServer, counter: Engine) -> None:  # type: ignore[no-untyped-def]
    queue_sale(counter, 11, f"BAD-{uuid.uuid4().hex[:6]}", lines=(Line("Broken", "X", "Hair", 0, 100),))
    controller = controller_for(qtbot, counter, server)
    panel = SyncPanel(controller)
    qtbot.addWidget(panel)
    controller.start()
    try:
        panel.show()
        panel.reload()
        qtbot.waitUntil(lambda: len(panel.entries) == 1 and panel.entries[0].status == "parked", timeout=15000)
        panel.table.selectRow(0)
        assert not panel.retry_button.isEnabled() and "manager" in panel.retry_button.toolTip()
    finally:
        controller.stop()


def test_a_manager_resolves_a_refused_member_from_the_panel(qtbot, server: RunningServer,  # type: ignore[no-untyped-def]
                                                            counter: Engine) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from frontdesk.domain import phone as phones
    from frontdesk.ui.sync_status import IdentityDialog
    from tests.sync.helpers import enrol_member

    parent_phone = phones.normalise(server.client().user_show(user_id=100152)["phone"], "SG")
    assert parent_phone is not None
    child_id, _ = enrol_member(counter, "Kid", "Goh", parent_phone.national)
    child_receipt = f"KID-{uuid.uuid4().hex[:6]}"
    queue_sale(counter, child_id, child_receipt)
    controller = controller_for(qtbot, counter, server)
    panel = SyncPanel(controller, approve=lambda _parent, _text: 3)
    qtbot.addWidget(panel)
    panel.resize(1366, 520)
    controller.start()
    try:
        panel.show()
        panel.reload()
        qtbot.waitUntil(lambda: len(panel.entries) == 2 and panel.entries[0].status == "parked", timeout=15000)
        assert panel.table.item(1, 7).text().startswith("Waits")
        assert "identity" in panel.table.item(1, 7).text()
        panel.table.selectRow(1)
        assert panel.resolve_button.isEnabled() and not panel.without_part_button.isEnabled()
        assert "Nothing is credited to the other member" in panel.detail.text()
        qtbot.wait(100)
        panel.grab().save("/tmp/sync_panel_identity.png")

        seen: list[IdentityDialog] = []

        def decide() -> None:
            dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, IdentityDialog) and w.isVisible()]
            if not dialogs:
                QTimer.singleShot(100, decide)
                return
            dialog = dialogs[0]
            if dialog.other.count() < 1:  # the candidates arrive by signal
                QTimer.singleShot(100, decide)
                return
            seen.append(dialog)
            dialog.grab().save("/tmp/sync_identity_dialog.png")
            dialog.action.setCurrentIndex(0)  # household
            dialog.ok.click()

        def give_up() -> None:  # never leave a modal dialog open on a failing test
            for widget in QApplication.topLevelWidgets():
                if isinstance(widget, IdentityDialog) and widget.isVisible():
                    widget.reject()

        QTimer.singleShot(100, decide)
        QTimer.singleShot(15000, give_up)
        panel.resolve_button.click()
        assert seen, "the resolve dialog did not show the member who holds the phone"
        try:
            qtbot.waitUntil(lambda: panel.entries == [], timeout=20000)
        except Exception:
            raise AssertionError(f"{panel.message.text()} {panel.entries}") from None
        held = [t for t in server.transactions() if t["transaction_no"] == child_receipt]
        assert [t["user_id"] for t in held] == [100152]  # credited to the parent by the manager's decision
    finally:
        controller.stop()
