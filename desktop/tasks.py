"""Background work for the desktop app.

Rule: an operation runs on a worker thread and never touches a widget; it reports through the
callbacks it is given, which ``Operation`` marshals to the GUI thread as Qt signals. One
single-worker executor per stateful resource (index writes; later the llama.cpp model), so work
on one resource is serialised and the GUI thread never waits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from PySide6.QtCore import QObject, Signal

from engine import CancelToken, FolioError

log = logging.getLogger("folio.desktop")


class Operation(QObject):
    """One piece of background work with progress, success and failure signals."""

    progress = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[Operation], Any]) -> None:
        super().__init__()
        self._fn = fn
        self.cancel = CancelToken()

    def run(self) -> None:
        try:
            result = self._fn(self)
        except FolioError as e:
            self.failed.emit(str(e))
        except Exception as e:  # shown as a sentence; the details go to the log
            log.exception("background operation failed")
            self.failed.emit(f"Something went wrong: {e}. Details are in Folio's log.")
        else:
            self.succeeded.emit(result)


class Executor:
    """A single-worker executor for one resource."""

    def __init__(self, name: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._ops: set[Operation] = set()
        self._closed = False

    def submit(self, op: Operation) -> Operation:
        """Run ``op`` on the worker; after shutdown (the window is closing) it is dropped."""
        if self._closed:
            return op
        self._ops.add(op)
        op.succeeded.connect(lambda _r: self._ops.discard(op))
        op.failed.connect(lambda _m: self._ops.discard(op))
        self._pool.submit(op.run)
        return op

    def shutdown(self) -> None:
        self._closed = True
        for op in list(self._ops):
            op.cancel.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
