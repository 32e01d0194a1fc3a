"""Entry point of the desktop app: logging, engine library, QApplication, main window."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from engine import EngineConfig, Library
from engine.paths import logs_dir


def _setup_logging(cfg: EngineConfig) -> None:
    d = logs_dir(cfg.home)
    d.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        filename=str(d / "folio.log"),
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def main(argv: Sequence[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow

    cfg = EngineConfig()
    _setup_logging(cfg)
    app = QApplication.instance() or QApplication([sys.argv[0], *(argv or [])])
    app.setApplicationName("Folio")
    window = MainWindow(Library(cfg))
    window.show()
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
