"""Giving memory that Folio has freed back to the system (Linux with glibc; elsewhere nothing).

The window's threads (indexing, the model, the watcher, parsing results arriving) allocate
through glibc's malloc, which gives each thread its own arena. What they free stays in that
arena, in pieces between blocks still in use, and counts as the window's memory although
nothing uses it: over a long session with a busy watched folder the resident size creeps up
while the objects Python holds stay the same. ``release_free_memory()`` asks glibc to return
such free pages (``malloc_trim(0)``, a millisecond or two); the workers call it when they finish
an indexing run or an answer, at most once every ``every`` seconds. ``tune_allocator()``, at
start, keeps fewer arenas and gives large blocks (embedding batches, parsed pages) their own
mappings, returned whole when freed, instead of leaving holes in an arena.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
import threading
import time
from typing import Any

_lock = threading.Lock()
_last = [0.0]
_libc: list[Any] = []  # [the C library] once looked up; [None] where there is no malloc_trim


_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameters
_M_ARENA_MAX = -8


def _c_library() -> Any:
    if not _libc:
        found = None
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                libc.malloc_trim.argtypes = [ctypes.c_size_t]  # glibc only (musl has none)
                libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
                found = libc
            except (OSError, AttributeError):
                found = None
        _libc.append(found)
    return _libc[0]


def tune_allocator(arenas: int = 2, mmap_threshold: int = 1 << 20) -> bool:
    """At start, before the worker threads allocate: at most ``arenas`` malloc arenas, and
    blocks of ``mmap_threshold`` bytes or more in mappings of their own. False where this is
    not glibc."""
    libc = _c_library()
    if libc is None:
        return False
    return bool(libc.mallopt(_M_ARENA_MAX, arenas)) and bool(
        libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)
    )


def release_free_memory(every: float = 10.0) -> bool:
    """Return freed heap memory to the system; True when it was done now (not skipped: too
    soon after the last time, or not glibc)."""
    libc = _c_library()
    if libc is None:
        return False
    with _lock:
        now = time.monotonic()
        if now - _last[0] < every:
            return False
        _last[0] = now
    libc.malloc_trim(0)
    return True
