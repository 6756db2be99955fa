"""Show a member's QR card, print it, or save it as PNG/PDF.

    token = sign_member_card(member.member_no, settings.member_card_key)
    MemberCardDialog(member.display_name, member.member_no, token, parent=window).exec()

Printing uses QtPrintSupport, which ships in PySide6-Essentials. Files are written in the GUI thread on purpose: one
~50 KB image, written only when the receptionist clicks Save, and the click needs its answer straight away.
"""
from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, QSizeF, Qt
from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPainter, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from frontdesk.scan.cards import (
    CARD_SIZE_PX,
    card_png_bytes,
    render_card_pdf,
    render_card_png,
)

try:  # QtPrintSupport is part of PySide6-Essentials; guard anyway so a trimmed build still shows and saves cards
    from PySide6.QtPrintSupport import QPrintDialog, QPrinter
except ImportError:  # pragma: no cover - depends on the Qt build
    QPrinter = None  # type: ignore[assignment,misc]
    QPrintDialog = None  # type: ignore[assignment,misc]

CARD_MM = (85.60, 53.98)


def _safe_file_stem(name: str, member_no: str) -> str:
    stem = f"member-card-{member_no}-{name}".strip("-")
    stem = re.sub(r"[^\w\-]+", "-", stem, flags=re.UNICODE).strip("-")
    return stem[:80] or "member-card"


class MemberCardDialog(QDialog):
    def __init__(self, name: str, member_no: str, token: str, parent: QWidget | None = None,
                 save_dir: str | Path | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MemberCardDialog")
        self.setWindowTitle(f"Member card — {name or member_no}")
        self.name = name
        self.member_no = member_no
        self.token = token
        self.save_dir = Path(save_dir) if save_dir else Path.home()
        self.card = QImage.fromData(card_png_bytes(name, member_no, token))

        self._picture = QLabel()
        self._picture.setObjectName("MemberCardPicture")
        self._picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        width = 540
        self._picture.setPixmap(QPixmap.fromImage(self.card).scaledToWidth(
            width, Qt.TransformationMode.SmoothTransformation))
        self._picture.setMinimumSize(width, round(width * CARD_SIZE_PX[1] / CARD_SIZE_PX[0]))
        self._message = QLabel("Print it, or save it to send to the member.")
        self._message.setObjectName("MemberCardMessage")
        self._message.setWordWrap(True)

        self.print_button = QPushButton("&Print…")
        self.print_button.clicked.connect(self.print_card)
        if QPrinter is None:
            self.print_button.setEnabled(False)
            self.print_button.setToolTip("Printing is not available in this installation")
        self.png_button = QPushButton("Save &PNG…")
        self.png_button.clicked.connect(lambda: self._save("png"))
        self.pdf_button = QPushButton("Save P&DF…")
        self.pdf_button.clicked.connect(lambda: self._save("pdf"))
        close_button = QPushButton("Close")
        close_button.clicked.connect(self.accept)
        close_button.setDefault(True)

        buttons = QHBoxLayout()
        buttons.addWidget(self.print_button)
        buttons.addWidget(self.png_button)
        buttons.addWidget(self.pdf_button)
        buttons.addStretch(1)
        buttons.addWidget(close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self._picture)
        layout.addWidget(self._message)
        layout.addLayout(buttons)

    @property
    def message(self) -> str:
        return self._message.text()

    def save_png(self, path: str | Path) -> bool:
        return self._write("png", Path(path))

    def save_pdf(self, path: str | Path) -> bool:
        return self._write("pdf", Path(path))

    def _save(self, kind: str) -> None:
        suggested = self.save_dir / f"{_safe_file_stem(self.name, self.member_no)}.{kind}"
        filters = "PNG image (*.png)" if kind == "png" else "PDF document (*.pdf)"
        path, _ = QFileDialog.getSaveFileName(self, "Save member card", str(suggested), filters)
        if path:
            if not path.lower().endswith(f".{kind}"):
                path += f".{kind}"
            self._write(kind, Path(path))

    def _write(self, kind: str, path: Path) -> bool:
        try:
            if kind == "png":
                render_card_png(self.name, self.member_no, self.token, path)
            else:
                render_card_pdf(self.name, self.member_no, self.token, path)
        except (OSError, ValueError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            self._message.setText(f"Couldn't save the card to {path}: {reason}")
            return False
        self.save_dir = path.parent
        self._message.setText(f"Saved {path.name} in {path.parent}")
        return True

    def make_printer(self) -> QPrinter:  # type: ignore[valid-type]
        """A printer set up for a card-sized page (the printer dialog may still change it)."""
        if QPrinter is None:
            raise RuntimeError("Printing is not available in this installation")
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setDocName(f"Member card {self.member_no}")
        size = QPageSize(QSizeF(*CARD_MM), QPageSize.Unit.Millimeter, "Member card",
                         QPageSize.SizeMatchPolicy.FuzzyMatch)
        printer.setPageLayout(QPageLayout(size, QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0),
                                          QPageLayout.Unit.Millimeter))
        return printer

    def paint_card(self, printer: QPrinter) -> bool:  # type: ignore[valid-type]
        """Draw the card on the printer's page, as large as fits, keeping its proportions."""
        painter = QPainter()
        if not painter.begin(printer):
            return False
        try:
            page = QRectF(printer.pageLayout().paintRectPixels(printer.resolution()))
            page.moveTo(0, 0)
            ratio = self.card.width() / self.card.height()
            width = min(page.width(), page.height() * ratio)
            target = QRectF(0, 0, width, width / ratio)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
            painter.drawImage(target, self.card)
        finally:
            painter.end()
        return True

    def print_card(self) -> None:
        if QPrinter is None or QPrintDialog is None:
            return
        printer = self.make_printer()
        dialog = QPrintDialog(printer, self)
        dialog.setWindowTitle("Print member card")
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        if self.paint_card(printer):
            self._message.setText("Sent to the printer.")
        else:
            QMessageBox.warning(self, "Print member card", "The printer could not be started. Check that it is on "
                                                           "and try again.")
