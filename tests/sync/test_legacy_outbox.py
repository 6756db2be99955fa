"""An upgraded counter's queue: entries frozen in the old wire format (schema 0001/0002) still deliver, with the
member's current identifier, and an entry the old worker had already tried comes up in doubt."""
from __future__ import annotations

import json
import shutil
import sqlite3
import uuid
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontdesk.store.db import make_engine, upgrade_database
from frontdesk.store.models import OutboxEntry, Sale
from tests.sync.conftest import RunningServer, drain_until_empty, fast_worker
from tests.sync.helpers import queue_sale

RELEASE_0001 = Path(__file__).parents[1] / "data" / "counter-0001.sqlite"


def test_old_format_entries_deliver_after_the_upgrade(server: RunningServer, tmp_path: Path) -> None:
    path = tmp_path / "counter.sqlite"
    shutil.copy2(RELEASE_0001, path)
    tried = f"L-{uuid.uuid4().hex[:10]}"
    conn = sqlite3.connect(path)
    member_id, server_id, phone = conn.execute("SELECT id, server_id, phone_e164 FROM members WHERE id = 3").fetchone()
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    cursor = conn.execute(
        "INSERT INTO sales(kind, receipt_no, outlet_code, counter_id, sales_mode, member_id, occurred_at, currency,"
        " subtotal_minor, tax_minor, service_charge_minor, discount_minor, total_minor, points_earned,"
        " points_redeemed, status, provisional, receipt_text, note, created_at) VALUES"
        " ('sale', ?, 'TAMPINES', 'C1', 'counter', ?, ?, 'SGD', 4500, 0, 0, 0, 4500, 45, 0, 'pending', 0, '', '', ?)",
        (tried, member_id, now, now))
    params = {"phone": phone[3:], "phone_code": "SG", "amount": "45.00", "transaction_no": tried,
              "custom_store_id": "TAMPINES", "custom_store_code": "TAMPINES", "custom_staff_id": "S01"}
    # Tried once by the old worker (attempts 1, answer lost): it may be on the server already.
    conn.execute("INSERT INTO outbox(idempotency_key, kind, partition_key, sale_id, member_id, payload, status,"
                 " attempts, response, created_at) VALUES (?, 'sale', ?, ?, ?, ?, 'pending', 1, '{}', ?)",
                 (uuid.uuid4().hex, f"member:{member_id}", cursor.lastrowid, member_id,
                  json.dumps({"endpoint": "integration/issue_point", "params": params, "redeem_codes": []}), now))
    conn.commit()
    conn.close()
    # It was applied (for this member): the old worker's answer was lost.
    server.client().issue_point({**{k: v for k, v in params.items() if k not in ("phone", "phone_code")},
                                 "user_id": server_id})
    upgrade_database(path)
    engine = make_engine(path)
    try:
        with Session(engine) as session:
            entry = session.scalars(select(OutboxEntry)).one()
            assert entry.status == "in_doubt"
            assert session.get(Sale, entry.sale_id).status == "in_doubt"  # type: ignore[union-attr]
        fresh = f"L-{uuid.uuid4().hex[:10]}"
        queue_sale(engine, member_id, fresh, legacy=True)  # frozen with the member's server id by an old counter
        worker = fast_worker(engine, server.client())
        drain_until_empty(worker)
        worker.close()
        with Session(engine) as session:
            sales = {s.receipt_no: s for s in session.scalars(select(Sale))}
            assert sales[tried].status == "synced" and sales[tried].server_transaction_id  # resolved, not doubled
            assert sales[fresh].status == "synced"
        held = [t for t in server.transactions() if t["transaction_no"] in (tried, fresh)]
        assert sorted(t["transaction_no"] for t in held) == sorted([tried, fresh])
        assert {t["user_id"] for t in held} == {server_id}
    finally:
        engine.dispose()
