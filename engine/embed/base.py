"""The Embedder contract, documented once here."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager

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
        streams: int = 1,
    ) -> np.ndarray:
        """Embed any number of texts, batched by similar length to waste little padding.

        With ``streams`` > 1, batches run on that many threads at once, each backend call
        single-threaded (see ``single_threaded``): on a small CPU, whole batches side by side
        use the cores better than one batch split across them. ``between_batches`` is always
        called on the calling thread, so it may raise to stop the work.
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
        batches = [order[b : b + batch_size] for b in range(0, len(order), batch_size)]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if streams <= 1 or len(batches) == 1:
            for idx in batches:
                out[idx] = self.embed_batch([texts[i] for i in idx])
                if between_batches is not None:
                    between_batches(len(idx))
            return out
        with self.single_threaded(), ThreadPoolExecutor(streams) as pool:
            futures = {
                pool.submit(self.embed_batch, [texts[i] for i in idx]): idx for idx in batches
            }
            try:
                for fut in as_completed(futures):
                    idx = futures[fut]
                    out[idx] = fut.result()
                    if between_batches is not None:
                        between_batches(len(idx))
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
        return out

    @contextmanager
    def single_threaded(self) -> Iterator[None]:
        """Make each backend call use one CPU thread for the duration (default: no change)."""
        yield

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_batch([text])[0]
