"""What this computer measured for each model: how fast it writes an answer and how long it
takes to load. Kept in the home folder (``model-speeds.json``) so the model picker can say, in
plain words, how fast each model is here, and a model that loads can say how long it took the
last time.

Measured on the model's worker, never on the GUI thread. A missing or damaged file is simply
"not measured yet": nothing here may stop an answer or the settings from showing.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

FILE = "model-speeds.json"
KEEP = 5  # the last few measurements of each kind; their median is shown
WORDS_PER_TOKEN = 0.75  # about, for English text
_lock = threading.Lock()


@dataclass(frozen=True)
class Speed:
    tokens_per_s: float | None = None  # writing speed (median of the last answers)
    load_s: float | None = None  # loading time (median of the last loads)


def model_key(path: str | Path) -> str:
    """One key per model file, however it was named (relative, with ~, through a link)."""
    try:
        return str(Path(path).expanduser().resolve())
    except (OSError, RuntimeError, ValueError):
        return str(path)


def _read(home: Path) -> dict[str, dict[str, list[float]]]:
    try:
        data = json.loads((home / FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def record(home: Path, path: str | Path, *, tokens_per_s: float = 0.0, load_s: float = 0.0) -> None:
    """Add one measurement for the model at ``path`` (0 means not measured this time)."""
    key = model_key(path)
    with _lock:
        data = _read(home)
        raw = data.get(key)
        entry: dict[str, list[float]] = raw if isinstance(raw, dict) else {}
        for name, value in (("tokens_per_s", tokens_per_s), ("load_s", load_s)):
            if value > 0:
                old = entry.get(name)
                kept = (
                    [float(v) for v in old if isinstance(v, int | float)]
                    if isinstance(old, list)
                    else []
                )
                entry[name] = [*kept, round(float(value), 3)][-KEEP:]
        data[key] = entry
        try:  # a temp file renamed over the old one: never a half-written file
            home.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=home, prefix=".speeds-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=1)
            os.replace(tmp, home / FILE)
        except OSError as exc:  # a full or read-only disk: the speed is not kept, that is all
            log.info("model speeds not saved: %s", exc)


def measured(home: Path, path: str | Path) -> Speed:
    entry = _read(home).get(model_key(path))
    if not isinstance(entry, dict):
        return Speed()

    def median(name: str) -> float | None:
        values = [v for v in entry.get(name) or [] if isinstance(v, int | float) and v > 0]
        return float(statistics.median(values)) if values else None

    return Speed(median("tokens_per_s"), median("load_s"))


def speed_words(speed: Speed) -> str:
    """The speed in words a person can use, such as "writes about 40 words a second on this
    computer (measured)"."""
    if speed.tokens_per_s is None:
        return "speed on this computer not measured yet"
    words = speed.tokens_per_s * WORDS_PER_TOKEN
    shown = f"{words:.0f}" if words >= 2 else f"{words:.1f}"
    return f"writes about {shown} words a second on this computer"
