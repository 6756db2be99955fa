"""Point adjustments: a manager's goodwill or correction, queued, delivered to the real reference server like any
effect, and shown in the day."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime

import pytest
from sqlalchemy import Engine

from frontdesk.config import Settings
from frontdesk.reports.close import blockers, discard_with_reason
from frontdesk.reports.day import DayScope, Home, load_day
from frontdesk.sales.adjustments import AdjustmentRefused, PointAdjustments, parse_points
from frontdesk.staff.service import StaffService
from frontdesk.store.members import load_profile
from frontdesk.ui.day import sync_decisions
from tests.reports.conftest import MANAGER, PIN
from tests.sync.conftest import drain_until_empty, fast_worker


def _query(engine: Engine, statement: str, params: dict | None = None) -> list:
    from sqlalchemy import text

    with engine.connect() as conn:
        return list(conn.execute(text(statement), params or {}))


def _available(engine: Engine, member_id: int) -> int:
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        profile = load_profile(session, member_id, recent_limit=0)
        assert profile is not None
        return profile.available_points


@pytest.mark.parametrize("text,points", [("+200", 200), ("-50", -50), ("1,000", 1000), ("\u2212 30", -30),
                                         ("abc", None), ("1.5", None), ("+-3", None), ("", None)])
def test_points_are_parsed_strictly(text: str, points: int | None) -> None:
    assert parse_points(text) == points


def test_adjustments_sync_and_show_in_the_day(counter: Engine, server) -> None:  # type: ignore[no-untyped-def]
    settings = replace(Settings(), outlet_code="TAMPINES", counter_id="C2")
    staff = StaffService(counter)
    adjustments = PointAdjustments(counter, settings, staff)
    member = _query(counter, "SELECT id, points_balance FROM members WHERE status='active' AND points_balance > 100 "
                             "ORDER BY id LIMIT 1")[0]
    before = _available(counter, member.id)

    with pytest.raises(AdjustmentRefused) as refused:
        adjustments.adjust(member.id, "+100", reason="goodwill", note="", manager_id=MANAGER, pin=PIN)
    assert "note" in refused.value.errors
    with pytest.raises(AdjustmentRefused) as refused:
        adjustments.adjust(member.id, "+100", reason="goodwill", note="late appointment", manager_id=1, pin="1111")
    assert "pin" in refused.value.errors
    with pytest.raises(AdjustmentRefused) as refused:
        adjustments.adjust(member.id, f"-{before + 1}", reason="correction", note="too many", manager_id=MANAGER,
                           pin=PIN)
    assert "points" in refused.value.errors
    assert _query(counter, "SELECT count(*) FROM point_adjustments")[0][0] == 0

    added = adjustments.adjust(member.id, "+150", reason="goodwill", note="late appointment", manager_id=MANAGER,
                               pin=PIN)
    assert added.new_available == before + 150 == _available(counter, member.id)
    entry = _query(counter, "SELECT kind, status, payload FROM outbox WHERE id = "
                            "(SELECT outbox_id FROM point_adjustments WHERE id = :id)", {"id": added.adjustment_id})[0]
    assert entry.kind == "adjust" and entry.status == "pending"
    assert json.loads(entry.payload)["points_change"] == 150
    assert _query(counter, "SELECT action FROM audit_log ORDER BY id DESC LIMIT 1")[0][0] == "points.adjust"

    # Another adjustment the server will refuse: it removes more than the server's balance (the local cache was
    # raised by hand, as a stale cache would be).
    _query(counter, "SELECT 1")
    with counter.begin() as conn:
        from sqlalchemy import text

        conn.execute(text("UPDATE members SET points_balance = points_balance + 100000 WHERE id = :id"),
                     {"id": member.id})
    refused_one = adjustments.adjust(member.id, "-90000", reason="correction", note="bad import", manager_id=MANAGER,
                                     pin=PIN)

    drain_until_empty(fast_worker(counter, server.client()))
    statuses = dict(_query(counter, "SELECT id, status FROM outbox WHERE kind='adjust'"))
    assert sorted(statuses.values()) == ["done", "parked"]
    ledger = dict(_query(counter, "SELECT points, status FROM points_ledger WHERE kind='adjust'"))
    assert ledger[150] == "confirmed"
    on_server = [t for t in server.transactions() if t.get("type") == "adjust"]
    assert any(t["points"] == 150 for t in on_server)

    zone = settings.zone
    home = Home(outlet="TAMPINES", counter="C2", zone=zone)
    report = load_day(counter, DayScope(datetime.now(zone).date()), home)
    rows = [r for r in report.rows if r.kind == "adjustment"]
    assert [(r.points_earned, r.points_redeemed, r.sync) for r in rows] == [(150, 0, "synced"),
                                                                            (0, 90000, "rejected")]
    assert report.totals.points_adjusted_added == 150 and report.totals.points_adjusted_removed == 0
    blocker = [b for b in blockers(report) if b.row_key == rows[1].key][0]
    assert blocker.actions == ("retry", "discard")
    discard_with_reason(sync_decisions(), counter, blocker.outbox_id, MANAGER, "entered in error")
    assert dict(_query(counter, "SELECT points, status FROM points_ledger WHERE kind='adjust'"))[-90000] == "rejected"
    report = load_day(counter, DayScope(datetime.now(zone).date()), home)
    assert not [b for b in blockers(report) if b.row_key == rows[1].key]
    assert refused_one.points == -90000
