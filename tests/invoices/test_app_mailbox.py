"""The app reads the invoice mailbox itself: the window's wiring starts the watcher against a real Dovecot on
127.0.0.1, an appended mail arrives as a queued sale, a mailbox problem shows in the status bar, and the watcher
stops cleanly."""
from __future__ import annotations

import random
import time
from dataclasses import asdict, replace

import pytest

from devtools.invoice_corpus import make_receipt, to_eml
from frontdesk.app.wiring import build_window, start_mailbox
from frontdesk.config import Settings
from frontdesk.secrets import MAILBOX_ENV_VAR
from tests.conftest import save_screenshot
from tests.invoices.conftest import PASSWORD, query

WAIT = 15000


def app_settings(settings: Settings, dovecot, **imap) -> Settings:  # type: ignore[no-untyped-def]
    block = {k: v for k, v in asdict(dovecot.imap(poll_seconds=300.0, **imap)).items()}
    return replace(settings, extra={"invoices": {"default_staff": "S01", "outlets": ["TAMPINES"], "imap": block}})


@pytest.fixture
def started(qtbot, qapp):  # type: ignore[no-untyped-def]
    windows = []

    def start(settings: Settings):  # type: ignore[no-untyped-def]
        window = build_window(settings)
        qtbot.addWidget(window)
        window.resize(1366, 768)
        window.show()
        qtbot.waitExposed(window)
        controller = start_mailbox(window, settings)
        windows.append((window, controller))
        return window, controller

    yield start
    for window, controller in windows:
        if controller is not None:
            controller.stop()
        window.runner.shutdown()
        window.lookup.close()
        services = getattr(window, "_invoice_services", None)
        if services is not None:
            services.close()


def test_the_app_watches_the_mailbox_and_an_appended_mail_becomes_a_queued_sale(
        qtbot, started, settings, members, dovecot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(MAILBOX_ENV_VAR, PASSWORD)
    window, controller = started(app_settings(settings, dovecot))
    assert controller is not None and window.mailbox is controller
    qtbot.waitUntil(lambda: window.mailbox_widget.text() == "Mail: watching", timeout=WAIT)
    receipt = make_receipt(random.Random(7), 7, member=members[0])
    with qtbot.waitSignal(controller.received, timeout=WAIT) as arrived:
        dovecot.append(to_eml(receipt, "html"))
    assert arrived.args[0].status == "queued"
    assert query(settings.database_path, "SELECT sales_mode, status FROM sales WHERE receipt_no = ?",
                 (receipt.receipt_no,)) == [("invoice_mail", "pending")]
    qtbot.waitUntil(lambda: "1 queued" in window.mailbox_widget.text(), timeout=WAIT)
    # A walk-in's receipt (no member on it) arrives as a review item, not a sale.
    walk_in = make_receipt(random.Random(8), 8, member=None)
    with qtbot.waitSignal(controller.received, timeout=WAIT) as arrived:
        dovecot.append(to_eml(walk_in, "text"))
    assert arrived.args[0].status == "review"
    started_at = time.monotonic()
    controller.stop()
    assert not controller.running and time.monotonic() - started_at < 5
    assert controller.watcher.status.mode == "stopped"


def test_a_wrong_password_shows_in_the_status_bar_and_the_counter_keeps_working(
        qtbot, started, settings, dovecot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(MAILBOX_ENV_VAR, "not-the-password")
    window, controller = started(app_settings(settings, dovecot))
    qtbot.waitUntil(lambda: "refused the login" in window.mailbox_widget.text(), timeout=WAIT)
    assert "c62828" in window.mailbox_widget.styleSheet() and controller.running  # keeps retrying
    assert window.isVisible()
    qtbot.wait(200)  # the status bar lays out the new text
    save_screenshot(window, "invoice-mailbox-wrong-password")


def test_an_unreachable_mailbox_shows_in_the_status_bar(qtbot, started, settings, dovecot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(MAILBOX_ENV_VAR, PASSWORD)
    port = dovecot.port
    dovecot.stop()  # nothing listens there any more
    window, controller = started(app_settings(settings, dovecot, port=port, timeout_seconds=2.0))
    qtbot.waitUntil(lambda: "Mail: ConnectionRefusedError" in window.mailbox_widget.text(), timeout=WAIT)
    assert controller.running


def test_no_mailbox_configured_starts_nothing(qtbot, started, settings) -> None:  # type: ignore[no-untyped-def]
    window, controller = started(settings)
    assert controller is None and getattr(window, "mailbox", None) is None
