"""The bar that shows a model loading: how far it is and about how long is left.

The engine reports a load as (fraction done, stage) on the model worker (see
``engine/generate/loading.py``); the panels pass those reports to the GUI thread as signals and
hand them to ``ModelLoadBar.show_progress``. The bar is hidden while no model loads.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtWidgets import QProgressBar

from engine.progress import TimeLeft
from engine.reembed import duration

STEPS = 1000  # the bar's range: a tenth of a percent per step


def time_left(seconds: float) -> str:
    """The time left of a long task: seconds under a minute, then as people say it."""
    return f"about {seconds:.0f} s" if seconds < 60 else duration(seconds)


def load_text(fraction: float, seconds_left: float | None) -> str:
    """ "Loading the model… 45 % · about 12 s left" (without the time until there is a rate)."""
    text = f"Loading the model… {int(fraction * 100)} %"
    if seconds_left is not None and seconds_left >= 1:
        text += f" · {time_left(seconds_left)} left"
    return text


class ModelLoadBar(QProgressBar):
    """A determinate bar with the percentage and the time left, shown while a model loads."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.setRange(0, STEPS)
        self.setTextVisible(True)
        self.setAccessibleName("Model loading progress")
        self._clock = clock
        self._left = TimeLeft(clock=clock)
        self.hide()

    def show_progress(self, fraction: float, stage: str) -> None:
        """One report of the load in progress; the bar hides itself when the load is done."""
        if fraction >= 1.0:
            self.setValue(STEPS)
            self.done()
            return
        if self.isHidden():  # a new load: its own clock
            self._left = TimeLeft(clock=self._clock)
            self.setValue(0)
            self.show()
        text = load_text(fraction, self._left.update(fraction))
        self.setFormat(text)
        self.setToolTip(f"{stage}…")
        self.setAccessibleDescription(f"{text}. {stage}.")
        self.setValue(round(fraction * STEPS))

    def done(self) -> None:
        """The load ended (loaded, failed or stopped): nothing to show any more."""
        self.hide()
