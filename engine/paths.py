"""Where Folio keeps its files: one home folder, moved by FOLIO_HOME or ``--home``."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def default_home() -> Path:
    env = os.environ.get("FOLIO_HOME")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("Folio", appauthor=False))


def collections_dir(home: Path) -> Path:
    return home / "collections"


def models_dir(home: Path) -> Path:
    return home / "models"


def logs_dir(home: Path) -> Path:
    return home / "logs"
