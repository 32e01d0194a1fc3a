"""Entry point of the desktop app: logging, engine library, QApplication, main window."""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Sequence

from engine import EngineConfig, Library
from engine.paths import assets_dir, logs_dir
from engine.private import make_home_private, private_process

log = logging.getLogger("folio.desktop")


def _setup_logging(cfg: EngineConfig) -> None:
    d = logs_dir(cfg.home)
    d.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        filename=str(d / "folio.log"),
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def main(argv: Sequence[str] | None = None) -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow
    from .memory import tune_allocator

    tune_allocator()  # before the worker threads start allocating
    cfg = EngineConfig(program="a Folio window")
    # Private by default: new files only the user can read, logging first so that tightening
    # an older, readable home folder leaves its one line in the log.
    private_process()
    _setup_logging(cfg)
    make_home_private(cfg.home)
    app = QApplication.instance() or QApplication([sys.argv[0], *(argv or [])])
    assert isinstance(app, QApplication)
    app.setApplicationName("Folio")
    app.setDesktopFileName("folio")  # matches the installed folio.desktop entry
    icon = assets_dir() / "icons" / "folio.png"
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    window = MainWindow(Library(cfg))
    window.show()
    log.info("main window shown (home %s)", cfg.home)
    # `folio bench gui` and the installer's check: report when shown (and save a picture of
    # the window with FOLIO_SCREENSHOT=FILE), then quit.
    shot = os.environ.get("FOLIO_SCREENSHOT")
    if os.environ.get("FOLIO_EXIT_WHEN_SHOWN") or shot:

        def finish() -> None:
            if shot:
                ok = window.grab().save(shot)
                print(f"screenshot {'saved' if ok else 'FAILED'} {shot}", flush=True)
            window.close()
            app.quit()

        def report() -> None:
            welcome = window.welcome.isVisible()  # the first-run view (no collection yet)
            print(f"shown {time.time():.4f} welcome={welcome}", flush=True)
            # Let the first layout and paint settle before taking the picture.
            QTimer.singleShot(500 if shot else 0, finish)

        QTimer.singleShot(0, report)

    # Quit cleanly on SIGTERM/SIGINT (a session logging out, Ctrl+C in a terminal). Python runs
    # signal handlers only between bytecodes, so a timer wakes the interpreter now and then.
    def quit_app(*_args: object) -> None:
        window.close()
        app.quit()

    signal.signal(signal.SIGTERM, quit_app)
    signal.signal(signal.SIGINT, quit_app)
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(200)
    code = int(app.exec())
    log.info("exited with code %s", code)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
