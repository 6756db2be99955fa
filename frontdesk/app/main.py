"""Start-up: settings, database, window. Kept small so a cold start stays well under two seconds."""
from __future__ import annotations

import argparse
import logging
import sys
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
        settings = replace(settings, demo=True, database=demo_db)
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


def run_app(args: argparse.Namespace) -> int:
    from frontdesk import logs

    logs.install_crash_handlers()
    settings = resolve_settings(args)
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from frontdesk.ui.resources import resources_dir, stylesheet

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from frontdesk.ui.crash_notice import notify_crash
    from frontdesk.ui.qt_logging import install_qt_message_handler

    install_qt_message_handler()
    logs.set_crash_notifier(notify_crash)
    app.setApplicationName("Front Desk")
    app.setOrganizationName("FrontDesk")
    app.setWindowIcon(QIcon(str(resources_dir() / "icons" / "frontdesk.png")))
    app.setStyleSheet(stylesheet())
    if settings.demo and not getattr(args, "demo", False) and not getattr(args, "db", None):
        # First start with nothing configured: IT gets the setup wizard; closing it opens the demo counter, so a
        # newcomer still sees a working desk at once.
        from frontdesk.ui.setup_wizard import needs_setup, run_setup_wizard

        config_path = Path(args.config) if getattr(args, "config", None) else None
        if needs_setup(config_path) and run_setup_wizard(config_path=config_path) is not None:
            settings = resolve_settings(args)
    from frontdesk.store.writer import DatabaseBusy, WriterLock

    writer = WriterLock(settings.database_path, "the counter app")
    try:
        settings.database_path.parent.mkdir(parents=True, exist_ok=True)
        writer.acquire()
    except DatabaseBusy as busy:
        from PySide6.QtWidgets import QMessageBox

        log.error("%s", busy)
        QMessageBox.critical(None, "Front Desk is already open", str(busy))
        return 3
    prepare_database(settings)
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
    from frontdesk.app.wiring import build_window, start_sync

    window = build_window(settings)
    if demo_notice:
        window.statusBar().showMessage(demo_notice, 30000)
    window.show()
    from frontdesk.scan.frames import CameraSource

    window.scanner.start(CameraSource(settings.camera_index, settings.camera_width, settings.camera_height))
    controller = start_sync(window, settings, api_key)
    window.lock()  # sign-in at start: every sale is recorded against whoever signs in
    code = app.exec()
    controller.stop()
    window.scanner.stop()
    window.runner.shutdown(wait=True)
    if stop_server is not None:
        stop_server()  # type: ignore[operator]
    writer.release()
    return code
