"""Stop stops: a long prompt is read in slices with Stop checked between them, on the real
default model. The answer is the same as reading the prompt in one go; Stop during the prompt
returns within a slice; the model answers normally straight after.

One thread: on a shared 2-core machine llama.cpp's spinning worker threads slow each other
down many times over, and these tests time things."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from engine.bench_stop import full_read_seconds, prompt_of, stop_latency
from engine.generate import GenSettings, default_model_path
from engine.generate.llama import LlamaGenerator
from engine.progress import CancelToken


@pytest.fixture(scope="module")
def model() -> Iterator[LlamaGenerator]:
    yield LlamaGenerator(default_model_path(), GenSettings(n_ctx=4096, temperature=0.0, threads=1))


def test_a_sliced_prompt_gives_the_same_answer_stopped_or_not(model: LlamaGenerator) -> None:
    tokens = prompt_of(model, 1200)
    model.reset_cache()
    whole = model.generate(tokens, None, max_tokens=12).run()  # no cancel token: one go
    assert whole.strip()
    model.reset_cache()
    sliced = model.generate(tokens, CancelToken(), max_tokens=12)  # read in slices
    assert sliced.run() == whole
    # Stopped half-way through the prompt, then asked again: the part read is reused and the
    # answer is the same.
    _latency, stop, _ = stop_latency(model, tokens, after=0.5)
    assert stop == "cancelled" and 0 < model._llm.n_tokens < len(tokens) - 1
    read = model._llm.n_tokens
    after = model.generate(tokens, CancelToken(), max_tokens=12)
    assert after.run() == whole
    assert after.stats.cached_tokens == read


def test_stop_while_a_3000_token_prompt_is_read(model: LlamaGenerator) -> None:
    tokens = prompt_of(model, 3000)
    assert 2900 <= len(tokens) <= 3100
    whole = full_read_seconds(model, tokens)
    latency, stop, answered = stop_latency(model, tokens, after=whole * 0.4)
    print(f"\n{len(tokens)}-token prompt: read in {whole:.2f} s; Stop->idle {latency:.3f} s")
    assert stop == "cancelled" and answered == 0
    # Stop waits for one slice (about 0.15 s), not for the rest of the prompt.
    assert latency < max(0.6, whole * 0.25), (latency, whole)
    assert model._llm.n_tokens < len(tokens) - 1  # Stop really came while the prompt was read


def test_stop_before_the_prompt_is_read(model: LlamaGenerator) -> None:
    tokens = prompt_of(model, 2000)
    cancel = CancelToken()
    cancel.cancel()
    started = time.perf_counter()
    gen = model.generate(tokens, cancel, max_tokens=16)
    assert list(gen) == []
    assert gen.stats.stop == "cancelled"
    assert time.perf_counter() - started < 0.2
