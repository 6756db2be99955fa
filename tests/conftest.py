"""Shared fixtures: every test gets its own data, config and log directories; Qt runs off-screen."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep tests away from the real platform directories (and from each other)."""
    for name in ("CONFIG", "DATA", "LOG"):
        target = tmp_path / name.lower()
        target.mkdir()
        monkeypatch.setenv(f"FRONTDESK_{name}_DIR", str(target))
    return tmp_path


@pytest.fixture(scope="session")
def demo_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 400-member demo database built once per run; tests copy it so each gets a pristine file."""
    from frontdesk.demo.generator import build_demo_database

    path = tmp_path_factory.mktemp("template") / "demo.sqlite"
    build_demo_database(path, members=400, seed=7, history_members=200)
    return path


@pytest.fixture
def demo_db(tmp_path: Path, demo_db_template: Path) -> Path:
    import shutil

    target = tmp_path / "counter.sqlite"
    shutil.copy2(demo_db_template, target)
    return target


SCREENSHOTS = Path(os.environ.get("FRONTDESK_SCREENSHOTS", Path(__file__).parent / "screenshots"))


def save_screenshot(widget, name: str) -> Path:  # type: ignore[no-untyped-def]
    """Save what a screen looks like, for a person to look at (tests/screenshots/, gitignored)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    widget.grab().save(str(path))
    return path
