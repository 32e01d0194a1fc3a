"""Generator base: turns chat messages into the model's tokens and streams an answer.

A backend implements three methods (tokenize text, render chat messages to tokens, and stream
token ids); the shared ``generate`` adds what every backend needs: cancellation between tokens,
incremental UTF-8 decoding, the loop guard and timings.
"""

from __future__ import annotations

import codecs
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..progress import CancelToken
from ..prompts import ChatMessage
from .loop import LoopDetector


@dataclass
class GenSettings:
    """What the user can set about generation. ``gpu_layers`` -1 means "auto"."""

    n_ctx: int = 4096  # upper bound; the model's trained context may be smaller
    threads: int | None = None  # None: all CPU cores
    gpu_layers: int = -1
    temperature: float = 0.0  # greedy: the same question gets the same answer
    max_answer_tokens: int = 384
    top_k: int = 40
    top_p: float = 0.9
    min_p: float = 0.05
    # Small models repeat themselves; a mild penalty over the recent tokens keeps most answers
    # from looping, and the loop guard stops the rest.
    repeat_penalty: float = 1.1
    seed: int = 0
    # Keep the expected time to first token under this many seconds (None: no cap).
    ttft_cap_s: float | None = None
    loop_guard: bool = True


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    cached_tokens: int = 0  # prompt tokens whose KV cache was reused from the previous call
    answer_tokens: int = 0
    ttft_s: float = 0.0
    tokens_per_s: float = 0.0
    seconds: float = 0.0
    stop: str = ""  # end | length | cancelled | loop


class Generation:
    """An answer being generated: iterate for text pieces; ``text`` and ``stats`` at the end."""

    def __init__(
        self,
        gen: Generator,
        tokens: list[int],
        max_tokens: int,
        cancel: CancelToken | None,
        loop_guard: bool,
    ) -> None:
        self._gen = gen
        self._tokens = tokens
        self._max = max_tokens
        self._cancel = cancel
        self._guard = LoopDetector() if loop_guard else None
        self.text = ""
        self.stats = GenerationStats(prompt_tokens=len(tokens))

    def __iter__(self) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        started = time.perf_counter()
        first: float | None = None
        pieces: list[str] = []
        cut_at: int | None = None  # character length to keep when a loop is found
        lengths: list[int] = []  # text length after each token
        stop = "length"
        if self._max <= 0:
            self.stats.stop = stop
            return
        stream = self._gen._token_stream(self._tokens, self.stats, self._cancel)
        try:
            for n, (token, piece) in enumerate(stream):
                if self._cancel is not None and self._cancel.cancelled:
                    stop = "cancelled"
                    break
                if token is None:  # end of turn
                    stop = "end"
                    break
                if first is None:
                    first = time.perf_counter()
                text = decoder.decode(piece)
                pieces.append(text)
                lengths.append(sum(map(len, pieces)))
                self.stats.answer_tokens = n + 1
                if text:
                    yield text
                if self._guard is not None:
                    if self._guard.feed(token):
                        start = self._guard.loop_start or 0
                        cut_at = lengths[start - 1] if start else 0
                        stop = "loop"
                        break
                    if "." in text or "\n" in text:
                        at = self._guard.check_text("".join(pieces))
                        if at is not None:
                            cut_at = at
                            stop = "loop"
                            break
                if n + 1 >= self._max:
                    break
            else:  # the stream ended on its own: a Stop while the prompt was being read
                if self._cancel is not None and self._cancel.cancelled:
                    stop = "cancelled"
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        pieces.append(decoder.decode(b"", final=True))
        full = "".join(pieces)
        self.text = (full[:cut_at] if cut_at is not None else full).rstrip()
        if stop == "loop":  # drop a dangling list number left before the cut ("...\n8.")
            self.text = re.sub(r"\n\s*\d+[.)]?$", "", self.text).rstrip()
        end = time.perf_counter()
        self.stats.stop = stop
        self.stats.seconds = end - started
        self.stats.ttft_s = (first or end) - started
        decode_time = end - (first or end)
        if self.stats.answer_tokens > 1 and decode_time > 0:
            self.stats.tokens_per_s = (self.stats.answer_tokens - 1) / decode_time

    def run(self) -> str:
        """Generate to the end without streaming; returns the final text."""
        for _ in self:
            pass
        return self.text


class Generator(ABC):
    """A loaded language model. Not thread-safe: one generation at a time (one worker)."""

    name: str = ""
    path: str = ""
    n_ctx: int = 0
    settings: GenSettings
    adapters: list[tuple[Path, float]]

    def set_adapters(self, adapters: Sequence[tuple[Path, float]]) -> None:
        """Switch LoRA adapters (path, scale); backends without adapter support refuse."""
        from ..errors import ModelError

        if adapters:
            raise ModelError("This model backend cannot use adapters.")

    @abstractmethod
    def count(self, text: str) -> int:
        """Tokens in plain (untrusted) text."""

    @abstractmethod
    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> list[int]:
        """The full prompt for a chat, in the model's chat template, ending where the answer
        starts. Untrusted segments are tokenized with control tokens switched off."""

    @abstractmethod
    def _token_stream(
        self, tokens: list[int], stats: GenerationStats, cancel: CancelToken | None = None
    ) -> Iterator[tuple[int | None, bytes]]:
        """Yield (token id, bytes of its text) for each answer token; (None, b"") at the end of
        the turn. Sets ``stats.cached_tokens``. Reading a long prompt takes seconds to minutes
        on a CPU: check ``cancel`` while doing it and end the stream early when it is set."""

    def generate(
        self,
        tokens: list[int],
        cancel: CancelToken | None = None,
        max_tokens: int | None = None,
    ) -> Generation:
        limit = max_tokens if max_tokens is not None else self.settings.max_answer_tokens
        room = self.n_ctx - len(tokens)
        return Generation(self, tokens, max(0, min(limit, room)), cancel, self.settings.loop_guard)

    def prompt_speed(self) -> float:
        """Prompt tokens per second (0 when unknown); used to cap time to first token."""
        return 0.0

    def parameters(self) -> int:
        """How many parameters the model has (0 when unknown); small models answer with
        quotes by default."""
        return 0
