"""Small charts drawn with QPainter: a line chart (the training loss) and before/after bars
(the tuning evaluation), each with axis titles, ticks and labels, exportable as PNG.

Hand-drawn rather than QtCharts: QtCharts is not part of the PySide6 packages Folio ships
(it comes with PySide6-Addons, tens of megabytes more in the installer) and two simple charts
do not need it. Colours come from the palette, so light, dark and high-contrast themes work.
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFontMetricsF,
    QImage,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QPolygonF,
)
from PySide6.QtWidgets import QSizePolicy, QWidget


def nice_ticks(lo: float, hi: float, most: int = 6) -> list[float]:
    """Round tick values (1, 2 or 5 times a power of ten apart) covering ``lo..hi``."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(hi) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(1, most - 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    # From the tick at or below lo to the tick at or above hi.
    first = math.floor(lo / step + 1e-9)
    last = max(first + 1, math.ceil(hi / step - 1e-9))
    ticks = [round(k * step, 10) for k in range(first, last + 1)]
    return ticks


def tick_label(value: float, step: float) -> str:
    """A tick's text with no more decimals than its step needs."""
    decimals = max(0, -math.floor(math.log10(step))) if step > 0 else 0
    return f"{value:.{min(decimals, 6)}f}"


class Chart(QWidget):
    """Base: paints through ``draw`` so the screen and a PNG export are the same picture."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.setMinimumHeight(160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def draw(self, p: QPainter, rect: QRectF) -> None:
        raise NotImplementedError

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.draw(p, QRectF(self.rect()))
        p.end()

    def export_png(self, path: str | Path, size: QSize | None = None) -> bool:
        """Save the chart as a PNG picture (``size`` pixels, else the chart's own size)."""
        size = size or self.size()
        if size.width() < 1 or size.height() < 1:
            return False
        image = QImage(size, QImage.Format.Format_ARGB32)
        image.fill(self.palette().color(QPalette.ColorRole.Base))
        p = QPainter(image)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setFont(self.font())
        self.draw(p, QRectF(0, 0, size.width(), size.height()))
        p.end()
        return bool(image.save(str(path), "PNG"))  # type: ignore[call-overload]

    # -- shared drawing ---------------------------------------------------------------------
    def _colours(self) -> tuple[QColor, QColor, QColor]:
        """Background, text and faint grid colours from the palette."""
        pal = self.palette()
        text = pal.color(QPalette.ColorRole.Text)
        grid = QColor(text)
        grid.setAlpha(50)
        return pal.color(QPalette.ColorRole.Base), text, grid

    def _frame(self, p: QPainter, rect: QRectF) -> None:
        base, text, _grid = self._colours()
        p.fillRect(rect, base)
        p.setPen(QPen(text, 1))
        metrics = QFontMetricsF(p.font())
        title_box = QRectF(rect.left(), rect.top() + 2, rect.width(), metrics.height())
        p.drawText(title_box, Qt.AlignmentFlag.AlignHCenter, self.title)


class LineChart(Chart):
    """Values over steps, with a value axis and a step axis."""

    def __init__(
        self, title: str, x_title: str, y_title: str, empty: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(title, parent)
        self.x_title, self.y_title, self.empty = x_title, y_title, empty
        self.values: list[float] = []

    def set_values(self, values: list[float]) -> None:
        self.values = [float(v) for v in values if math.isfinite(float(v))]
        self.update()

    def append(self, value: float) -> None:
        if math.isfinite(value):
            self.values.append(float(value))
            self.update()

    def y_ticks(self) -> list[float]:
        if not self.values:
            return []
        return nice_ticks(min(self.values), max(self.values), 5)

    def x_ticks(self) -> list[float]:
        """Step numbers (1-based) with a tick."""
        if not self.values:
            return []
        n = max(2, len(self.values))
        ticks = [t for t in nice_ticks(0, n, 8) if 1 <= t <= n and t == int(t)]
        return ticks or [1.0]

    def plot_area(self, rect: QRectF, metrics: QFontMetricsF) -> QRectF:
        """Where the curve goes inside ``rect``, leaving room for titles and tick labels."""
        ticks = self.y_ticks()
        step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
        label_w = max((metrics.horizontalAdvance(tick_label(t, step)) for t in ticks), default=0)
        left = rect.left() + metrics.height() + label_w + 10
        top = rect.top() + metrics.height() + 8
        bottom = rect.bottom() - 2 * metrics.height() - 8
        right = rect.right() - 12
        return QRectF(QPointF(left, top), QPointF(max(left + 1, right), max(top + 1, bottom)))

    def _map(self) -> tuple[float, float, float, float]:
        """Value range (the outer ticks) and step range shown."""
        ys = self.y_ticks()
        lo, hi = ys[0], ys[-1]
        n = max(2, len(self.values))
        return lo, hi, 1.0, float(n)

    def points(self, rect: QRectF | None = None) -> list[QPointF]:
        """The curve's points in widget coordinates (tests check it is drawn)."""
        if not self.values:
            return []
        rect = rect or QRectF(self.rect())
        area = self.plot_area(rect, QFontMetricsF(self.font()))
        lo, hi, x0, x1 = self._map()
        span_y, span_x = (hi - lo) or 1.0, (x1 - x0) or 1.0
        return [
            QPointF(
                area.left() + area.width() * (i + 1 - x0) / span_x,
                area.bottom() - area.height() * (v - lo) / span_y,
            )
            for i, v in enumerate(self.values)
        ]

    def draw(self, p: QPainter, rect: QRectF) -> None:
        self._frame(p, rect)
        _base, text, grid = self._colours()
        metrics = QFontMetricsF(p.font())
        if not self.values:
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.empty)
            return
        area = self.plot_area(rect, metrics)
        lo, hi, x0, x1 = self._map()
        ys = self.y_ticks()
        step = ys[1] - ys[0] if len(ys) > 1 else 1.0
        for t in ys:
            y = area.bottom() - area.height() * (t - lo) / ((hi - lo) or 1.0)
            p.setPen(QPen(grid, 1))
            p.drawLine(QPointF(area.left(), y), QPointF(area.right(), y))
            p.setPen(QPen(text, 1))
            p.drawLine(QPointF(area.left() - 4, y), QPointF(area.left(), y))
            label = tick_label(t, step)
            box = QRectF(rect.left(), y - metrics.height() / 2, area.left() - 6 - rect.left(), 0)
            box.setHeight(metrics.height())
            p.drawText(box, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)
        for t in self.x_ticks():
            x = area.left() + area.width() * (t - x0) / ((x1 - x0) or 1.0)
            p.drawLine(QPointF(x, area.bottom()), QPointF(x, area.bottom() + 4))
            label = f"{int(t)}"
            w = metrics.horizontalAdvance(label)
            p.drawText(QPointF(x - w / 2, area.bottom() + 4 + metrics.ascent()), label)
        # The axes and their titles.
        p.drawLine(area.bottomLeft(), area.bottomRight())
        p.drawLine(area.bottomLeft(), area.topLeft())
        x_box = QRectF(area.left(), rect.bottom() - metrics.height() - 2, area.width(), 0)
        x_box.setHeight(metrics.height())
        p.drawText(x_box, Qt.AlignmentFlag.AlignHCenter, self.x_title)
        p.save()
        p.translate(rect.left() + 2, area.center().y())
        p.rotate(-90)
        y_box = QRectF(-area.height() / 2, 0, area.height(), metrics.height())
        p.drawText(y_box, Qt.AlignmentFlag.AlignHCenter, self.y_title)
        p.restore()
        # The curve, in the selection colour.
        p.setPen(QPen(self.palette().color(QPalette.ColorRole.Highlight), 2))
        points = self.points(rect)
        if len(points) == 1:
            p.drawEllipse(points[0], 3, 3)
        else:
            p.drawPolyline(QPolygonF(points))


class BeforeAfterChart(Chart):
    """One small bar chart per measure: before and after, each on its own value axis titled
    with the measure's name (the measures have different scales: perplexity, a 0-1 score, a
    count)."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.rows: list[tuple[str, float, float]] = []
        self.series = ("Before", "After")

    def set_rows(self, rows: list[tuple[str, float, float]]) -> None:
        self.rows = [
            (name, float(b), float(a))
            for name, b, a in rows
            if math.isfinite(float(b)) and math.isfinite(float(a))
        ]
        # Room for each measure's name, two bars and tick labels at the system's text size.
        line = QFontMetricsF(self.font()).height()
        self.setMinimumHeight(max(160, int(2 * line + 12 + len(self.rows) * (3 * line + 20))))
        self.update()

    def ticks(self, row: int) -> list[float]:
        _name, before, after = self.rows[row]
        return nice_ticks(min(0.0, before, after), max(before, after, 0.0) or 1.0, 5)

    def draw(self, p: QPainter, rect: QRectF) -> None:
        self._frame(p, rect)
        _base, text, grid = self._colours()
        metrics = QFontMetricsF(p.font())
        if not self.rows:
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter, "The evaluation appears here")
            return
        pal = self.palette()
        fills = (
            pal.color(QPalette.ColorRole.PlaceholderText),
            pal.color(QPalette.ColorRole.Highlight),
        )
        line = metrics.height()
        label_w = max(metrics.horizontalAdvance(s) for s in self.series) + 8
        # The legend, under the title.
        x = rect.left() + 8
        y = rect.top() + line + 6
        for name, fill in zip(self.series, fills, strict=True):
            p.fillRect(QRectF(x, y + 2, line - 4, line - 4), fill)
            p.setPen(QPen(text, 1))
            p.drawText(QPointF(x + line, y + metrics.ascent()), name)
            x += line + metrics.horizontalAdvance(name) + 16
        top = y + line + 6
        bottom = rect.bottom() - 4
        panel_h = (bottom - top) / len(self.rows)
        for r, (name, before, after) in enumerate(self.rows):
            y0 = top + r * panel_h
            p.setPen(QPen(text, 1))
            p.drawText(QRectF(rect.left() + 8, y0, rect.width() - 16, line), 0, name)
            area = QRectF(rect.left() + 8 + label_w, y0 + line + 2, rect.width() - 24 - label_w, 0)
            # The measure's name above, its tick labels below, the two bars between; in a
            # short chart the tick labels give way to the bars (the values stay written).
            with_ticks = panel_h - 2 * line - 10 >= 12
            area.setHeight(max(4.0, panel_h - (2 * line + 10 if with_ticks else line + 6)))
            ticks = self.ticks(r)
            lo, hi = ticks[0], ticks[-1]
            step = ticks[1] - ticks[0]

            def at(v: float, area: QRectF = area, lo: float = lo, hi: float = hi) -> float:
                return area.left() + area.width() * (v - lo) / ((hi - lo) or 1.0)

            for t in ticks:
                xt = at(t)
                p.setPen(QPen(grid, 1))
                p.drawLine(QPointF(xt, area.top()), QPointF(xt, area.bottom()))
                p.setPen(QPen(text, 1))
                p.drawLine(QPointF(xt, area.bottom()), QPointF(xt, area.bottom() + 4))
                if with_ticks:
                    label = tick_label(t, step)
                    w = metrics.horizontalAdvance(label)
                    p.drawText(QPointF(xt - w / 2, area.bottom() + 4 + metrics.ascent()), label)
            bar_h = area.height() / 2 - 2
            for i, (value, fill, series) in enumerate(
                zip((before, after), fills, self.series, strict=True)
            ):
                by = area.top() + i * (bar_h + 4)
                x_zero, x_val = at(max(lo, 0.0)), at(value)
                p.fillRect(QRectF(min(x_zero, x_val), by, abs(x_val - x_zero), bar_h), fill)
                p.setPen(QPen(text, 1))
                if bar_h >= 0.8 * line:  # else the legend's colours say which bar is which
                    box = QRectF(rect.left() + 8, by, label_w - 6, bar_h)
                    align = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    p.drawText(box, align, series)
                shown = f"{value:g}"
                p.drawText(
                    QPointF(max(x_zero, x_val) + 4, by + bar_h / 2 + metrics.ascent() / 2 - 1),
                    shown,
                )
            p.drawLine(area.bottomLeft(), area.bottomRight())
            p.drawLine(area.bottomLeft(), area.topLeft())
