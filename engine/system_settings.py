"""Settings an IT department deploys for every user of a computer: defaults, some locked.

One JSON file, readable by everyone and writable by administrators only:

- Linux: ``/etc/folio/settings.json``
- macOS: ``/Library/Application Support/Folio/settings.json``
- Windows: ``C:\\ProgramData\\Folio\\settings.json``

``FOLIO_SYSTEM_SETTINGS`` names another file (tests, or a deployment that keeps it elsewhere).
Its keys are the desktop's setting names (``answers_from``, ``server_url``, ``server_model``,
``n_ctx``, ``k``, ``ocr``, …) and act as defaults that a user's own settings override, except
the keys listed in ``locked``: those always take the file's value (or the built-in default when
the file gives none), and the settings dialog shows them read-only. Keys starting with "_" are
comments. An absent file changes nothing; a damaged one is logged and ignored.

``folio ask`` reads the server keys too: see ``server_choice``. ``shared_store`` and
``shared_collections`` name the organisation's shared collections (see shared_list.py); the
user's own settings never change them.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from .errors import FolioError

log = logging.getLogger("folio.system_settings")

SYSTEM_SETTINGS_ENV = "FOLIO_SYSTEM_SETTINGS"


def system_settings_path() -> Path:
    env = os.environ.get(SYSTEM_SETTINGS_ENV)
    if env:
        return Path(env).expanduser()
    if sys.platform.startswith("linux"):
        return Path("/etc/folio/settings.json")
    # macOS: /Library/Application Support/Folio; Windows: C:\ProgramData\Folio
    return Path(platformdirs.site_config_dir("Folio", appauthor=False)) / "settings.json"


@dataclass(frozen=True)
class SystemSettings:
    """The organisation's settings: ``values`` are defaults, ``locked`` keys cannot be changed."""

    values: dict[str, object] = field(default_factory=dict)
    locked: frozenset[str] = frozenset()
    path: Path | None = None  # the file read; None when there is none

    def is_locked(self, key: str) -> bool:
        return key in self.locked


def load_system_settings(path: Path | None = None) -> SystemSettings:
    """The organisation's settings file; empty settings when there is none or it is damaged."""
    path = path or system_settings_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return SystemSettings()
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        log.warning("organisation settings %s unreadable (%s); ignored", path, exc)
        return SystemSettings()
    if not isinstance(raw, dict):
        log.warning("organisation settings %s are not a JSON object; ignored", path)
        return SystemSettings()
    locked = raw.get("locked", [])
    locks = frozenset(k for k in locked if isinstance(k, str)) if isinstance(locked, list) else None
    if locks is None:
        log.warning("organisation settings %s: 'locked' is not a list; nothing locked", path)
        locks = frozenset()
    values = {k: v for k, v in raw.items() if isinstance(k, str) and k != "locked" and k[:1] != "_"}
    return SystemSettings(values, locks, path)


def server_choice(
    system: SystemSettings, server: str | None, model: str | None, local_model: bool
) -> tuple[str, str]:
    """For ``folio ask``: the (server URL, server model) to answer with, ("", "") for this
    computer. ``--server`` wins over the file; the file's server is used when it says
    ``"answers_from": "server"`` and neither ``--server`` nor ``--model`` is given. Locked keys
    refuse an option that contradicts them, with a sentence."""
    url = str(system.values.get("server_url") or "").strip()
    wants_server = system.values.get("answers_from") == "server" and bool(url)
    file_model = str(system.values.get("server_model") or "")
    if local_model and wants_server and system.is_locked("answers_from"):
        raise FolioError(
            f"Your organisation has set Folio to answer from its model server at {url}, so "
            "a model on this computer cannot be used. Leave out --model and --adapter."
        )
    if server:
        if system.is_locked("server_url") and url and server.strip() != url:
            raise FolioError(
                f"Your organisation has set the model server to {url}; Folio cannot use "
                "another one. Leave out --server."
            )
        if model and system.is_locked("server_model") and file_model and model != file_model:
            raise FolioError(
                f"Your organisation has set the server's model to “{file_model}”. "
                "Leave out --server-model."
            )
        return server, model or (file_model if server.strip() == url else "")
    if local_model or not wants_server:
        return "", ""
    if model and system.is_locked("server_model") and file_model and model != file_model:
        raise FolioError(
            f"Your organisation has set the server's model to “{file_model}”. "
            "Leave out --server-model."
        )
    return url, model or file_model


__all__ = [
    "SYSTEM_SETTINGS_ENV",
    "SystemSettings",
    "load_system_settings",
    "server_choice",
    "system_settings_path",
]
