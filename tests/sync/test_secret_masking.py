"""The API key is masked wherever it comes from, and what a server says back is masked before it is stored."""
from __future__ import annotations

import logging

from frontdesk import logs, secrets
from sync.errors import ApiError, summarise


def test_a_short_key_from_the_environment_is_masked_in_the_log(monkeypatch, tmp_path):
    monkeypatch.setenv(secrets.ENV_VAR, "k8Zq2xW")  # short: no pattern would catch it, only registration
    import keyring
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        assert secrets.get_api_key() == "k8Zq2xW"
    finally:
        keyring.set_keyring(previous)
    path = logs.setup_logging(tmp_path / "logs")
    logging.getLogger("test").warning("server said: unknown key k8Zq2xW for this merchant")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = path.read_text(encoding="utf-8")
    assert "unknown key *** for this merchant" in text and "k8Zq2xW" not in text


def test_a_key_handed_straight_to_the_client_is_registered_too():
    from frontdesk.config import Settings
    from sync.client import client_from_settings

    client = client_from_settings(Settings(api_url="https://api.example.com/v3"), "Zx81kq")
    client.close()
    assert logs.mask_sensitive("echo: Zx81kq") == "echo: ***"


def test_server_error_text_is_masked_before_it_is_stored_or_shown():
    """`summarise` is what the outbox stores as an entry's last_error and what the sync panel shows."""
    logs.register_secret("ek_live_echoed_0099")
    error = ApiError("invalid request from +65 9123 4567 (jane.tan@example.com) with key ek_live_echoed_0099",
                     status=422)
    text = summarise(error)
    assert "9123 4567" not in text and "jane.tan@example.com" not in text and "ek_live_echoed_0099" not in text
    assert text.startswith("HTTP 422: invalid request from +65")
    assert len(summarise(ApiError("x" * 5000))) <= 1000
