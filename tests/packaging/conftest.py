"""Fixtures for the packaging tests: an in-memory keyring backend, so tests never touch the machine's real one."""
from __future__ import annotations

import keyring
import keyring.errors
import pytest
from keyring.backend import KeyringBackend


class MemoryKeyring(KeyringBackend):
    """A real keyring backend (keyring's plug-in interface) that keeps passwords in a dict."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.passwords.pop((service, username), None) is None:
            raise keyring.errors.PasswordDeleteError(f"no password for {username} in {service}")


@pytest.fixture(autouse=True)
def no_api_key_in_environment(monkeypatch):
    """A developer's own FRONTDESK_API_KEY must not leak into these tests."""
    monkeypatch.delenv("FRONTDESK_API_KEY", raising=False)


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)
