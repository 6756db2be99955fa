"""`frontdesk config show` and configuration errors: IT sees what is in effect and why, never a secret."""
from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from frontdesk import config
from frontdesk.app import cli, config_cli
from frontdesk.config import ConfigError


def _args(config_path: Path | None = None, db: str | None = None) -> argparse.Namespace:
    return argparse.Namespace(config=str(config_path) if config_path else None, db=db, config_command="show")


def _write(text: str) -> Path:
    path = config.default_config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _line(output: str, key: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(f"{key} = "))


def test_show_says_where_each_value_came_from(tmp_path, capsys):
    _write('[counter]\noutlet = "ORCHARD"\ncurrency = "myr"\n[scanner]\nmember_card_key = "shop-secret-hmac-key-42"\n')
    database = tmp_path / "elsewhere.sqlite"

    assert config_cli.cmd_config(_args(db=str(database))) == 0

    out = capsys.readouterr().out
    assert _line(out, "outlet").startswith('outlet = "ORCHARD"') and _line(out, "outlet").endswith("# file")
    assert '"MYR"' in _line(out, "currency")  # the effective, normalised value
    assert _line(out, "path").startswith(f'path = "{database}"') and _line(out, "path").endswith("# flag")
    assert _line(out, "counter_id").endswith("# default")
    assert "shop-secret-hmac-key-42" not in out
    assert _line(out, "member_card_key").startswith('member_card_key = "***"')
    assert str(config.default_config_path()) in out and "(found)" in out


def test_show_without_a_file_lists_defaults_and_the_real_database_path(capsys):
    assert config_cli.cmd_config(_args()) == 0
    out = capsys.readouterr().out
    assert "not found: defaults apply" in out
    assert str(config.data_dir() / "frontdesk.sqlite") in _line(out, "path")
    assert "not set — member cards can be neither printed nor read" in _line(out, "member_card_key")
    assert "no API URL configured" in out


def test_the_api_key_is_shown_masked():
    settings = config.from_mapping({"api": {"url": "https://api.example.com/api/v3"}})
    _, sources = config.load_with_sources()
    text = config_cli.render_effective_config(settings, sources, config.default_config_path(),
                                              api_key="ek_live_0123456789abcdef7f3a", api_key_note="stored")
    assert "ek_live_0123456789abcdef7f3a" not in text
    assert "…7f3a (28 characters)" in text


def test_output_is_toml_that_loads_back(capsys):
    _write('[api]\nurl = "https://api.example.com/api/v3"\n[counter]\ncounter_id = "C2"\n')
    config_cli.cmd_config(_args())
    out = capsys.readouterr().out
    import tomllib

    parsed = tomllib.loads(out)
    parsed["scanner"].pop("member_card_key")  # masked on purpose
    reloaded = config.from_mapping(parsed)
    assert reloaded.api_url == "https://api.example.com/api/v3" and reloaded.counter_id == "C2"


@pytest.mark.parametrize("text, key, problem", [
    ('[counter]\ncurrency = "SG"\n', "counter.currency", "3-letter"),
    ('[counter]\nphone_region = "XX"\n', "counter.phone_region", "region code"),
    ('[counter]\ntimezone = "Asia/Nowhere"\n', "counter.timezone", "time zone"),
    ('[counter]\ntimezone = "Asia"\n', "counter.timezone", "time zone"),  # a folder of zones, not a zone
    ('[scanner]\ncamera_index = "one"\n', "scanner.camera_index", "whole number"),
    ('[scanner]\ncamera_index = -1\n', "scanner.camera_index", "0 or more"),
    ('[api]\nurl = "ftp://files.example.com"\n', "api.url", "https://"),
    ('[api]\nverify_tls = "yes"\n', "api.verify_tls", "true or false"),
    ('[counter]\noutlett = "BUGIS"\n', "counter.outlett", "unknown setting"),
    ('[countr]\noutlet = "BUGIS"\n', "countr", "unknown section"),
    ('[counter]\noutlet = ""\n', "counter.outlet", "empty"),
])
def test_a_bad_value_names_the_key_and_the_problem(text, key, problem):
    _write(text)
    with pytest.raises(ConfigError) as caught:
        config.load_with_sources()
    assert caught.value.key == key and problem in caught.value.problem


def test_a_broken_file_names_the_file_and_the_line():
    path = _write('[counter]\noutlet = "BUGIS\n')
    with pytest.raises(ConfigError) as caught:
        config.load()
    assert caught.value.key == str(path) and "not valid TOML" in caught.value.problem and "line 2" in str(caught.value)


def test_the_cli_reports_a_config_error_by_key_without_a_traceback(capsys):
    _write('[counter]\ncurrency = "dollars"\n')
    assert cli.main(["search", "--config", str(config.default_config_path()), "91234567"]) == 2
    err = capsys.readouterr().err
    assert "counter.currency: must be a 3-letter ISO code" in err and "Traceback" not in err


def test_flags_override_the_file_and_are_validated_too(tmp_path):
    _write('[store]\npath = "/srv/counter.sqlite"\n')
    settings, sources = config.load_with_sources(overrides={"database": str(tmp_path / "flag.sqlite")})
    assert settings.database == str(tmp_path / "flag.sqlite") and sources["database"] == "flag"
    with pytest.raises(ConfigError) as caught:
        config.load_with_sources(overrides={"currency": "dollars"})
    assert caught.value.key == "counter.currency"
    with pytest.raises(ConfigError):
        config.load_with_sources(overrides={"no_such_setting": 1})


def test_show_reads_the_key_from_the_keyring_and_masks_it(capsys, memory_keyring):
    from frontdesk import secrets

    _write('[api]\nurl = "https://api.example.com/api/v3"\n')
    secrets.set_api_key("ek_live_0123456789abcdef7f3a")
    assert config_cli.cmd_config(_args()) == 0
    out = capsys.readouterr().out
    assert "ek_live_0123456789abcdef7f3a" not in out
    assert '…7f3a (28 characters) — stored in the OS keyring under "default"' in out


def test_show_says_when_the_key_comes_from_the_environment(capsys, memory_keyring, monkeypatch):
    _write('[api]\nurl = "https://api.example.com/api/v3"\n')
    monkeypatch.setenv("FRONTDESK_API_KEY", "ek_env_key_abcdefgh1234")
    config_cli.cmd_config(_args())
    out = capsys.readouterr().out
    assert "…1234" in out and "FRONTDESK_API_KEY environment variable" in out and "ek_env_key" not in out


def test_show_says_when_no_key_is_stored(capsys, memory_keyring):
    _write('[api]\nurl = "https://api.example.com/api/v3"\n')
    config_cli.cmd_config(_args())
    assert "(not set) — no API key stored" in capsys.readouterr().out


def test_the_cli_runs_config_show(capsys):
    assert cli.main(["config", "show"]) == 0
    assert "# Front Desk" in capsys.readouterr().out
