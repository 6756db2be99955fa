"""`frontdesk config ...`: what IT needs to see why a counter behaves as it does.

`config show` prints the effective configuration as TOML (so lines can be copied into the config file), each value
annotated with where it came from (default, file or command-line flag). Secrets are masked: the API key is read from
the OS keyring only to say whether it is there and which key it is (its last four characters).
"""
from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from frontdesk import config
from frontdesk.config import Settings
from frontdesk.secrets import mask_secret

SECRET_SETTINGS = frozenset({"member_card_key"})
DEMO_CARD_KEY = config.DEMO_CARD_KEY


def config_path_from_args(args: argparse.Namespace) -> Path:
    return Path(args.config) if getattr(args, "config", None) else config.default_config_path()


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Settings fields that command-line flags set (Settings field name -> value)."""
    overrides: dict[str, Any] = {}
    if getattr(args, "db", None):
        overrides["database"] = str(Path(args.db).resolve())
    if getattr(args, "demo", False):
        overrides["demo"] = True
    return overrides


def settings_from_args(args: argparse.Namespace) -> tuple[Settings, dict[str, str]]:
    """The effective settings for a command (file, then flags) and where each field came from."""
    return config.load_with_sources(config_path_from_args(args), overrides_from_args(args))


def stored_api_key(settings: Settings) -> tuple[str | None, str]:
    """(API key or None, a sentence about where it comes from or why there is none).

    The key is registered with the log masking as soon as it is read, so it can never reach a log file.
    """
    from frontdesk import secrets
    from frontdesk.logs import register_secret

    name = settings.api_key_name
    try:
        key = secrets.get_api_key(name)
        source = secrets.key_source(name)
    except Exception as error:  # keyring backends raise their own types (locked, no backend, D-Bus down)
        return None, f"the OS keyring could not be read ({type(error).__name__}: {error})"
    if not key:
        return None, (f'no API key stored in the OS keyring under "{name}" and {secrets.ENV_VAR} is not set')
    register_secret(key)
    if source == "environment":
        return key, f"from the {secrets.ENV_VAR} environment variable (no OS keyring entry)"
    return key, f'stored in the OS keyring under "{name}"'


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dir_line(label: str, path: Path, env: str) -> str:
    origin = f"from {env}" if os.environ.get(env) else "platform default"
    return f"# {label:<15} {path}  ({origin})"


def render_effective_config(settings: Settings, sources: Mapping[str, str], config_path: Path, *,
                            api_key: str | None, api_key_note: str) -> str:
    """The text `config show` prints. `api_key`/`api_key_note` come from `stored_api_key` (passed in for tests)."""
    from frontdesk import __version__  # not at import: the app's start-up reads settings through this module

    lines = [
        f"# Front Desk {__version__} — effective configuration",
        f"# config file     {config_path}  ({'found' if config_path.exists() else 'not found: defaults apply'})",
        _dir_line("data directory", config.data_dir(), "FRONTDESK_DATA_DIR"),
        _dir_line("log directory", config.log_dir(), "FRONTDESK_LOG_DIR"),
    ]
    if settings.demo:
        lines.append(f"# mode            demo ({sources.get('demo', 'default')})")
    if settings.api_url:
        lines.append(f"# API key         {mask_secret(api_key or '')} — {api_key_note}")
    else:
        lines.append("# API key         not needed: no API URL configured (offline / demo)")
    rows: list[tuple[str, str, str]] = []
    section_of: dict[str, str] = {}
    for attr, dotted in config.settings_keys().items():
        section, key = dotted.split(".", 1)
        value = getattr(settings, attr)
        source = sources.get(attr, config.SOURCE_DEFAULT)
        note = source
        if attr in SECRET_SETTINGS:
            rendered = '"***"' if value else '""'
            note += f"; secret, {len(value)} characters" if value else \
                "; not set — member cards can be neither printed nor read; `frontdesk setup` makes one"
            if value == DEMO_CARD_KEY:
                note += "; demo key — set your own before printing member cards"
        else:
            rendered = _toml_value(value)
        if attr == "database" and not value:
            rendered = _toml_value(str(settings.database_path))
            note += "; <data directory>/frontdesk.sqlite"
        if attr == "api_url" and not value:
            note += "; no central API"
        if attr == "programme_file" and not value:
            note += "; programme from the server, else the bundled demo programme"
        rows.append((f"{key} = {rendered}", note, dotted))
        section_of[dotted] = section
    width = max(len(assignment) for assignment, _, _ in rows)
    current = ""
    for assignment, note, dotted in rows:
        if section_of[dotted] != current:
            current = section_of[dotted]
            lines.extend(["", f"[{current}]"])
        lines.append(f"{assignment:<{width}}  # {note}")
    return "\n".join(lines) + "\n"


def cmd_config_show(args: argparse.Namespace) -> int:
    settings, sources = settings_from_args(args)
    api_key, note = stored_api_key(settings) if settings.api_url else (None, "")
    print(render_effective_config(settings, sources, config_path_from_args(args), api_key=api_key,
                                  api_key_note=note), end="")
    return 0


def cmd_config_path(args: argparse.Namespace) -> int:
    print(config_path_from_args(args))
    return 0


CONFIG_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "show": cmd_config_show,
    "path": cmd_config_path,
}


def add_config_command(subparsers: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Adds `config show` and `config path` to the CLI's subparsers (cli.py passes its `_add_common`)."""
    parser = subparsers.add_parser("config", help="show the effective configuration (secrets masked)")
    config_sub = parser.add_subparsers(dest="config_command", metavar="{show,path}")
    show = config_sub.add_parser("show", help="the effective configuration and where each value came from")
    add_common(show)
    path = config_sub.add_parser("path", help="where the config file is")
    add_common(path)


def cmd_config(args: argparse.Namespace) -> int:
    """Entry for `frontdesk config ...` (`config` alone means `config show`)."""
    return CONFIG_COMMANDS[getattr(args, "config_command", None) or "show"](args)
