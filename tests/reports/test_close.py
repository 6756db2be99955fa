"""Closing the day: refused with each kind of blocker, each resolved by its action, then closed with a snapshot that
later changes never rewrite; override and reopening need a manager and are audited."""
from __future__ import annotations

import json
from datetime import datetime, time

import pytest

from frontdesk.reports.close import (
    DayActionRefused,
    after_close,
    blockers,
    close_day,
    day_state,
    discard_with_reason,
    explain_entry,
    reopen_day,
    retry,
    send_without_refused,
)
from frontdesk.reports.day import load_day
from frontdesk.ui.day import sync_decisions
from tests.reports.conftest import MANAGER, PIN, GeneratedDay, settle, sql


def kinds(g: GeneratedDay) -> set[str]:
    return {b.kind for b in blockers(load_day(g.engine, g.scope, g.home))}


def audit(g: GeneratedDay, action: str) -> list[dict]:
    return [json.loads(r[0]) for r in sql(g.db, "SELECT details FROM audit_log WHERE action = ? ORDER BY id",
                                          (action,))]


def test_close_refuses_with_every_kind_of_blocker_and_each_action_resolves_it(generated_day: GeneratedDay) -> None:
    g = generated_day
    staff = g.services.staff
    # A discarded entry without a reason is a blocker of its own kind.
    parked = g.rejected_outbox
    assert len(parked) >= 3
    from sync.outbox import discard_entry

    discard_entry(g.engine, parked[0], MANAGER)  # the sync panel allows it without a note
    assert kinds(g) == {"pending", "in_doubt", "rejected", "unexplained"}
    with pytest.raises(DayActionRefused) as refused:
        close_day(g.engine, g.scope, g.home, staff, manager_id=MANAGER, pin=PIN)
    listed = refused.value.blockers
    assert {b.kind for b in listed} == {"pending", "in_doubt", "rejected", "unexplained"}
    for blocker in listed:
        assert blocker.actions and blocker.text
        if blocker.kind == "rejected":
            assert {"retry", "discard"} <= set(blocker.actions)
        if blocker.kind in ("pending", "in_doubt"):
            assert blocker.actions == ("sync_now",)
    assert sql(g.db, "SELECT count(*) FROM day_closes")[0][0] == 0

    # Wrong PIN: refused before anything is looked at.
    with pytest.raises(DayActionRefused) as wrong:
        close_day(g.engine, g.scope, g.home, staff, manager_id=MANAGER, pin="0000")
    assert "pin" in wrong.value.errors

    # Resolve each: explain the unexplained discard, retry one rejected entry (then it is delivered), send one
    # without its refused reward, discard the rest with a reason; deliver the pending and the in-doubt ones.
    explain_entry(g.engine, parked[0], MANAGER, "customer cancelled the visit")
    retry(sync_decisions(), g.engine, parked[1], MANAGER)
    assert sql(g.db, "SELECT status FROM outbox WHERE id=?", (parked[1],))[0][0] == "pending"
    settle(g.db, parked[1], "done")
    report = load_day(g.engine, g.scope, g.home)
    with_points = [b for b in blockers(report) if "send_without_refused" in b.actions]
    assert with_points
    target = with_points[0].outbox_id
    sale_id = with_points[0].sale_id
    # Parked the way the sync worker parks a sale whose points payment the server refused.
    sql(g.db, "UPDATE outbox SET response=? WHERE id=?", (json.dumps({"refused_part": "points"}), target))
    send_without_refused(sync_decisions(), g.engine, target, MANAGER, "points payment refused by the server")
    payload = json.loads(sql(g.db, "SELECT payload FROM outbox WHERE id=?", (target,))[0][0])
    assert payload["without_points_payment"] is True
    assert sql(g.db, "SELECT status FROM outbox WHERE id=?", (target,))[0][0] == "pending"
    assert sql(g.db, "SELECT status FROM sale_redemptions WHERE sale_id=? AND kind='points_money'",
               (sale_id,))[0][0] == "refused"
    assert audit(g, "sync.send_without_part")
    with pytest.raises(DayActionRefused):  # an entry with no refused part cannot be sent "without" it
        other = next(b for b in blockers(load_day(g.engine, g.scope, g.home)) if b.kind == "rejected")
        send_without_refused(sync_decisions(), g.engine, other.outbox_id, MANAGER, "nothing was refused")
    settle(g.db, target, "done")
    for b in blockers(load_day(g.engine, g.scope, g.home)):
        if b.kind == "rejected":
            with pytest.raises(DayActionRefused):
                discard_with_reason(sync_decisions(), g.engine, b.outbox_id, MANAGER, "")  # a reason is required
            discard_with_reason(sync_decisions(), g.engine, b.outbox_id, MANAGER, "server refused: duplicate receipt")
        elif b.kind in ("pending", "in_doubt"):
            settle(g.db, b.outbox_id, "done")
    assert kinds(g) == set()

    record = close_day(g.engine, g.scope, g.home, staff, manager_id=MANAGER, pin=PIN)
    assert record.override_reason is None and record.blockers == []
    state = day_state(g.engine, g.scope, g.home)
    assert state.closed and state.after_close() == []
    assert audit(g, "day.close")[0]["date"] == g.day.isoformat()
    with pytest.raises(DayActionRefused):
        close_day(g.engine, g.scope, g.home, staff, manager_id=MANAGER, pin=PIN)  # already closed


def test_snapshot_survives_later_changes_which_show_as_after_close_adjustments(generated_day: GeneratedDay) -> None:
    g = generated_day
    staff = g.services.staff
    record = close_day(g.engine, g.scope, g.home, staff, manager_id=MANAGER, pin=PIN,
                       override_reason="server down all evening; IT to follow up")
    assert record.blockers and record.override_reason
    overrides = audit(g, "day.close_override")
    assert overrides[0]["override_reason"] == "server down all evening; IT to follow up"
    assert len(overrides[0]["blockers"]) == len(record.blockers)
    frozen = sql(g.db, "SELECT snapshot FROM day_closes WHERE id=?", (record.id,))[0][0]

    # A late sync answer and a refund made that evening, after the close.
    late = g.pending_outbox[0]
    settle(g.db, late, "done", server_points=999)
    sale = [s for s in g.sale_ids if sql(g.db, "SELECT status FROM sales WHERE id=?", (s,))[0][0] == "synced"][-1]
    online = g.services.sales
    online.clock = lambda: datetime.combine(g.day, time(23, 30), g.home.zone)  # that evening
    online.reverse(sale, void=False, amount="1.00", manager_id=MANAGER, manager_pin=PIN, reason="late refund")

    assert sql(g.db, "SELECT snapshot FROM day_closes WHERE id=?", (record.id,))[0][0] == frozen
    state = day_state(g.engine, g.scope, g.home)
    assert state.closed
    changes = state.after_close()
    texts = [c.text for c in changes]
    assert any(c.what == "refunds.count" for c in changes), texts
    assert any(c.what == "net" for c in changes), texts
    assert any("recorded after the close" in t and "Refund" in t for t in texts), texts
    assert any("sync pending → synced" in t for t in texts), texts
    assert state.report.totals.to_dict()["net"] != json.loads(frozen)["totals"]["net"]

    # Reopening needs a manager and a reason; it is audited and the close stays in the history.
    with pytest.raises(DayActionRefused) as no_reason:
        reopen_day(g.engine, g.scope, staff, manager_id=MANAGER, pin=PIN, reason="")
    assert "reason" in no_reason.value.errors
    with pytest.raises(DayActionRefused):
        reopen_day(g.engine, g.scope, staff, manager_id=1, pin="1111", reason="not a manager")
    reopen_day(g.engine, g.scope, staff, manager_id=MANAGER, pin=PIN, reason="refund belongs to this day")
    state = day_state(g.engine, g.scope, g.home)
    assert not state.closed and state.history[0]["status"] == "reopened"
    assert audit(g, "day.reopen")[0]["reason"] == "refund belongs to this day"
    # Closed again, with the new figures; the old close keeps its own snapshot.
    again = close_day(g.engine, g.scope, g.home, staff, manager_id=MANAGER, pin=PIN, override_reason="as before")
    assert again.id != record.id
    assert sql(g.db, "SELECT snapshot FROM day_closes WHERE id=?", (record.id,))[0][0] == frozen
    assert after_close(again, load_day(g.engine, g.scope, g.home)) == []


def test_override_needs_a_real_reason(generated_day: GeneratedDay) -> None:
    g = generated_day
    with pytest.raises(DayActionRefused) as refused:
        close_day(g.engine, g.scope, g.home, g.services.staff, manager_id=MANAGER, pin=PIN, override_reason=" x ")
    assert "reason" in refused.value.errors
    assert sql(g.db, "SELECT count(*) FROM day_closes")[0][0] == 0
