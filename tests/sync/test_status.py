"""Status: online/offline by repeated probes, the status-bar text, and the engine's view of the queue."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine

from sync.client import ApiConfig, LoyaltyClient
from sync.engine import EngineOptions, SyncEngine
from sync.outbox import WorkerOptions
from sync.status import (
    NOT_CONFIGURED,
    OFFLINE,
    ONLINE,
    UNKNOWN,
    Connectivity,
    SyncStatus,
    format_age,
)
from tests.sync.conftest import FAST_RETRY, RunningServer, free_port
from tests.sync.helpers import queue_sale, queue_void


def test_one_failure_is_not_offline_three_are_and_one_success_is_online() -> None:
    link = Connectivity(failures_to_offline=3)
    assert link.state == UNKNOWN
    assert link.record_success(0.01) is True and link.state == ONLINE
    assert link.record_failure("timeout") is False and link.state == ONLINE
    assert link.record_failure("timeout") is False and link.state == ONLINE
    assert link.record_failure("timeout") is True and link.state == OFFLINE
    assert link.record_failure("timeout") is False
    assert link.record_success() is True and link.state == ONLINE and link.consecutive_failures == 0


def test_status_bar_text_counts_what_is_in_doubt() -> None:
    now = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)
    status = SyncStatus(connectivity=ONLINE, queued=5, in_doubt=2, oldest_unsynced_at=now - timedelta(seconds=30))
    assert status.summary(now) == "Online · 5 queued · 2 in doubt · oldest 30 s"


def test_status_bar_text() -> None:
    now = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)
    busy = SyncStatus(connectivity=ONLINE, queued=3, parked=1, oldest_unsynced_at=now - timedelta(minutes=2))
    assert busy.summary(now) == "Online · 3 queued · oldest 2 min · 1 needs attention"
    assert busy.level == "error"
    assert SyncStatus(connectivity=ONLINE).summary(now) == "Online · all synced"
    offline = SyncStatus(connectivity=OFFLINE, queued=12, oldest_unsynced_at=now - timedelta(hours=1, minutes=5))
    assert offline.summary(now) == "Offline · 12 queued · oldest 1 h 5 min" and offline.level == "warning"
    assert SyncStatus(connectivity=ONLINE, auth_problem="Unauthenticated.", parked=2).summary(now) == \
        "API key refused · 2 need attention"
    assert SyncStatus(connectivity=NOT_CONFIGURED, queued=1,
                      oldest_unsynced_at=now - timedelta(seconds=40)).summary(now) == "Sync off · 1 queued · oldest 40 s"
    assert format_age(timedelta(days=3)) == "3 d" and format_age(timedelta(hours=2)) == "2 h"


def fast_engine(counter: Engine, client: LoyaltyClient | None) -> SyncEngine:
    return SyncEngine(counter, client, options=EngineOptions(
        probe_interval=0.05, failures_to_offline=3, programme_interval=3600, members_interval=3600,
        worker=WorkerOptions(retry=FAST_RETRY, offline_backoff=FAST_RETRY)))


def test_engine_goes_offline_only_after_repeated_probe_failures(counter: Engine) -> None:
    client = LoyaltyClient(ApiConfig(base_url=f"http://127.0.0.1:{free_port()}/v3/public", api_key="k",
                                     connect_timeout=1))
    engine = fast_engine(counter, client)
    queue_sale(counter, 3, f"Q-{uuid.uuid4().hex[:8]}")
    engine.tick()
    assert engine.status().connectivity != OFFLINE
    engine.tick()
    engine.tick()
    status = engine.status()
    assert status.connectivity == OFFLINE and status.queued == 1 and status.oldest_unsynced_at is not None
    engine.close()


def test_engine_delivers_pulls_and_reports(server: RunningServer, counter: Engine) -> None:
    engine = SyncEngine(counter, server.client(), options=EngineOptions(worker=WorkerOptions(retry=FAST_RETRY)))
    queue_sale(counter, 4, f"Q-{uuid.uuid4().hex[:8]}")
    seen: list[SyncStatus] = []
    engine.tick(seen.append)
    assert seen[0].syncing and seen[-1].online and seen[-1].queued == 0
    assert seen[-1].summary() == "Online · all synced"
    refreshed = engine.refresh_member(4)
    assert refreshed is not None and refreshed.found
    engine.close()


def test_engine_surfaces_a_refused_key(server: RunningServer, counter: Engine) -> None:
    engine = fast_engine(counter, LoyaltyClient(ApiConfig(base_url=server.api_url, api_key="revoked")))
    queue_sale(counter, 5, f"Q-{uuid.uuid4().hex[:8]}")
    engine.tick()
    status = engine.status()
    assert status.auth_problem and status.summary().startswith("API key refused · 1 queued")
    assert status.level == "error"
    engine.close()


def test_engine_without_a_server_still_counts_the_queue(counter: Engine) -> None:
    engine = fast_engine(counter, None)
    queue_sale(counter, 6, f"Q-{uuid.uuid4().hex[:8]}")
    engine.tick()
    status = engine.status()
    assert status.connectivity == NOT_CONFIGURED and status.queued == 1
    assert engine.refresh_member(6) is None
    engine.close()


def test_panel_entries_say_what_waits_for_what(server: RunningServer, counter: Engine) -> None:
    from tests.sync.helpers import Line

    engine = fast_engine(counter, server.client())
    bad_sale, _ = queue_sale(counter, 7, f"Q-{uuid.uuid4().hex[:8]}", lines=(Line("Broken", "X", "Hair", 0, 100),))
    queue_void(counter, bad_sale)
    queue_sale(counter, 7, f"Q-{uuid.uuid4().hex[:8]}")  # independent of the refused one: it goes
    engine.tick()
    entries = engine.entries()
    assert [(e.status, e.kind_label) for e in entries] == [("parked", "Sale"), ("pending", "Void")]
    assert entries[1].waiting_behind == entries[0].id and entries[0].last_error
    assert entries[1].hold_reason and "waits for its sale" in entries[1].hold_reason
    assert entries[0].member_name and entries[0].receipt_no
    engine.discard(entries[0].id, staff_id=3, note="test")
    engine.tick()
    left = engine.entries()  # its void has nothing to take back now: a manager sees why
    assert [(e.status, e.kind_label) for e in left] == [("parked", "Void")]
    assert "never reached the server" in (left[0].last_error or "")
    engine.close()


def test_every_database_write_of_sync_runs_on_the_executor_it_is_given(server: RunningServer,
                                                                       counter: Engine) -> None:
    import threading

    from sqlalchemy import event

    from frontdesk.store.writer import DatabaseExecutor

    executor = DatabaseExecutor("test-db")
    executor_thread = executor.call(threading.get_ident)
    writers: set[int] = set()

    def record(_conn, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            writers.add(threading.get_ident())

    event.listen(counter, "before_cursor_execute", record)
    engine = SyncEngine(counter, server.client(), db_executor=executor,
                        options=EngineOptions(worker=WorkerOptions(retry=FAST_RETRY, offline_backoff=FAST_RETRY),
                                              members_interval=0, programme_interval=0))
    try:
        queue_sale(counter, 27, f"X-{uuid.uuid4().hex[:8]}")
        writers.clear()
        engine.tick()  # probe, deliver, pull the programme and the members
        assert engine.status().queued == 0
        assert writers == {executor_thread}
    finally:
        event.remove(counter, "before_cursor_execute", record)
        engine.close()
        executor.shutdown()
