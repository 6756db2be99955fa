"""A receipt voided and recorded again reaches the server under its own number ("-R1", "-R2"...), because the
server refuses a repeated receipt number. The sale, its void, a resend after a lost answer and the natural-key
lookup that settles an in-doubt sale must all agree on that number."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from frontdesk.store.models import OutboxEntry, Sale
from sync.eber.effects import build_plan
from tests.sync.conftest import RunningServer, drain_until_empty, fast_worker
from tests.sync.helpers import outbox_statuses, queue_sale, queue_void


def _rows(server: RunningServer, number: str) -> list[dict[str, Any]]:
    return [t for t in server.transactions() if str(t["transaction_no"]).startswith(number)]


def _plan_number(counter: Engine, outbox_id: int) -> str:
    with counter.connect() as conn:
        row = conn.execute(select(OutboxEntry.__table__).where(OutboxEntry.__table__.c.id == outbox_id)).one()
        plan = build_plan(conn, row, "SG")
    form = plan.issue if plan.issue is not None else plan.void_form
    return str(form["transaction_no"])


@pytest.mark.parametrize("answers", ["answered", "lost"])
def test_a_re_recorded_receipt_its_void_and_its_resend_use_one_number(server: RunningServer, counter: Engine,
                                                                     answers: str) -> None:
    number = f"RR-{uuid.uuid4().hex[:10]}"
    worker = fast_worker(counter, server.client(read_timeout=5))
    first, _ = queue_sale(counter, 6, number)
    drain_until_empty(worker)
    _void, void_entry = queue_void(counter, first)
    second, second_entry = queue_sale(counter, 7, number)  # the same receipt, now for the right member
    assert _plan_number(counter, void_entry) == number
    assert _plan_number(counter, second_entry) == f"{number}-R1"
    if answers == "lost":
        # Both effects applied and their answers lost: each is in doubt, then settled by asking again under
        # its own number (a refused repeat, then the natural-key lookup), never by sending it twice.
        server.faults(drop_after_commit_rate=1.0)
        try:
            worker.run_once()
        finally:
            server.faults()
        assert outbox_statuses(counter) == {"done": 1, "in_doubt": 2}
    drain_until_empty(worker)
    assert outbox_statuses(counter) == {"done": 3}
    rows = _rows(server, number)
    assert sorted((r["transaction_no"], r["type"], r["voided"], r["user_id"]) for r in rows) == [
        (number, "purchase", True, 100005), (number, "void", False, 100005),
        (f"{number}-R1", "purchase", False, 100006)]
    with Session(counter) as session:
        assert session.scalar(select(Sale.status).where(Sale.id == second)) == "synced"

    # Voided again and recorded a third time: the second sale's void goes under "-R1", the third sale is "-R2".
    _void2, void2_entry = queue_void(counter, second)
    third, third_entry = queue_sale(counter, 6, number)
    assert _plan_number(counter, void2_entry) == f"{number}-R1"
    assert _plan_number(counter, third_entry) == f"{number}-R2"
    drain_until_empty(worker)
    rows = _rows(server, number)
    assert sorted((r["transaction_no"], r["type"], r["voided"]) for r in rows) == [
        (number, "purchase", True), (number, "void", False), (f"{number}-R1", "purchase", True),
        (f"{number}-R1", "void", False), (f"{number}-R2", "purchase", False)]
    with Session(counter) as session:
        assert session.scalar(select(Sale.status).where(Sale.id == third)) == "synced"
