"""Language models: the Generator base, the llama.cpp backend, GGUF metadata and discovery."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .base import GenerationStats, Generator, GenSettings
from .discovery import add_model, default_model_path, discover_models
from .gguf import ModelInfo, model_info
from .loading import LoadCallback

if TYPE_CHECKING:
    from ..progress import CancelToken
    from .server import ServerConfig


def load_generator(
    path: object = None,
    settings: GenSettings | None = None,
    adapters: Sequence[tuple[Path, float]] = (),
    progress: LoadCallback | None = None,
    cancel: CancelToken | None = None,
) -> Generator:
    """Load a GGUF model (the bundled default when ``path`` is None), with LoRA adapters
    (path, scale) if given. Takes a second or more: ``progress`` hears (fraction done 0..1,
    stage) along the way, and setting ``cancel`` stops the load with Cancelled."""
    from .llama import LlamaGenerator

    file = Path(str(path)) if path else default_model_path()
    return LlamaGenerator(file, settings, adapters, progress=progress, cancel=cancel)


def connect_server(
    config: ServerConfig, settings: GenSettings | None = None, home: Path | None = None
) -> Generator:
    """A generator that answers from a model server (see generate/server.py); raises
    ServerError with a message for the user when the server cannot be used. ``home``: Folio's
    home, whose added models may lend their tokenizer to a server that offers none."""
    from .families import known_local_models
    from .server import ServerGenerator

    return ServerGenerator(config, settings, known_local_models(home))


__all__ = [
    "GenSettings",
    "GenerationStats",
    "Generator",
    "LoadCallback",
    "ModelInfo",
    "add_model",
    "connect_server",
    "default_model_path",
    "discover_models",
    "load_generator",
    "model_info",
]
