"""Every fault switch of the reference server, against the worker: everything arrives, once, in order per member."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from frontdesk.store.models import Member, OutboxEntry, Sale
from tests.sync.conftest import RunningServer, drain_until_empty, fast_worker
from tests.sync.helpers import (
    member_ids,
    outbox_statuses,
    queue_adjust,
    queue_sale,
    queue_void,
)

FAULTS: list[tuple[str, dict[str, Any]]] = [
    ("latency", {"latency_ms": 15, "latency_jitter_ms": 15}),
    ("error_rate", {"error_rate": 0.3}),
    ("drop_rate", {"drop_rate": 0.3}),
    ("drop_after_commit", {"drop_after_commit_rate": 0.3}),
    ("rate_limit", {"rate_limit_rate": 0.2, "retry_after": 0.2}),
    ("error_after_commit", {"error_after_commit_rate": 0.3}),
    ("garbage", {"garbage_rate": 0.3}),
    ("hollow", {"hollow_rate": 0.3}),
    ("hollow_after_commit", {"hollow_after_commit_rate": 0.3}),
    ("everything", {"latency_ms": 2, "error_rate": 0.1, "drop_rate": 0.1, "drop_after_commit_rate": 0.1,
                    "rate_limit_rate": 0.05, "retry_after": 0.1, "error_after_commit_rate": 0.1,
                    "garbage_rate": 0.05, "hollow_rate": 0.05, "hollow_after_commit_rate": 0.05}),
]


@pytest.fixture(scope="module")
def strict_server(server_factory: Callable[..., RunningServer]) -> RunningServer:
    """Only the documented contract: no Idempotency-Key, no filterable transaction listing (eber-api.md §7)."""
    return server_factory("--strict")


def run_matrix(target: RunningServer, counter: Engine, switches: dict[str, Any]) -> None:
    members = member_ids(counter, 8)
    expected: dict[int, list[str]] = {m: [] for m in members}
    sales: list[int] = []
    for index in range(40):
        member_id = members[index % len(members)]
        number = f"F-{uuid.uuid4().hex[:12]}"
        sale_id, _ = queue_sale(counter, member_id, number)
        expected[member_id].append(number)
        sales.append(sale_id)
    queue_void(counter, sales[0])
    queue_adjust(counter, members[1], 25)
    started = max((t["id"] for t in target.transactions()), default=0)
    target.faults(seed=11, **switches)
    try:
        drain_until_empty(fast_worker(counter, target.client(read_timeout=5), threads=4), timeout=90)
    finally:
        target.faults()
    assert outbox_statuses(counter) == {"done": 42}
    numbers = {n for ns in expected.values() for n in ns}
    purchases = [t for t in target.transactions() if t["transaction_no"] in numbers and t["type"] == "purchase"]
    assert sorted(t["transaction_no"] for t in purchases) == sorted(numbers)  # each exactly once
    with Session(counter) as session:
        server_ids = dict(session.execute(select(Member.id, Member.server_id)).all())
        assert session.scalar(select(Sale.status).where(Sale.id == sales[0])) == "synced"
        assert all(e.delivered_at for e in session.scalars(select(OutboxEntry)))
    for member_id, numbers_in_order in expected.items():
        server_id = server_ids[member_id]
        assert [t["transaction_no"] for t in purchases if t["user_id"] == server_id] == numbers_in_order
    voids = [t for t in target.transactions() if t["type"] == "void" and t["transaction_no"] == expected[members[0]][0]]
    assert len(voids) == 1
    # A points adjustment has no natural key: its reference, looked for when its answer was lost, keeps it single.
    adjusts = [t for t in target.transactions() if t["type"] == "adjust" and t["user_id"] ==
               server_ids[members[1]] and t["note"] == "goodwill" and t["id"] > started]
    assert len(adjusts) == 1
    with Session(counter) as session:
        # Nothing is left in doubt, nothing was marked synced that the server does not hold.
        assert set(session.scalars(select(Sale.status))) == {"synced"}


@pytest.mark.parametrize("name, switches", FAULTS, ids=[name for name, _ in FAULTS])
def test_fault_matrix(server: RunningServer, counter: Engine, name: str, switches: dict[str, Any]) -> None:
    run_matrix(server, counter, switches)


@pytest.mark.parametrize("name, switches", FAULTS, ids=[name for name, _ in FAULTS])
def test_fault_matrix_on_the_documented_contract_only(strict_server: RunningServer, counter: Engine, name: str,
                                                      switches: dict[str, Any]) -> None:
    strict_server.faults()
    try:
        run_matrix(strict_server, counter, switches)
    finally:
        strict_server.faults()
