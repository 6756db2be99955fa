"""Configuration: one TOML file in the platform's config directory, defaults for everything, flags on top.

The API key is never in this file: it lives in the OS keyring (see `frontdesk.secrets`). A bad file names the key
and the problem instead of starting with a half-understood configuration.
"""
from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import platformdirs

APP_NAME = "FrontDesk"
APP_AUTHOR = "FrontDesk"
CONFIG_FILE_NAME = "frontdesk.toml"
DEMO_CARD_KEY = "demo-card-key-change-me"  # published in the source: only for the demo counter


class ConfigError(ValueError):
    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem

    @property
    def problems(self) -> list[ConfigError]:
        """Every problem found (a file is checked whole, so IT fixes all of them in one go)."""
        return [self]


class ConfigErrors(ConfigError):
    """Several settings are wrong at once; `key`/`problem` are the first, `problems` all of them."""

    def __init__(self, errors: list[ConfigError]) -> None:
        super().__init__(errors[0].key, errors[0].problem)
        self._errors = errors
        self.args = ("\n".join(f"{e.key}: {e.problem}" for e in errors),)

    @property
    def problems(self) -> list[ConfigError]:
        return list(self._errors)


def _raise_all(errors: list[ConfigError]) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ConfigErrors(errors)


def config_dir() -> Path:
    override = os.environ.get("FRONTDESK_CONFIG_DIR")
    return Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR))


def data_dir() -> Path:
    override = os.environ.get("FRONTDESK_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))


def log_dir() -> Path:
    override = os.environ.get("FRONTDESK_LOG_DIR")
    return Path(override) if override else Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR))


def default_config_path() -> Path:
    return config_dir() / CONFIG_FILE_NAME


@dataclass(frozen=True)
class Settings:
    """The effective configuration. Every field has a default that works for a demo counter."""

    database: str = ""  # empty: <data dir>/frontdesk.sqlite
    api_url: str = ""  # empty: no central API configured (offline-only or demo)
    api_key_name: str = "default"  # which keyring entry holds the API key
    verify_tls: bool = True
    allow_plain_http: bool = False  # IT's explicit override: http:// to a host other than this PC
    outlet_code: str = "BUGIS"
    counter_id: str = "C1"
    phone_region: str = "SG"
    currency: str = "SGD"
    timezone: str = "Asia/Singapore"
    camera_index: int = 0
    camera_width: int = 1280
    camera_height: int = 720
    scan_sound: bool = True
    # HMAC key for our member cards, one per business (the setup wizard makes it). Empty: cards are neither printed
    # nor read, and a member is found only through the ordinary search. The demo counter uses DEMO_CARD_KEY.
    member_card_key: str = ""
    programme_file: str = ""  # empty: the programme pulled from the server, else the bundled demo programme
    offline_redeem_allowance_points: int = 2000  # per member, while the server cannot confirm a burn
    sync_interval_seconds: int = 15
    # Per-endpoint path overrides for an API that routes differently: [api_paths] issue_point = "..."
    api_paths: dict[str, str] = field(default_factory=dict)
    demo: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def database_path(self) -> Path:
        return Path(self.database) if self.database else data_dir() / "frontdesk.sqlite"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


_SECTIONS = {
    "database": ("store", "path"),
    "api_url": ("api", "url"),
    "api_key_name": ("api", "key_name"),
    "verify_tls": ("api", "verify_tls"),
    "allow_plain_http": ("api", "allow_plain_http"),
    "outlet_code": ("counter", "outlet"),
    "counter_id": ("counter", "counter_id"),
    "phone_region": ("counter", "phone_region"),
    "currency": ("counter", "currency"),
    "timezone": ("counter", "timezone"),
    "camera_index": ("scanner", "camera_index"),
    "camera_width": ("scanner", "width"),
    "camera_height": ("scanner", "height"),
    "scan_sound": ("scanner", "sound"),
    "member_card_key": ("scanner", "member_card_key"),
    "programme_file": ("loyalty", "programme_file"),
    "offline_redeem_allowance_points": ("loyalty", "offline_redeem_allowance_points"),
    "sync_interval_seconds": ("sync", "interval_seconds"),
}


LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def is_loopback_url(url: str) -> bool:
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def _validate(settings: Settings) -> Settings:
    errors: list[ConfigError] = []
    if settings.api_url and not settings.api_url.startswith(("http://", "https://")):
        errors.append(ConfigError("api.url", "must start with https:// (or http:// for a local test server)"))
    elif settings.api_url.startswith("http://") and not is_loopback_url(settings.api_url) \
            and not settings.allow_plain_http:
        errors.append(ConfigError("api.url", "must start with https://: plain http:// would send the API key and "
                                             "members' details unencrypted (only a server on this PC, 127.0.0.1, "
                                             "may use http://; api.allow_plain_http = true overrides this)"))
    if phonenumbers.country_code_for_region(settings.phone_region) == 0:
        errors.append(ConfigError("counter.phone_region",
                                  f"“{settings.phone_region}” is not a region code like SG or MY"))
    if len(settings.currency) != 3 or not settings.currency.isalpha():
        errors.append(ConfigError("counter.currency", "must be a 3-letter ISO code like SGD"))
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Asia" is a folder of zones, not a zone
        errors.append(ConfigError("counter.timezone", f"“{settings.timezone}” is not a time zone like Asia/Singapore"))
    if not settings.outlet_code.strip():
        errors.append(ConfigError("counter.outlet", "must not be empty"))
    if settings.camera_index < 0:
        errors.append(ConfigError("scanner.camera_index", "must be 0 or more"))
    if settings.sync_interval_seconds < 1:
        errors.append(ConfigError("sync.interval_seconds", "must be at least 1"))
    _raise_all(errors)
    return replace(settings, currency=settings.currency.upper(), phone_region=settings.phone_region.upper())


def from_mapping(data: dict[str, Any], base: Settings | None = None) -> Settings:
    """Build settings from the TOML structure ({section: {key: value}}), checking each value's type."""
    base = base or Settings()
    types = {f.name: f.type for f in fields(Settings)}
    values: dict[str, Any] = {}
    errors: list[ConfigError] = []
    data = dict(data)
    if "api_paths" in data:
        try:
            values["api_paths"] = _api_paths(data.pop("api_paths"))
        except ConfigError as error:
            errors.append(error)
    if "invoices" in data:  # WESS invoice mail: read and checked by frontdesk.invoices.settings
        block = data.pop("invoices")
        if isinstance(block, dict):
            values["extra"] = {**base.extra, "invoices": block}
        else:
            errors.append(ConfigError("invoices", "must be a table of settings"))
    known_sections = {section for section, _ in _SECTIONS.values()}
    for section in data:
        if section not in known_sections:
            errors.append(ConfigError(section, "unknown section"))
    bad_sections: set[str] = set()
    for section in known_sections:
        block = data.get(section, {})
        if not isinstance(block, dict):
            errors.append(ConfigError(section, "must be a table of settings"))
            bad_sections.add(section)
            continue
        for unknown in sorted(set(block) - {k for s, k in _SECTIONS.values() if s == section}):
            errors.append(ConfigError(f"{section}.{unknown}", "unknown setting"))
    for attr, (section, key) in _SECTIONS.items():
        if section in bad_sections:
            continue
        block = data.get(section, {})
        if key not in block:
            continue
        value = block[key]
        expected = types[attr]
        if expected == "bool" and not isinstance(value, bool):
            errors.append(ConfigError(f"{section}.{key}", "must be true or false"))
        elif expected == "int" and (not isinstance(value, int) or isinstance(value, bool)):
            errors.append(ConfigError(f"{section}.{key}", "must be a whole number"))
        elif expected == "str" and not isinstance(value, str):
            errors.append(ConfigError(f"{section}.{key}", "must be text in quotes"))
        else:
            values[attr] = value
    try:
        _validate(replace(base, **values))
    except ConfigError as error:
        errors.extend(error.problems)
    _raise_all(errors)
    return _validate(replace(base, **values))


def _api_paths(block: Any) -> dict[str, str]:
    if not isinstance(block, dict):
        raise ConfigError("api_paths", "must be a table of endpoint = \"path\"")
    paths: dict[str, str] = {}
    errors: list[ConfigError] = []
    for endpoint, path in block.items():
        if not isinstance(path, str) or not path.strip() or "://" in path or " " in path.strip():
            errors.append(ConfigError(f"api_paths.{endpoint}",
                                      "must be a path relative to api.url, like \"integration/redeem\""))
            continue
        paths[endpoint] = path.strip().strip("/")
    _raise_all(errors)
    return paths


def _read_file(path: Path) -> dict[str, Any]:
    """The TOML file as a mapping ({} when there is no file)."""
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(str(path), f"not valid TOML ({error})") from None
    except UnicodeDecodeError:
        raise ConfigError(str(path), "not UTF-8 text") from None
    except OSError as error:
        raise ConfigError(str(path), f"cannot be read ({error.strerror or error})") from None


def load(path: Path | None = None) -> Settings:
    return from_mapping(_read_file(path or default_config_path()))


SOURCE_DEFAULT = "default"
SOURCE_FILE = "file"
SOURCE_FLAG = "flag"


def setting_key(attr: str) -> str:
    """The dotted name a person sees for a Settings field ("counter.outlet"), as used in the file and in errors."""
    if attr in _SECTIONS:
        section, key = _SECTIONS[attr]
        return f"{section}.{key}"
    return attr


def settings_keys() -> dict[str, str]:
    """Settings field name -> dotted key, in file order."""
    return {attr: f"{section}.{key}" for attr, (section, key) in _SECTIONS.items()}


def load_with_sources(path: Path | None = None, overrides: Mapping[str, Any] | None = None
                      ) -> tuple[Settings, dict[str, str]]:
    """Like `load`, then command-line `overrides` (Settings field -> value) on top; also says where each field came
    from: "default", "file" or "flag". `config show` prints this so IT can see why a counter behaves as it does."""
    data = _read_file(path or default_config_path())
    settings = from_mapping(data)
    sources = {f.name: SOURCE_DEFAULT for f in fields(Settings)}
    for attr, (section, key) in _SECTIONS.items():
        block = data.get(section)
        if isinstance(block, dict) and key in block:
            sources[attr] = SOURCE_FILE
    if "api_paths" in data:
        sources["api_paths"] = SOURCE_FILE
    if overrides:
        unknown = set(overrides) - set(sources)
        if unknown:
            raise ConfigError(sorted(unknown)[0], "not a setting")
        settings = _validate(replace(settings, **overrides))
        sources.update({attr: SOURCE_FLAG for attr in overrides})
    return settings, sources


def to_toml(settings: Settings) -> str:
    """The settings as a TOML file (what the setup wizard writes)."""
    sections: dict[str, list[str]] = {}
    for attr, (section, key) in _SECTIONS.items():
        value = getattr(settings, attr)
        if isinstance(value, bool):
            rendered = "true" if value else "false"
        elif isinstance(value, int):
            rendered = str(value)
        else:
            rendered = '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
        sections.setdefault(section, []).append(f"{key} = {rendered}")
    for endpoint, path in sorted(settings.api_paths.items()):
        sections.setdefault("api_paths", []).append(f'{endpoint} = "{path}"')
    _extra_sections(settings.extra.get("invoices"), "invoices", sections)  # kept as read, so a save loses nothing
    return "\n\n".join(f"[{name}]\n" + "\n".join(lines) for name, lines in sections.items()) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _extra_sections(block: Any, name: str, sections: dict[str, list[str]]) -> None:
    if not isinstance(block, dict):
        return
    sections[name] = [f"{key} = {_toml_value(value)}" for key, value in block.items() if not isinstance(value, dict)]
    for key, value in block.items():
        if isinstance(value, dict):
            _extra_sections(value, f"{name}.{key}", sections)


def save(settings: Settings, path: Path | None = None) -> Path:
    path = path or default_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(to_toml(settings), encoding="utf-8")
    os.replace(tmp, path)
    return path
