"""Offline to online: sales queued while the server is down all arrive once it is up, in order per member."""
from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

from sqlalchemy import Engine

from sync.client import ApiConfig, LoyaltyClient
from sync.engine import EngineOptions, SyncEngine
from sync.outbox import WorkerOptions
from sync.status import OFFLINE, ONLINE, SyncStatus
from tests.sync.conftest import API_KEY, FAST_RETRY, RunningServer, free_port
from tests.sync.helpers import member_ids, outbox_statuses, queue_sales


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_hundred_sales_queued_offline_arrive_in_order(server_factory: Callable[..., RunningServer],
                                                      counter: Engine) -> None:
    port = free_port()
    members = member_ids(counter, 12)
    plan = [(members[i % len(members)], f"O-{uuid.uuid4().hex[:10]}") for i in range(100)]
    queue_sales(counter, plan)
    client = LoyaltyClient(ApiConfig(base_url=f"http://127.0.0.1:{port}/v3/public", api_key=API_KEY,
                                     connect_timeout=1, read_timeout=5))
    engine = SyncEngine(counter, client, options=EngineOptions(
        probe_interval=0.2, failures_to_offline=3, status_interval=0.2, programme_interval=3600,
        members_interval=3600, worker=WorkerOptions(retry=FAST_RETRY, offline_backoff=FAST_RETRY, idle_interval=0.2)))
    seen: list[SyncStatus] = []
    stop = threading.Event()
    thread = threading.Thread(target=engine.run_forever, args=(stop, seen.append), daemon=True)
    thread.start()
    try:
        wait_for(lambda: bool(seen) and seen[-1].connectivity == OFFLINE, 15, "the counter to go offline")
        offline = seen[-1]
        assert offline.queued == 100 and offline.summary().startswith("Offline · 100 queued · oldest")
        assert outbox_statuses(counter) == {"pending": 100}

        server = server_factory(port=port)  # the server comes up on the address the counter is configured with
        wait_for(lambda: outbox_statuses(counter) == {"done": 100}, 30, "the queue to drain")
        wait_for(lambda: seen[-1].connectivity == ONLINE and seen[-1].queued == 0, 10, "online, nothing queued")
        assert seen[-1].summary() == "Online · all synced"
    finally:
        stop.set()
        thread.join(timeout=10)
        engine.close()
    numbers = {number for _, number in plan}
    delivered = [t for t in server.transactions() if t["transaction_no"] in numbers]
    assert len(delivered) == 100
    for member_id in members:
        expected = [number for m, number in plan if m == member_id]
        assert [t["transaction_no"] for t in delivered if t["user_id"] == 100000 + member_id - 1] == expected
