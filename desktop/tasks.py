"""Background work for the desktop app.

Rule: an operation runs on a worker thread and never touches a widget; it reports through the
callbacks it is given, which ``Operation`` marshals to the GUI thread as Qt signals. One
single-worker executor per stateful resource (index writes; later the llama.cpp model), so work
on one resource is serialised and the GUI thread never waits.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from engine import CancelToken, FolioError

log = logging.getLogger("folio.desktop")


UNEXPECTED = (
    "Something went wrong and Folio could not finish this. Nothing saved before was lost; try "
    "again, and if it keeps happening, send Folio's log (in its logs folder) to your IT team."
)


class Operation(QObject):
    """One piece of background work with progress, success and failure signals."""

    progress = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[Operation], Any]) -> None:
        super().__init__()
        self._fn = fn
        self.cancel = CancelToken()
        # The error behind ``failed`` (set on the worker before the signal is sent), for
        # handlers that offer a way out, such as re-embedding a collection.
        self.error: FolioError | None = None
        self.started = False  # set on the worker when the operation begins

    def run(self) -> None:
        self.started = True
        try:
            result = self._fn(self)
        except FolioError as e:
            self.error = e
            self.failed.emit(str(e))
        except Exception:  # shown as a sentence; the details go to the log
            log.exception("background operation failed")
            self.failed.emit(UNEXPECTED)
        else:
            self.succeeded.emit(result)


class Executor:
    """A single-worker executor for one resource.

    Lifetime rule: an Operation is a QObject of the GUI thread. Python could otherwise free it
    on the worker thread (the worker drops the last reference) or in a garbage collection that
    happens to run on some other thread, and Qt objects must die on their own thread. So the
    executor keeps every operation until its final signal has been delivered on the GUI thread
    (and a second has passed), then hands it to ``deleteLater``.
    """

    def __init__(self, name: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._ops: dict[Operation, Future[None]] = {}
        self._done_seen: dict[int, float] = {}
        self._delivered: set[int] = set()
        self._closed = False
        self._purger = QTimer()
        self._purger.setInterval(1000)
        self._purger.timeout.connect(self._purge)
        self._purger.start()

    def submit(self, op: Operation) -> Operation:
        """Run ``op`` on the worker; after shutdown (the window is closing) it is dropped."""
        if self._closed:
            op.deleteLater()
            return op
        # Marked on the GUI thread when the final signal has been delivered there.
        op.succeeded.connect(lambda _r: self._delivered.add(id(op)))
        op.failed.connect(lambda _m: self._delivered.add(id(op)))
        self._ops[op] = self._pool.submit(op.run)
        return op

    def busy(self) -> bool:
        """True while an operation runs or waits on this executor."""
        return any(not fut.done() for fut in self._ops.values())

    def withdraw(self, op: Operation) -> bool:
        """Take ``op`` out of the queue if it has not started; True when it never will run."""
        fut = self._ops.get(op)
        if fut is None or op.started or not fut.cancel():
            return False
        del self._ops[op]
        op.deleteLater()
        return True

    def _purge(self, force: bool = False) -> None:
        now = time.monotonic()
        for op, fut in list(self._ops.items()):
            if not fut.done() or (id(op) not in self._delivered and not force):
                continue
            seen = self._done_seen.setdefault(id(op), now)
            if force or now - seen >= 1.0:
                del self._ops[op]
                self._done_seen.pop(id(op), None)
                self._delivered.discard(id(op))
                op.deleteLater()

    def shutdown(self) -> None:
        self._closed = True
        for op in list(self._ops):
            op.cancel.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._purger.stop()
        self._purge(force=True)
