"""Keyword search on a large collection keeps the rarest terms within a postings budget."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import engine.retrieve as retrieve
from engine.index.store import Store
from engine.types import ChunkSpan


def test_common_terms_are_left_out_beyond_the_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "s.sqlite3")
    texts = [f"meeting notes number {i} about the budget" for i in range(40)]
    texts.append("meeting about the zeppelin hangar lease")
    chunks = [ChunkSpan(1, 0, len(t), t, 8) for t in texts]
    vecs = np.zeros((len(texts), 4), dtype=np.float32)
    store.begin()
    _doc, ids, _old = store.put_indexed("/a", 1, 1, "a", "text", 1, [], chunks, vecs)
    store.commit()

    # Within budget: both terms are used, so the many "meeting" chunks match too.
    everything = retrieve.keyword_candidates(store, "meeting zeppelin", 100, None)
    assert len(everything) == 41
    assert everything[0][0] == ids[-1]  # the chunk with both terms ranks first

    # Over budget: the common term is dropped, the rare one is kept.
    monkeypatch.setattr(retrieve, "POSTINGS_BUDGET", 10)
    pruned = retrieve.keyword_candidates(store, "meeting zeppelin", 100, None)
    assert [cid for cid, _ in pruned] == [ids[-1]]
    store.close()
