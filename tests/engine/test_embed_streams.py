"""Embedding side by side on several threads gives the same vectors as one stream."""

from __future__ import annotations

import numpy as np
import torch


def test_streams_match_single_stream_and_restore_threads(embedder) -> None:  # type: ignore[no-untyped-def]
    texts = [f"Sentence {i} about topic {i % 7}. " * (1 + i % 5) for i in range(70)]
    threads = torch.get_num_threads()
    one = embedder.embed(texts, batch_size=8, streams=1)
    seen: list[int] = []
    two = embedder.embed(texts, batch_size=8, between_batches=seen.append, streams=2)
    if embedder.precision == "float32":
        assert np.allclose(one, two, atol=1e-5)
    else:  # bfloat16 sums depend a little on how the work is split across threads
        assert np.sum(one * two, axis=1).min() >= 0.9999
    assert sum(seen) == len(texts)
    assert torch.get_num_threads() == threads
    norms = np.linalg.norm(two, axis=1)
    assert np.allclose(norms, 1.0, atol=1e-4)
    # Same as sentence-transformers' own encode (to bfloat16's precision where batches use it:
    # see test_embed_precision).
    ref = embedder.model.encode(texts[:5], normalize_embeddings=True)
    if embedder.precision == "float32":
        assert np.allclose(ref, two[:5], atol=1e-5)
    else:
        assert np.sum(ref * two[:5], axis=1).min() >= 0.9999
