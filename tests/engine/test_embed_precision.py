"""Embedding precision: bfloat16 batches where the CPU does bfloat16 in hardware, the same
vectors (to a cosine of 0.9999) and the same nearest passages as float32; float32 elsewhere."""

from __future__ import annotations

import numpy as np
import pytest

from engine.embed import load_embedder
from engine.embed import sentence_transformers as st
from engine.errors import FolioError

HARDWARE_BF16 = st.cpu_has_bf16()
needs_bf16 = pytest.mark.skipif(not HARDWARE_BF16, reason="this CPU has no bfloat16 arithmetic")

PASSAGES = [
    f"{topic} Paragraph {i}: the figures for quarter {1 + i % 4} of {2017 + i % 3} were "
    f"{1000 + 37 * i:,} thousand dollars, compared with {900 + 29 * i:,} a year earlier. "
    + "Further detail is given in the notes to the statements. "
    * (i % 4)
    for i, topic in enumerate(
        [
            "Net revenue grew on higher services income.",
            "Operating expenses included restructuring charges.",
            "Cash used in investing activities covered capital expenditure.",
            "The board declared a quarterly dividend.",
            "Inventories were written down to net realisable value.",
            "Staff may carry over five days of annual leave.",
            "The vaccine trial enrolled adults over sixty-five.",
            "Income taxes reflected a lower effective rate.",
        ]
        * 6
    )
]
QUESTIONS = [
    "How much did revenue grow?",
    "What restructuring charges were there?",
    "What was the capital expenditure?",
    "Was a dividend declared?",
    "How many days of leave can be carried over?",
    "Who was enrolled in the vaccine trial?",
    "What was the effective tax rate?",
]


@pytest.fixture(scope="module")
def exact():  # type: ignore[no-untyped-def]
    return load_embedder(precision="float32")


@needs_bf16
def test_auto_chooses_bfloat16_batches_on_a_cpu_that_has_it(embedder, exact) -> None:  # type: ignore[no-untyped-def]
    assert embedder.precision == "bfloat16"
    assert exact.precision == "float32"
    fast = embedder.embed(PASSAGES, batch_size=16, streams=2)
    slow = exact.embed(PASSAGES, batch_size=16, streams=2)
    cos = np.sum(fast * slow, axis=1)
    assert cos.min() >= 0.9999
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-4)
    # Not the float32 numbers: the batches really ran in bfloat16.
    assert not np.allclose(fast, slow, atol=1e-6)
    # Each question's scores move by less than the gaps that rank passages: the nearest topic
    # is the same, and any reordering is between passages scored within 0.005 of each other
    # (six near-copies of each topic differ only in their numbers).
    for q in QUESTIONS:
        qv = exact.embed_query(q)
        assert np.abs(fast @ qv - slow @ qv).max() <= 0.005
        assert int(np.argmax(fast @ qv)) % 8 == int(np.argmax(slow @ qv)) % 8


@needs_bf16
def test_a_single_text_is_embedded_in_float32(embedder, exact) -> None:  # type: ignore[no-untyped-def]
    q = "What was the capital expenditure in fiscal 2019?"
    assert np.allclose(embedder.embed_query(q), exact.embed_query(q), atol=1e-6)


def test_float32_gives_sentence_transformers_own_vectors(exact) -> None:  # type: ignore[no-untyped-def]
    ref = exact.model.encode(PASSAGES[:12], normalize_embeddings=True)
    assert np.allclose(exact.embed(PASSAGES[:12], batch_size=4, streams=2), ref, atol=1e-5)


def test_auto_stays_float32_on_a_cpu_without_bfloat16(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(st, "cpu_has_bf16", lambda: False)
    assert load_embedder().precision == "float32"


def test_bfloat16_that_disagrees_with_float32_at_load_is_not_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A platform whose bfloat16 kernels are wrong: the load-time probe keeps float32.
    real = st.SentenceTransformerEmbedder._forward

    def broken(self, texts, bf16):  # type: ignore[no-untyped-def]
        out = real(self, texts, bf16)
        if bf16:
            out = np.roll(out, 1, axis=1)
        return out

    monkeypatch.setattr(st.SentenceTransformerEmbedder, "_forward", broken)
    assert load_embedder(precision="bfloat16").precision == "float32"


def test_an_unknown_precision_is_a_clear_error() -> None:
    with pytest.raises(FolioError, match="Unknown embedding precision 'half'"):
        load_embedder(precision="half")


def test_it_can_choose_float32_for_every_program_by_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    from engine import EngineConfig, Library

    monkeypatch.setenv("FOLIO_EMBED_PRECISION", "float32")
    assert Library(EngineConfig(home=tmp_path / "home")).embedder.precision == "float32"


def test_batches_are_padded_to_a_few_lengths_and_a_question_is_not(exact) -> None:  # type: ignore[no-untyped-def]
    # Batches of every length left the C heap in pieces it could not reuse (600 MB more for 60
    # PDFs); padded to a multiple of PAD_MULTIPLE tokens, a few lengths repeat. Padding is
    # masked out: the vectors are sentence-transformers' own (the test above, in batches).
    widths: list[int] = []
    hook = exact.model.register_forward_pre_hook(
        lambda _m, args: widths.append(int(args[0]["input_ids"].shape[1]))
    )
    try:
        texts = ["Net revenue grew.", "Operating expenses included restructuring charges."]
        batch = exact.embed_batch(texts)
        alone = [exact.embed_query(t) for t in texts]
    finally:
        hook.remove()
    natural = [len(exact.model.tokenizer(t)["input_ids"]) for t in texts]
    assert widths[0] == st.PAD_MULTIPLE and max(natural) < st.PAD_MULTIPLE
    assert widths[1:] == natural  # a single text: no padding at all
    assert np.allclose(batch, np.stack(alone), atol=1e-5)
