"""Embedding backends: one abstract method (``embed_batch``), chosen by a factory."""

from .base import Embedder
from .factory import default_embed_model_path, load_embedder

__all__ = ["Embedder", "default_embed_model_path", "load_embedder"]
