"""Progress while a GGUF model loads: reading the file, then llama.cpp's own loading.

On Linux llama.cpp maps the model with MAP_POPULATE, so on a cold disk the whole file is read
inside one call before llama.cpp reports any progress: a multi-GB model looks frozen for most of
its load. So when the file is large and not in memory yet, Folio reads it first, in large
chunks, reporting bytes read against its size; llama.cpp then finds it in the page cache. A file
that is already in memory (or small) is not read twice: on the machine this was written on, the
bundled 98 MB model read in about 40 ms when warm, against 0.1 to 0.2 s for its whole load, and
asking the kernel what is in memory took 2 ms.

The caller's callback gets ``(fraction, stage)``: the fraction of the whole load done, from 0
to 1 and never going back, and a stage a person can read. Time left is the caller's to estimate
(see ``engine.progress.TimeLeft``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import mmap
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import Cancelled
from ..progress import CancelToken

LoadCallback = Callable[[float, str], None]

READING = "Reading the model file"
PREPARING = "Preparing the model"
LOAD_STOPPED = "Loading the model was stopped. Ask again to load it."

# Files under this size are not read ahead: they load in well under a second however cold.
PREREAD_MIN_BYTES = 200 * 1024 * 1024
CHUNK = 32 * 1024 * 1024  # bytes per read
CACHED = 0.9  # share of the file already in memory at which reading it first is skipped
# Where the system cannot say what is in memory: a first chunk read faster than this came from
# memory, so the rest most likely will too and reading ahead stops.
FAST_READ = 2.0e9  # bytes per second
# The share of the whole load given to reading the file when it is read first.
READ_SHARE = 0.9
# Reports are passed on when the load moved on by this much, or this many seconds passed.
STEP = 0.01
INTERVAL = 0.2

log = logging.getLogger("folio.generate")
_LOW_BIT = bytes(b & 1 for b in range(256))


def resident_fraction(path: Path) -> float | None:
    """The share of ``path`` in the system's page cache (0..1); None where the system cannot
    tell (Windows, or any failure). Asks the kernel (mincore) without reading the file."""
    if sys.platform == "win32":
        return None
    try:
        size = path.stat().st_size
        if size == 0:
            return 1.0
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_long,
        ]
        libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
        page = mmap.PAGESIZE
        pages = (size + page - 1) // page
        with open(path, "rb") as f:
            addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, f.fileno(), 0)
            if addr is None or addr == ctypes.c_void_p(-1).value:
                return None
            try:
                vec = (ctypes.c_ubyte * pages)()
                if libc.mincore(addr, size, vec) != 0:
                    return None
                # The low bit of each page's byte says whether it is in memory.
                resident = bytes(vec).translate(_LOW_BIT).count(1)
            finally:
                libc.munmap(addr, size)
        return resident / pages
    except (OSError, AttributeError, ValueError, TypeError):
        return None


class LoadProgress:
    """Turns the parts of a load into one fraction of the whole, never going back, passed on
    at most every ``STEP`` or ``INTERVAL``; ``report`` answers False once ``cancel`` is set."""

    def __init__(self, callback: LoadCallback | None, cancel: CancelToken | None) -> None:
        self._callback = callback
        self.cancel = cancel
        self._start, self._end, self._stage = 0.0, 1.0, PREPARING
        self.fraction = 0.0  # the whole load
        self._sent = -1.0
        self._sent_at = 0.0
        # Ctrl+C that arrived inside llama.cpp's callback: raised again once llama.cpp stopped.
        self.interrupted: BaseException | None = None

    def stage(self, start: float, end: float, text: str) -> None:
        """The next reports cover ``start``..``end`` of the whole load, under ``text``."""
        self._start, self._end, self._stage = start, end, text

    def report(self, done: float) -> bool:
        """``done`` (0..1) of the current stage; False when the load should stop."""
        done = min(1.0, max(0.0, done)) if done == done else 0.0  # NaN: no news
        whole = self._start + (self._end - self._start) * done
        self.fraction = max(self.fraction, min(1.0, whole))
        now = time.monotonic()
        moved = self.fraction - self._sent
        if (
            moved >= STEP
            or (moved > 0 and now - self._sent_at >= INTERVAL)
            or (self.fraction >= 1.0 and self._sent < 1.0)
        ):
            self._send(now)
        return not (self.cancel is not None and self.cancel.cancelled)

    def finish(self) -> None:
        self.fraction = 1.0
        if self._sent < 1.0:
            self._send(time.monotonic())

    def _send(self, now: float) -> None:
        self._sent, self._sent_at = self.fraction, now
        if self._callback is None:
            return
        try:
            self._callback(self.fraction, self._stage)
        except Exception:  # a broken listener must not stop the model from loading
            log.exception("model load progress listener failed")

    def check(self) -> None:
        if self.cancel is not None and self.cancel.cancelled:
            raise Cancelled(LOAD_STOPPED)


def worth_reading_first(path: Path, size: int) -> bool:
    """Read the file ahead of llama.cpp when it is large and mostly not in memory yet."""
    if size < PREREAD_MIN_BYTES:
        return False
    resident = resident_fraction(path)
    return resident is None or resident < CACHED


def read_ahead(path: Path, progress: LoadProgress) -> bool:
    """Read ``path`` once, in ``CHUNK``s, so llama.cpp finds it in memory; reports bytes read
    against its size and raises Cancelled between chunks. Stops early (False) where the system
    cannot say what is cached and the first chunk came faster than a disk reads."""
    size = path.stat().st_size
    knows_cache = sys.platform != "win32"
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    done = 0
    started = time.perf_counter()
    with open(path, "rb", buffering=0) as f:
        advise = getattr(os, "posix_fadvise", None)
        if advise is not None:
            try:  # a larger read-ahead window for a file read from start to end
                advise(f.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
            except OSError:
                pass
        while True:
            progress.check()
            n = f.readinto(view)
            if not n:
                break
            done += n
            progress.report(done / size if size else 1.0)
            took = time.perf_counter() - started
            if not knows_cache and done == n and n >= CHUNK and took > 0 and n / took > FAST_READ:
                return False
    return True
