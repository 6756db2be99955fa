"""The member panel: who is at the counter, what they have, what they can use."""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from frontdesk.domain import phone as phones
from frontdesk.domain.money import Money

if TYPE_CHECKING:  # the panel is built before the first paint; the lookup (SQLAlchemy) loads after it
    from frontdesk.members.lookup import MemberView


def _label(text: str = "", name: str | None = None, wrap: bool = False) -> QLabel:
    label = QLabel(text)
    if name:
        label.setObjectName(name)
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _card(title: str) -> tuple[QFrame, QVBoxLayout]:
    frame = QFrame()
    frame.setObjectName("Card")
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(16, 12, 16, 12)
    layout.setSpacing(6)
    layout.addWidget(_label(title, "SectionTitle"))
    return frame, layout


class MemberPanel(QWidget):
    new_sale_requested = Signal(int)
    card_requested = Signal(int)
    closed = Signal()

    def __init__(self, zone: ZoneInfo, currency: str = "SGD", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._zone = zone
        self._currency = currency
        self._view: MemberView | None = None
        self.setObjectName("MemberPanel")

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(12)

        # Header: name, tier, identifiers, flags, actions.
        header = QHBoxLayout()
        who = QVBoxLayout()
        name_row = QHBoxLayout()
        self.name_label = _label("", "MemberName")
        self.tier_badge = _label("", "TierBadge")
        name_row.addWidget(self.name_label)
        name_row.addWidget(self.tier_badge, 0, Qt.AlignmentFlag.AlignVCenter)
        name_row.addStretch(1)
        who.addLayout(name_row)
        self.ids_label = _label("", "Muted")
        who.addWidget(self.ids_label)
        flags = QHBoxLayout()
        self.birthday_flag = _label("Birthday this month", "Flag")
        self.pending_flag = _label("", "Flag")
        flags.addWidget(self.birthday_flag)
        flags.addWidget(self.pending_flag)
        flags.addStretch(1)
        who.addLayout(flags)
        header.addLayout(who, 1)
        actions = QVBoxLayout()
        self.new_sale_button = QPushButton("New sale  (F2)")
        self.new_sale_button.setObjectName("Primary")
        self.new_sale_button.clicked.connect(lambda: self._view and self.new_sale_requested.emit(self._view.profile.id))
        self.card_button = QPushButton("Member QR card")
        self.card_button.clicked.connect(lambda: self._view and self.card_requested.emit(self._view.profile.id))
        actions.addWidget(self.new_sale_button)
        actions.addWidget(self.card_button)
        actions.addStretch(1)
        header.addLayout(actions)
        outer.addLayout(header)

        # Points and tier side by side.
        grid = QGridLayout()
        grid.setSpacing(12)
        points_card, points = _card("Points")
        self.points_label = _label("", "BigNumber")
        self.points_value_label = _label("", "Muted")
        self.expiring_label = _label("", "Warning", wrap=True)
        self.unsynced_label = _label("", "Muted", wrap=True)
        self.stored_value_label = _label("", "Muted", wrap=True)
        points.addWidget(self.points_label)
        points.addWidget(self.points_value_label)
        points.addWidget(self.expiring_label)
        points.addWidget(self.unsynced_label)
        points.addWidget(self.stored_value_label)
        points.addStretch(1)
        tier_card, tier = _card("Tier")
        self.tier_name_label = _label("", "BigNumber")
        self.tier_progress = QProgressBar()
        self.tier_progress.setRange(0, 1000)
        self.tier_progress.setTextVisible(False)
        self.tier_progress_label = _label("", "Muted", wrap=True)
        self.downgrade_label = _label("", "Warning", wrap=True)
        self.perks_label = _label("", "Muted", wrap=True)
        tier.addWidget(self.tier_name_label)
        tier.addWidget(self.tier_progress)
        tier.addWidget(self.tier_progress_label)
        tier.addWidget(self.downgrade_label)
        tier.addWidget(self.perks_label)
        tier.addStretch(1)
        rewards_card, rewards = _card("Rewards they can use")
        self.rewards_list = QListWidget()
        self.rewards_list.setObjectName("RewardsList")
        self.rewards_list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.rewards_list.setMinimumHeight(60)
        self.rewards_list.setWordWrap(True)
        self.rewards_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        rewards.addWidget(self.rewards_list)
        grid.addWidget(points_card, 0, 0)
        grid.addWidget(tier_card, 0, 1)
        grid.addWidget(rewards_card, 0, 2)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(2, 1)
        outer.addLayout(grid)

        visits_card, visits = _card("Recent visits")
        self.visits_summary = _label("", "Muted", wrap=True)
        visits.addWidget(self.visits_summary)
        self.visits_table = QTableWidget(0, 6)
        self.visits_table.setHorizontalHeaderLabels(["When", "Receipt", "Total", "Points", "Status", "Outlet"])
        self.visits_table.verticalHeader().setVisible(False)
        self.visits_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.visits_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.visits_table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.visits_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.visits_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.visits_table.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.ResizeToContents)
        visits.addWidget(self.visits_table)
        outer.addWidget(visits_card, 2)

        notes_card, notes = _card("Notes")
        self.notes_label = _label("", wrap=True)
        notes.addWidget(self.notes_label)
        outer.addWidget(notes_card)

    # --- content ---------------------------------------------------------------------------------------------
    @property
    def profile(self):  # type: ignore[no-untyped-def]
        return self._view.profile if self._view else None

    @property
    def member_id(self) -> int | None:
        return self._view.profile.id if self._view else None

    def show_member(self, view: MemberView, today: date | None = None) -> None:
        self._view = view
        p = view.profile
        self.name_label.setText(p.name or "(no name)")
        if view.tier:
            self.tier_badge.setText(view.tier.name)
            self.tier_badge.setStyleSheet(f"background: {view.tier.colour};")
            self.tier_badge.show()
        else:
            self.tier_badge.hide()
        ids = [x for x in (phones.display(p.phone_e164), p.email or "", p.member_no or "") if x]
        self.ids_label.setText("   ·   ".join(ids))
        self.birthday_flag.setText(f"Birthday this month · {view.birthday_perk}" if view.birthday_perk else
                                   "Birthday this month")
        self.birthday_flag.setVisible(view.birthday_this_month)
        if p.status == "pending":
            self.pending_flag.setText("New member: waiting for the loyalty server")
            self.pending_flag.show()
        else:
            self.pending_flag.hide()

        self.points_label.setText(f"{p.available_points:,} pts")
        self.points_value_label.setText(f"worth {view.points_value.display()}" if view.points_value else
                                        f"lifetime {p.lifetime_points:,} pts")
        if p.points_expiring and p.points_expiring_on:
            self.expiring_label.setText(f"{p.points_expiring:,} pts expire on {p.points_expiring_on:%d %b %Y}")
            self.expiring_label.show()
        else:
            self.expiring_label.hide()
        if p.unsynced_points:
            self.unsynced_label.setText(
                f"Includes {p.unsynced_points:+,} pts from this counter not yet confirmed by the server "
                f"(server balance {p.points_balance:,})")
            self.unsynced_label.show()
        else:
            self.unsynced_label.hide()

        self.tier_name_label.setText(view.tier.name if view.tier else "No tier")
        if view.next_tier_progress is not None:
            self.tier_progress.setValue(int(view.next_tier_progress * 1000))
            self.tier_progress.show()
        else:
            self.tier_progress.hide()
        self.tier_progress_label.setText(view.next_tier_text)
        self.tier_progress_label.setVisible(bool(view.next_tier_text))
        self.downgrade_label.setText(view.downgrade_warning)
        self.downgrade_label.setVisible(bool(view.downgrade_warning))
        self.perks_label.setText("Perks: " + " · ".join(view.perks) if view.perks else "")
        self.perks_label.setVisible(bool(view.perks))
        if p.stored_value_minor:
            self.stored_value_label.setText(
                f"Stored value {Money.from_minor(p.stored_value_minor, self._currency).display()}")
        self.stored_value_label.setVisible(bool(p.stored_value_minor))

        self.rewards_list.clear()
        for reward in view.rewards:
            self.rewards_list.addItem(f"{reward.name}  —  {reward.detail}")
        if not view.rewards:
            self.rewards_list.addItem("Nothing to redeem yet")

        self.visits_summary.setText(_visits_summary(p, self._zone))
        self.visits_table.setRowCount(len(p.recent))
        for row, tx in enumerate(p.recent):
            local = tx.occurred_at.astimezone(self._zone)
            money = Money.from_minor(tx.total_minor, tx.currency)
            reversal = tx.kind != "sale"
            # A reversal row's "earned" is what it gave back and its "redeemed" what it took back.
            earned = tx.server_points if tx.server_points is not None and not reversal else tx.points_earned
            points = f"+{earned:,}" if earned else ""
            if tx.points_redeemed:
                points += f"  −{tx.points_redeemed:,}"
            if not reversal and tx.server_points is not None and tx.server_points != tx.points_earned:
                points += f"  (preview {tx.points_earned:+,})"
            status = {"pending": "waiting to sync", "synced": "synced", "rejected": "REJECTED"}.get(tx.status, tx.status)
            if tx.reversed_as:
                status = ("VOIDED · " if tx.reversed_as == "void" else "REFUNDED · ") + status
            kind = "" if tx.kind == "sale" else f" ({tx.kind})"
            total = f"−{money.display()}" if reversal else money.display()
            for col, text in enumerate([_when(local), tx.receipt_no + kind, total, points, status, tx.outlet_code]):
                item = QTableWidgetItem(text)
                if col in (2, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if tx.reversed_as or reversal:
                    item.setForeground(QColor("#8a1c1c" if reversal else "#7b8794"))
                if col == 3 and "preview" in text:
                    item.setToolTip("The loyalty server credited a different number of points than the counter's "
                                    "preview; the server's figure is the one that counts.")
                self.visits_table.setItem(row, col, item)
        if not p.recent:
            self.visits_table.setRowCount(1)
            self.visits_table.setItem(0, 0, QTableWidgetItem(
                "No sales at this counter yet" + (" (visits elsewhere are summed up above)" if p.visits_count else "")))
        self.notes_label.setText(p.notes or "—")


def _visits_summary(profile, zone: ZoneInfo) -> str:  # type: ignore[no-untyped-def]
    """One line of the member's whole visit history, by outlet: the server's figures where it has them."""
    count = max(profile.visits_count, sum(v.visits for v in profile.visits_by_outlet))
    if not count:
        return "No visits on record yet"
    parts = [f"{v.outlet_code} {v.visits}" + (f" (last {v.last_visit_at.astimezone(zone):%d %b %Y})"
                                              if v.last_visit_at else "") for v in profile.visits_by_outlet]
    return f"{count:,} visit{'s' if count != 1 else ''} on record" + (": " + " · ".join(parts) if parts else "")


def _when(local: datetime) -> str:
    return f"{local:%a %d %b %Y, %H:%M}"
