"""Offline means offline: switch every library Folio uses to local-only mode.

Called when the engine is imported, before any Hugging Face library is; a user who wants a hub
can set the variables to 0 themselves before starting Folio.
"""

from __future__ import annotations

import os

OFFLINE_SWITCHES = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
    "DO_NOT_TRACK": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def go_offline() -> None:
    for key, value in OFFLINE_SWITCHES.items():
        os.environ.setdefault(key, value)
