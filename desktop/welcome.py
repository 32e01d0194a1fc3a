"""The welcome view of a first start: what to drop, the promise that matters, and the sample."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel, QPushButton


def welcome_widgets() -> tuple[QLabel, QLabel, QPushButton]:
    """The title, the hint under it and the button that loads the sample documents."""
    welcome = QLabel("Drop a folder here to start")
    welcome.setAlignment(Qt.AlignmentFlag.AlignCenter)
    # Larger than body text and dimmed, both relative to the system's font and palette.
    big = welcome.font()
    big.setPointSizeF(big.pointSizeF() * 1.6)
    welcome.setFont(big)
    welcome.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    welcome.setContentsMargins(40, 40, 40, 8)
    # What can be dropped, and the promise that matters to office staff.
    hint = QLabel(
        "A folder of PDFs (scanned ones too), Word files, text, Markdown, web pages or "
        "pictures: Folio reads them all on this computer, and nothing leaves it."
    )
    hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
    hint.setWordWrap(True)
    hint.setContentsMargins(40, 0, 40, 16)
    sample = QPushButton("Or try Folio on a few sample documents")
    return welcome, hint, sample
