"""The [invoices] section of frontdesk.toml, checked: which mailbox, how to mark mail, which outlets, limits.

```toml
[invoices]
outlets = ["TAMPINES"]          # receipts of these outlets are recorded here (default: this counter's outlet)
window_days = 35                # a receipt older than this goes to review
default_staff = "S01"           # who is credited when the receipt names nobody we know (empty: review)
profile_dirs = ["C:/FrontDesk/profiles"]   # extra layout profiles beside the bundled ones
max_mail_mb = 25

[invoices.imap]
host = "imap.example.com"
port = 993
security = "tls"                # tls | starttls | plain (plain only to 127.0.0.1, for tests)
user = "receipts@salon.example"
folder = "INBOX"
mark = "keyword"                # keyword ($FrontDeskDone, $FrontDeskReview) | move (to processed_folder)
processed_folder = "Processed"
idle = true                     # IMAP IDLE when the server offers it, else polling
poll_seconds = 60
idle_renew_seconds = 1500       # re-issue IDLE before the 29-minute server limit
```
The password is never here: it lives in the OS keyring (`frontdesk invoices password`), like the API key.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from frontdesk.config import ConfigError, Settings

_SECURITY = ("tls", "starttls", "plain")
_MARK = ("keyword", "move")


@dataclass(frozen=True)
class ImapSettings:
    host: str = ""
    port: int = 993
    security: str = "tls"
    user: str = ""
    folder: str = "INBOX"
    mark: str = "keyword"
    processed_folder: str = "Processed"
    done_keyword: str = "$FrontDeskDone"
    review_keyword: str = "$FrontDeskReview"
    idle: bool = True
    poll_seconds: float = 60.0
    idle_renew_seconds: float = 1500.0
    timeout_seconds: float = 30.0

    @property
    def configured(self) -> bool:
        return bool(self.host and self.user)

    @property
    def account(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"


@dataclass(frozen=True)
class InvoiceSettings:
    outlets: tuple[str, ...] = ()
    window_days: int = 35
    default_staff: str = ""
    profile_dirs: tuple[Path, ...] = ()
    max_mail_bytes: int = 25 * 1024 * 1024
    max_attachments: int = 20
    max_pdf_pages: int = 10
    imap: ImapSettings = field(default_factory=ImapSettings)


def _get(block: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, default: Any) -> Any:
    if key not in block:
        return default
    value = block[key]
    if isinstance(value, bool) and kind is not bool:
        raise ConfigError(f"{where}.{key}", "has the wrong type")
    if not isinstance(value, kind):
        raise ConfigError(f"{where}.{key}", "has the wrong type")
    return value


def invoice_settings(settings: Settings) -> InvoiceSettings:
    block = dict(settings.extra.get("invoices", {}) or {})
    imap_block = block.pop("imap", {}) or {}
    if not isinstance(imap_block, dict):
        raise ConfigError("invoices.imap", "must be a table of settings")
    known = {"outlets", "window_days", "default_staff", "profile_dirs", "max_mail_mb", "max_attachments",
             "max_pdf_pages"}
    for key in block:
        if key not in known:
            raise ConfigError(f"invoices.{key}", "unknown setting")
    outlets = _get(block, "outlets", list, "invoices", [settings.outlet_code])
    if not all(isinstance(o, str) and o.strip() for o in outlets):
        raise ConfigError("invoices.outlets", "must be a list of outlet codes")
    window = _get(block, "window_days", int, "invoices", 35)
    if window < 1:
        raise ConfigError("invoices.window_days", "must be at least 1")
    dirs = _get(block, "profile_dirs", list, "invoices", [])
    max_mb = _get(block, "max_mail_mb", (int, float), "invoices", 25)
    if max_mb <= 0:
        raise ConfigError("invoices.max_mail_mb", "must be more than 0")
    imap_known = {f for f in ImapSettings.__dataclass_fields__}
    for key in imap_block:
        if key not in imap_known:
            raise ConfigError(f"invoices.imap.{key}", "unknown setting")
    values: dict[str, Any] = {}
    for name, spec in ImapSettings.__dataclass_fields__.items():
        default = spec.default
        kind: type | tuple[type, ...] = (int, float) if isinstance(default, float) else type(default)
        if name in imap_block:
            values[name] = _get(imap_block, name, kind, "invoices.imap", default)
    imap = ImapSettings(**values)
    if imap.security not in _SECURITY:
        raise ConfigError("invoices.imap.security", "must be tls, starttls or plain")
    if imap.security == "plain" and imap.host not in ("127.0.0.1", "localhost", "::1", ""):
        raise ConfigError("invoices.imap.security", "plain (unencrypted) IMAP is only allowed to this computer; "
                                                    "use tls or starttls")
    if imap.mark not in _MARK:
        raise ConfigError("invoices.imap.mark", "must be keyword or move")
    if imap.poll_seconds <= 0 or imap.idle_renew_seconds <= 0:
        raise ConfigError("invoices.imap.poll_seconds", "must be more than 0")
    if imap.idle_renew_seconds > 29 * 60:
        raise ConfigError("invoices.imap.idle_renew_seconds", "must be under 29 minutes (servers drop IDLE then)")
    return InvoiceSettings(
        outlets=tuple(o.strip().upper() for o in outlets), window_days=window,
        default_staff=str(_get(block, "default_staff", str, "invoices", "")).strip(),
        profile_dirs=tuple(Path(d) for d in dirs),
        max_mail_bytes=int(max_mb * 1024 * 1024),
        max_attachments=_get(block, "max_attachments", int, "invoices", 20),
        max_pdf_pages=_get(block, "max_pdf_pages", int, "invoices", 10),
        imap=imap)
