"""Damaged disks and files: each state gives one clear message (a dialog in the app, one line and an exit code from
the command line) and loses nothing. Real files, real read-only mounts, a real filesystem that fills up."""
from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from frontdesk import config
from frontdesk.store.db import upgrade_database
from frontdesk.store.health import (
    EXIT_DATABASE,
    EXIT_READ_ONLY,
    DatabaseDamaged,
    DatabaseTooNew,
    inspect_database,
)
from tests.conftest import fill_disk, save_screenshot

ROOT = Path(__file__).resolve().parents[2]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cli(*args: str, env: dict[str, str] | None = None, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "frontdesk", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, input=stdin, timeout=120)


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.fixture
def truncated(demo_db: Path) -> Path:
    data = demo_db.read_bytes()
    demo_db.write_bytes(data[: len(data) // 2])
    return demo_db


@pytest.fixture
def newer(demo_db: Path) -> Path:
    with sqlite3.connect(demo_db) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099'")
    connection.close()
    return demo_db


def test_a_zero_byte_database_is_never_silently_replaced(tmp_path):
    empty = tmp_path / "counter.sqlite"
    empty.touch()
    for args in (["search", "tan", "--db", str(empty)], ["sync", "--once", "--db", str(empty)],
                 ["staff", "list", "--db", str(empty)]):
        result = _cli(*args)
        assert result.returncode == EXIT_DATABASE, (args, result.stderr)
        assert "is empty (0 bytes)" in _one_line(result) and "There is no backup" in result.stderr
    assert empty.stat().st_size == 0  # still the same empty file: nothing created over it
    with pytest.raises(DatabaseDamaged):
        upgrade_database(empty)


def test_the_command_line_restores_the_newest_backup_only_for_a_damaged_file(demo_db):
    healthy = _cli("restore-backup", "--db", str(demo_db))
    assert healthy.returncode == 1 and "is not damaged; nothing was changed" in healthy.stderr
    backup = demo_db.with_name(demo_db.name + ".0001.bak")
    shutil.copy2(demo_db, backup)
    demo_db.write_bytes(b"")
    told = _cli("search", "tan", "--db", str(demo_db))
    assert told.returncode == EXIT_DATABASE and "frontdesk restore-backup" in _one_line(told)
    restored = _cli("restore-backup", "--db", str(demo_db))
    assert restored.returncode == 0 and "the damaged file is kept as counter.sqlite.damaged-" in restored.stdout
    assert _digest(demo_db) == _digest(backup) and _cli("search", "tan", "--db", str(demo_db)).returncode == 0
    kept = [p for p in demo_db.parent.glob("counter.sqlite.damaged-*") if not p.name.endswith(("-wal", "-shm"))]
    assert [p.stat().st_size for p in kept] == [0]  # the damaged file, byte for byte (its -wal/-shm beside it)


def test_a_truncated_database_fails_search_and_sync_with_one_line(truncated):
    before = _digest(truncated)
    for args in (["search", "tan", "--db", str(truncated)], ["sync", "--once", "--db", str(truncated)]):
        result = _cli(*args)
        assert result.returncode == EXIT_DATABASE
        assert "is cut short" in _one_line(result)
    assert _digest(truncated) == before


def test_a_newer_schema_database_is_left_alone(newer):
    before = _digest(newer)
    for args in (["search", "tan", "--db", str(newer)], ["sync", "--once", "--db", str(newer)],
                 ["staff", "add", "--code", "S9", "--name", "X", "--role", "receptionist", "--pin-stdin",
                  "--db", str(newer)]):
        result = _cli(*args, stdin="5930\n")
        assert result.returncode == EXIT_DATABASE, result.stderr
        assert "written by a newer Front Desk (schema 0099)" in _one_line(result)
    assert _digest(newer) == before
    with pytest.raises(DatabaseTooNew):
        inspect_database(newer)


def _settings(path: Path) -> config.Settings:
    return replace(config.Settings(), database=str(path))


class Shown:
    """What the start-up showed the user: each message box's text, saved as a PNG; answers with `accept`."""

    def __init__(self, name: str, accept: bool) -> None:
        self.name, self.accept, self.texts = name, accept, []

    def __call__(self, box) -> bool:  # type: ignore[no-untyped-def]
        box.adjustSize()
        box.show()
        self.texts.append(box.text())
        save_screenshot(box, f"{self.name}-{len(self.texts)}")
        box.close()
        return self.accept


def test_the_app_offers_the_newest_backup_and_keeps_the_damaged_file(qapp, demo_db, tmp_path):
    from frontdesk.app.main import StartupRefused, open_counter_storage

    backup = demo_db.with_name(demo_db.name + ".0001.bak")
    shutil.copy2(demo_db, backup)
    good = _digest(demo_db)
    demo_db.write_bytes(demo_db.read_bytes()[:8192])  # the disk lost most of it
    damaged = _digest(demo_db)

    refused = Shown("damaged-db-quit", accept=False)
    with pytest.raises(StartupRefused) as stopped:
        open_counter_storage(_settings(demo_db), refused)
    assert stopped.value.exit_code == EXIT_DATABASE and "is cut short" in refused.texts[0]
    assert "counter.sqlite.0001.bak" in refused.texts[0] and _digest(demo_db) == damaged

    restored = Shown("damaged-db-restore", accept=True)
    open_counter_storage(_settings(demo_db), restored)
    assert len(restored.texts) == 1 and _digest(backup) == good
    kept = list(demo_db.parent.glob("counter.sqlite.damaged-*"))
    assert len(kept) == 1 and _digest(kept[0]) == damaged  # the damaged file is kept for support
    with sqlite3.connect(demo_db) as connection:
        assert connection.execute("SELECT count(*) FROM members").fetchone()[0] == 400
    connection.close()


def test_the_app_shows_one_message_for_a_newer_schema(qapp, newer):
    from frontdesk.app.main import StartupRefused, open_counter_storage

    before = _digest(newer)
    shown = Shown("newer-schema-db", accept=False)
    with pytest.raises(StartupRefused):
        open_counter_storage(_settings(newer), shown)
    assert len(shown.texts) == 1 and "newer Front Desk" in shown.texts[0] and _digest(newer) == before


def test_a_read_only_data_folder_is_refused_with_one_message(qapp, demo_db, make_read_only, tmp_path):
    from frontdesk.app.main import StartupRefused, open_counter_storage

    shop = tmp_path / "shop"
    shop.mkdir()
    demo_db = Path(shutil.move(demo_db, shop / demo_db.name))
    before = _digest(demo_db)
    folder = make_read_only(shop)
    shown = Shown("read-only-data", accept=False)
    with pytest.raises(StartupRefused) as stopped:
        open_counter_storage(_settings(demo_db), shown)
    assert stopped.value.exit_code == EXIT_READ_ONLY and "cannot write to its data folder" in shown.texts[0]
    for args in (["sync", "--once", "--db", str(demo_db)],
                 ["staff", "add", "--code", "S9", "--name", "X", "--role", "receptionist", "--pin-stdin",
                  "--db", str(demo_db)]):
        result = _cli(*args, stdin="5930\n")
        assert result.returncode == EXIT_READ_ONLY, result.stderr
        assert str(folder) in _one_line(result)
    assert _digest(demo_db) == before


def test_a_read_only_log_folder_does_not_stop_anything(demo_db, make_read_only, tmp_path):
    logs = make_read_only(tmp_path / "logs")
    result = _cli("search", "tan", "--db", str(demo_db), env={"FRONTDESK_LOG_DIR": str(logs)})
    assert result.returncode == 0, result.stderr
    assert "cannot write to its log folder" in result.stderr and "logging to file is off" in result.stderr
    assert "'tan'" in result.stdout
    # The app: crash handlers install without a log file; the app shows the same sentence in a dialog.
    probe = subprocess.run([sys.executable, "-c", (
        "from frontdesk import logs\n"
        "message = logs.setup_logging_or_explain()\n"
        "logs.install_crash_handlers()\n"
        "print('MESSAGE', message)\n")], capture_output=True, text=True, cwd=ROOT, timeout=60,
        env={**os.environ, "FRONTDESK_LOG_DIR": str(logs)})
    assert probe.returncode == 0, probe.stderr
    assert "MESSAGE Front Desk cannot write to its log folder" in probe.stdout


def test_the_read_only_log_warning_dialog(qapp, tmp_path):
    from frontdesk.ui.startup_notice import warning_box

    box = warning_box("Logging to file is off", f"Front Desk cannot write to its log folder {tmp_path} "
                                                "(Read-only file system), so logging to file is off.")
    box.adjustSize()
    box.show()
    save_screenshot(box, "read-only-log-warning")
    assert "Continue" in [b.text() for b in box.buttons()]
    box.close()


def test_a_config_file_with_several_mistakes_lists_them_all(qapp, tmp_path):
    path = config.default_config_path()
    path.write_text('[counter]\ncurrency = "dollars"\ntimezone = "Asia"\ncolour = "red"\n'
                    '[api]\nurl = "http://api.example.com/v3"\n', encoding="utf-8")
    with pytest.raises(config.ConfigError) as raised:
        config.load(path)
    keys = [p.key for p in raised.value.problems]
    assert keys == ["counter.colour", "api.url", "counter.currency", "counter.timezone"]
    result = _cli("config", "show")
    assert result.returncode == 2
    line = _one_line(result)
    assert str(path) in line and "(4 settings)" in line and "counter.colour: unknown setting" in line
    from frontdesk.ui.startup_notice import config_problems_box

    box = config_problems_box(path, [(p.key, p.problem) for p in raised.value.problems])
    box.adjustSize()
    box.show()
    save_screenshot(box, "config-errors")
    assert str(path) in box.text() and all(key in box.text() for key in keys)
    box.close()


def test_plain_http_is_only_for_this_pc_unless_it_says_so(tmp_path):
    with pytest.raises(config.ConfigError, match="unencrypted"):
        config.from_mapping({"api": {"url": "http://loyalty.example.com/v3"}})
    assert config.from_mapping({"api": {"url": "http://127.0.0.1:8000/v3"}}).api_url
    assert config.from_mapping({"api": {"url": "http://localhost:8000/v3"}}).api_url
    override = config.from_mapping({"api": {"url": "http://10.0.0.5/v3", "allow_plain_http": True}})
    assert override.allow_plain_http


def test_full_disk_refuses_the_sale_before_it_is_confirmed(small_disk, demo_db_template):
    from frontdesk.counter import build_counter_services
    from frontdesk.sales.model import SaleRefused
    from frontdesk.search import SearchService
    from frontdesk.store import make_engine
    from tests.sales.conftest import draft_for, member_with_points, paid_in_full, query

    disk = small_disk(24 * 1024)
    db = disk / "counter.sqlite"
    shutil.copy2(demo_db_template, db)
    settings = _settings(db)
    engine = make_engine(db)
    services = build_counter_services(engine, settings, SearchService(make_engine(db), region="SG"))
    member = member_with_points(db, 0)
    draft = paid_in_full(services, draft_for(member, "R-FULL-1"))
    assert services.sales.quote(draft).ok
    sales_before = query(db, "SELECT count(*) FROM sales")[0][0]
    fill_disk(disk, leave_bytes=2 * 1024 * 1024)
    quote = services.sales.quote(draft)
    assert not quote.ok and "The disk is full" in quote.errors["storage"]
    with pytest.raises(SaleRefused) as refused:
        services.sales.record(draft)
    assert "storage" in refused.value.quote.errors
    assert query(db, "SELECT count(*) FROM sales")[0][0] == sales_before
    assert query(db, "PRAGMA quick_check")[0][0] == "ok"
    engine.dispose()


def test_full_disk_refuses_a_void_before_the_managers_pin_and_writes_nothing(small_disk, demo_db_template):
    from frontdesk.counter import build_counter_services
    from frontdesk.sales import ReversalRefused
    from frontdesk.search import SearchService
    from frontdesk.store import make_engine
    from tests.sales.conftest import draft_for, member_with_points, paid_in_full, query

    disk = small_disk(24 * 1024)
    db = disk / "counter.sqlite"
    shutil.copy2(demo_db_template, db)
    engine = make_engine(db)
    services = build_counter_services(engine, _settings(db), SearchService(make_engine(db), region="SG"))
    member = member_with_points(db, 0)
    recorded = services.sales.record(paid_in_full(services, draft_for(member, "R-FULL-VOID")))
    before = query(db, "SELECT count(*) FROM sales")[0][0], query(db, "SELECT count(*) FROM outbox")[0][0]
    fill_disk(disk, leave_bytes=2 * 1024 * 1024)
    with pytest.raises(ReversalRefused) as refused:
        services.sales.reverse(recorded.sale_id, void=True, manager_id=3, manager_pin="9999",
                               reason="customer changed their mind")
    assert set(refused.value.errors) == {"storage"}
    assert "The disk is full" in refused.value.errors["storage"] and "this void cannot be saved" in \
        refused.value.errors["storage"]
    assert (query(db, "SELECT count(*) FROM sales")[0][0], query(db, "SELECT count(*) FROM outbox")[0][0]) == before
    assert query(db, "PRAGMA quick_check")[0][0] == "ok"
    engine.dispose()
