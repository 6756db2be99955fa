"""The day close lists the WESS-receipt reconciliation: a member's receipt with no loyalty sale blocks the close
(with what resolves it) until resolved; warnings are shown and never block. The library, the JSON and the command
line agree."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from devtools.invoice_corpus import SGT, make_receipt, to_eml
from frontdesk.invoices.importer import Origin
from frontdesk.reports.close import DayActionRefused, close_day, day_state
from frontdesk.reports.day import DayScope, Home
from frontdesk.staff.service import StaffService

FOLDER = Origin(source="folder", mailbox="day")
MANAGER, PIN = 3, "9999"  # the demo's manager
ROOT = Path(__file__).resolve().parents[2]


def run_day(db: Path, day: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    command = [sys.executable, "-m", "frontdesk", "day", "--db", str(db), "--date", day, "--outlet", "TAMPINES",
               "--counter", "C2", *args]
    return subprocess.run(command, cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=120)


@pytest.fixture
def mailed_day(invoices, members, settings):  # type: ignore[no-untyped-def]
    """Yesterday at TAMPINES: a member's WESS receipt that does not add up (in review, no loyalty sale: missed
    points) and a walk-in's receipt naming no one (waiting: a warning)."""
    when = (datetime.now(SGT) - timedelta(days=1)).replace(hour=11, minute=0, second=0, microsecond=0)
    rng = random.Random(14)
    missed = make_receipt(rng, 1, member=members[0], when=when)
    missed.gst += Decimal("1.00")
    outcome = invoices.importer.process_mail(to_eml(missed, "html"), FOLDER)
    assert outcome.status == "review" and outcome.review_code == "gst"
    walk_in = make_receipt(rng, 2, member=None, when=when.replace(hour=12))
    invoices.importer.process_mail(to_eml(walk_in, "html"), FOLDER)
    scope = DayScope(day=when.date(), outlet="TAMPINES", counter="C2")
    home = Home(outlet="TAMPINES", counter="C2", zone=settings.zone)
    return scope, home, missed, walk_in, outcome.invoice_id


def test_a_member_receipt_without_a_loyalty_sale_blocks_the_close_until_resolved(invoices, engine, settings,
                                                                                  mailed_day) -> None:  # type: ignore[no-untyped-def]
    scope, home, missed, walk_in, invoice_id = mailed_day
    staff = StaffService(engine)
    state = day_state(engine, scope, home)
    [blocker] = [b for b in state.blockers if b.kind == "missed_points"]
    assert missed.receipt_no in blocker.text and blocker.invoice_id == invoice_id
    assert blocker.to_dict()["actions"] == ["Open invoice review"]
    assert any(walk_in.receipt_no in w for w in state.warnings)
    assert not any(walk_in.receipt_no in b.text for b in state.blockers)  # a warning never blocks
    other = [b for b in state.blockers if b.kind != "missed_points"]
    assert other == []  # the demo's day is otherwise settled: only the reconciliation holds it open

    with pytest.raises(DayActionRefused) as refused:
        close_day(engine, scope, home, staff, manager_id=MANAGER, pin=PIN)
    assert [b.kind for b in refused.value.blockers] == ["missed_points"]

    # The command line: non-zero exit listing the blocker with its action, and the warning.
    cli = run_day(settings.database_path, scope.day.isoformat(), "close", "--manager", "S03", stdin=f"{PIN}\n")
    assert cli.returncode == 1, cli.stderr
    assert "cannot close" in cli.stdout and missed.receipt_no in cli.stdout
    assert "Open invoice review" in cli.stdout
    assert "Warnings (1" in cli.stdout and walk_in.receipt_no in cli.stdout
    shown = json.loads(run_day(settings.database_path, scope.day.isoformat(), "--json").stdout)
    assert shown["reconciliation"]["blockers"] == 1 and shown["reconciliation"]["warnings"] == 1
    assert {i["kind"] for i in shown["reconciliation"]["items"]} == {"missed_points", "waiting"}
    assert [b["kind"] for b in shown["day"]["blockers"]] == ["missed_points"]

    # Resolved in the invoice review (discarded with a reason): only the warning is left, and the day closes.
    invoices.review.discard(invoice_id, manager_id=MANAGER, pin=PIN, reason="a staff test receipt")
    state = day_state(engine, scope, home)
    assert state.blockers == [] and len(state.warnings) == 1
    closed = run_day(settings.database_path, scope.day.isoformat(), "close", "--manager", "S03", stdin=f"{PIN}\n")
    assert closed.returncode == 0, closed.stdout + closed.stderr
    assert walk_in.receipt_no in closed.stdout and "Closed " in closed.stdout
    assert day_state(engine, scope, home).closed


def test_warnings_alone_do_not_block_the_close(invoices, engine, mailed_day) -> None:  # type: ignore[no-untyped-def]
    scope, home, _missed, walk_in, invoice_id = mailed_day
    invoices.review.discard(invoice_id, manager_id=MANAGER, pin=PIN, reason="a staff test receipt")
    state = day_state(engine, scope, home)
    assert state.blockers == [] and state.reconciliation is not None
    assert [i.kind for i in state.reconciliation.warnings] == ["waiting"]
    record = close_day(engine, scope, home, StaffService(engine), manager_id=MANAGER, pin=PIN)
    assert record.override_reason is None and record.blockers == []
