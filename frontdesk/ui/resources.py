"""Where bundled resources live, in a source tree and in the frozen app."""
from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def stylesheet() -> str:
    """The application stylesheet: the counter's look, plus the one dialog style every dialog shares."""
    from frontdesk.ui.widgets.forms import DIALOG_STYLE

    path = resources_dir() / "styles" / "app.qss"
    return (path.read_text(encoding="utf-8") if path.exists() else "") + DIALOG_STYLE
