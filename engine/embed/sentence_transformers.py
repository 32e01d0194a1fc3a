"""sentence-transformers backend (MiniLM by default), on the CPU unless told otherwise.

Precision: on a CPU with bfloat16 arithmetic in hardware (AVX512-BF16 or AMX: Intel Xeon since
Sapphire Rapids, AMD since Zen 4), batches of passages run under torch's bfloat16 autocast
(matrix products in bfloat16, normalisation and softmax in float32): about twice as fast on an
AMX Xeon (the one kind measured), and the vectors agree with float32 to a cosine of 0.9999 or
better. A single text (a question) stays in float32, where autocast's casting would cost more
than it saves. Elsewhere, and whenever a probe at load time disagrees, everything stays
float32. The weights, and so the fingerprint, are the same either way: vectors from either
precision can share an index.

Memory: a batch is padded to a multiple of :data:`PAD_MULTIPLE` tokens (padding is masked out,
so the vectors are the same). With every batch a different length, the C heap was cut into
pieces of every size that the allocator could neither reuse nor hand back: indexing 60 PDFs
left Folio's process 600 MB larger than the embedding needed; with a few lengths repeating,
the freed blocks are reused.
"""

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
PRECISIONS = ("auto", "float32", "bfloat16")
# bfloat16 is kept only if these come out within this cosine of their float32 vectors.
_PROBE = (
    "Quarterly revenue rose 12% to $81,797 million, driven by services.",
    "The committee meets each spring to review the annual budget and staffing plan.",
    "Patients with fever and cough were tested within 24 hours of admission.",
)
_PROBE_MIN_COSINE = 0.999
# Batches of several texts are padded to a multiple of this many tokens (see the top).
PAD_MULTIPLE = 32


def cpu_has_bf16() -> bool:
    """Whether this CPU does bfloat16 arithmetic in hardware (emulated bfloat16 is slower)."""
    try:
        import torch

        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except (AttributeError, RuntimeError):
        return False


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
    def __init__(self, model_dir: Path, device: str = "cpu", precision: str = "auto") -> None:
        if precision not in PRECISIONS:
            raise FolioError(
                f"Unknown embedding precision '{precision}' (use {', '.join(PRECISIONS)})."
            )
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
        # "float32" or "bfloat16": how batches of several texts are computed (see the top).
        self.precision = "float32"
        if device == "cpu" and (
            precision == "bfloat16" or (precision == "auto" and cpu_has_bf16())
        ):
            self.precision = "bfloat16" if self._bf16_agrees() else "float32"

    def _bf16_agrees(self) -> bool:
        exact = self._forward(list(_PROBE), bf16=False)
        try:
            fast = self._forward(list(_PROBE), bf16=True)
        except RuntimeError:
            return False
        return bool(np.all(np.sum(exact * fast, axis=1) >= _PROBE_MIN_COSINE))

    @property
    def model(self) -> object:
        return self._model

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        return self._forward(list(texts), bf16=self.precision == "bfloat16" and len(texts) > 1)

    def _forward(self, texts: list[str], bf16: bool) -> np.ndarray:
        import torch

        # The fast tokenizer must not be entered by two threads at once ("Already borrowed");
        # the model's forward pass may.
        with self._tokenizer_lock:
            if len(texts) > 1:
                features = self._model.preprocess(
                    texts, processing_kwargs={"text": {"pad_to_multiple_of": PAD_MULTIPLE}}
                )
            else:
                features = self._model.preprocess(texts)
        with (
            torch.inference_mode(),
            torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16),
        ):
            out = self._model(features)["sentence_embedding"]
        out = torch.nn.functional.normalize(out.float(), p=2, dim=1)
        return np.asarray(out.numpy(), dtype=np.float32)

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
