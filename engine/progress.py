"""Cooperative cancellation and progress callbacks (the engine never knows a UI exists)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .errors import Cancelled
from .types import Progress

ProgressCallback = Callable[[Progress], None]


class CancelToken:
    """Set from any thread; long engine calls check it between batches and raise Cancelled."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until cancelled or ``timeout`` seconds passed; True when cancelled."""
        return self._event.wait(timeout)

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()


class Throttle:
    """Passes a progress report on at most every ``interval`` seconds (the last one always)."""

    def __init__(self, callback: ProgressCallback | None, interval: float = 0.1) -> None:
        self._callback = callback
        self._interval = interval
        self._last = 0.0

    def __call__(self, progress: Progress, force: bool = False) -> None:
        if self._callback is None:
            return
        now = time.monotonic()
        if force or now - self._last >= self._interval:
            self._last = now
            self._callback(progress)


def eta(done: int, total: int, started: float) -> float | None:
    """Seconds left, by the average rate so far; None until there is a rate to go by."""
    if done <= 0 or total <= done:
        return None if done <= 0 else 0.0
    elapsed = time.monotonic() - started
    return elapsed / done * (total - done)


class TimeLeft:
    """Seconds left of a task reported as fractions done (0..1), by the average rate since
    its first report. None until it has run ``settle`` seconds and done ``least`` of the work:
    the first moments of a load say little about its speed."""

    def __init__(
        self,
        settle: float = 0.5,
        least: float = 0.02,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settle, self._least, self._clock = settle, least, clock
        self._start: tuple[float, float] | None = None  # (time, fraction) of the first report

    def update(self, fraction: float) -> float | None:
        now = self._clock()
        if self._start is None:
            self._start = (now, fraction)
            return None
        t0, f0 = self._start
        elapsed, done = now - t0, fraction - f0
        if fraction >= 1.0:
            return 0.0
        if elapsed < self._settle or done < self._least:
            return None
        return elapsed / done * (1.0 - fraction)
