"""sentence-transformers backend (MiniLM by default), on the CPU unless told otherwise."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import FolioError
from .base import Embedder

_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


def fingerprint_model_dir(path: Path) -> str:
    """A short hash of the weights and the files that shape the vectors (config, pooling)."""
    h = hashlib.sha256()
    files = [p for p in sorted(path.rglob("*")) if p.is_file()]
    for p in files:
        rel = p.relative_to(path).as_posix()
        if p.name in _WEIGHT_FILES or p.suffix in (".json", ".txt"):
            h.update(rel.encode())
            with p.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
    return h.hexdigest()[:16]


class SentenceTransformerEmbedder(Embedder):
    def __init__(self, model_dir: Path, device: str = "cpu") -> None:
        model_dir = Path(model_dir)
        if not (model_dir / "modules.json").exists() and not (model_dir / "config.json").exists():
            raise FolioError(
                f"'{model_dir}' is not a sentence-transformers model folder "
                "(no modules.json or config.json)."
            )
        tok = model_dir / "tokenizer.json"
        if not tok.exists():
            raise FolioError(f"The embedding model in '{model_dir}' has no tokenizer.json.")
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()

        self._model = SentenceTransformer(str(model_dir), device=device, local_files_only=True)
        self.name = _model_name(model_dir)
        self.fingerprint = fingerprint_model_dir(model_dir)
        self.dim = int(self._model.get_embedding_dimension() or 0)
        self.max_tokens = int(self._model.max_seq_length or 256)
        self.tokenizer_file = str(tok)
        self.model_dir = model_dir
        self._tokenizer_lock = threading.Lock()

    @property
    def model(self) -> object:
        return self._model

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        # The fast tokenizer must not be entered by two threads at once ("Already borrowed");
        # the model's forward pass may.
        with self._tokenizer_lock:
            features = self._model.preprocess(list(texts))
        with torch.inference_mode():
            out = self._model(features)["sentence_embedding"]
            out = torch.nn.functional.normalize(out, p=2, dim=1)
        return np.asarray(out.float().numpy(), dtype=np.float32)

    @contextmanager
    def single_threaded(self) -> Iterator[None]:
        import torch

        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)


def _model_name(model_dir: Path) -> str:
    """A readable name: the model card's title, else the folder's name."""
    card = model_dir / "README.md"
    try:
        for line in card.read_text("utf-8").splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    except (OSError, UnicodeDecodeError):
        pass
    return model_dir.name
