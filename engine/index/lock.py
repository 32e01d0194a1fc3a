"""Operating-system file locks: one writer per collection, across processes.

The window and a ``folio index`` in a terminal may work on the same collection at the same
time: whichever comes second waits for the first to finish (and says who it waits for), then
brings its view of the collection in line with what the first wrote.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from ..errors import Cancelled, FolioError
from ..progress import CancelToken

_LOCK = ".lock"
_HOLDER = ".lock-holder"  # who holds the lock, for the one who waits (a separate file: on
# Windows the locked byte of .lock cannot be read by others)


def lock_file(f: IO[str]) -> None:
    """An exclusive lock on an open file, or BlockingIOError when another process holds it."""
    if sys.platform == "win32":
        import msvcrt

        f.seek(0)
        try:
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError as e:
            raise BlockingIOError(str(e)) from e
    else:
        import fcntl

        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def unlock_file(f: IO[str]) -> None:
    if sys.platform == "win32":
        import msvcrt

        f.seek(0)
        msvcrt.locking(f.fileno(), msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def holder(folder: Path) -> str:
    """Who holds the collection's writer lock, as a person reads it."""
    try:
        who = (folder / _HOLDER).read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError):
        who = ""
    return who or "another Folio program"


@contextmanager
def writer_lock(
    folder: Path,
    me: str,
    on_wait: Callable[[str], None] | None = None,
    cancel: CancelToken | None = None,
    timeout: float = 3600.0,
    poll: float = 0.25,
) -> Iterator[None]:
    """Hold the collection's writer lock. While another program holds it, wait (checking
    ``cancel`` and the ``timeout``), and call ``on_wait`` once with who holds it."""
    with open(folder / _LOCK, "a+") as f:
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                lock_file(f)
                break
            except BlockingIOError:
                if not told and on_wait is not None:
                    on_wait(holder(folder))
                    told = True
                if cancel is not None and cancel.cancelled:
                    raise Cancelled() from None
                if time.monotonic() > deadline:
                    waited = (
                        f"{timeout / 60:.0f} minutes"
                        if timeout >= 120
                        else f"{timeout:.0f} seconds"
                    )
                    raise FolioError(
                        f"{holder(folder)} has been updating this collection for more than "
                        f"{waited}. Try again when it has finished."
                    ) from None
                time.sleep(poll)
        try:
            try:
                (folder / _HOLDER).write_text(f"{me} (process {os.getpid()})", "utf-8")
            except OSError:
                pass  # only a courtesy to whoever waits
            yield
        finally:
            try:
                (folder / _HOLDER).unlink(missing_ok=True)
            except OSError:
                pass
            unlock_file(f)
