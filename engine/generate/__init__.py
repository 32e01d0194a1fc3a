"""Language models: the Generator base, the llama.cpp backend, GGUF metadata and discovery."""

from .base import GenerationStats, Generator, GenSettings
from .discovery import add_model, default_model_path, discover_models
from .gguf import ModelInfo, model_info


def load_generator(path: object = None, settings: GenSettings | None = None) -> Generator:
    """Load a GGUF model (the bundled default when ``path`` is None). Takes a second or more."""
    from pathlib import Path

    from .llama import LlamaGenerator

    return LlamaGenerator(Path(str(path)) if path else default_model_path(), settings)


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
