"""The Embedder contract, documented once here."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

import numpy as np


class Embedder(ABC):
    """Turns texts into unit-length float32 vectors.

    Subclasses implement ``embed_batch`` only; batching, sorting by length and cancellation
    live here. ``name`` is shown to people; ``fingerprint`` identifies the exact weights, so a
    collection built with one model is never queried with another. ``tokenizer_file`` is a
    tokenizer.json that measures text in the model's own tokens (the chunker uses it in the
    parse workers, which never load the model itself).
    """

    name: str
    fingerprint: str
    dim: int
    max_tokens: int
    tokenizer_file: str

    @abstractmethod
    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for ``texts``, shape (len(texts), dim), float32, L2-normalised."""

    def embed(
        self,
        texts: Sequence[str],
        batch_size: int = 32,
        between_batches: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Embed any number of texts, batched by similar length to waste little padding."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for b in range(0, len(order), batch_size):
            idx = order[b : b + batch_size]
            out[idx] = self.embed_batch([texts[i] for i in idx])
            if between_batches is not None:
                between_batches(len(idx))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_batch([text])[0]
