"""`frontdesk self-test` in process: real database files, the bundled QR image, the real main window off-screen."""
from __future__ import annotations

import argparse
import hashlib
import io
import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from frontdesk import config
from frontdesk.app import selftest
from frontdesk.store.db import current_revision, head_revision
from tests.conftest import zbar_missing

DATA = Path(__file__).resolve().parents[1] / "data"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _demo(settings: config.Settings) -> config.Settings:
    """A demo counter: the environment checks are the point here; readiness has its own tests."""
    return replace(settings, demo=True, member_card_key=config.DEMO_CARD_KEY)


def _run(settings: config.Settings, **kwargs) -> tuple[int, dict[str, str], str]:
    out = io.StringIO()
    code = selftest.run_self_test(settings, out=out, **kwargs)
    text = out.getvalue()
    lines = {}
    for line in text.splitlines()[1:-1]:
        status, name = line.split()[:2]
        lines[name] = status
    return code, lines, text


def test_passes_on_a_copy_and_leaves_the_counter_database_untouched(qapp, demo_db, tmp_path):
    before = _digest(demo_db)
    settings = _demo(replace(config.load(), database=str(demo_db)))
    code, lines, text = _run(settings, screenshot=tmp_path / "window.png")
    assert code == 0, text
    scan = "WARN" if zbar_missing() else "OK"  # without zbar scanning works (zxing-cpp) and the self-test warns
    assert lines == {"config": "OK", "storage": "OK", "database": "OK", "scan": scan, "camera": "WARN",
                     "window": "OK", "staff": "OK", "cards": "OK", "programme": "OK", "api": "SKIP"}
    assert "400 members" in text and "integrity ok" in text
    assert _digest(demo_db) == before
    assert not list(demo_db.parent.glob("*.bak"))
    assert (tmp_path / "window.png").stat().st_size > 10_000
    summary = "7 checks OK, 2 warnings (scan, camera)" if zbar_missing() else "8 checks OK, 1 warning (camera)"
    assert text.splitlines()[-1].startswith(f"PASSED: {summary}, 1 skipped")


def test_an_older_database_is_migrated_on_the_copy_only(qapp, tmp_path):
    old = tmp_path / "counter.sqlite"
    shutil.copy2(DATA / "counter-0001.sqlite", old)
    before = _digest(old)
    code, lines, text = _run(_demo(replace(config.load(), database=str(old))))
    assert code == 0, text
    head = head_revision()
    expected = "already at schema 0001" if head == "0001" else f"migrated 0001 → {head}"
    assert expected in text and "60 members" in text
    assert _digest(old) == before and current_revision(old) == "0001"


def test_a_fresh_counter_without_a_database_checks_a_new_one_and_is_not_ready(qapp):
    settings = config.load()
    assert not settings.database_path.exists()
    code, lines, text = _run(settings)
    assert lines["database"] == "OK" and lines["window"] == "OK", text
    assert "no database yet" in text and f"migrated empty → {head_revision()}" in text
    # Nothing set up yet: no manager, no programme; the self-test says so instead of PASSED.
    assert code == 1 and lines["staff"] == "FAIL" and lines["programme"] == "FAIL"
    assert "frontdesk staff add" in text
    assert not settings.database_path.exists()  # the self-test did not create the real one


def test_a_database_from_a_newer_version_fails_with_a_clear_message(qapp, tmp_path):
    newer = tmp_path / "counter.sqlite"
    shutil.copy2(DATA / "counter-0001.sqlite", newer)
    with sqlite3.connect(newer) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    code, lines, text = _run(_demo(replace(config.load(), database=str(newer))))
    assert code == 1
    assert lines["database"] == "FAIL" and lines["window"] == "SKIP"
    assert "written by a newer Front Desk" in text and text.splitlines()[-1].startswith("FAILED: 1 of 10")


def test_a_damaged_database_file_fails_without_a_traceback(qapp, tmp_path):
    damaged = tmp_path / "counter.sqlite"
    damaged.write_bytes(b"this is not a database" * 100)
    code, lines, text = _run(replace(config.load(), database=str(damaged)))
    assert code == 1 and lines["database"] == "FAIL"
    assert "Traceback" not in text and "is not a SQLite database" in text


def test_an_unwritable_database_folder_fails_the_storage_check(qapp, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    code, lines, text = _run(replace(config.load(), database=str(blocker / "counter.sqlite")))
    assert code == 1 and lines["storage"] == "FAIL" and "cannot write to" in text


def test_an_api_url_without_a_stored_key_fails_the_api_check(qapp, memory_keyring):
    settings = replace(config.load(), api_url="http://127.0.0.1:9/v3/public", api_key_name="selftest-missing")
    code, lines, text = _run(settings)
    assert code == 1 and lines["api"] == "FAIL"
    assert "selftest-missing" in text and "setup wizard" in text


def test_the_command_reads_flags_and_saves_a_screenshot(qapp, demo_db, tmp_path, capsys):
    (Path(config.default_config_path())).write_text('[scanner]\nmember_card_key = "k5xq7zbd3ufgn2ya-shop"\n'
                                                    '[loyalty]\nprogramme_file = "%s"\n' % _demo_programme())
    args = argparse.Namespace(config=None, db=str(demo_db), screenshot=str(tmp_path / "shot.png"))
    assert selftest.cmd_self_test(args) == 0
    out = capsys.readouterr().out
    assert f"copy of {demo_db}" in out and (tmp_path / "shot.png").exists()


def _demo_programme() -> str:
    from frontdesk.loyalty.programme import bundled_programme_path

    installed = Path(config.data_dir()) / "programme.toml"
    shutil.copy2(bundled_programme_path(), installed)
    return installed.as_posix()


@pytest.fixture
def loyalty_server(tmp_path):
    from devtools.loyalty_server.server import ReferenceServer, ServerConfig

    server = ReferenceServer(ServerConfig(db_path=str(tmp_path / "server.sqlite"), api_key="ek_selftest_key_42",
                                          members=5))
    yield server.start()
    server.stop()


def test_the_api_check_makes_an_authenticated_request(qapp, memory_keyring, loyalty_server):
    from frontdesk import secrets

    secrets.set_api_key("ek_selftest_key_42")
    code, lines, text = _run(_demo(replace(config.load(), api_url=loyalty_server)))
    assert lines["api"] == "OK", text
    assert "answered an authenticated request" in text and "ek_selftest_key_42" not in text


def test_a_refused_key_fails_the_api_check_without_showing_it(qapp, memory_keyring, loyalty_server):
    from frontdesk import secrets

    secrets.set_api_key("ek_revoked_key_0007")
    code, lines, text = _run(replace(config.load(), api_url=loyalty_server))
    assert code == 1 and lines["api"] == "FAIL"
    assert "refused the API key" in text and "ek_revoked_key_0007" not in text


def test_an_unreachable_api_fails_the_api_check(qapp, memory_keyring):
    from frontdesk import secrets

    secrets.set_api_key("ek_selftest_key_42")
    code, lines, text = _run(replace(config.load(), api_url="http://127.0.0.1:9/v3/public"))
    assert code == 1 and lines["api"] == "FAIL" and "127.0.0.1:9" in text
