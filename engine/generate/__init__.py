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


def connect_server(config: ServerConfig, settings: GenSettings | None = None) -> Generator:
    """A generator that answers from a model server (see generate/server.py); raises
    ServerError with a message for the user when the server cannot be used."""
    from .server import ServerGenerator

    return ServerGenerator(config, settings)


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
