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
    config_path = Path(args.config) if getattr(args, "config", None) else config.default_config_path()
    settings = config.load(config_path)
    if getattr(args, "db", None):
        settings = replace(settings, database=str(Path(args.db).resolve()))
    nothing_configured = not config_path.exists() and not getattr(args, "db", None)
    if getattr(args, "demo", False) or nothing_configured:
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
    return window


def run_app(args: argparse.Namespace) -> int:
    settings = resolve_settings(args)
    from PySide6.QtWidgets import QApplication

    from frontdesk.ui.resources import stylesheet

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Front Desk")
    app.setOrganizationName("FrontDesk")
    app.setStyleSheet(stylesheet())
    prepare_database(settings)
    window = build_window(settings)
    if settings.demo:
        window.statusBar().showMessage(f"Demo mode · {settings.database_path}", 8000)
    window.show()
    from frontdesk.scan.frames import CameraSource

    window.scanner.start(CameraSource(settings.camera_index, settings.camera_width, settings.camera_height))
    window.lock()  # sign-in at start: every sale is recorded against whoever signs in
    code = app.exec()
    window.runner.shutdown(wait=False)
    return code
