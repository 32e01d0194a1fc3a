"""Language models: the Generator base, the llama.cpp backend, GGUF metadata and discovery."""

from collections.abc import Sequence
from pathlib import Path

from .base import GenerationStats, Generator, GenSettings
from .discovery import add_model, default_model_path, discover_models
from .gguf import ModelInfo, model_info


def load_generator(
    path: object = None,
    settings: GenSettings | None = None,
    adapters: Sequence[tuple[Path, float]] = (),
) -> Generator:
    """Load a GGUF model (the bundled default when ``path`` is None), with LoRA adapters
    (path, scale) if given. Takes a second or more."""
    from .llama import LlamaGenerator

    return LlamaGenerator(Path(str(path)) if path else default_model_path(), settings, adapters)


__all__ = [
    "GenSettings",
    "GenerationStats",
    "Generator",
    "ModelInfo",
    "add_model",
    "default_model_path",
    "discover_models",
    "load_generator",
    "model_info",
]
