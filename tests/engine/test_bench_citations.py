"""The checker's benchmark: a seeded labelled set from ../shared/corpus, scored by the checker."""

from __future__ import annotations

import pytest

from engine.bench_citations import FALSE_KINDS, generate
from engine.claims import SUPPORTED, Passage, check
from tests.conftest import corpus_path


@pytest.fixture(scope="module")
def items():  # type: ignore[no-untyped-def]
    corpus_path("qa", "docugami_kg_rag", "sec-10-q")
    corpus_path("qa", "covid_qa")
    corpus_path("qa", "tonic_validate_paul_graham")
    return generate(seed=15, per_source=20)


def test_the_set_is_seeded_and_each_false_claim_changes_one_thing(items) -> None:  # type: ignore[no-untyped-def]
    again = generate(seed=15, per_source=20)
    assert [(i.claim, i.kind) for i in again] == [(i.claim, i.kind) for i in items]
    assert generate(seed=16, per_source=20) != items
    assert {i.source for i in items} == {"10-Q", "COVID-QA", "Paul Graham"}
    kinds = {i.kind for i in items if not i.true}
    assert kinds == set(FALSE_KINDS)
    copied = {(i.document, i.passage): i.claim for i in items if i.kind == "copied"}
    for i in items:
        if i.kind == "copied":
            assert i.claim in i.passage.replace("\n", " ") or i.claim in i.passage
        if not i.true and i.kind != "scale" and (i.document, i.passage) in copied:
            assert i.claim != copied[(i.document, i.passage)]


def test_checker_meets_its_targets_on_a_sample(items, embedder) -> None:  # type: ignore[no-untyped-def]
    # A ✓ must be right (precision of supported at least 0.97) and most true claims get one.
    claims = embedder.embed([i.claim for i in items])
    passages = embedder.embed([i.passage for i in items])
    sims = (claims * passages).sum(axis=1)
    said = [
        check(i.claim, [Passage(1, i.passage, i.context)], [float(s)]).status == SUPPORTED
        for i, s in zip(items, sims, strict=True)
    ]
    tp = sum(s for s, i in zip(said, items, strict=True) if i.true)
    fp = sum(s for s, i in zip(said, items, strict=True) if not i.true)
    n_true = sum(i.true for i in items)
    assert tp / (tp + fp) >= 0.97
    assert tp / n_true >= 0.80
