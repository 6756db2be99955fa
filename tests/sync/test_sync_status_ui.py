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
from tests.sync.helpers import Line, queue_sale

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
    queue_sale(counter, 9, bad_receipt, lines=(Line("Broken", "X", "Hair", 0, 100),))
    queue_sale(counter, 9, f"OK-{uuid.uuid4().hex[:6]}")
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
        assert panel.table.item(1, 7).text().startswith("Waits for #1")
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
        qtbot.waitUntil(lambda: panel.entries == [] and widget.status is not None and widget.status.queued == 0,
                        timeout=15000)
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
