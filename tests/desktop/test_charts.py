"""The Tune tab's loss curve and before/after evaluation are real charts: titled axes with
ticks and labels, and each can be saved as a PNG picture."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize
from PySide6.QtGui import QColor, QImage

from desktop.charts import BeforeAfterChart, LineChart, nice_ticks, tick_label
from desktop.main_window import MainWindow
from engine import Library

SHOTS = Path(__file__).resolve().parents[1] / "screenshots"
LOSSES = [2.9, 2.6, 2.45, 2.2, 2.05, 1.9, 1.93, 1.72, 1.6, 1.55, 1.41, 1.38]
EVALUATION = [
    ("Perplexity on held-out text (lower is better)", 18.4, 11.2),
    ("Answer similarity on 8 held-out pairs (0-1)", 0.41, 0.67),
    ("General skills probes passed (of 6)", 6, 5),
]


def test_nice_ticks_are_round_and_cover_the_range() -> None:
    assert nice_ticks(1.38, 2.9, 5) == [1.0, 1.5, 2.0, 2.5, 3.0]
    assert nice_ticks(0, 18.4, 5) == [0.0, 5.0, 10.0, 15.0, 20.0]
    assert nice_ticks(3, 3) == [2.6, 2.8, 3.0, 3.2, 3.4]  # one value: a band around it
    assert nice_ticks(float("nan"), 1) == [0.0, 1.0]
    assert tick_label(2.5, 0.5) == "2.5" and tick_label(20.0, 5.0) == "20"


def _ink(image: QImage, background: QColor) -> int:
    """How many pixels differ from the background (sampled every 2 pixels)."""
    return sum(
        1
        for y in range(0, image.height(), 2)
        for x in range(0, image.width(), 2)
        if image.pixelColor(x, y) != background
    )


def test_tune_tab_charts_have_axes_and_export_as_png(
    qtbot, library: Library, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.resize(1200, 900)
    window.show()
    tune = window.tune
    window.tabs.setCurrentWidget(tune)
    plot, chart = tune.plot, tune.eval_chart
    assert isinstance(plot, LineChart) and isinstance(chart, BeforeAfterChart)
    assert (plot.x_title, plot.y_title) == ("Training step", "Loss")
    assert plot.y_ticks() == [] and plot.points() == []

    for loss in LOSSES:
        plot.append(loss)
    chart.set_rows(EVALUATION)
    assert plot.values == LOSSES and len(plot.points()) == len(LOSSES)
    assert plot.y_ticks() == [1.0, 1.5, 2.0, 2.5, 3.0]
    assert plot.x_ticks() == [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]
    # Higher loss is drawn higher, and the curve runs left to right inside the widget.
    pts = plot.points()
    assert pts[0].y() < pts[-1].y() and pts[0].x() < pts[-1].x()
    assert all(0 <= p.x() <= plot.width() and 0 <= p.y() <= plot.height() for p in pts)
    # Each measure has its own value axis (perplexity, a 0-1 score, a count).
    assert chart.ticks(0)[-1] == 20.0 and chart.ticks(1)[-1] == 0.8 and chart.ticks(2)[-1] == 6
    # Bad numbers are left out, never drawn.
    plot.append(float("nan"))
    assert plot.values == LOSSES

    qtbot.wait(100)
    # The charts get their room: nothing else of the tab is laid over them.
    assert chart.height() >= chart.minimumHeight() > 160
    for other in (tune.save_plot_button, tune.save_eval_button, tune.table):
        top_left = other.mapTo(tune, other.rect().topLeft())
        assert top_left.y() >= chart.mapTo(tune, chart.rect().bottomLeft()).y()
    SHOTS.mkdir(exist_ok=True)
    window.grab().save(str(SHOTS / "tune-charts.png"))
    window.resize(1000, 650)  # the window's first size: the tab scrolls, nothing overlaps
    qtbot.wait(100)
    assert chart.height() >= chart.minimumHeight()
    tune.grab().save(str(SHOTS / "tune-charts-small.png"))

    for widget, name in ((plot, "loss"), (chart, "evaluation")):
        out = tmp_path / f"{name}.png"
        assert widget.export_png(out, QSize(640, 360))
        image = QImage(str(out))
        assert (image.width(), image.height()) == (640, 360)
        background = widget.palette().color(widget.palette().ColorRole.Base)
        assert image.pixelColor(1, 1) == background
        # Not blank: axes, ticks, labels and the data leave a few percent of the pixels inked.
        assert _ink(image, background) > 0.02 * (320 * 180)
        image.save(str(SHOTS / f"tune-{name}-export.png"))
    # A folder that does not exist cannot be written to.
    assert not plot.export_png(tmp_path / "missing" / "x.png")

    # A finished run (the result as the tuning job reports it) fills both charts and the table.
    tune._on_done(
        {
            "losses": [3.1, 2.4, 1.9],
            "evaluation": [
                {"metric": name, "before": before, "after": after}
                for name, before, after in EVALUATION
            ],
            "adapter": str(tmp_path / "a.gguf"), "seconds": 12.0, "steps": 3,
            "seconds_per_step": 4.0,
        }
    )  # fmt: skip
    assert plot.values == [3.1, 2.4, 1.9]
    assert chart.rows == [(n, float(b), float(a)) for n, b, a in EVALUATION]
    assert tune.table.rowCount() == len(EVALUATION)
    window.close()
