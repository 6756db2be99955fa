"""The Day table's Qt model: one row per `DayRow`, sortable by the real value (time, amount, points), filtered by
free text and by status through `DayFilterModel`."""
from __future__ import annotations

import heapq
from collections.abc import Callable
from operator import attrgetter
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor

from frontdesk.reports.day import KIND_WORDS, DayRow, plain_minor

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2
FILTER_ROLE = Qt.ItemDataRole.UserRole + 3  # what the filter box matches: the cell's text, the tender in full
COLUMNS = ["Time", "Kind", "Receipt", "Member", "Staff", "Total", "Earned", "Redeemed", "Tender", "Status",
           "Provisional"]
NUMERIC = {5, 6, 7}
TABLE_KIND_WORDS = {"adjustment": "Adjustment"}  # "Point adjustment" would widen the column for a rare row
STATUS_COLOURS = {"rejected": "#c62828", "in doubt": "#b7791f", "pending": "#2f6fde", "discarded": "#7b8794",
                  "voided": "#7b8794", "refunded": "#8d6708", "synced": "#2e7d32", "nothing to send": "#7b8794"}
Index = QModelIndex | QPersistentModelIndex
# For sizing the columns: the row field a text column shows, and for a figure the orders whose top rows have the
# longest texts (the biggest amounts and the most negative; ours→the server's points; the biggest redemption).
TEXT_FIELDS = {1: "kind", 2: "receipt_no", 3: "member_name", 4: "staff_name", 8: "tender", 9: "status"}
BIGGEST: dict[int, tuple[Callable[[DayRow], Any], ...]] = {
    5: (lambda row: abs(row.total_minor), lambda row: -row.total_minor),
    6: (lambda row: row.points_earned,
        lambda row: (row.server_points is not None and row.server_points != row.points_earned,
                     max(row.points_earned, row.server_points or 0))),
    7: (lambda row: row.points_redeemed,),
}


def tender_methods(tender: str) -> str:
    """"Cash 66.85 + Card 133.71" as "Cash + Card": the total has its own column, and the methods alone keep the
    tender column narrow enough for the names beside it to show whole."""
    return " + ".join(part.rsplit(" ", 1)[0] if " " in part else part for part in tender.split(" + ")) \
        if tender else ""


class DayTableModel(QAbstractTableModel):
    def __init__(self, zone: ZoneInfo, parent: Any = None) -> None:
        super().__init__(parent)
        self.zone = zone
        self._rows: list[DayRow] = []
        self._sort: tuple[int, Qt.SortOrder] | None = None

    def set_rows(self, rows: list[DayRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        if self._sort is not None:
            self._order(*self._sort)
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorted here with one key per row, not by a proxy asking `data()` twice per comparison: a busy day of
        2,000 rows sorts in a few milliseconds instead of a fifth of a second."""
        if not 0 <= column < len(COLUMNS):
            return
        self._sort = (column, order)
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()
        held = [(self._rows[index.row()], index.column()) for index in before]
        self._order(column, order)
        position = {id(row): number for number, row in enumerate(self._rows)}
        self.changePersistentIndexList(before, [self.index(position[id(row)], col) for row, col in held])
        self.layoutChanged.emit()

    def _order(self, column: int, order: Qt.SortOrder) -> None:
        self._rows.sort(key=lambda row: self._sort_value(row, column),
                        reverse=order == Qt.SortOrder.DescendingOrder)

    def longest_texts(self, column: int, count: int = 8) -> list[str]:
        """The few longest texts of a column, for sizing it (in a proportional font the widest is among the
        longest). Formatting every row's every cell would cost a busy day's 2,000 rows some 30 ms on each reload,
        so only the distinct names and words are formatted, and for the figures the rows with the biggest ones."""
        rows = self._rows
        if not rows or not 0 <= column < len(COLUMNS):
            return []
        if column in TEXT_FIELDS:
            value_of = attrgetter(TEXT_FIELDS[column])
            first = {value_of(row): row for row in reversed(rows)}  # each distinct text, with its first row
            samples = [first[value] for value in heapq.nlargest(count, first, key=len)]
        elif column in BIGGEST:
            samples = [row for key in BIGGEST[column] for row in heapq.nlargest(count, rows, key=key)]
        else:
            samples = rows[:1] if column == 0 else [row for row in rows if row.provisional][:1]  # "HH:MM"; a word
        return heapq.nlargest(count, {self._text(row, column) for row in samples}, key=len)

    def row_at(self, row: int) -> DayRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole and \
                0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows) or not 0 <= index.column() < len(COLUMNS):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, column)
        if role == SORT_ROLE:
            return self._sort_value(row, column)
        if role == ROW_ROLE:
            return row.key
        if role == FILTER_ROLE:
            return row.tender if column == 8 else self._text(row, column)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if column in NUMERIC:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and column == 9:
            return QColor(STATUS_COLOURS.get(row.status, "#1f2933"))
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 8:  # the table names the methods; the split, amount by amount, is here
                return row.tender or None
            if column in (3, 4):  # member, staff: should a window be too narrow for a long name
                return self._text(row, column) or None
            if column == 6 and row.server_points is not None and row.server_points != row.points_earned:
                return (f"The counter estimated {row.points_earned:,} pts; the server credited "
                        f"{row.server_points:,}")
            return row.detail or None
        return None

    def _text(self, row: DayRow, column: int) -> str:
        if column == 0:
            return row.occurred_at.astimezone(self.zone).strftime("%H:%M")
        if column == 1:
            return TABLE_KIND_WORDS.get(row.kind) or KIND_WORDS.get(row.kind, row.kind)
        if column == 2:
            return row.receipt_no
        if column == 3:
            return row.member_name
        if column == 4:
            return row.staff_name
        if column == 5:
            return plain_minor(row.total_minor, row.currency) if row.kind in ("sale", "void", "refund") \
                else ""
        if column == 6:
            if row.server_points is not None and row.server_points != row.points_earned and row.sync == "synced":
                return f"{row.points_earned:,}→{row.server_points:,}"  # ours, then the server's figure
            return f"{row.points_earned:,}" if row.points_earned else ""
        if column == 7:
            return f"{row.points_redeemed:,}" if row.points_redeemed else ""
        if column == 8:
            return tender_methods(row.tender)
        if column == 9:
            return row.status
        return "provisional" if row.provisional else ""

    def _sort_value(self, row: DayRow, column: int) -> Any:
        if column == 0:
            return row.occurred_at.timestamp()
        if column == 5:
            return row.total_minor
        if column == 6:
            return row.points_earned
        if column == 7:
            return row.points_redeemed
        if column == 10:
            return int(row.provisional)
        return self._text(row, column).casefold()


class DayFilterModel(QSortFilterProxyModel):
    """Text typed in the filter box matches any column; the status filter keeps one status (or every one)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(-1)
        self.setFilterRole(FILTER_ROLE)  # an amount of a split tender finds its sale, though the cell shows methods
        self._status = ""
        self._kind = ""

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        source = self.sourceModel()
        if isinstance(source, DayTableModel):
            source.sort(column, order)  # the proxy keeps the source's order and only filters
        else:
            super().sort(column, order)

    def set_status(self, status: str) -> None:
        self._refilter(lambda: setattr(self, "_status", status))

    def set_kind(self, kind: str) -> None:
        self._refilter(lambda: setattr(self, "_kind", kind))

    def _refilter(self, change: Any) -> None:
        # Qt 6.10 replaced invalidateFilter() with a begin/end pair; PySide6 6.8 and 6.9 only have the former.
        if hasattr(self, "beginFilterChange"):
            self.beginFilterChange()
            change()
            self.endFilterChange()
        else:
            change()
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if not self._status and not self._kind and not self.filterRegularExpression().pattern():
            return True  # nothing to filter by: spare a busy day's 2,000 rows the calls into the base class
        model = self.sourceModel()
        if isinstance(model, DayTableModel):
            row = model.row_at(source_row)
            if row is None:
                return False
            if self._status and row.status != self._status:
                return False
            if self._kind and row.kind != self._kind:
                return False
        return super().filterAcceptsRow(source_row, source_parent)
