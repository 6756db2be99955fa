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
    from frontdesk.config_cli import config_path_from_args, settings_from_args

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


def build_window(settings: Settings):  # type: ignore[no-untyped-def]
    """The main window with its services, for the app and for tests."""
    from frontdesk.services.checkout import build_counter_services
    from frontdesk.services.lookup import LookupService, scan_code_resolver
    from frontdesk.store import make_engine
    from frontdesk.ui.main_window import MainWindow
    from frontdesk.ui.tasks import TaskRunner

    engine = make_engine(settings.database_path)
    lookup = LookupService(engine, region=settings.phone_region,
                           code_resolver=scan_code_resolver(settings.member_card_key, settings.phone_region))
    # The checkout's services; the programme (loaded lazily, on the DB worker) also fills the member panel.
    counter = build_counter_services(engine, settings, lookup.search_service)
    lookup.programme = counter.programmes
    runner = TaskRunner()
    window = MainWindow(settings, lookup, runner, counter=counter)
    runner.setParent(window)
    counter.checkout.is_online = window.is_online  # offline redemptions are capped; the sync loop knows
    return window


def start_sync(window, settings: Settings, api_key: str | None = None):  # type: ignore[no-untyped-def]
    """Deliver the outbox and refresh the cache in the background, with the state in the status bar."""
    from frontdesk.ui.sync_status import SyncController
    from sync.engine import build_engine

    controller = SyncController(settings, lambda: build_engine(settings, api_key=api_key), parent=window)
    window.install_sync(controller)
    controller.start()
    return controller


def start_demo_server(settings: Settings) -> tuple[Settings, str, object]:
    """The demo counter talks to a reference loyalty server on a free 127.0.0.1 port, seeded like its database."""
    from sync.cli import start_demo_server as start

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
    logs.install_qt_message_handler()
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
    prepare_database(settings)
    api_key: str | None = None
    stop_server = None
    if settings.demo and not settings.api_url:
        settings, api_key, stop_server = start_demo_server(settings)
        logs.register_secret(api_key)
    window = build_window(settings)
    if settings.demo:
        window.statusBar().showMessage(
            f"Demo mode · demo loyalty server at {settings.api_url} · `frontdesk setup` configures this counter",
            15000)
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
    return code
