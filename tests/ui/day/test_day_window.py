"""The Day window driven like a manager: the table (checked with qtmodeltester), sorting and filtering, Enter opens
the receipt and void/refund goes on from there, exports, resolving blockers, closing with an override, reopening;
a receptionist sees only their own shift until a manager's PIN. Screenshots at 1366×768 go to tests/screenshots/."""
from __future__ import annotations

import csv
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from frontdesk.reports.day import load_day
from frontdesk.ui.day.model import DayFilterModel, DayTableModel
from tests.conftest import SCREENSHOTS
from tests.conftest import save_screenshot as _save
from tests.reports.conftest import GeneratedDay, sql
from tests.ui.day.conftest import WAIT, answer_approval


def save_screenshot(widget, name: str) -> Path:  # type: ignore[no-untyped-def]
    for _ in range(3):
        QApplication.processEvents()
    return _save(widget, name)


def assert_nothing_cut(window) -> None:  # type: ignore[no-untyped-def]
    """Every column is as wide as its widest cell (what the item delegate itself asks for) and its header, the
    table needs no sideways scrolling, and every figure of the totals shows without scrolling."""
    table, header = window.table, window.table.horizontalHeader()
    for column in range(window.model.columnCount()):
        name = window.model.headerData(column, Qt.Orientation.Horizontal)
        assert table.sizeHintForColumn(column) <= table.columnWidth(column), name
        text = header.fontMetrics().horizontalAdvance(name)
        assert text + 12 <= table.columnWidth(column), name  # the style sheet's 6px padding either side
        if header.sortIndicatorSection() == column:  # the centred text ends before the arrow at the right edge
            assert (table.columnWidth(column) - text) / 2 >= 6 + 10, name
    assert table.horizontalScrollBar().maximum() == 0
    assert window.totals_scroll.verticalScrollBar().maximum() == 0, "the totals panel scrolls at 1366x768"


def test_model_passes_qtmodeltester(qtmodeltester, generated_day: GeneratedDay) -> None:
    report = load_day(generated_day.engine, generated_day.scope, generated_day.home)
    model = DayTableModel(generated_day.home.zone)
    model.set_rows(report.rows)
    qtmodeltester.check(model)
    proxy = DayFilterModel()
    proxy.setSourceModel(model)
    proxy.sort(5, Qt.SortOrder.DescendingOrder)
    proxy.set_status("rejected")
    qtmodeltester.check(proxy)
    assert proxy.rowCount() == sum(1 for r in report.rows if r.status == "rejected") > 0


def test_manager_reviews_sorts_filters_and_opens_a_receipt(qtbot, day_window_factory, generated_day) -> None:
    window = day_window_factory()
    window.resize(1366, 768)
    state = window.state
    assert state is not None and window.model.rowCount() == len(state.report.rows)
    totals = state.report.totals.to_dict()
    text = window.totals_label.text()
    assert totals["net"] in text and totals["sales"]["gross"] in text and f"{totals['points']['issued']:,}" in text
    sync_line = window.sync_label.text()
    for key, word in (("synced", "synced"), ("pending", "pending"), ("in_doubt", "in doubt"),
                      ("rejected", "rejected")):
        assert f"<b>{totals['sync'][key]:,}</b> {word}" in sync_line
    assert f"oldest not settled: {totals['sync']['oldest_unsynced']['local_time']}" in sync_line
    save_screenshot(window, "day-window-transactions")
    assert_nothing_cut(window)

    # Sort by total, largest first, with a click on the header (twice: ascending, then descending).
    header = window.table.horizontalHeader()
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                     pos=header.viewport().rect().topLeft() + _section_centre(header, 5))
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                     pos=header.viewport().rect().topLeft() + _section_centre(header, 5))
    totals_shown = [window.proxy.index(r, 5).data(Qt.ItemDataRole.UserRole + 1) for r in range(window.proxy.rowCount())]
    assert totals_shown == sorted(totals_shown, reverse=True)

    # Filter by typing a receipt number, then by status.
    qtbot.keyClicks(window.filter_edit, "D0004")
    assert {window.proxy.index(r, 2).data() for r in range(window.proxy.rowCount())} == {"D0004"}
    assert window.proxy.rowCount() == 3  # the sale and its two partial refunds
    # The tender cell names the methods ("Cash + Card"); an amount of the split still finds the sale.
    window.filter_edit.clear()
    split = next(r for r in window.state.report.rows if " + " in r.tender)
    part = split.tender.split(" + ")[0].rsplit(" ", 1)[1]
    qtbot.keyClicks(window.filter_edit, part)
    found = [r for r in range(window.proxy.rowCount()) if window.proxy.index(r, 2).data() == split.receipt_no]
    assert found and window.proxy.index(found[0], 8).data() == " + ".join(
        piece.rsplit(" ", 1)[0] for piece in split.tender.split(" + "))
    assert window.proxy.index(found[0], 8).data(Qt.ItemDataRole.ToolTipRole) == split.tender
    window.filter_edit.clear()
    assert window.empty_state.text == ""
    qtbot.keyClicks(window.filter_edit, "no such receipt")
    assert window.proxy.rowCount() == 0 and window.empty_state.text == "No rows match the filter."
    window.filter_edit.clear()
    window.status_combo.setCurrentIndex(window.status_combo.findData("in doubt"))
    assert window.proxy.rowCount() == len(generated_day.in_doubt_outbox)
    save_screenshot(window, "day-window-filtered")
    assert_nothing_cut(window)  # sorted by the total now: its header makes room for the arrow
    window.status_combo.setCurrentIndex(0)

    # Enter on a sale opens its receipt; its void button hands the sale to the counter's void/refund dialog.
    window.filter_edit.setText("D0006")
    window.table.setFocus()
    window.table.selectRow(0)
    sale_row = window.model.row_at(window.proxy.mapToSource(window.proxy.index(0, 0)).row())
    qtbot.keyClick(window.table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.receipt_dialog is not None and window.receipt_dialog.isVisible(), timeout=WAIT)
    receipt = window.receipt_dialog
    assert "D0006" in receipt.view.text and receipt.view.void_button.isVisible()
    save_screenshot(receipt, "day-receipt")
    with qtbot.waitSignal(window.void_requested, timeout=WAIT) as asked:
        qtbot.mouseClick(receipt.view.void_button, Qt.MouseButton.LeftButton)
    assert asked.args == [sale_row.sale_id]


def test_a_day_with_nothing_recorded_says_so(qtbot, day_window_factory, generated_day) -> None:
    from PySide6.QtCore import QDate

    window = day_window_factory()
    window.resize(1366, 768)
    quiet = generated_day.day.replace(year=generated_day.day.year - 1)
    with qtbot.waitSignal(window.loaded, timeout=WAIT):
        window.date_edit.setDate(QDate(quiet.year, quiet.month, quiet.day))
    assert window.model.rowCount() == 0
    assert window.empty_state.text.startswith("Nothing recorded at this counter on ")
    save_screenshot(window, "day-window-empty")


def _section_centre(header, column):  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QPoint

    return QPoint(header.sectionViewportPosition(column) + header.sectionSize(column) // 2, header.height() // 2)


def test_exports_from_the_window(qtbot, day_window_factory, tmp_path: Path) -> None:
    window = day_window_factory()
    tmp_path = tmp_path / "exports"
    tmp_path.mkdir()
    window.choose_path = lambda _title, suggested, _pattern: str(tmp_path / suggested)
    with qtbot.waitSignal(window.action_done, timeout=WAIT):
        qtbot.mouseClick(window.csv_button, Qt.MouseButton.LeftButton)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert any(name.endswith("-lines.csv") for name in files) and len(files) == 2
    sales_file = next(p for p in tmp_path.iterdir() if not p.name.endswith("-lines.csv"))
    assert sales_file.read_bytes().startswith(b"\xef\xbb\xbf")
    with qtbot.waitSignal(window.action_done, timeout=WAIT):
        qtbot.mouseClick(window.pdf_button, Qt.MouseButton.LeftButton)
    pdf = next(tmp_path.glob("*-x.pdf"))
    assert pdf.read_bytes().startswith(b"%PDF")


def test_blockers_resolved_from_the_close_tab_then_override_close_and_reopen(qtbot, day_window_factory,
                                                                             generated_day) -> None:
    window = day_window_factory()
    window.tabs.setCurrentIndex(2)
    assert window.blockers_table.rowCount() == len(window.state.blockers) > 0
    assert not window.close_button.isEnabled() and window.override_button.isEnabled()
    save_screenshot(window, "day-window-close-blockers")
    assert_action_buttons_whole(window)

    # Discard one rejected entry with a reason, through its row's button and the manager's PIN.
    rejected = next(b for b in window.state.blockers if b.kind == "rejected")
    row = window.state.blockers.index(rejected)
    buttons = window.blockers_table.cellWidget(row, 1).findChildren(type(window.close_button))
    discard = next(b for b in buttons if b.text().startswith("Discard"))
    answer_approval(qtbot, reason="duplicate receipt keyed by mistake")
    with qtbot.waitSignal(window.loaded, timeout=WAIT):
        qtbot.mouseClick(discard, Qt.MouseButton.LeftButton)
    assert sql(generated_day.db, "SELECT status FROM outbox WHERE id=?", (rejected.outbox_id,))[0][0] == "discarded"
    assert rejected.row_key not in {b.row_key for b in window.state.blockers}

    # A wrong PIN never closes anything; the dialog stays with its message (then is cancelled).
    seen: list = []
    answer_approval(qtbot, pin="0000", reason="server down", seen=seen)
    from PySide6.QtCore import QTimer

    def cancel_when_refused() -> None:
        if seen and seen[0].message.text():
            seen[0].reject()
        else:
            QTimer.singleShot(50, cancel_when_refused)

    QTimer.singleShot(50, cancel_when_refused)
    qtbot.mouseClick(window.override_button, Qt.MouseButton.LeftButton)
    assert "PIN" in seen[0].message.text() or "pin" in seen[0].message.text().lower()
    assert sql(generated_day.db, "SELECT count(*) FROM day_closes")[0][0] == 0

    answer_approval(qtbot, reason="loyalty server down all evening")
    with qtbot.waitSignal(window.loaded, timeout=WAIT):
        qtbot.mouseClick(window.override_button, Qt.MouseButton.LeftButton)
    assert window.state.closed and window.state.close.override_reason == "loyalty server down all evening"
    assert window.reopen_button.isEnabled() and not window.override_button.isEnabled()
    assert window.pdf_button.text().startswith("Z report")
    save_screenshot(window, "day-window-closed")
    assert_action_buttons_whole(window)
    table = window.blockers_table
    assert table.verticalScrollBar().maximum() == 0, "the open items scroll while the close notes have room"

    answer_approval(qtbot, reason="late refund belongs to this day")
    with qtbot.waitSignal(window.loaded, timeout=WAIT):
        qtbot.mouseClick(window.reopen_button, Qt.MouseButton.LeftButton)
    assert not window.state.closed and window.state.history[0]["reopen_reason"] == "late refund belongs to this day"


def assert_action_buttons_whole(window) -> None:  # type: ignore[no-untyped-def]
    """Every blocker's buttons show their whole text: none narrower than it asks to be, all inside the table."""
    from PySide6.QtWidgets import QPushButton

    table = window.blockers_table
    viewport = table.viewport()
    buttons = [button for row in range(table.rowCount()) if table.cellWidget(row, 1) is not None
               for button in table.cellWidget(row, 1).findChildren(QPushButton)]
    assert len(buttons) >= len(window.state.blockers)
    for button in buttons:
        assert button.width() >= button.sizeHint().width(), button.text()
        assert button.fontMetrics().horizontalAdvance(button.text()) < button.width(), button.text()
        left = button.mapTo(viewport, button.rect().topLeft()).x()
        assert 0 <= left and left + button.width() <= viewport.width(), button.text()


def test_point_adjustment_from_the_window(qtbot, day_window_factory, generated_day) -> None:
    window = day_window_factory()
    window.table.selectRow(0)
    member = window.model.row_at(window.proxy.mapToSource(window.proxy.index(0, 0)).row())
    qtbot.mouseClick(window.adjust_button, Qt.MouseButton.LeftButton)
    dialog = window.adjust_dialog
    qtbot.waitUntil(lambda: dialog.manager_combo.findData(3) >= 0, timeout=WAIT)
    dialog.manager_combo.setCurrentIndex(dialog.manager_combo.findData(3))
    qtbot.keyClicks(dialog.points_edit, "+75")
    qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)  # no note yet
    qtbot.waitUntil(lambda: dialog.errors["note"].isVisible(), timeout=WAIT)
    qtbot.keyClicks(dialog.note_edit, "birthday treat")
    qtbot.keyClicks(dialog.pin_edit, "9999")
    save_screenshot(dialog, "day-adjust-points")
    with qtbot.waitSignal(window.loaded, timeout=WAIT):
        qtbot.mouseClick(dialog.apply_button, Qt.MouseButton.LeftButton)
    rows = sql(generated_day.db, "SELECT member_id, points, note FROM point_adjustments ORDER BY id DESC LIMIT 1")
    assert rows[0] == (member.member_id, 75, "birthday treat")
    assert "queued" in window.message.text()


def test_receptionist_sees_only_their_shift_until_a_manager_unlocks(qtbot, day_window_factory, generated_day) -> None:
    window = day_window_factory(staff_id=1)  # Jason Lim, a receptionist
    rows = window.state.report.rows
    assert rows and all(r.staff_name in ("Jason Lim", "Mei Tan") for r in rows)  # reversals: by the manager
    assert all(r.kind in ("sale", "void", "refund") for r in rows)
    assert not window.close_button.isEnabled() and not window.csv_button.isEnabled()
    assert not window.tabs.isTabEnabled(2)
    everyone = load_day(generated_day.engine, generated_day.scope, generated_day.home)
    assert len(rows) < len(everyone.rows)
    save_screenshot(window, "day-window-own-shift")
    assert_nothing_cut(window)  # "Refund" and the names whole in a receptionist's view too
    answer_approval(qtbot)
    with qtbot.waitSignal(window.loaded, timeout=WAIT):
        qtbot.mouseClick(window.manager_button, Qt.MouseButton.LeftButton)
    assert window.manager_mode and window.tabs.isTabEnabled(2) and window.csv_button.isEnabled()


def test_charts_tab(qtbot, day_window_factory) -> None:
    window = day_window_factory()
    window.tabs.setCurrentIndex(1)
    assert len(window.chart_views) == 4
    titles = [view.chart().title() for view in window.chart_views]
    assert titles[0].startswith("Sales by hour") and "Tender mix" in titles
    save_screenshot(window, "day-window-charts")
    heights = [view.height() for view in window.chart_views]
    assert min(heights) >= 250 and max(heights) - min(heights) <= 4, heights  # two rows of one size


def test_csv_reads_back(day_window_factory, tmp_path: Path, generated_day) -> None:  # type: ignore[no-untyped-def]
    from frontdesk.reports.export import write_csv

    report = load_day(generated_day.engine, generated_day.scope, generated_day.home)
    sales_path, _lines = write_csv(report, tmp_path / "day.csv")
    with open(sales_path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(report.rows)


def test_the_report_prints_through_a_printer_as_well(qtbot, generated_day, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Printing paints the same pages on a QPrinter (here one that prints to a file, at the printer's own 1200 dpi)."""
    import subprocess

    from PySide6.QtPrintSupport import QPrinter

    from frontdesk.reports.close import day_state
    from frontdesk.ui.day.pdf import paint_day_report

    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "printed.pdf"))
    state = day_state(generated_day.engine, generated_day.scope, generated_day.home)
    paint_day_report(state, printer)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "printed.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert state.report.totals.to_dict()["net"] in text and "Exceptions" in text
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)  # a fresh clone has none yet
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "1", str(tmp_path / "printed.pdf"),
                    str(SCREENSHOTS / "day-printed")], check=True)
