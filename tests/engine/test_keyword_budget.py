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


def test_when_even_the_rarest_term_is_common_passages_with_the_two_rarest_come_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large collection where every word of the question is common: the passages holding
    its two rarest words are ranked (a small set), not every passage holding the rarest."""
    store = Store(tmp_path / "s.sqlite3")
    texts = [f"quarterly report {i} on the harbour" for i in range(30)]  # harbour: 30 + 8
    texts += [f"dredging schedule {i} for the canal" for i in range(20)]  # dredging: 20 + 8
    texts += [f"harbour dredging plan {i} approved" for i in range(8)]  # both words
    texts += [f"pilot boats {i} and harbour dredging fees" for i in range(3)]  # both, + pilot
    chunks = [ChunkSpan(1, 0, len(t), t, 8) for t in texts]
    vecs = np.zeros((len(texts), 4), dtype=np.float32)
    store.begin()
    _doc, ids, _old = store.put_indexed("/a", 1, 1, "a", "text", 1, [], chunks, vecs)
    store.commit()
    both = set(ids[50:])
    question = "harbour dredging"
    monkeypatch.setattr(retrieve, "POSTINGS_BUDGET", 15)  # below "dredging"'s 31 passages
    got = retrieve.keyword_candidates(store, question, 10, None)
    assert len(got) == 10 and {cid for cid, _ in got} <= both
    # Fewer than n passages hold both: every passage with the rarest word, as before.
    wide = retrieve.keyword_candidates(store, question, 40, None)
    dredging = set(ids[30:50]) | both
    assert len(wide) == 31 and {cid for cid, _ in wide} == dredging
    # Within the budget nothing changes: both words, every passage holding either.
    monkeypatch.setattr(retrieve, "POSTINGS_BUDGET", 4000)
    assert len(retrieve.keyword_candidates(store, question, 100, None)) == len(texts)
    store.close()
