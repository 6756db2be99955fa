"""The member panel and the status bar never contradict each other: once sync says "all synced", the member on
screen is not still "waiting for the loyalty server" (a real window, a real engine, a real server)."""
from __future__ import annotations

import random
from dataclasses import replace

from PySide6.QtWidgets import QApplication
from sqlalchemy import Engine

from frontdesk.app.wiring import build_window, start_sync
from frontdesk.config import Settings
from frontdesk.ui.resources import stylesheet
from tests.conftest import save_screenshot
from tests.sync.conftest import RunningServer
from tests.sync.helpers import enrol_member

WAIT = 15000


def test_a_new_member_on_screen_stops_waiting_when_sync_says_all_synced(qtbot, server: RunningServer,  # type: ignore[no-untyped-def]
                                                                       counter: Engine) -> None:
    phone = f"8{random.Random().randrange(1_000_000, 9_999_999)}"
    member_id, _ = enrol_member(counter, "Siti", "Rahman", phone, f"siti.{phone}@example.com")
    settings = replace(Settings(), database=str(counter.url.database), api_url=server.api_url,
                       outlet_code="TAMPINES", counter_id="C2")
    QApplication.instance().setStyleSheet(stylesheet())  # type: ignore[union-attr]
    window = build_window(settings)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    qtbot.waitExposed(window)
    controller = None
    try:
        with qtbot.waitSignal(window.member_opened, timeout=WAIT):
            window.open_member(member_id)
        panel = window.member_panel
        assert panel.pending_flag.isVisible()
        assert panel.pending_flag.text() == "New member: waiting for the loyalty server"
        save_screenshot(window, "member-panel-new-member-waiting")

        controller = start_sync(window, settings, api_key=server.api_key)
        qtbot.waitUntil(lambda: window.sync_widget.status is not None
                        and window.sync_widget.status.summary().endswith("all synced"), timeout=WAIT)
        # The same round that delivered the enrolment reloads the member on screen.
        qtbot.waitUntil(lambda: not panel.pending_flag.isVisible(), timeout=5000)
        assert window.sync_widget.status.summary() == "Online · all synced"
        save_screenshot(window, "member-panel-new-member-synced")
    finally:
        if controller is not None:
            controller.stop()
        window.runner.shutdown()
        window.lookup.close()
