"""The dependency rule, checked on every import statement (module level and inside functions):

    app -> ui -> feature packages (sales, members, staff, loyalty, reports, invoices, scan, demo, counter)
           -> domain, store, search (and the base modules config, secrets, logs)

`sync/` never imports the UI, the app or the developer tools; nothing below `ui` imports Qt; the pure core imports no
HTTP library; nothing shipped imports `devtools` except the demo start-up, which looks for it by name.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = [ROOT / "frontdesk", ROOT / "sync"]

FEATURES = {"sales", "members", "staff", "loyalty", "reports", "invoices", "scan", "demo", "counter"}
CORE = {"domain", "store", "search"}
BASE = {"config", "secrets", "logs", "__init__"}
QT = ("PySide6", "shiboken6")
HTTP = ("requests", "urllib3", "flask", "waitress", "http.client")
# The demo start-up finds the reference server by name when it is installed (it is never bundled).
DEVTOOLS_ALLOWED = {"frontdesk.app.main"}


def _modules() -> list[tuple[str, Path]]:
    found = []
    for top in SHIPPED:
        for path in sorted(top.rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found.append((".".join(parts), path))
    return found


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append((node.lineno, node.module))
            names.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return names


def _layer(module: str) -> str:
    parts = module.split(".")
    if parts[0] == "sync":
        return "sync"
    if parts == ["frontdesk", "__main__"]:
        return "app"  # `python -m frontdesk` is an entry point, like frontdesk.app.cli
    if len(parts) == 1:
        return "base"
    second = parts[1]
    if second in ("app", "ui"):
        return second
    if second in FEATURES:
        return "feature"
    if second in CORE:
        return "core"
    if second in BASE:
        return "base"
    raise AssertionError(f"{module}: a package the import rules do not know; add it to a layer in this test")


def _target_layer(name: str) -> str | None:
    parts = name.split(".")
    if parts[0] == "devtools":
        return "devtools"
    if parts[0] not in ("frontdesk", "sync"):
        return None
    if parts[0] == "frontdesk" and len(parts) > 1 and parts[1] in BASE | {"__version__"}:
        return "base"
    if parts == ["frontdesk"]:
        return "base"
    try:
        return _layer(name)
    except AssertionError:
        return None  # `from frontdesk.x import Name`: the module part was checked on its own


MAY_IMPORT = {
    "base": {"base"},
    "core": {"base", "core"},
    "feature": {"base", "core", "feature"},
    "sync": {"base", "core", "feature", "sync"},
    "ui": {"base", "core", "feature", "sync", "ui"},
    "app": {"base", "core", "feature", "sync", "ui", "app"},
}


def _violations() -> list[str]:
    problems = []
    for module, path in _modules():
        layer = _layer(module)
        rel = path.relative_to(ROOT)
        for line, name in _imports(path):
            target = _target_layer(name)
            if target == "devtools":
                if module not in DEVTOOLS_ALLOWED:
                    problems.append(f"{rel}:{line} imports {name} (developer tools are never shipped)")
            elif target is not None and target not in MAY_IMPORT[layer]:
                problems.append(f"{rel}:{line} ({layer}) imports {name} ({target})")
            if layer not in ("ui", "app") and name.startswith(QT):
                problems.append(f"{rel}:{line} imports Qt outside frontdesk.ui")
            if layer in ("core", "base") or (layer == "feature" and module.split(".")[1] != "scan"):
                if name.split(".")[0] in HTTP or name.startswith("http.client"):
                    problems.append(f"{rel}:{line} imports HTTP ({name}) in the Qt-free core")
    return problems


def test_no_module_imports_upward_or_across_the_rules() -> None:
    assert _violations() == []


def test_the_rules_know_every_package() -> None:
    for module, _path in _modules():
        _layer(module)


@pytest.mark.parametrize("module", ["frontdesk.domain.money", "frontdesk.sales.service", "sync.outbox"])
def test_the_checker_sees_imports_inside_functions(module: str, tmp_path: Path) -> None:
    # A deliberately upward import, written inside a function, must be caught.
    path = tmp_path / "probe.py"
    path.write_text("def later():\n    from frontdesk.ui.main_window import MainWindow\n", encoding="utf-8")
    (line, name), *_ = _imports(path)
    assert _target_layer(name) == "ui" and "ui" not in MAY_IMPORT[_layer(module)]
