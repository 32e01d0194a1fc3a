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
from typing import TYPE_CHECKING

from engine.generate import GenSettings
from engine.generate.discovery import DEFAULT_MODEL_FILE
from engine.system_settings import SystemSettings, load_system_settings

if TYPE_CHECKING:
    from engine.generate.server import ServerConfig

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
    # Where answers come from: "local" (this computer) or "server" (a model server in the
    # organisation). The server's key is kept in its own file (server-key), never here.
    answers_from: str = "local"
    server_url: str = ""
    server_model: str = ""  # "" = the first model the server lists

    def gen_settings(self) -> GenSettings:
        return GenSettings(
            n_ctx=self.n_ctx,
            threads=self.threads or None,
            gpu_layers=self.gpu_layers,
            temperature=self.temperature,
            max_answer_tokens=self.max_answer_tokens,
            ttft_cap_s=self.ttft_cap_s or None,
        )


def server_config(s: Settings, home: Path) -> ServerConfig | None:
    """The model server answers come from, or None for this computer. The server module is
    imported only here, so a desktop that answers locally never loads it."""
    if s.answers_from != "server" or not s.server_url.strip():
        return None
    from engine.generate.server import ServerConfig, load_api_key

    return ServerConfig(s.server_url.strip(), s.server_model.strip(), load_api_key(home))


def answers_from_line(s: Settings) -> str:
    """One short line for the window: where answers come from."""
    if s.answers_from == "server" and s.server_url.strip():
        from engine.generate.server import ServerError, parse_url

        try:
            _scheme, host, port, _path = parse_url(s.server_url)
        except ServerError:
            return "Answers from a model server whose address Folio cannot use; see Settings."
        model = s.server_model.strip()
        model = (model.rsplit("/", 1)[-1] if "/" in model else model) or "its first model"
        return f"Answers from the model server at {host}:{port} ({model})"
    name = Path(s.model_path).stem if s.model_path else Path(DEFAULT_MODEL_FILE).stem
    return f"Answers from {name} on this computer"


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


def _apply(out: Settings, values: dict[str, object], skip: frozenset[str] = frozenset()) -> None:
    """Set the fields ``values`` gives with the right type; anything else is ignored."""
    for f in fields(Settings):
        if f.name in values and f.name not in skip:
            value = values[f.name]
            default = getattr(out, f.name)
            if isinstance(value, type(default)) or (
                isinstance(default, float) and isinstance(value, int)
            ):
                setattr(out, f.name, type(default)(value))


def load_settings(home: Path, system: SystemSettings | None = None) -> Settings:
    """Built-in defaults, then the organisation's file (see engine/system_settings.py), then
    the user's own choices — except for keys the organisation locked."""
    system = system if system is not None else load_system_settings()
    out = Settings()
    _apply(out, system.values)
    try:
        raw = json.loads(settings_path(home).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raw = {}
    except (OSError, ValueError):
        log.warning("settings file unreadable; using defaults")
        raw = {}
    values = raw.get("settings", {}) if isinstance(raw, dict) else {}
    # Migrations by version go here (none yet: version 1 is the first).
    if isinstance(values, dict):
        _apply(out, values, skip=system.locked)
    return out


def save_settings(home: Path, s: Settings, system: SystemSettings | None = None) -> None:
    """The user's choices. Locked keys, and keys equal to the organisation's default, are left
    out: when IT changes a default later, people who never changed it follow."""
    system = system if system is not None else load_system_settings()
    values = {
        k: v
        for k, v in asdict(s).items()
        if k not in system.locked and not (k in system.values and system.values[k] == v)
    }
    _write(settings_path(home), {"version": SETTINGS_VERSION, "settings": values})


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
