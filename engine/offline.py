"""Offline means offline: switch every library Folio uses to local-only mode.

Called when the engine is imported, before any Hugging Face library (or onnxruntime) is. The
network switches are forced, not defaulted: a shell, a login script or another program that exports
``HF_HUB_OFFLINE=0`` must not turn the model hub back on inside Folio. Folio never needs the
hub; its models are files on this computer.
"""

from __future__ import annotations

import os

# Forced: whatever the environment says, these are set to these values.
OFFLINE_SWITCHES = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
    "DO_NOT_TRACK": "1",
    # onnxruntime (text recognition) sends usage events to Microsoft from its native code
    # unless this is set: seen as DNS look-ups of mobile.events.data.microsoft.com.
    "ORT_DISABLE_TELEMETRY": "1",
}
# Defaults only: not about the network, so a user's own choice stands.
DEFAULTS = {
    "TOKENIZERS_PARALLELISM": "false",
}


def go_offline() -> None:
    os.environ.update(OFFLINE_SWITCHES)
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
