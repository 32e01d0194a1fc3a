"""`folio bench stop`: how long Stop takes to bring Folio back to idle while a long prompt is
being read, against how long reading the whole prompt takes (what Stop cost before the prompt
was read in slices).

For each prompt length: the whole prompt is read once without slicing (the old Stop latency),
then ``trials`` times Stop is pressed after a random delay within that reading time, and the
time from Stop to the end of the generation (the model worker idle again) is recorded.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from .generate.base import GenSettings
from .generate.llama import LlamaGenerator
from .progress import CancelToken
from .prompts import ChatMessage, Segment

_FILLER = (
    "The quarterly report lists revenue, costs, staff changes and the outlook for the next "
    "period, with tables for each region and notes on the accounting policies used. "
)


def prompt_of(gen: LlamaGenerator, tokens: int) -> list[int]:
    """A chat prompt of about ``tokens`` tokens (the question last, as Folio builds them)."""
    text = _FILLER * max(1, tokens // 30)
    body = gen._tok(text, special=False)[: max(1, tokens - 40)]
    sources = gen.detokenize(body)
    messages = [ChatMessage("user", (Segment(sources, trusted=False), Segment("Summarise.")))]
    return gen.prompt_tokens(messages)


def stop_latency(gen: LlamaGenerator, tokens: list[int], after: float) -> tuple[float, str, int]:
    """Press Stop ``after`` seconds into a generation; (seconds from Stop to idle, stop reason,
    answer tokens)."""
    gen.reset_cache()
    cancel = CancelToken()
    pressed: list[float] = []

    def press() -> None:
        pressed.append(time.perf_counter())
        cancel.cancel()

    timer = threading.Timer(after, press)
    generation = gen.generate(tokens, cancel, max_tokens=64)
    timer.start()
    for _ in generation:
        pass
    ended = time.perf_counter()
    timer.cancel()
    latency = ended - pressed[0] if pressed else 0.0
    return latency, generation.stats.stop, generation.stats.answer_tokens


def full_read_seconds(gen: LlamaGenerator, tokens: list[int]) -> float:
    """Reading the whole prompt at once (no slices), as before: what Stop had to wait for."""
    gen.reset_cache()
    started = time.perf_counter()
    gen._llm.eval(tokens)
    took = time.perf_counter() - started
    gen.reset_cache()
    return took


def bench_stop(
    lengths: list[int],
    trials: int = 5,
    model: Path | None = None,
    n_ctx: int = 8192,
    threads: int | None = None,
) -> dict[str, Any]:
    from .generate import default_model_path

    path = model or default_model_path()
    gen = LlamaGenerator(path, GenSettings(n_ctx=n_ctx, temperature=0.0, threads=threads))
    rng = random.Random(0)
    rows = []
    for length in lengths:
        length = min(length, gen.n_ctx - 64)  # the longest the context allows, answer aside
        tokens = prompt_of(gen, length)
        whole = full_read_seconds(gen, tokens)
        latencies = []
        stops = []
        for _ in range(trials):
            latency, stop, answered = stop_latency(gen, tokens, rng.uniform(0.1, 0.9) * whole)
            latencies.append(latency)
            stops.append(stop if answered == 0 else f"{stop} after {answered} tokens")
        rows.append(
            {
                "prompt_tokens": len(tokens),
                "whole_prompt_read_s": round(whole, 3),
                "stop_to_idle_median_s": round(statistics.median(latencies), 3),
                "stop_to_idle_max_s": round(max(latencies), 3),
                "stops": stops,
            }
        )
    return {
        "model": Path(path).name,
        "n_ctx": gen.n_ctx,
        "threads": gen.settings.threads or "all cores",
        "trials": trials,
        "rows": rows,
    }
