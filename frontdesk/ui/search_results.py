"""The list of members under the search box: a model of search hits and a two-line delegate."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
)
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

if TYPE_CHECKING:  # the hits arrive from the search, after the first paint
    from frontdesk.domain.members import MemberSummary

MemberRole = Qt.ItemDataRole.UserRole + 1

_MATCH_LABEL = {
    "phone": "phone", "phone_digits": "phone digits", "email": "email", "email_prefix": "email",
    "member_no": "member ID", "code": "scanned code", "server_id": "member", "name": "name",
}


class SearchResultsModel(QAbstractListModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._hits: list[MemberSummary] = []

    def set_hits(self, hits: list[MemberSummary]) -> None:
        self.beginResetModel()
        self._hits = list(hits)
        self.endResetModel()

    def hit(self, row: int) -> MemberSummary | None:
        return self._hits[row] if 0 <= row < len(self._hits) else None

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._hits)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._hits):
            return None
        hit = self._hits[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return hit.name
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{hit.name} · {hit.phone_display} · {hit.member_no or ''}"
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{hit.name}, {hit.tier_code or 'no tier'}, {hit.points} points"
        if role == MemberRole:
            return hit
        return None


class SearchResultDelegate(QStyledItemDelegate):
    """Name and tier on the first line; phone, member ID, points and what matched on the second."""

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return QSize(option.rect.width(), 54)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        hit: MemberSummary | None = index.data(MemberRole)
        if hit is None:
            return super().paint(painter, option, index)
        painter.save()
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.fillRect(option.rect, QColor("#dbe7fb") if selected else QColor("white"))
        rect = option.rect.adjusted(12, 6, -12, -6)
        name_font = QFont(option.font)
        # The style sheet sizes fonts in pixels, so the point size is -1 here: scale whichever one is set.
        if option.font.pixelSize() > 0:
            name_font.setPixelSize(round(option.font.pixelSize() * 1.1))
        else:
            name_font.setPointSizeF(option.font.pointSizeF() * 1.1)
        name_font.setWeight(QFont.Weight.DemiBold)
        painter.setFont(name_font)
        painter.setPen(QColor("#1f2933"))
        top = QRect(rect.left(), rect.top(), rect.width(), rect.height() // 2)
        painter.drawText(top, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, hit.name)
        small = QFont(option.font)
        painter.setFont(small)
        painter.setPen(QColor("#52606d"))
        tier = (hit.tier_code or "").title()
        painter.drawText(top, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                         f"{tier}   {hit.points:,} pts")
        bottom = QRect(rect.left(), rect.top() + rect.height() // 2, rect.width(), rect.height() // 2)
        matched = f"matched {_MATCH_LABEL.get(hit.match, hit.match)}"
        metrics = painter.fontMetrics()
        room = bottom.width() - metrics.horizontalAdvance(matched) - 16
        detail = "   ".join(x for x in (hit.phone_display, hit.member_no or "", hit.email or "") if x)
        painter.drawText(bottom, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         metrics.elidedText(detail, Qt.TextElideMode.ElideRight, room))
        painter.setPen(QColor("#9aa5b1"))
        painter.drawText(bottom, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, matched)
        painter.setPen(QColor("#eef1f4"))
        painter.drawLine(option.rect.bottomLeft(), option.rect.bottomRight())
        painter.restore()
