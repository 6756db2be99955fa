"""The day's charts, with Qt Charts (PySide6-Addons' QtCharts module): sales and points by hour, tender mix, staff.

The same `QChart` objects go on screen (in a `QChartView`) and into the PDF (`render_chart`, drawn through the
PDF's painter, so they stay vector). Every chart is built from `DayTotals` alone, so it shows exactly the figures
the totals print. Animations are off: a chart must be complete the moment it is grabbed or printed.
"""
from __future__ import annotations

from decimal import Decimal

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QCategoryAxis,
    QChart,
    QHorizontalBarSeries,
    QPieSeries,
    QValueAxis,
)
from PySide6.QtCore import QMargins, QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QGraphicsScene

from frontdesk.reports.day import PAYMENT_WORDS, DayTotals

BLUE, GOLD, GREEN, RED, GREY = "#2f6fde", "#b8862b", "#2e7d32", "#c62828", "#9aa5b1"
PALETTE = ["#2f6fde", "#b8862b", "#2e7d32", "#8e44ad", "#c62828", "#16a085", "#7f8c8d"]
OPENING_HOURS = range(9, 22)  # always shown, so two days' charts line up; sales outside extend the axis


def _amount(minor: int) -> float:
    # Charts need floats for bar heights only; every printed figure comes from the totals as text.
    return float(Decimal(minor) / 100)


def _base(title: str) -> QChart:
    chart = QChart()
    chart.setTitle(title)
    title_font = QFont()
    title_font.setPointSize(11)
    title_font.setBold(True)
    chart.setTitleFont(title_font)
    chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
    chart.setBackgroundRoundness(6)
    chart.setMargins(QMargins(6, 6, 6, 6))
    chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
    return chart


def _hours(totals: DayTotals) -> list[int]:
    hours = set(OPENING_HOURS) | set(totals.by_hour)
    return list(range(min(hours), max(hours) + 1))


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        top = step * magnitude
        if top >= value:
            return float(top)
    return float(10 * magnitude)


def hour_labels(hours: list[int]) -> list[str]:
    return [f"{h:02d}" for h in hours]


def sales_by_hour(totals: DayTotals) -> QChart:
    chart = _base(f"Sales by hour ({totals.currency})")
    hours = _hours(totals)
    gross = QBarSet("Gross sales")
    gross.setColor(QColor(BLUE))
    values = [_amount(totals.by_hour.get(h, {}).get("gross", 0)) for h in hours]
    gross.append(values)
    series = QBarSeries()
    series.append(gross)
    series.setBarWidth(0.8)
    chart.addSeries(series)
    _axes(chart, series, hour_labels(hours), _nice_max(max(values, default=0)), "{:.0f}")
    chart.legend().setVisible(False)
    return chart


def points_by_hour(totals: DayTotals) -> QChart:
    chart = _base("Points by hour")
    hours = _hours(totals)
    earned, redeemed = QBarSet("Earned"), QBarSet("Redeemed")
    earned.setColor(QColor(GREEN))
    redeemed.setColor(QColor(GOLD))
    earned.append([float(totals.by_hour.get(h, {}).get("points", 0)) for h in hours])
    redeemed.append([float(totals.by_hour.get(h, {}).get("redeemed", 0)) for h in hours])
    series = QBarSeries()
    series.append(earned)
    series.append(redeemed)
    series.setBarWidth(0.85)
    chart.addSeries(series)
    top = max([earned.at(i) for i in range(earned.count())] + [redeemed.at(i) for i in range(redeemed.count())],
              default=0)
    _axes(chart, series, hour_labels(hours), _nice_max(top), "{:.0f}")
    return chart


def tender_mix(totals: DayTotals) -> QChart:
    chart = _base("Tender mix")
    series = QPieSeries()
    whole = sum(totals.by_payment.values())
    for index, (method, minor) in enumerate(sorted(totals.by_payment.items(), key=lambda kv: -kv[1])):
        share = minor / whole * 100 if whole else 0
        label = f"{PAYMENT_WORDS.get(method, method)} {share:.0f}%"  # the amounts are in the table beside it
        pie_slice = series.append(label, _amount(minor))
        pie_slice.setColor(QColor(PALETTE[index % len(PALETTE)]))
        pie_slice.setLabelVisible(False)
    if not totals.by_payment:
        empty = series.append("No sales", 1.0)
        empty.setColor(QColor("#e4e7eb"))
    series.setPieSize(0.8)
    chart.addSeries(series)
    chart.legend().setAlignment(Qt.AlignmentFlag.AlignRight)
    legend_font = QFont()
    legend_font.setPointSize(9)
    chart.legend().setFont(legend_font)
    return chart


def staff_chart(totals: DayTotals) -> QChart:
    chart = _base(f"Net sales by staff ({totals.currency})")
    people = sorted(totals.by_staff.items(), key=lambda kv: kv[1]["gross"] - kv[1]["reversed"])
    bars = QBarSet("Net sales")
    bars.setColor(QColor("#8fb3f2"))  # light enough for the dark value label, wherever Qt places it
    bars.append([_amount(figures["gross"] - figures["reversed"]) for _code, figures in people])
    series = QHorizontalBarSeries()
    series.append(bars)
    series.setBarWidth(0.6)
    series.setLabelsVisible(True)
    series.setLabelsPosition(QHorizontalBarSeries.LabelsPosition.LabelsOutsideEnd)
    series.setLabelsFormat("@value")
    series.setLabelsPrecision(12)
    bars.setLabelColor(QColor("#1f2933"))
    chart.addSeries(series)
    names = [f"{figures['name']} ({figures['sales']})" for _code, figures in people] or ["(no sales)"]
    categories = QBarCategoryAxis()
    categories.append(names)
    values = QValueAxis()
    top = max([bars.at(i) for i in range(bars.count())], default=0)
    # Room to the right of the longest bar for its label.
    values.setRange(min(0.0, min([bars.at(i) for i in range(bars.count())], default=0)), _nice_max(top * 1.3))
    values.setLabelFormat("%.0f")
    values.setTickCount(5)
    values.applyNiceNumbers()
    chart.addAxis(categories, Qt.AlignmentFlag.AlignLeft)
    chart.addAxis(values, Qt.AlignmentFlag.AlignBottom)
    series.attachAxis(categories)
    series.attachAxis(values)
    chart.legend().setVisible(False)
    return chart


def _axes(chart: QChart, series: QBarSeries, labels: list[str], top: float, _fmt: str) -> None:
    # Bars sit at 0, 1, 2 ...; a category axis with labels on values names every other hour, so a long day's
    # labels never shrink into ellipses the way one label per bar would.
    categories = QCategoryAxis()
    categories.setRange(-0.5, len(labels) - 0.5)
    categories.setLabelsPosition(QCategoryAxis.AxisLabelsPosition.AxisLabelsPositionOnValue)
    step = 1 if len(labels) <= 12 else 2
    for index in range(0, len(labels), step):
        categories.append(labels[index], float(index))
    categories.setGridLineVisible(False)
    small = QFont()
    small.setPointSize(8)
    categories.setLabelsFont(small)

    values = QValueAxis()
    values.setRange(0, top)
    values.setLabelFormat("%.0f")
    values.setTickCount(5)
    values.applyNiceNumbers()  # round steps (5,000 not 6,250)
    values.setLabelsFont(small)
    chart.addAxis(categories, Qt.AlignmentFlag.AlignBottom)
    chart.addAxis(values, Qt.AlignmentFlag.AlignLeft)
    series.attachAxis(categories)
    series.attachAxis(values)


def day_charts(totals: DayTotals) -> list[QChart]:
    return [sales_by_hour(totals), points_by_hour(totals), tender_mix(totals), staff_chart(totals)]


def render_chart(chart: QChart, painter: QPainter, target: QRectF, size: QSizeF | None = None) -> None:
    """Draw `chart` into `target` on any painter (a PDF page, an image), laid out at `size` logical pixels."""
    layout_size = size or QSizeF(target.width(), target.height())
    scene = QGraphicsScene()
    scene.addItem(chart)
    chart.resize(layout_size)
    scene.setSceneRect(QRectF(0, 0, layout_size.width(), layout_size.height()))
    painter.save()
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    scene.render(painter, target, QRectF(0, 0, layout_size.width(), layout_size.height()))
    painter.restore()
    scene.removeItem(chart)
