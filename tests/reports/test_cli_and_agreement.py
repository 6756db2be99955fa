"""`frontdesk day` as IT and accountants run it (a real subprocess, headless), and the screen, the JSON, the CSV and
the PDF agreeing to the cent and the point."""
from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from frontdesk.invoices.reconcile import reconcile_day
from frontdesk.reports.close import day_state
from tests.conftest import SCREENSHOTS
from tests.reports.conftest import GeneratedDay, settle, sql

ROOT = Path(__file__).resolve().parents[2]


def run_day(g: GeneratedDay, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    command = [sys.executable, "-m", "frontdesk", "day", "--db", str(g.db), "--date", g.day.isoformat(),
               "--outlet", "all", "--counter", "all", *args]
    return subprocess.run(command, cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=120)


def test_json_csv_pdf_and_screen_agree(qtbot, generated_day: GeneratedDay, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    g = generated_day
    out = tmp_path / "out"
    result = run_day(g, "--json", "--csv", str(out / "day.csv"), "--pdf", str(out / "day.pdf"))
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    state = day_state(g.engine, g.scope, g.home)  # type: ignore[arg-type]
    expected = state.report.totals.to_dict()
    assert {k: v for k, v in figures.items() if k not in ("day", "reconciliation")} == expected
    # The WESS-receipt reconciliation of the command line's home outlet ("all" outlets: the counter's own).
    mailed = reconcile_day(g.engine, g.day, figures["reconciliation"]["outlet_code"], g.home.zone)  # type: ignore[arg-type]
    assert figures["reconciliation"] == mailed.to_json()
    assert figures["day"]["closed"] is False and len(figures["day"]["blockers"]) == len(state.blockers)

    # CSV: UTF-8 with BOM, ISO times with the zone's offset, plain decimals; sums are the totals.
    raw = (out / "day.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with open(out / "day.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert all(r["time"].startswith(g.day.isoformat()) and r["time"].endswith("+08:00") for r in rows)
    assert sum(Decimal(r["total"]) for r in rows) == Decimal(figures["net"])
    sales = [r for r in rows if r["kind"] == "sale"]
    assert sum(Decimal(r["total"]) for r in sales) == Decimal(figures["sales"]["gross"])
    kept = [r for r in sales if r["sync"] not in ("rejected", "discarded")]
    assert sum(int(r["points_earned"]) for r in kept) == figures["points"]["issued"]
    assert sum(int(r["points_redeemed"]) for r in kept) == figures["points"]["redeemed"]
    assert all("," not in r["total"] and "$" not in r["total"] for r in rows)
    with open(out / "day-lines.csv", encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.DictReader(handle))
    by_category: dict[str, Decimal] = {}
    for line in lines:
        by_category[line["category"] or "(none)"] = by_category.get(line["category"] or "(none)", Decimal(0)) + \
            Decimal(line["total"])
    assert {k: str(v) for k, v in by_category.items()} == {k: v["amount"] for k, v in figures["by_category"].items()}

    # PDF: two pages; its text carries the same figures.
    text = subprocess.run(["pdftotext", "-layout", str(out / "day.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    pages = subprocess.run(["pdfinfo", str(out / "day.pdf")], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+2$", pages, re.MULTILINE), pages
    for value in (figures["net"], figures["sales"]["gross"], figures["sales"]["tax"], figures["voids"]["amount"],
                  f"{figures['points']['issued']:,}", f"{figures['points']['redeemed']:,}",
                  f"{figures['points']['net']:+,}", *figures["by_payment_method"].values()):
        assert value in text, value
    assert "X report" in text
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)  # a fresh clone has none yet
    for page in (1, 2):
        subprocess.run(["pdftoppm", "-r", "100", "-png", "-f", str(page), "-l", str(page), str(out / "day.pdf"),
                        str(SCREENSHOTS / f"day-report-page{page}")], check=True)

    # The screen shows the same figures.
    from frontdesk.reports.service import DayService
    from frontdesk.staff.service import StaffService
    from frontdesk.ui.day.screen import DayWindow
    from frontdesk.ui.tasks import TaskRunner

    runner = TaskRunner(inline=True)
    staff = StaffService(g.engine)  # type: ignore[arg-type]
    window = DayWindow(DayService(g.engine, g.settings, staff), runner, staff.get(3), day=g.day)  # type: ignore[arg-type]
    qtbot.addWidget(window)
    window.scope_combo.setCurrentIndex(1)  # all outlets and counters, as the command line was asked
    shown = window.totals_label.text()
    for value in (figures["net"], figures["sales"]["gross"], f"{figures['points']['issued']:,}",
                  f"{figures['points']['net']:+,}"):
        assert value in shown, value
    model = window.model
    assert sum(model.row_at(r).total_minor for r in range(model.rowCount())) == \
        int(Decimal(figures["net"]) * 100)
    runner.shutdown()


def test_close_from_the_command_line(generated_day: GeneratedDay) -> None:
    g = generated_day
    refused = run_day(g, "close")
    assert refused.returncode == 1
    assert "cannot close" in refused.stdout and "Sync now" in refused.stdout and "Retry" in refused.stdout
    assert refused.stdout.count("\n  - ") == len(day_state(g.engine, g.scope, g.home).blockers)  # type: ignore[arg-type]
    assert sql(g.db, "SELECT count(*) FROM day_closes")[0][0] == 0

    # Settle everything (the sync worker's outcomes, and a discard with a reason), then close with the PIN.
    from sync.outbox import discard_entry

    state = day_state(g.engine, g.scope, g.home)  # type: ignore[arg-type]
    for blocker in state.blockers:
        if blocker.kind == "rejected":
            discard_entry(g.engine, blocker.outbox_id, 3, note="refused: reward already used")  # type: ignore[arg-type]
        else:
            settle(g.db, blocker.outbox_id, "done")  # type: ignore[arg-type]
    wrong = run_day(g, "close", "--manager", "S03", stdin="1234\n")
    assert wrong.returncode == 1 and "PIN" in wrong.stderr
    closed = run_day(g, "close", "--manager", "S03", "--json", stdin="9999\n")
    assert closed.returncode == 0, closed.stderr
    assert closed.stdout.startswith("Closed ")
    figures = json.loads(closed.stdout.split("\n", 1)[1])
    assert figures["day"]["closed"] is True and figures["day"]["after_close"] == []
    again = run_day(g, "close", "--manager", "S03", stdin="9999\n")
    assert again.returncode == 1 and "already closed" in again.stderr


def test_bad_input_gets_a_clear_message(generated_day: GeneratedDay) -> None:
    bad = subprocess.run([sys.executable, "-m", "frontdesk", "day", "--db", str(generated_day.db), "--date",
                          "2026-13-40", "--json"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "is not a date like" in bad.stderr


def test_summary_without_options(generated_day: GeneratedDay) -> None:
    result = run_day(generated_day)
    assert result.returncode == 0 and "Sales" in result.stdout and "net" in result.stdout


@pytest.mark.parametrize("text", ["=HYPERLINK(\"x\")", "+1", "@cmd"])
def test_csv_cells_never_start_a_formula(text: str) -> None:
    from frontdesk.reports.export import _cell

    assert _cell(text).startswith("'") and _cell("-12.50") == "-12.50"
