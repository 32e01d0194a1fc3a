"""Fine-tune the embedding model for one collection (runs in the tuning child process).

Training pairs are (question, passage): supplied by the user, or written by the chat model for
passages sampled from the collection. The loss is the in-batch "multiple negatives ranking"
loss: each question must score its own passage above every other passage in its batch.
Recall@k on held-out pairs is measured before and after; the new model is saved as a folder
the collection can then be re-embedded with.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import Cancelled
from .data import Example, load_pairs, split_held_out
from .train import Emit, TuneError, _peak_rss_mb


@dataclass
class EmbedTuneSpec:
    base: str  # sentence-transformers model folder
    out: str  # folder for the tuned model
    pairs_file: str = ""  # JSONL/CSV of (question, passage)
    pairs: list[list[str]] = field(default_factory=list)  # or given directly
    store: str = ""  # a collection's store.sqlite3: generate pairs from its chunks
    generator: str = ""  # GGUF model that writes the questions
    n_generate: int = 200
    extra_passages: list[str] = field(default_factory=list)  # distractors for recall@k
    epochs: int = 2
    batch_size: int = 16
    learning_rate: float = 1e-4
    held_out: float = 0.2
    k: int = 5
    seed: int = 0
    title: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EmbedTuneSpec:
        return cls(**data)


@dataclass
class EmbedTuneResult:
    kind: str
    model_dir: str
    base: str
    pairs: int
    held_out: int
    steps: int
    seconds: float
    seconds_per_step: float
    peak_rss_mb: float
    losses: list[float]
    evaluation: list[dict[str, Any]]
    data_errors: list[str]
    fingerprint: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


_QUESTION = re.compile(r"[^\n?]{8,200}\?")


def sample_chunks(store: Path, n: int, seed: int) -> list[str]:
    """Up to ``n`` passages of 25+ words from a collection's database, read-only."""
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        rows = [r[0] for r in db.execute("SELECT text FROM chunks ORDER BY id")]
    finally:
        db.close()
    rows = [t for t in rows if len(t.split()) >= 25]
    random.Random(seed).shuffle(rows)
    return rows[:n]


def generate_pairs(
    passages: Sequence[str],
    model_path: Path,
    emit: Emit,
    should_stop: Callable[[], bool],
) -> list[tuple[str, str]]:
    """One question per passage, written by the chat model (greedy, short)."""
    from ..generate import GenSettings, load_generator
    from ..prompts import ChatMessage, Segment

    def loading(fraction: float, _stage: str) -> None:
        text = f"Loading the model that writes the questions: {int(fraction * 100)} %"
        emit({"type": "stage", "text": text})

    gen = load_generator(
        model_path, GenSettings(n_ctx=1024, max_answer_tokens=48), progress=loading
    )
    pairs: list[tuple[str, str]] = []
    for i, passage in enumerate(passages):
        if should_stop():
            raise Cancelled("Tuning stopped; no model was written.")
        messages = [
            ChatMessage(
                "system",
                (Segment("You write one short question that the given passage answers."),),
            ),
            ChatMessage(
                "user",
                (
                    Segment("Passage:\n"),
                    Segment(" ".join(passage.split()[:180]), trusted=False),
                    Segment(
                        "\n\nWrite one question this passage answers. Reply with the question only."
                    ),
                ),
            ),
        ]
        text = gen.generate(gen.prompt_tokens(messages)).run()
        m = _QUESTION.search(text)
        if m:
            pairs.append((m.group(0).strip(), passage))
        emit({"type": "stage", "text": f"Writing questions: {i + 1} of {len(passages)}"})
    return pairs


def _encode(model: Any, texts: Sequence[str], batch: int = 32) -> np.ndarray:
    import torch

    out = []
    model.eval()
    with torch.inference_mode():
        for i in range(0, len(texts), batch):
            feats = model.preprocess(list(texts[i : i + batch]))
            vec = model(feats)["sentence_embedding"]
            out.append(torch.nn.functional.normalize(vec, dim=1).numpy())
    return np.concatenate(out) if out else np.zeros((0, 1), dtype=np.float32)


def recall_at_k(
    model: Any, questions: Sequence[str], gold: Sequence[int], passages: Sequence[str], k: int
) -> float:
    """Share of questions whose own passage (index into ``passages``) is in the top k."""
    if not questions:
        return 0.0
    p = _encode(model, passages)
    q = _encode(model, questions)
    scores = q @ p.T
    top = np.argsort(-scores, axis=1)[:, :k]
    return float(np.mean([g in row for g, row in zip(gold, top, strict=True)]))


def run_embed_tune(
    spec: EmbedTuneSpec, emit: Emit, should_stop: Callable[[], bool]
) -> EmbedTuneResult:
    import torch
    from sentence_transformers import SentenceTransformer

    started = time.monotonic()
    rng = random.Random(spec.seed)
    errors: list[str] = []
    pairs: list[tuple[str, str]] = [(q, p) for q, p in spec.pairs]
    if spec.pairs_file:
        loaded = load_pairs(Path(spec.pairs_file))
        pairs += [(ex.prompt, ex.response) for ex in loaded.examples]
        errors += loaded.errors
    if spec.store and spec.generator and not pairs:
        emit({"type": "stage", "text": "Choosing passages"})
        chunks = sample_chunks(Path(spec.store), spec.n_generate, spec.seed)
        pairs = generate_pairs(chunks, Path(spec.generator), emit, should_stop)
    if len(pairs) < 8:
        raise TuneError(
            f"Embedding tuning needs at least 8 (question, passage) pairs; there are {len(pairs)}."
        )
    examples = [Example((("user", q), ("assistant", p)), i) for i, (q, p) in enumerate(pairs)]
    train, held = split_held_out(examples, spec.held_out, spec.seed)
    emit({"type": "data", "examples": len(train), "held_out": len(held), "errors": errors[:50]})

    emit({"type": "stage", "text": "Loading the embedding model"})
    torch.manual_seed(spec.seed)
    torch.set_num_threads(os.cpu_count() or 1)
    model = SentenceTransformer(spec.base, device="cpu", local_files_only=True)

    # Recall is measured against every passage: held-out, training and extra distractors.
    passages = list(dict.fromkeys([ex.response for ex in examples] + list(spec.extra_passages)))
    index = {p: i for i, p in enumerate(passages)}
    questions = [ex.prompt for ex in held]
    gold = [index[ex.response] for ex in held]
    emit({"type": "stage", "text": "Measuring retrieval before training"})
    before = recall_at_k(model, questions, gold, passages, spec.k)

    optim = torch.optim.AdamW(model.parameters(), lr=spec.learning_rate)
    losses: list[float] = []
    train_pairs = [(ex.prompt, ex.response) for ex in train]
    steps_per_epoch = max(1, -(-len(train_pairs) // spec.batch_size))
    total = steps_per_epoch * spec.epochs
    step = 0
    t_train = time.monotonic()
    emit({"type": "stage", "text": "Training"})
    for epoch in range(spec.epochs):
        rng.shuffle(train_pairs)
        for batch in _batches_without_repeats(train_pairs, spec.batch_size):
            if should_stop():
                raise Cancelled("Tuning stopped; no model was written.")
            model.train()
            q = model(model.preprocess([b[0] for b in batch]))["sentence_embedding"]
            p = model(model.preprocess([b[1] for b in batch]))["sentence_embedding"]
            q = torch.nn.functional.normalize(q, dim=1)
            p = torch.nn.functional.normalize(p, dim=1)
            scores = q @ p.T * 20.0
            loss = torch.nn.functional.cross_entropy(scores, torch.arange(len(batch)))
            loss.backward()
            optim.step()
            optim.zero_grad(set_to_none=True)
            step += 1
            losses.append(float(loss.detach()))
            spent = time.monotonic() - t_train
            emit(
                {
                    "type": "step",
                    "step": step,
                    "steps": total,
                    "epoch": epoch + 1,
                    "loss": losses[-1],
                    "eta_s": spent / step * max(0, total - step),
                }
            )
    train_seconds = time.monotonic() - t_train
    emit({"type": "stage", "text": "Measuring retrieval after training"})
    after = recall_at_k(model, questions, gold, passages, spec.k)

    emit({"type": "stage", "text": "Saving the model"})
    out = Path(spec.out)
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save(str(tmp))
    base_name = Path(spec.base).name
    title = spec.title or f"{base_name} (tuned)"
    (tmp / "README.md").write_text(f"# {title}\n\nFine-tuned by Folio from {base_name}.\n", "utf-8")
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    from ..embed.sentence_transformers import fingerprint_model_dir

    evaluation = [
        {
            "metric": f"Recall@{spec.k} on {len(held)} held-out questions "
            f"({len(passages)} passages)",
            "before": round(before, 3),
            "after": round(after, 3),
        }
    ]
    result = EmbedTuneResult(
        kind="embed",
        model_dir=str(out),
        base=spec.base,
        pairs=len(train),
        held_out=len(held),
        steps=step,
        seconds=time.monotonic() - started,
        seconds_per_step=train_seconds / max(1, step),
        peak_rss_mb=_peak_rss_mb(),
        losses=losses,
        evaluation=evaluation,
        data_errors=errors,
        fingerprint=fingerprint_model_dir(out),
    )
    # The report lives beside the folder: a file inside would change the model's fingerprint.
    report = out.with_name(out.name + ".json")
    report.write_text(json.dumps(result.to_json(), indent=1), "utf-8")
    return result


def _batches_without_repeats(
    pairs: Sequence[tuple[str, str]], size: int
) -> list[list[tuple[str, str]]]:
    """Batches in which no passage appears twice (a repeat would count as its own negative)."""
    batches: list[list[tuple[str, str]]] = []
    pending = list(pairs)
    while pending:
        batch: list[tuple[str, str]] = []
        seen: set[str] = set()
        rest = []
        for pair in pending:
            if len(batch) < size and pair[1] not in seen:
                batch.append(pair)
                seen.add(pair[1])
            else:
                rest.append(pair)
        batches.append(batch)
        pending = rest
    return [b for b in batches if len(b) >= 2]
