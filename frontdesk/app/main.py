"""Start-up: settings, database, window. Kept small so a cold start stays well under two seconds."""
from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from frontdesk import config
from frontdesk.config import Settings

log = logging.getLogger(__name__)

DEMO_MEMBERS = 300


def resolve_settings(args: argparse.Namespace) -> Settings:
    """Config file, then flags; a counter with nothing configured starts in demo mode."""
    from frontdesk.app.config_cli import config_path_from_args, settings_from_args

    settings, _sources = settings_from_args(args)
    nothing_configured = not config_path_from_args(args).exists() and not getattr(args, "db", None)
    if settings.demo or nothing_configured:
        demo_db = settings.database if getattr(args, "db", None) else str(config.data_dir() / "demo.sqlite")
        settings = replace(settings, demo=True, database=demo_db,
                           member_card_key=settings.member_card_key or config.DEMO_CARD_KEY)
    return settings


def prepare_database(settings: Settings) -> None:
    from frontdesk.store.db import upgrade_database

    path = settings.database_path
    if settings.demo and not path.exists():
        from frontdesk.demo.generator import build_demo_database

        build_demo_database(path, members=DEMO_MEMBERS)
    else:
        upgrade_database(path)


DEMO_SERVER_MISSING = ("The demo loyalty server is a developer tool and is not installed here, so the demo counter "
                       "works offline. From a source checkout: .venv/bin/pip install -e ./devtools")


class DemoServerMissing(RuntimeError):
    """The reference server (devtools, never in the installed product) is not importable."""


def start_demo_server(settings: Settings) -> tuple[Settings, str, object]:
    """The demo counter talks to a reference loyalty server on a free 127.0.0.1 port, seeded like its database.

    The server lives in `devtools` (its own distribution): found by name when installed, never bundled."""
    try:
        from devtools.loyalty_server.demo import start_demo_server as start
    except ImportError as error:
        raise DemoServerMissing(f"{DEMO_SERVER_MISSING} ({error})") from error

    url, api_key, stop = start(config.data_dir() / "demo-server.sqlite", members=DEMO_MEMBERS)
    return replace(settings, api_url=url, verify_tls=False), api_key, stop


class StartupRefused(Exception):
    """Start-up stopped with a message already shown; `exit_code` is what the process returns."""

    def __init__(self, exit_code: int) -> None:
        super().__init__(exit_code)
        self.exit_code = exit_code


def open_counter_storage(settings: Settings, show: Callable[[object], bool]) -> None:
    """Check the data folder and the database before the counter opens them; `show(box)` shows a message box and
    says whether its accepting button was pressed. Raises `StartupRefused` after telling the user.

    Nothing is lost on any path: a damaged file is only ever moved aside (when the user restores the newest
    backup), never deleted or overwritten, and a newer-schema file is not touched."""
    from frontdesk.store.health import (
        DatabaseDamaged,
        StorageProblem,
        check_database_writable,
        restore_backup,
    )
    from frontdesk.ui.startup_notice import storage_problem_box

    for _attempt in range(2):
        try:
            check_database_writable(settings.database_path)
            prepare_database(settings)
            return
        except StorageProblem as problem:
            log.error("%s", problem)
            damaged = problem if isinstance(problem, DatabaseDamaged) else None
            box = storage_problem_box(problem.title, str(problem), can_restore=bool(damaged and damaged.backup))
            if not show(box) or damaged is None or damaged.backup is None:
                raise StartupRefused(problem.exit_code) from None
            kept = restore_backup(settings.database_path, damaged.backup)
            log.warning("restored %s from %s; the damaged file is kept as %s", settings.database_path,
                        damaged.backup, kept)
    raise StartupRefused(6)


def run_app(args: argparse.Namespace, *, logging_problem: str = "") -> int:
    from frontdesk import logs

    logs.install_crash_handlers()
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from frontdesk.ui.resources import resources_dir, stylesheet

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from frontdesk.ui.crash_notice import notify_crash
    from frontdesk.ui.qt_logging import install_qt_message_handler
    from frontdesk.ui.startup_notice import ask, config_problems_box, warning_box

    install_qt_message_handler()
    logs.set_crash_notifier(notify_crash)
    app.setApplicationName("Front Desk")
    app.setOrganizationName("FrontDesk")
    app.setWindowIcon(QIcon(str(resources_dir() / "icons" / "frontdesk.png")))
    app.setStyleSheet(stylesheet())
    if logging_problem:
        ask(warning_box("Logging to file is off", logging_problem))
    try:
        settings = resolve_settings(args)
    except config.ConfigError as error:
        from frontdesk.app.config_cli import config_path_from_args

        path = config_path_from_args(args)
        problems = [(p.key, p.problem) for p in error.problems]
        log.error("configuration problem in %s: %s", path, "; ".join(f"{k}: {p}" for k, p in problems))
        ask(config_problems_box(path, problems))
        return 2
    if settings.demo and not getattr(args, "demo", False) and not getattr(args, "db", None):
        # First start with nothing configured: IT gets the setup wizard; closing it opens the demo counter, so a
        # newcomer still sees a working desk at once.
        from frontdesk.ui.setup_wizard import needs_setup, run_setup_wizard

        config_path = Path(args.config) if getattr(args, "config", None) else None
        if needs_setup(config_path) and run_setup_wizard(config_path=config_path) is not None:
            settings = resolve_settings(args)
    from frontdesk.store.health import StorageProblem, check_writable
    from frontdesk.store.writer import DatabaseBusy, WriterLock

    writer = WriterLock(settings.database_path, "the counter app")
    try:
        check_writable(settings.database_path.parent)
        writer.acquire()
        open_counter_storage(settings, ask)
    except DatabaseBusy as busy:
        from PySide6.QtWidgets import QMessageBox

        log.error("%s", busy)
        QMessageBox.critical(None, "Front Desk is already open", str(busy))
        return 3
    except StorageProblem as problem:
        from frontdesk.ui.startup_notice import storage_problem_box

        log.error("%s", problem)
        ask(storage_problem_box(problem.title, str(problem), can_restore=False))
        return problem.exit_code
    except StartupRefused as refused:
        writer.release()
        return refused.exit_code
    api_key: str | None = None
    stop_server = None
    demo_notice = ""
    if settings.demo and not settings.api_url:
        try:
            settings, api_key, stop_server = start_demo_server(settings)
            logs.register_secret(api_key)
            demo_notice = f"Demo mode · demo loyalty server at {settings.api_url} · `frontdesk setup` configures this counter"
        except DemoServerMissing as missing:
            log.warning("%s", missing)
            demo_notice = f"Demo mode, offline · {DEMO_SERVER_MISSING}"
    from frontdesk.app.wiring import build_window, start_mailbox, start_sync
    from frontdesk.ui.widgets.screen import show_maximized

    window = build_window(settings)
    if demo_notice:
        window.statusBar().showMessage(demo_notice, 30000)
    show_maximized(window)
    lock_when_ready(window, settings)
    background: list[object] = []

    def start_background() -> None:
        # After the first paint: OpenCV, the camera, the sync engine and the invoice mailbox are not needed to show
        # the window.
        from frontdesk.scan.frames import CameraSource

        window.scanner.start(CameraSource(settings.camera_index, settings.camera_width, settings.camera_height))
        background.append(start_sync(window, settings, api_key))
        mailbox = start_mailbox(window, settings)
        if mailbox is not None:
            background.append(mailbox)

    from PySide6.QtCore import QTimer

    QTimer.singleShot(150, start_background)
    code = app.exec()
    for controller in background:
        controller.stop()  # type: ignore[attr-defined]
    window.scanner.stop()
    window.runner.shutdown(wait=True)
    if stop_server is not None:
        stop_server()  # type: ignore[operator]
    writer.release()
    return code


def lock_when_ready(window: object, settings: Settings) -> None:
    """Sign-in at start (every sale is recorded against whoever signs in); a real counter without a manager first
    walks IT through creating one."""
    if settings.demo or getattr(window, "counter", None) is None:
        window.lock()  # type: ignore[attr-defined]
        return
    from frontdesk.staff.admin import StaffAdmin
    from frontdesk.ui.staff_admin import offer_first_manager

    window.lock()  # type: ignore[attr-defined]
    offer_first_manager(window, StaffAdmin(window.counter.staff.engine), window.runner,  # type: ignore[attr-defined]
                        then=window.lock)  # type: ignore[attr-defined]
