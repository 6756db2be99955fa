"""Staff administration: StaffAdmin on a real database file, the `frontdesk staff` command as IT types it, and the
PIN lockout holding against attempts made at the same time."""
from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from frontdesk.staff.admin import Actor, StaffAdmin, StaffAdminError, parse_staff_csv
from frontdesk.staff.service import FREE_ATTEMPTS, StaffService
from frontdesk.store import make_engine
from frontdesk.store.db import upgrade_database

ROOT = Path(__file__).resolve().parents[2]
IT = Actor(staff_id=None, via="command line", os_user="it-admin")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "counter.sqlite"
    upgrade_database(path)
    return path


@pytest.fixture
def admin(db: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(db)
    yield StaffAdmin(engine)
    engine.dispose()


def _audit(db: Path) -> list[tuple[str, dict]]:
    import sqlite3

    with sqlite3.connect(db) as connection:
        return [(action, json.loads(details)) for action, details in
                connection.execute("SELECT action, details FROM audit_log ORDER BY id")]


def test_adding_staff_hashes_the_pin_audits_and_refuses_duplicate_codes(admin, db):
    manager = admin.add("M01", "  Mei   Tan ", "manager", "4821", IT)
    assert (manager.code, manager.name, manager.role, manager.has_pin, manager.active) == \
        ("M01", "Mei Tan", "manager", True, True)
    with pytest.raises(StaffAdminError, match="already used by Mei Tan"):
        admin.add("m01", "Someone", "receptionist", "5930", IT)
    with pytest.raises(StaffAdminError, match="4 to 8 digits"):
        admin.add("S01", "Jo", "receptionist", "12", IT)
    with pytest.raises(StaffAdminError, match="repeated digit"):
        admin.add("S01", "Jo", "receptionist", "1111", IT)
    with pytest.raises(StaffAdminError, match="must be receptionist or manager"):
        admin.add("S01", "Jo", "owner", "5930", IT)
    (action, details), = _audit(db)
    assert action == "staff_added" and details["staff_code"] == "M01" and details["os_user"] == "it-admin"
    assert "4821" not in json.dumps(details)
    check = StaffService(admin.engine).check_pin(manager.id, "4821", require_manager=True)
    assert check.ok and check.staff.is_manager


def test_the_last_active_manager_cannot_be_deactivated_or_demoted(admin, db):
    admin.add("M01", "Mei Tan", "manager", "4821", IT)
    admin.add("S01", "Jo Lim", "receptionist", "5930", IT)
    with pytest.raises(StaffAdminError, match="only active manager"):
        admin.set_active("M01", False, IT)
    with pytest.raises(StaffAdminError, match="only active manager"):
        admin.update("M01", IT, role="receptionist")
    admin.update("S01", IT, role="manager", name="Jo Lim-Tan")
    assert admin.set_active("M01", False, IT).active is False
    assert [r.code for r in admin.list_staff(include_inactive=False)] == ["S01"]
    assert admin.set_active("M01", True, IT).active is True
    actions = [action for action, _ in _audit(db)]
    assert actions == ["staff_added", "staff_added", "staff_updated", "staff_deactivated", "staff_reactivated"]
    updated = _audit(db)[2][1]
    assert updated["role"] == ["receptionist", "manager"] and updated["name"] == ["Jo Lim", "Jo Lim-Tan"]


def test_a_new_pin_clears_the_lock_and_is_audited(admin, db):
    record = admin.add("S01", "Jo Lim", "receptionist", "5930", IT)
    service = StaffService(admin.engine)
    for _ in range(FREE_ATTEMPTS):
        service.check_pin(record.id, "0000")
    assert admin.find("S01").locked
    admin.set_pin("S01", "7261", Actor(staff_id=None, via="screen"))
    assert not admin.find("S01").locked and service.check_pin(record.id, "7261").ok
    assert _audit(db)[-1][0] == "staff_pin_set"


def test_csv_import_is_all_or_nothing_and_names_every_bad_line(admin, db):
    bad = "\ufeffcode,name,role,pin\nS01,Jo Lim,receptionist,5930\nS02,,receptionist,\nS03,Ana,boss,12\nS01,Dup,manager,\n"
    report = admin.import_csv(bad, IT)
    assert not report.ok
    assert [e.split(":")[0] for e in report.errors] == ["line 3", "line 4", "line 5"]
    assert admin.list_staff() == [] and _audit(db) == []

    good = "code;name;role;pin;active\nM01;Mei Tan;manager;4821;yes\nS01;Jo Lim;receptionist;5930;yes\nS09;Old;receptionist;;no\n"
    report = admin.import_csv(good, IT)
    assert report.ok and report.added == ["M01", "S01", "S09"], report.errors
    again = admin.import_csv("code,name,role\nS01,Jo Lim-Tan,receptionist\nM01,Mei Tan,manager\n", IT)
    assert (again.updated, again.unchanged) == (["S01"], ["M01"])
    assert {r.code: (r.name, r.active, r.has_pin) for r in admin.list_staff()} == {
        "M01": ("Mei Tan", True, True), "S01": ("Jo Lim-Tan", True, True), "S09": ("Old", False, False)}
    demote = admin.import_csv("code,name,role\nM01,Mei Tan,receptionist\n", IT)
    assert not demote.ok and "no active manager" in demote.errors[0]
    assert admin.find("M01").role == "manager"


def test_parse_reports_a_missing_header():
    rows, problems = parse_staff_csv("S01,Jo,receptionist\n")
    assert rows == [] and "code,name,role" in problems[0]


def test_concurrent_wrong_pins_cannot_outrun_the_lockout(db):
    """25 guesses fired at once: only the free attempts are checked, every other one meets the lock."""
    engine = make_engine(db)
    admin = StaffAdmin(engine)
    record = admin.add("S01", "Jo Lim", "receptionist", "5930", IT)
    services = [StaffService(make_engine(db)) for _ in range(5)]
    results = []
    lock = threading.Lock()
    start = threading.Barrier(25)

    def guess(index: int) -> None:
        start.wait()
        check = services[index % 5].check_pin(record.id, f"{1000 + index}")
        with lock:
            results.append(check)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(25)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == 25 and not any(r.ok for r in results)
    assert sum("Wrong PIN" in r.message for r in results) == FREE_ATTEMPTS
    assert sum(r.message.startswith("Too many wrong PINs") for r in results) == 25 - FREE_ATTEMPTS
    assert [a for a, _ in _audit(db)].count("pin_failed") == FREE_ATTEMPTS
    # The right PIN is refused too while locked: guessing runs at the lock's pace.
    assert not services[0].check_pin(record.id, "5930").ok
    for service in services:
        service.engine.dispose()
    engine.dispose()


def _cli(*args: str, stdin: str = "", env_dirs: Path) -> subprocess.CompletedProcess[str]:
    import os

    env = dict(os.environ, FRONTDESK_CONFIG_DIR=str(env_dirs / "config"), FRONTDESK_DATA_DIR=str(env_dirs / "data"),
               FRONTDESK_LOG_DIR=str(env_dirs / "log"))
    return subprocess.run([sys.executable, "-m", "frontdesk", *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)


def test_the_staff_command_as_it_types_it(tmp_path, isolated_dirs):
    listing = _cli("staff", "list", env_dirs=tmp_path)
    assert listing.returncode == 0 and "Add the first manager" in listing.stdout
    added = _cli("staff", "add", "--code", "M01", "--name", "Mei Tan", "--role", "manager", "--pin-stdin",
                 stdin="4821\n", env_dirs=tmp_path)
    assert added.returncode == 0 and "Added Mei Tan (M01) as manager" in added.stdout, added.stderr
    no_tty = _cli("staff", "set-pin", "M01", env_dirs=tmp_path)
    assert no_tty.returncode == 1 and "use --pin-stdin" in no_tty.stderr
    refused = _cli("staff", "deactivate", "M01", env_dirs=tmp_path)
    assert refused.returncode == 1 and refused.stderr.strip().startswith("Not changed: Mei Tan is the only")
    csv = tmp_path / "staff.csv"
    csv.write_text("code,name,role,pin\nS01,Jo Lim,receptionist,5930\nS02,Ana Koh,receptionist,6041\n",
                   encoding="cp1252")
    imported = _cli("staff", "import", str(csv), env_dirs=tmp_path)
    assert imported.returncode == 0 and "2 added, 0 updated" in imported.stdout
    assert _cli("staff", "deactivate", "S02", env_dirs=tmp_path).returncode == 0
    shown = _cli("staff", "list", "--all", "--json", env_dirs=tmp_path)
    rows = [json.loads(line) for line in shown.stdout.splitlines()]
    assert [(r["code"], r["active"]) for r in rows] == [("S01", True), ("M01", True), ("S02", False)]
    assert "4821" not in shown.stdout


def test_the_pin_is_typed_twice_without_echo():
    from frontdesk.app.staff_cli import PinEntryError, read_pin

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    answers = iter(["4821", "4821"])
    prompts: list[str] = []
    assert read_pin(False, stdin=Terminal(), prompt=lambda text: prompts.append(text) or next(answers)) == "4821"
    assert len(prompts) == 2
    differing = iter(["4821", "4822"])
    with pytest.raises(PinEntryError, match="differ"):
        read_pin(False, stdin=Terminal(), prompt=lambda _t: next(differing))


def test_a_busy_database_is_refused_by_staff_changes(tmp_path, isolated_dirs):
    from frontdesk import config
    from frontdesk.store.writer import WriterLock

    database = Path(config.data_dir()) / "frontdesk.sqlite"
    upgrade_database(database)
    import os

    with WriterLock(database, "the counter app"):
        result = subprocess.run([sys.executable, "-m", "frontdesk", "staff", "add", "--code", "S01", "--name", "Jo",
                                 "--role", "receptionist", "--pin-stdin"], input="5930\n", capture_output=True,
                                text=True, cwd=ROOT, env=dict(os.environ), timeout=120)
    assert result.returncode == 5 and "in use by another Front Desk (the counter app" in result.stderr
