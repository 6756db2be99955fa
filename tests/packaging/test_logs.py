"""Log files and crash reports: nothing personal or secret reaches disk, and a crash leaves a report behind."""
from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from frontdesk import config, logs
from frontdesk.logs import mask_sensitive


@pytest.fixture
def logging_to_files():
    """Our handlers on the root logger for one test, then back to how pytest had it."""
    root = logging.getLogger()
    before_handlers, before_level = list(root.handlers), root.level
    path = logs.setup_logging()
    yield path
    for handler in [h for h in root.handlers if h not in before_handlers]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(before_level)


@pytest.fixture
def crash_dialog(crash_handlers):
    """The notifier the app installs at start-up (frontdesk.app.main.run_app)."""
    from frontdesk.ui.crash_notice import notify_crash

    logs.set_crash_notifier(notify_crash)
    return crash_handlers


@pytest.fixture
def crash_handlers(logging_to_files):
    logs.install_crash_handlers()
    yield config.log_dir()
    logs.uninstall_crash_handlers()
    logs.set_crash_notifier(None)


@pytest.mark.parametrize("raw, masked", [
    ("call +65 9123 4567 now", "call +65******67 now"),
    ("phone=+6591234567.", "phone=+65******67."),
    ("q=%2B6591234567&x=1", "q=%2B65******67&x=1"),
    ("US +1 (415) 555-2671", "US +1********71"),
    ("HK +85291234567", "HK +852******67"),
    ("typed 9123 4567.", "typed ******67."),
    ("typed 012-345 6789", "typed ********89"),
    ("jane.doe@example.com wrote", "j***@example.com wrote"),
    ("email=jane%40example.com", "email=j***%40example.com"),
    ("Authorization: Basic YWJjOg==", "Authorization: Basic ***"),
    ("{'Authorization': 'Bearer abc.def'}", "{'Authorization': 'Bearer ***'}"),
    ("api_key=zz9s8d7f6&x=2", "api_key=***&x=2"),
    ('"password": "hunter2"', '"password": "***"'),
    ("manager pin=4321 accepted", "manager pin=*** accepted"),
    ("token A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7 sent", "token A1b2*** sent"),
])
def test_personal_data_and_secrets_are_masked(raw, masked):
    assert mask_sensitive(raw) == masked


@pytest.mark.parametrize("kept", [
    "at 2024-01-05 12:30:45.123 took 1.5 s",
    "server 127.0.0.1:5000",
    "amount 12345678.90",
    "member M00012345 receipt INV-20240105-0001",
    "outbox entry 550e8400-e29b-41d4-a716-446655440000",
    "last 4 digits 4567, 1200 points",
    "card FDM1.M00012345.K5XQ7ZBD3UFGN2YA",
])
def test_what_it_needs_to_debug_is_kept(kept):
    assert mask_sensitive(kept) == kept


def test_a_registered_secret_is_masked_also_in_its_basic_auth_form():
    import base64

    logs.register_secret("live-key-7f3a9c")
    header = base64.b64encode(b"live-key-7f3a9c:").decode()
    text = mask_sensitive(f"key live-key-7f3a9c, header {header}")
    assert "live-key-7f3a9c" not in text and header not in text


def test_log_file_in_the_log_dir_has_masked_lines_and_tracebacks(logging_to_files):
    log = logging.getLogger("frontdesk.test")
    log.info("lookup %s for %s", "+6591234567", "jane.doe@example.com")
    try:
        raise ValueError("member +6598765432 not found, key=abc123secret")
    except ValueError:
        log.exception("lookup failed")
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert logging_to_files.parent == config.log_dir()
    text = logging_to_files.read_text(encoding="utf-8")
    assert "+65******67" in text and "j***@example.com" in text
    assert "Traceback" in text and "+65******32" in text and "key=***" in text
    for secret in ("91234567", "98765432", "jane.doe", "abc123secret"):
        assert secret not in text


def test_log_files_rotate_and_stay_bounded(monkeypatch, logging_to_files):
    monkeypatch.setattr(logs, "LOG_MAX_BYTES", 4000)
    path = logs.setup_logging()
    log = logging.getLogger("frontdesk.test")
    for number in range(600):
        log.info("line %04d %s", number, "x" * 60)
    files = sorted(path.parent.glob(logs.LOG_FILE_NAME + "*"))
    assert len(files) == 1 + logs.LOG_BACKUP_COUNT
    assert all(f.stat().st_size <= 4000 + 200 for f in files)
    assert "line 0599" in path.read_text(encoding="utf-8")


def test_qt_messages_go_to_the_log(qapp, caplog):
    from PySide6.QtCore import qInstallMessageHandler, qWarning

    from frontdesk.ui.qt_logging import install_qt_message_handler

    previous = install_qt_message_handler()
    try:
        with caplog.at_level(logging.WARNING, logger="qt"):
            qWarning("camera frame dropped")
    finally:
        qInstallMessageHandler(previous)
    assert any(r.name == "qt" and r.levelno == logging.WARNING and "camera frame dropped" in r.getMessage()
               for r in caplog.records)


def _raise_for(message: str) -> None:
    raise RuntimeError(message)


def test_crash_report_is_written_masked_with_recent_lines(logging_to_files):
    logging.getLogger("frontdesk.test").info("opened member with phone +6591112222")
    reports = []
    for message in ("sync failed for ann@example.org", "sync failed again"):
        try:
            _raise_for(message)
        except RuntimeError as error:
            reports.append(logs.write_crash_report(type(error), error, error.__traceback__))
    report = reports[0]
    assert reports[1] == report  # the same error from the same place: no second file
    text = report.read_text(encoding="utf-8")
    assert report.parent == config.log_dir() and report.name.startswith("crash-")
    assert "RuntimeError: sync failed for a***@example.org" in text
    assert "_raise_for" in text  # the traceback is there
    assert "opened member with phone +65******22" in text  # so are the lines before it
    assert "ann@" not in text and "91112222" not in text


def test_an_error_in_a_worker_thread_writes_a_report_and_notifies(crash_handlers):
    notified: list[tuple[Path, str]] = []
    logs.set_crash_notifier(lambda path, summary: notified.append((path, summary)))
    worker = threading.Thread(target=_raise_for, args=("outbox worker stopped, phone +60123456789",),
                              name="sync-worker")
    worker.start()
    worker.join()
    reports = logs.crash_reports()
    assert len(reports) == 1 and notified and notified[0][0] == reports[0]
    assert notified[0][1] == "RuntimeError: outbox worker stopped, phone +60*******89"
    assert "thread:     sync-worker" in reports[0].read_text(encoding="utf-8")


def test_a_native_crash_is_recorded_and_found_at_the_next_start(tmp_path):
    crash_dir = tmp_path / "native"
    script = textwrap.dedent(f"""
        import ctypes
        from pathlib import Path
        from frontdesk import logs
        logs.install_crash_handlers(Path({str(crash_dir)!r}))
        ctypes.string_at(0)  # a segmentation fault in C code
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert result.returncode != 0
    fault_log = crash_dir / logs.NATIVE_FAULT_FILE_NAME
    assert "Fatal Python error" in fault_log.read_text(encoding="utf-8")
    try:
        previous = logs.install_crash_handlers(crash_dir)
    finally:
        logs.uninstall_crash_handlers()
    assert previous is not None and previous.name.startswith("crash-") and previous.name.endswith("-native.txt")
    assert "Fatal Python error" in previous.read_text(encoding="utf-8")


@pytest.mark.qt_no_exception_capture
def test_an_error_in_a_button_slot_shows_a_notice_and_keeps_the_window(qtbot, crash_dialog):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import (
        QApplication,
        QLineEdit,
        QMessageBox,
        QPushButton,
        QVBoxLayout,
        QWidget,
    )

    from tests.conftest import save_screenshot

    window = QWidget()
    window.setWindowTitle("Front Desk")
    layout = QVBoxLayout(window)
    sale = QLineEdit("Receipt 10023 · 2 items · S$ 86.00")
    button = QPushButton("Apply reward")
    button.clicked.connect(lambda: _raise_for("reward lookup failed for +6591234567"))
    layout.addWidget(sale)
    layout.addWidget(button)
    qtbot.addWidget(window)
    window.resize(480, 160)
    window.show()
    qtbot.waitExposed(window)

    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    def notice() -> QMessageBox | None:
        boxes = [w for w in QApplication.topLevelWidgets() if w.objectName() == "CrashNotice" and w.isVisible()]
        return boxes[0] if boxes else None

    qtbot.waitUntil(lambda: notice() is not None, timeout=3000)
    box = notice()
    report = logs.crash_reports()[0]
    assert str(report) in box.informativeText()
    assert "+65******67" in box.informativeText() and "91234567" not in box.informativeText()
    save_screenshot(box, "crash-notice")
    assert window.isVisible() and sale.text() == "Receipt 10023 · 2 items · S$ 86.00"

    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # the same error again: no second dialog, no second file
    qtbot.wait(50)
    visible = [w for w in QApplication.topLevelWidgets() if w.objectName() == "CrashNotice" and w.isVisible()]
    assert len(visible) == 1 and "1 more time" in box.informativeText()
    assert len(logs.crash_reports()) == 1
    box.close()


@pytest.mark.qt_no_exception_capture
def test_an_error_in_a_worker_thread_shows_the_notice_on_the_gui_thread(qtbot, crash_dialog):
    from PySide6.QtWidgets import QApplication

    worker = threading.Thread(target=_raise_for, args=("camera thread died",), name="camera")
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: any(w.objectName() == "CrashNotice" and w.isVisible()
                                for w in QApplication.topLevelWidgets()), timeout=3000)
    for widget in QApplication.topLevelWidgets():
        if widget.objectName() == "CrashNotice":
            assert "camera thread died" in widget.informativeText()
            widget.close()
