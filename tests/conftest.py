"""Shared fixtures: every test gets its own data, config and log directories; Qt runs off-screen."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def zbar_missing() -> str:
    """Why pyzbar cannot load the zbar library on this machine ("" when it can)."""
    from frontdesk.scan.decoders import PyzbarDecoder

    decoder = PyzbarDecoder()
    return "" if decoder.available else decoder.unavailable_reason


# For tests that read codes with zbar itself: skipped, with the reason, only where the library truly is absent
# (`.ci/run` installs libzbar0, so CI always runs them). The app scans without zbar (zxing-cpp), so nothing else
# depends on it.
requires_zbar = pytest.mark.skipif(bool(zbar_missing()), reason=f"needs the zbar library, which is not installed "
                                                               f"here ({zbar_missing()}); apt-get install libzbar0")


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


def _run_quietly(*command: str) -> bool:
    import subprocess

    return subprocess.run(list(command), capture_output=True).returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    """`make(size_kb)` mounts a real, tiny filesystem (tmpfs) and returns its folder: a disk that really fills up.

    Needs root (CI and the dev container run as root); skipped with the reason elsewhere."""
    mounted: list[Path] = []

    def make(size_kb: int) -> Path:
        folder = tmp_path / f"disk-{len(mounted)}"
        folder.mkdir()
        if not (hasattr(os, "geteuid") and os.geteuid() == 0 and
                _run_quietly("mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(folder))):
            pytest.skip("a full disk is simulated with a tiny tmpfs mount, which needs root on Linux")
        mounted.append(folder)
        return folder

    yield make
    for folder in mounted:
        _run_quietly("umount", "-l", str(folder))


def fill_disk(folder: Path, leave_bytes: int = 0) -> Path:
    """Fill the filesystem holding `folder` until at most `leave_bytes` are free; returns the filler file."""
    import shutil

    filler = folder / "filler.bin"
    chunk = b"\0" * 65536
    with open(filler, "ab", buffering=0) as handle:
        try:
            while shutil.disk_usage(folder).free > leave_bytes + len(chunk):
                handle.write(chunk)
                handle.flush()
            if leave_bytes == 0:
                while True:
                    handle.write(b"\0" * 4096)
                    handle.flush()
        except OSError:
            pass
    return filler


@pytest.fixture
def make_read_only(tmp_path: Path):  # type: ignore[no-untyped-def]
    """`make(folder)` makes an existing folder read-only for this process: chmod for a normal user, a read-only
    bind mount for root (whom permissions do not stop)."""
    mounted: list[Path] = []
    chmodded: list[Path] = []

    def make(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            if not (_run_quietly("mount", "--bind", str(folder), str(folder)) and
                    _run_quietly("mount", "-o", "remount,bind,ro", str(folder))):
                _run_quietly("umount", str(folder))
                pytest.skip("a read-only folder for root needs a read-only bind mount, which failed here")
            mounted.append(folder)
        else:
            folder.chmod(0o555)
            chmodded.append(folder)
        return folder

    yield make
    for folder in mounted:
        _run_quietly("umount", "-l", str(folder))
    for folder in chmodded:
        folder.chmod(0o755)
