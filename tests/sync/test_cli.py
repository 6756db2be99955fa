"""`frontdesk sync --once` (sync_once_main) and the demo server used by `frontdesk --demo`."""
from __future__ import annotations

import io
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine

from devtools.loyalty_server.demo import start_demo_server
from frontdesk.config import Settings
from sync.cli import sync_once_main
from tests.sync.conftest import RunningServer, free_port
from tests.sync.helpers import Line, queue_sale


def settings_for(counter: Engine, url: str = "") -> Settings:
    return replace(Settings(), database=str(counter.url.database), api_url=url)


def test_sync_once_drains_pulls_and_summarises(server: RunningServer, counter: Engine,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_API_KEY", server.api_key)
    for index in range(5):
        queue_sale(counter, 10 + index, f"C-{uuid.uuid4().hex[:8]}")
    out = io.StringIO()
    assert sync_once_main(settings_for(counter, server.api_url), out=out) == 0
    text = out.getvalue()
    assert "Outbox: 5 delivered" in text and "Programme: updated to version" in text
    assert "Left: 0 queued, 0 need attention" in text and server.api_key not in text


def test_sync_once_reports_what_needs_attention(server: RunningServer, counter: Engine,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_API_KEY", server.api_key)
    queue_sale(counter, 30, "BAD-1", lines=(Line("Broken", "X", "Hair", 0, 100),))
    out = io.StringIO()
    assert sync_once_main(settings_for(counter, server.api_url), out=out) == 1
    assert "needs attention: #1 Sale BAD-1" in out.getvalue()


def test_sync_once_exit_codes(server: RunningServer, counter: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    assert sync_once_main(settings_for(counter), out=out) == 2 and "no loyalty API configured" in out.getvalue()
    monkeypatch.setenv("FRONTDESK_API_KEY", "wrong")
    assert sync_once_main(settings_for(counter, server.api_url), out=io.StringIO()) == 3
    assert sync_once_main(settings_for(counter, f"http://127.0.0.1:{free_port()}/v3/public"),
                          out=io.StringIO()) == 4


def test_demo_server_starts_on_a_free_port_and_stops(tmp_path: Path) -> None:
    from sync.client import ApiConfig, LoyaltyClient

    url, key, stop = start_demo_server(tmp_path / "demo-server.sqlite")
    try:
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v3/public")
        user = LoyaltyClient(ApiConfig(base_url=url, api_key=key)).user_show(user_id=100000)
        assert user["id"] == 100000
    finally:
        stop()
        stop()  # a second stop is harmless


def test_endpoint_paths_come_from_the_config_file(server: RunningServer, counter: Engine, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """IT can point each call at another route, e.g. the documented plural `issue_points`, without a new build."""
    from frontdesk import config

    path = tmp_path / "frontdesk.toml"
    path.write_text(f'[store]\npath = "{counter.url.database}"\n[api]\nurl = "{server.api_url}"\n'
                    '[api_paths]\nissue_point = "integration/issue_points"\n', encoding="utf-8")
    settings = config.load(path)
    assert settings.api_paths == {"issue_point": "integration/issue_points"}
    assert config.from_mapping(__import__("tomllib").loads(config.to_toml(settings))).api_paths == settings.api_paths
    monkeypatch.setenv("FRONTDESK_API_KEY", server.api_key)
    receipt = f"P-{uuid.uuid4().hex[:8]}"
    queue_sale(counter, 21, receipt)
    assert sync_once_main(settings, out=io.StringIO()) == 0
    assert any(t["transaction_no"] == receipt for t in server.transactions())
    with pytest.raises(config.ConfigError, match="api_paths.redeem"):
        config.from_mapping({"api_paths": {"redeem": "https://elsewhere.example/redeem"}})


def test_demo_data_queues_realistic_sales_that_deliver(server_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from frontdesk.app.cli import main
    from frontdesk.store.db import make_engine
    from frontdesk.store.models import OutboxEntry, Sale
    from tests.sync.conftest import drain_until_empty, fast_worker

    db = tmp_path / "drill.sqlite"
    assert main(["demo-data", "--db", str(db), "--members", "300", "--seed", "7", "--history", "0"]) == 0
    assert main(["demo-data", "--db", str(db), "--queued-sales", "30"]) == 0
    engine = make_engine(db)
    try:
        with Session(engine) as session:
            assert session.scalar(select(func.count()).select_from(OutboxEntry).where(
                OutboxEntry.status == "pending", OutboxEntry.kind == "sale")) == 30
        strict = server_factory("--strict")
        worker = fast_worker(engine, strict.client())
        drain_until_empty(worker)
        worker.close()
        with Session(engine) as session:
            assert set(session.scalars(select(Sale.status))) == {"synced"}
    finally:
        engine.dispose()
