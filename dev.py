"""Set up a source checkout and run it: the README's two commands, on a fresh machine with only Python 3.11+.

    python3 dev.py run [ARGS...]     set up .venv, then start the demo counter (frontdesk --demo ARGS)
    python3 dev.py test [ARGS...]    set up .venv with the test tools, then run the tests headless (pytest -q ARGS)

Setting up means: a virtual environment in .venv (on Debian/Ubuntu, where `venv` is a separate package, it is
installed with apt when this runs as root, or the apt command is printed), the project and the demo server
(`./devtools`) installed into it in editable mode, and on Linux the system libraries Qt needs (the X11/xcb client
libraries for a window, EGL/GL, fontconfig and a font for the headless tests), again with apt as root. Nothing
is installed when it is already there, so running it again starts at once.

zbar (the second QR decoder) is optional: without `libzbar0` the app scans with zxing-cpp, the self-test warns and
the tests that need zbar are skipped with the reason. `.ci/run` installs it so CI runs those tests too.

A developer tool (standard library only), never part of the installed product; Windows uses `py dev.py ...`.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".frontdesk-installed"
MIN_PYTHON = (3, 11)

# Shared library -> Debian/Ubuntu package, for what Qt's platform plugins load at run time.
HEADLESS_LIBRARIES = {
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libfontconfig.so.1": "libfontconfig1",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
}
WINDOW_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6",
}
FONT_PACKAGE = "fonts-dejavu-core"  # screenshots and text metrics need at least one font


def say(message: str) -> None:
    print(f"dev.py: {message}", flush=True)


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def is_root() -> bool:
    geteuid = getattr(os, "geteuid", None)  # POSIX only; on Windows nothing here needs apt
    return bool(geteuid and geteuid() == 0)


def apt_install(packages: list[str], why: str) -> bool:
    """Install Debian packages with apt-get when we may; otherwise print the command. True when installed."""
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
    if not shutil.which("apt-get"):
        say(f"{why}: install {' '.join(packages)} with your system's package manager")
        return False
    if not is_root():
        say(f"{why}. Run:  sudo apt-get update && sudo {' '.join(command)}")
        return False
    say(f"{why}: apt-get install {' '.join(packages)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for step in (["apt-get", "update", "-q"], command):
        result = subprocess.run(step, env=env, capture_output=True, text=True)
        if result.returncode != 0:  # apt's chatter is noise when it works, and the whole story when it does not
            say(f"{' '.join(step)} failed:\n{result.stdout}{result.stderr}")
            return False
    return True


def ensure_venv() -> None:
    if venv_python().exists():
        return
    if sys.version_info < MIN_PYTHON:
        sys.exit(f"dev.py: Front Desk needs Python {'.'.join(map(str, MIN_PYTHON))} or newer; this is "
                 f"{sys.version.split()[0]}")
    say("creating the virtual environment in .venv")
    result = subprocess.run([sys.executable, "-m", "venv", str(VENV)], capture_output=True, text=True)
    if result.returncode != 0:
        shutil.rmtree(VENV, ignore_errors=True)
        # Debian and Ubuntu ship venv's pip bootstrap as a separate package.
        package = f"python{sys.version_info.major}.{sys.version_info.minor}-venv"
        if "ensurepip" in (result.stdout + result.stderr) and apt_install([package], "Python's venv needs "
                                                                                       f"{package}"):
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        else:
            sys.exit(f"dev.py: could not create .venv:\n{result.stdout}{result.stderr}")


def ensure_installed(extras: str) -> None:
    """pip install -e .[extras] -e ./devtools, again only when pyproject.toml changed (or other extras)."""
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + (ROOT / "devtools" / "pyproject.toml")
                            .read_bytes() + extras.encode()).hexdigest()
    done = STAMP.read_text(encoding="utf-8").split() if STAMP.exists() else []
    if wanted in done:
        return
    target = f".[{extras}]" if extras else "."
    say(f"installing Front Desk ({target}) and the demo server (./devtools) into .venv")
    subprocess.run([str(venv_python()), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "-e", target, "-e", "./devtools"], check=True, cwd=ROOT)
    STAMP.write_text("\n".join([*done, wanted]) + "\n", encoding="utf-8")


def missing_libraries(libraries: dict[str, str]) -> list[str]:
    missing = []
    for soname, package in libraries.items():
        try:
            ctypes.CDLL(soname)
        except OSError:
            missing.append(package)
    return missing


def has_font() -> bool:
    return any(Path(folder).is_dir() and any(Path(folder).rglob("*.[ot]tf"))
               for folder in ("/usr/share/fonts", "/usr/local/share/fonts"))


def ensure_system_libraries(window: bool) -> bool:
    """On Linux, the libraries Qt loads at run time; True when everything needed is there."""
    if not sys.platform.startswith("linux"):
        return True  # Windows and macOS: the Qt wheels carry what they need
    missing = missing_libraries(HEADLESS_LIBRARIES) + (missing_libraries(WINDOW_LIBRARIES) if window else [])
    if not has_font():
        missing.append(FONT_PACKAGE)
    if not missing:
        return True
    purpose = "Qt needs these libraries to open a window" if window else "the headless tests need these libraries"
    return apt_install(sorted(set(missing)), purpose)


def run(command: str, args: list[str]) -> int:
    ensure_venv()
    if command == "run":
        ensure_installed("")
        if not ensure_system_libraries(window=True):
            return 1
        if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                                                     or os.environ.get("QT_QPA_PLATFORM")):
            say("no display here (DISPLAY is not set): run it from a desktop session, or headless with "
                "QT_QPA_PLATFORM=offscreen")
            return 1
        scripts = VENV / ("Scripts" if os.name == "nt" else "bin")
        return subprocess.call([str(scripts / "frontdesk"), "--demo", *args], cwd=ROOT)
    ensure_installed("test")
    if not ensure_system_libraries(window=False):
        return 1
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.call([str(venv_python()), "-m", "pytest", "-q", *args], cwd=ROOT, env=env)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("run", "test"):
        print(__doc__)
        return 2
    return run(argv[0], argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
