"""Entry point of the installed app (the PyInstaller bundle).

``folio`` is the command line and ``folio-desktop`` the desktop app: one program, told apart by
the name it was started under, so the bundle carries Python and its libraries once.
"""

from __future__ import annotations

import multiprocessing
import sys
from pathlib import Path


def _started_as_desktop() -> bool:
    names = {Path(sys.argv[0]).stem.lower(), Path(sys.executable).stem.lower()}
    return "folio-desktop" in names


def main() -> int:
    # Parse workers (forkserver) and the tuning process (spawn) start this same program; this
    # runs their code and exits when it is one of them.
    multiprocessing.freeze_support()
    if _started_as_desktop():
        from desktop.app import main as desktop_main

        return desktop_main(sys.argv[1:])
    from engine.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
