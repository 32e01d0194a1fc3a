"""Where the window was and how its sides were split: put back at start, kept at close.

Kept apart from the user's settings (see settings.py), in the same home folder.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtWidgets import QMainWindow, QSplitter

from .settings import load_window_state, save_window_state

log = logging.getLogger("folio.desktop")


def restore(window: QMainWindow, splitter: QSplitter, home: Path) -> bool:
    """Put back the last size, place and split; True when the size and place were put back."""
    state = load_window_state(home)
    restored = False
    if "geometry" in state:
        restored = bool(window.restoreGeometry(state["geometry"]))
    if "splitter" in state:
        splitter.restoreState(state["splitter"])
    return restored


def save(window: QMainWindow, splitter: QSplitter, home: Path) -> None:
    """Keep the size, place and split for the next start; a failure to write is only logged."""
    try:
        save_window_state(
            home,
            {
                "geometry": bytes(window.saveGeometry().data()),
                "splitter": bytes(splitter.saveState().data()),
            },
        )
    except OSError:
        log.warning("window state not saved", exc_info=True)
