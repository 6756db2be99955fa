"""The receipt after a sale, void or refund: what happened to the points, to copy or print.

Printing uses Qt's own QPrinter (PySide6-Essentials ships QtPrintSupport): the text is laid out in a monospaced
QTextDocument so the columns of the receipt stay aligned on any printer, or in a PDF (`save_pdf`).
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import (
    QFont,
    QFontDatabase,
    QGuiApplication,
    QKeySequence,
    QShortcut,
    QTextDocument,
)
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from frontdesk.sales import RecordedSale, ReversalResult


def receipt_font() -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSize(10)
    return font


def receipt_document(text: str) -> QTextDocument:
    document = QTextDocument()
    document.setDefaultFont(receipt_font())
    document.setPlainText(text)
    return document


def print_text(text: str, printer: QPrinter) -> None:
    receipt_document(text).print_(printer)


def save_pdf(text: str, path: str | Path) -> Path:
    """Write the receipt to a PDF file (no printer needed): for e-mailing, and for checking the print layout."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(path))
    print_text(text, printer)
    return Path(path)


class ReceiptView(QWidget):
    done = Signal()
    void_requested = Signal(int)  # sale id
    copied = Signal()

    def __init__(self, title: str, headline: str, text: str, *, note: str = "", sale_id: int | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Background")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.text = text
        self.sale_id = sale_id
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 18, 24, 18)
        layout.setSpacing(10)
        title_label = QLabel(title)
        title_label.setObjectName("MemberName")
        layout.addWidget(title_label)
        self.headline = QLabel(headline)
        self.headline.setObjectName("BigNumber")
        self.headline.setWordWrap(True)
        layout.addWidget(self.headline)
        self.note = QLabel(note)
        self.note.setObjectName("Flag")
        self.note.setWordWrap(True)
        self.note.setVisible(bool(note))
        layout.addWidget(self.note)
        body = QHBoxLayout()
        self.text_view = QPlainTextEdit(text)
        self.text_view.setReadOnly(True)
        self.text_view.setFont(receipt_font())
        self.text_view.setMinimumWidth(520)
        self.text_view.setMaximumWidth(600)
        self.text_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        body.addWidget(self.text_view)
        body.addStretch(1)
        layout.addLayout(body, 1)
        buttons = QHBoxLayout()
        self.copy_button = QPushButton("&Copy receipt text")
        self.copy_button.clicked.connect(self.copy)
        self.print_button = QPushButton("&Print…")
        self.print_button.clicked.connect(self.print_dialog)
        self.void_button = QPushButton("&Void or refund this sale…")
        self.void_button.setObjectName("Danger")
        self.void_button.setVisible(sale_id is not None)
        self.void_button.clicked.connect(lambda: self.sale_id is not None and self.void_requested.emit(self.sale_id))
        self.done_button = QPushButton("Done  (Enter)")
        self.done_button.setObjectName("Primary")
        self.done_button.clicked.connect(self.done.emit)
        for button in (self.copy_button, self.print_button, self.void_button, self.done_button):
            button.setAutoDefault(False)
            buttons.addWidget(button)
            if button is self.void_button:
                buttons.addStretch(1)
        layout.addLayout(buttons)
        for key in ("Return", "Enter"):
            shortcut = QShortcut(QKeySequence(key), self, activated=self.done.emit)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)

    @classmethod
    def for_sale(cls, sale: RecordedSale, member_name: str) -> ReceiptView:
        headline = f"+{sale.points_earned:,} pts earned · new balance {sale.new_balance:,} pts"
        if sale.points_redeemed:
            headline = (f"+{sale.points_earned:,} earned, −{sale.points_redeemed:,} redeemed · "
                        f"new balance {sale.new_balance:,} pts")
        note = ""
        if sale.replayed:
            note = "This sale had already been saved: nothing was recorded twice."
        elif sale.provisional:
            note = "Redeemed offline: provisional until the loyalty server confirms it."
        return cls(f"Sale {sale.receipt_no} recorded for {member_name}", headline, sale.receipt_text, note=note,
                   sale_id=sale.sale_id)

    @classmethod
    def for_reversal(cls, result: ReversalResult) -> ReceiptView:
        reversal = result.reversal
        title = "Sale voided" if result.kind == "void" else "Refund recorded"
        headline = f"{reversal.points_change:+,} pts · new balance {result.new_balance:,} pts"
        note = ""
        if reversal.shortfall_points:
            note = (f"Shortfall: {reversal.shortfall_points:,} pts had already been spent and could not be taken "
                    "back. It is recorded for the manager.")
        elif not result.queued:
            note = "No points changed, so there is nothing to send to the loyalty server."
        return cls(title, headline, result.receipt_text, note=note)

    def show_server_points(self, server_points: int, preview_points: int) -> None:
        """Once sync has delivered the sale: say so when the server credited other points than the preview."""
        if server_points == preview_points:
            return
        self.note.setText(f"The loyalty server credited {server_points:+,} pts for this sale, not the "
                          f"{preview_points:+,} pts previewed: the server's figure is the one that counts.")
        self.note.show()

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text)
        self.copy_button.setText("Copied ✓")
        self.copied.emit()

    def print_dialog(self) -> None:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        dialog = QPrintDialog(printer, self)
        dialog.setWindowTitle("Print receipt")
        if dialog.exec() == QDialog.DialogCode.Accepted:
            print_text(self.text, printer)
