"""A guard against a PySide6 6.12 bug on Python 3.11 that aborts the window after a while.

Each call of a Qt method that returns nothing (``label.setText(…)``, ``cursor.insertHtml(…)``)
hands ``None`` back to Python without counting the reference it gives away. So ``None``'s
reference count falls by one per call, and once it reaches zero CPython aborts the whole
process with "Fatal Python error: none_dealloc: deallocating None" — the window vanishes,
without a message, after some tens of thousands of calls (a long day of questions; 5,000
``setText`` calls in a fresh interpreter). Python 3.12 made ``None`` immortal, which hides the
bug there. Until PySide6 is fixed (or Folio moves to Python 3.12), the window raises ``None``'s
count when it runs low: the counter is raised in place, so nothing is held that would be given
back (and miscounted again) when the interpreter shuts down, and no memory is used.

Pure Python, no Qt import: the engine-only test run may import it too.
"""

from __future__ import annotations

import ctypes
import sys

# Where None is not immortal (and its count sits first in the object, as in CPython).
AFFECTED = sys.version_info < (3, 12) and sys.implementation.name == "cpython"
LOW = 1_000_000  # top up when None's count falls under this
BLOCK = 10_000_000  # references added per top-up (ten million Qt calls)


def top_up() -> bool:
    """Raise ``None``'s reference count if it runs low; True when it was raised. Cheap (one
    ``sys.getrefcount``): call it every second or so."""
    if not AFFECTED or sys.getrefcount(None) >= LOW:
        return False
    ctypes.c_ssize_t.from_address(id(None)).value += BLOCK
    return True
