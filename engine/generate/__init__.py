"""Language models: the Generator base, the llama.cpp backend, GGUF metadata and discovery."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .base import GenerationStats, Generator, GenSettings
from .discovery import add_model, default_model_path, discover_models
from .gguf import ModelInfo, model_info

if TYPE_CHECKING:
    from .server import ServerConfig


def load_generator(
    path: object = None,
    settings: GenSettings | None = None,
    adapters: Sequence[tuple[Path, float]] = (),
) -> Generator:
    """Load a GGUF model (the bundled default when ``path`` is None), with LoRA adapters
    (path, scale) if given. Takes a second or more."""
    from .llama import LlamaGenerator

    return LlamaGenerator(Path(str(path)) if path else default_model_path(), settings, adapters)


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
    "ModelInfo",
    "add_model",
    "connect_server",
    "default_model_path",
    "discover_models",
    "load_generator",
    "model_info",
]
