"""The loyalty API key, kept in the operating system's keyring (Windows Credential Manager, macOS Keychain,
Secret Service on Linux) via `keyring` — never in the config file, never in a log.

Headless machines (CI, a kiosk without a desktop session) often have no usable keyring: `keyring` then offers its
"fail" or "null" backend. Reading falls back to the FRONTDESK_API_KEY environment variable there, and says so once
in the log (without the key); storing raises `SecretStoreUnavailable` with the same advice, instead of crashing.
"""
from __future__ import annotations

import logging
import os
from typing import Any

log = logging.getLogger(__name__)

SERVICE = "FrontDesk loyalty API"
ENV_VAR = "FRONTDESK_API_KEY"

_warned_fallback = False


class SecretStoreUnavailable(RuntimeError):
    """No OS keyring on this machine (or it refused); the message tells IT what to do instead."""


def _keyring() -> Any:
    """The keyring module if a real backend is available, else None."""
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception:  # noqa: BLE001 - a broken keyring configuration is the same as none
        return None
    null_backend = None
    try:
        from keyring.backends import null

        null_backend = null.Keyring
    except ImportError:
        pass
    if isinstance(backend, fail.Keyring) or (null_backend is not None and isinstance(backend, null_backend)):
        return None
    return keyring


def keyring_available() -> bool:
    """Whether this machine has an OS credential store the API key can be kept in."""
    return _keyring() is not None


def _from_environment(reason: str) -> str | None:
    global _warned_fallback
    value = os.environ.get(ENV_VAR) or None
    if not _warned_fallback:
        _warned_fallback = True
        if value:
            log.warning("%s; using the API key from the %s environment variable", reason, ENV_VAR)
        else:
            log.warning("%s and %s is not set: no API key, so sync stays off", reason, ENV_VAR)
    return value


def get_api_key(name: str = "default") -> str | None:
    """The stored key for keyring entry `name`, or FRONTDESK_API_KEY when there is no keyring; None if neither.

    Whatever the source, the key is registered with the log masking before it is returned, so no caller can log it
    (or store a server's echo of it) by forgetting to."""
    key = _find_api_key(name)
    if key:
        from frontdesk.logs import register_secret

        register_secret(key)
    return key


def _find_api_key(name: str) -> str | None:
    keyring = _keyring()
    if keyring is None:
        return _from_environment("no OS keyring is available")
    try:
        value = keyring.get_password(SERVICE, name)
    except Exception as error:  # noqa: BLE001 - locked or broken keyrings raise backend-specific errors
        return _from_environment(f"the OS keyring could not be read ({type(error).__name__})")
    if value:
        return value
    # Keyring present but empty: an environment variable still works (e.g. a service account on a kiosk).
    return os.environ.get(ENV_VAR) or None


def set_api_key(key: str, name: str = "default") -> None:
    """Store `key` in the OS keyring under entry `name`."""
    key = key.strip()
    if not key:
        raise ValueError("the API key is empty")
    _store(SERVICE, name, key, what="the API key", env_var=ENV_VAR)


def _store(service: str, name: str, value: str, *, what: str, env_var: str) -> None:
    """Put a secret in the OS keyring, or say plainly which environment variable to set instead."""
    keyring = _keyring()
    if keyring is None:
        raise SecretStoreUnavailable(
            f"This computer has no OS keyring to keep {what} in. Set the {env_var} environment variable "
            "for the account that runs Front Desk instead.")
    try:
        keyring.set_password(service, name, value)
    except Exception as error:  # noqa: BLE001 - keyring backends raise their own types
        raise SecretStoreUnavailable(
            f"The OS keyring refused to store {what} ({type(error).__name__}). Set the {env_var} "
            "environment variable instead.") from None


def delete_api_key(name: str = "default") -> bool:
    """Remove the stored key; False when there was none (or no keyring)."""
    keyring = _keyring()
    if keyring is None:
        return False
    try:
        keyring.delete_password(SERVICE, name)
    except Exception:  # noqa: BLE001 - PasswordDeleteError when absent, backend errors otherwise
        return False
    return True


def key_source(name: str = "default") -> str:
    """Where the key would come from, for the self-test and the setup wizard: keyring | environment | none."""
    keyring = _keyring()
    if keyring is not None:
        try:
            if keyring.get_password(SERVICE, name):
                return "keyring"
        except Exception:  # noqa: BLE001
            pass
    return "environment" if os.environ.get(ENV_VAR) else "none"


# --- the invoice mailbox password (issue 14): same keyring, its own service name -----------------------------
MAILBOX_SERVICE = "FrontDesk invoice mailbox"
MAILBOX_ENV_VAR = "FRONTDESK_MAILBOX_PASSWORD"


def get_mailbox_password(account: str) -> str | None:
    """The password of the WESS invoice mailbox `account` (user@host:port): keyring first, then
    FRONTDESK_MAILBOX_PASSWORD (headless machines, tests); None if neither."""
    keyring = _keyring()
    if keyring is not None:
        try:
            value = keyring.get_password(MAILBOX_SERVICE, account)
        except Exception:  # noqa: BLE001 - locked or broken keyrings raise backend-specific errors
            value = None
        if value:
            return value
    return os.environ.get(MAILBOX_ENV_VAR) or None


def set_mailbox_password(account: str, password: str) -> None:
    if not password:
        raise ValueError("the password is empty")
    _store(MAILBOX_SERVICE, account, password, what="the mailbox password", env_var=MAILBOX_ENV_VAR)


def mask_secret(value: str) -> str:
    """How a secret is shown: never the value, only enough to tell two keys apart."""
    if not value:
        return "(not set)"
    if len(value) >= 12:
        return f"…{value[-4:]} ({len(value)} characters)"
    return f"*** ({len(value)} characters)"
