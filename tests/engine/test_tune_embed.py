"""Embedding fine-tuning on real question/passage pairs (COVID-QA): recall@5 on held-out
questions rises, and a collection re-embedded with the tuned model changes its fingerprint."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from engine import Library
from engine.embed import default_embed_model_path
from engine.errors import EmbeddingModelMismatch
from engine.tune.embed import EmbedTuneSpec, run_embed_tune
from tests.conftest import corpus_path

pytestmark = [pytest.mark.slow, pytest.mark.corpus]

REPO = Path(__file__).resolve().parents[2]


def covid_pairs(
    papers: int, per_paper: int, distractors: int, width: int = 450
) -> tuple[list[list[str]], list[str]]:
    """(question, the passage around its answer) from the first ``papers`` COVID-QA papers, and
    ``distractors`` more passages per paper from random places in it. Passages of one paper are
    alike (same topic, same words): the hard case for retrieval."""
    path = corpus_path("qa", "covid_qa") / "200423_covidQA.json"
    data = json.loads(path.read_text(encoding="utf-8"))["data"]
    rng = random.Random(0)
    pairs: list[list[str]] = []
    extra: list[str] = []
    for paper in data[:papers]:
        para = paper["paragraphs"][0]
        context = para["context"]
        for qa in para["qas"][:per_paper]:
            if not qa["answers"]:
                continue
            start = qa["answers"][0]["answer_start"]
            lo = max(0, start - width // 2)
            lo = context.rfind(" ", 0, lo) + 1 if lo else 0
            hi = context.find(" ", min(len(context), lo + width))
            passage = " ".join(context[lo : hi if hi > 0 else None].split())
            pairs.append([qa["question"].strip(), passage])
        for _ in range(distractors):
            lo = rng.randrange(0, max(1, len(context) - width))
            extra.append(" ".join(context[lo : lo + width].split()))
    return pairs, extra


def test_embedding_tuning_raises_recall_and_reembeds(library: Library, tmp_path: Path) -> None:
    pairs, distractors = covid_pairs(papers=20, per_paper=8, distractors=5)
    assert len(pairs) >= 100
    events: list[dict[str, Any]] = []
    out = tmp_path / "tuned-minilm"
    result = run_embed_tune(
        EmbedTuneSpec(
            base=str(default_embed_model_path()),
            out=str(out),
            pairs=pairs,
            extra_passages=distractors,
            held_out=0.4,
            title="MiniLM tuned for COVID papers",
        ),
        events.append,
        lambda: False,
    )
    row = result.evaluation[0]
    print("recall@5 before/after:", row)
    assert row["metric"].startswith("Recall@5")
    assert row["after"] > row["before"], row
    assert result.held_out >= 40 and len(result.losses) == result.steps
    assert any(e["type"] == "step" for e in events)

    # The collection is re-embedded with the tuned model: its fingerprint changes, search works.
    coll = library.create("Policies")
    coll.index([REPO / "assets" / "sample"])
    before_fp = coll.embed_fingerprint
    n = coll.reembed(model_dir=out)
    assert n == coll.store.chunk_count() > 0
    assert coll.embed_fingerprint == result.fingerprint != before_fp
    assert coll.embed_model == "MiniLM tuned for COVID papers"
    assert coll.search("core hours", k=3)

    # Queries with the old model are refused as before (the tuned folder went missing).
    coll.close()
    shutil.move(str(out), str(tmp_path / "moved"))
    with library.open("Policies") as again, pytest.raises(EmbeddingModelMismatch):
        again.search("core hours")


def test_the_chat_model_writes_questions_for_a_collections_passages(
    library: Library, tmp_path: Path
) -> None:
    from engine.generate import default_model_path
    from engine.tune.embed import generate_pairs, sample_chunks

    coll = library.create("Sample")
    coll.index([REPO / "assets" / "sample"])
    passages = sample_chunks(coll.path / "store.sqlite3", 4, seed=0)
    assert len(passages) >= 3 and all(len(p.split()) >= 25 for p in passages)
    stages: list[str] = []
    pairs = generate_pairs(
        passages, default_model_path(), lambda e: stages.append(e["text"]), lambda: False
    )
    # The model's load, in percent up to 100, then one stage per passage.
    loading = [s for s in stages if s.startswith("Loading the model that writes the questions")]
    assert loading and loading[-1].endswith(": 100 %")
    assert stages[: len(loading)] == loading
    assert len(stages) - len(loading) == len(passages)
    assert pairs, "the model wrote no usable question"
    for question, passage in pairs:
        assert question.endswith("?") and passage in passages
    coll.close()
