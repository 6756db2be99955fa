"""The API key lives in the OS keyring; without one (headless CI) the environment variable stands in."""
from __future__ import annotations

import logging

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from frontdesk import secrets


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        from keyring.errors import PasswordDeleteError

        if (service, username) not in self.store:
            raise PasswordDeleteError("absent")
        del self.store[(service, username)]


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> MemoryKeyring:
    previous = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    monkeypatch.delenv(secrets.ENV_VAR, raising=False)
    yield memory
    keyring.set_keyring(previous)


def test_store_read_delete_in_the_keyring(backend: MemoryKeyring) -> None:
    secrets.set_api_key("  live-key-123  ", "shop")
    assert backend.store[(secrets.SERVICE, "shop")] == "live-key-123"
    assert secrets.get_api_key("shop") == "live-key-123"
    assert secrets.key_source("shop") == "keyring"
    assert secrets.delete_api_key("shop") is True
    assert secrets.get_api_key("shop") is None and secrets.delete_api_key("shop") is False
    with pytest.raises(ValueError):
        secrets.set_api_key("   ")


def test_without_a_keyring_the_environment_is_used_and_the_key_never_logged(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    monkeypatch.setattr(secrets, "_warned_fallback", False)
    try:
        monkeypatch.setenv(secrets.ENV_VAR, "env-key-secret")
        with caplog.at_level(logging.DEBUG):
            assert secrets.get_api_key() == "env-key-secret"
        assert secrets.ENV_VAR in caplog.text and "env-key-secret" not in caplog.text
        assert secrets.key_source() == "environment"
        with pytest.raises(secrets.SecretStoreUnavailable) as caught:
            secrets.set_api_key("new-key")
        assert secrets.ENV_VAR in str(caught.value)
        assert secrets.delete_api_key() is False
        monkeypatch.delenv(secrets.ENV_VAR)
        assert secrets.get_api_key() is None and secrets.key_source() == "none"
    finally:
        keyring.set_keyring(previous)
