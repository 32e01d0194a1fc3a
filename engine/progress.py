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
