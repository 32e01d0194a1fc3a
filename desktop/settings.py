"""User settings (versioned JSON in the home folder), kept apart from window state.

Settings are what the user chose (model, context size, k, ...); window state is where the
windows and splitters were. Both are written atomically; a damaged or newer file falls back
to defaults for the fields it cannot provide instead of stopping the app.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from engine.generate import GenSettings

log = logging.getLogger("folio.desktop")

SETTINGS_VERSION = 1


@dataclass
class Settings:
    model_path: str = ""  # "" = the bundled default model
    n_ctx: int = 4096
    gpu_layers: int = -1  # -1 = auto
    threads: int = 0  # 0 = all cores
    temperature: float = 0.0  # greedy: the same question gets the same answer
    max_answer_tokens: int = 384
    k: int = 6
    preset: str = "auto"  # quotes for models under 1B parameters, a written answer otherwise
    quote_model_picks: bool = False  # with quotes: the model chooses the sentences by number
    ttft_cap_s: float = 0.0  # 0 = no cap
    edge_ordering: bool = True
    adapter: str = ""  # a GGUF LoRA adapter for chat ("" = none); its base adapters come too
    adapter_scale: float = 1.0
    # Read scanned PDF pages and pictures by text recognition (OCR) when indexing.
    ocr: bool = True

    def gen_settings(self) -> GenSettings:
        return GenSettings(
            n_ctx=self.n_ctx,
            threads=self.threads or None,
            gpu_layers=self.gpu_layers,
            temperature=self.temperature,
            max_answer_tokens=self.max_answer_tokens,
            ttft_cap_s=self.ttft_cap_s or None,
        )


def _write(path: Path, data: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    try:
        tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)  # a half-written file must not linger; the old one stays
        raise


def settings_path(home: Path) -> Path:
    return home / "settings.json"


def load_settings(home: Path) -> Settings:
    try:
        raw = json.loads(settings_path(home).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError):
        log.warning("settings file unreadable; using defaults")
        return Settings()
    values = raw.get("settings", {}) if isinstance(raw, dict) else {}
    # Migrations by version go here (none yet: version 1 is the first).
    out = Settings()
    for f in fields(Settings):
        if f.name in values:
            value = values[f.name]
            default = getattr(out, f.name)
            if isinstance(value, type(default)) or (
                isinstance(default, float) and isinstance(value, int)
            ):
                setattr(out, f.name, type(default)(value))
    return out


def save_settings(home: Path, s: Settings) -> None:
    _write(settings_path(home), {"version": SETTINGS_VERSION, "settings": asdict(s)})


def window_state_path(home: Path) -> Path:
    return home / "window-state.json"


def load_window_state(home: Path) -> dict[str, bytes]:
    try:
        raw = json.loads(window_state_path(home).read_text(encoding="utf-8"))
        return {k: base64.b64decode(v) for k, v in raw.items() if isinstance(v, str)}
    except (OSError, ValueError):
        return {}


def save_window_state(home: Path, state: dict[str, bytes]) -> None:
    _write(window_state_path(home), {k: base64.b64encode(v).decode() for k, v in state.items()})
