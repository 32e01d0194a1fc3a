"""Loop guard on token streams (pure logic; the real model is in test_generate)."""

from __future__ import annotations

import re

from engine.generate import GenSettings
from engine.generate.base import Generator
from engine.generate.loop import LoopDetector


def test_repeated_block_is_detected_and_cut_after_first_copy() -> None:
    d = LoopDetector()
    prefix = list(range(100, 130))
    block = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    stream = prefix + block * 10
    hit_at = next(i for i, t in enumerate(stream) if d.feed(t))
    assert hit_at < len(prefix) + 5 * len(block)  # stopped early, not at the limit
    assert d.loop_start == len(prefix) + len(block)  # keep the prefix and one copy


def test_normal_text_and_short_stutters_are_not_loops() -> None:
    d = LoopDetector()
    # "very very" and a repeated short pair are not a loop.
    stream = [*range(200), 5, 5, *range(300, 400), 7, 8, 7, 8, *range(500, 600)]
    assert not any(d.feed(t) for t in stream)


def test_third_copy_of_a_sentence_is_a_loop() -> None:
    d = LoopDetector()
    text = (
        "Revenue grew in 2023. The company reported strong sales in Europe. Costs fell. "
        "The company reported strong sales in Europe. Margins rose. "
        "The company reported strong sales in Europe. More"
    )
    at = d.check_text(text)
    assert at is not None and text[:at].count("strong sales") == 2
    assert d.check_text("One sentence here. Another one there.") is None


# -- lists are not loops: the guard as a generation runs it, word by word ------------------


class _Scripted(Generator):
    """Streams a given text one word (with its leading space) per token; the same word is the
    same token id, as with a real tokenizer. Only the loop guard of ``Generation`` is tested."""

    name = "scripted"
    n_ctx = 100_000
    settings = GenSettings(max_answer_tokens=5_000)

    def __init__(self, text: str) -> None:
        self.adapters = []
        self.words = re.findall(r"\s*\S+", text)
        self.ids: dict[str, int] = {}

    def count(self, text: str) -> int:
        return len(text.split())

    def prompt_tokens(self, messages):  # type: ignore[no-untyped-def]
        return [0]

    def _token_stream(self, tokens, stats, cancel=None):  # type: ignore[no-untyped-def]
        for w in self.words:
            yield self.ids.setdefault(w, len(self.ids) + 1), w.encode()
        yield None, b""


def run(text: str) -> tuple[str, str, int]:
    gen = _Scripted(text).generate([0])
    gen.run()
    return gen.stats.stop, gen.text, gen.stats.answer_tokens


QUARTERS = "Net sales by quarter:\n" + "\n".join(
    f"- Q{q} {y}: net sales were ${s} billion, up {g}% from a year earlier."
    for (q, y, s, g) in [
        (1, 2022, "97.3", 9), (2, 2022, "83.0", 2), (3, 2022, "90.1", 8), (4, 2022, "117.2", 5),
        (1, 2023, "94.8", 3), (2, 2023, "81.8", 1), (3, 2023, "89.5", 4), (4, 2023, "119.6", 2),
    ]
)  # fmt: skip
STEPS = "How to claim expenses:\n" + "\n".join(
    f"{i}. Open the expenses form and fill in the {part} section before you submit it."
    for i, part in enumerate(
        ["date", "amount", "currency", "project code", "receipt", "manager", "reason", "bank"],
        start=1,
    )
)
FEES = "The fee table:\n" + "\n".join(
    f"- Page {p}: the fee is {fee} euros per visit for {who}."
    for p, fee, who in [
        (3, 40, "adults"), (3, 25, "children"), (4, 30, "students"), (4, 20, "seniors"),
        (5, 45, "adults"), (5, 35, "children"), (6, 15, "members"), (6, 50, "visitors"),
    ]
)  # fmt: skip


def test_lists_of_distinct_items_are_never_cut() -> None:
    for text in (QUARTERS, STEPS, FEES):
        stop, out, _ = run(text)
        assert (stop, out) == ("end", text)


def test_a_repeated_line_is_still_a_loop_even_with_a_counter() -> None:
    # The same item again and again, only the list counter changing: stopped on its third copy.
    text = "Fruits:\n" + "\n".join(f"{i}. Ananas Malabacan is a sweet fruit." for i in range(1, 60))
    stop, out, tokens = run(text)
    assert stop == "loop" and tokens < 200
    assert out.count("Ananas Malabacan") == 2


def test_a_repeated_block_is_stopped_within_200_tokens() -> None:
    block = (
        "The fee is 40 euros per visit for adults. Children pay 25 euros per visit. "
        "Students pay 30 euros per visit. "
    )
    stop, out, tokens = run("Here are the fees. " + block * 30)
    assert stop == "loop" and tokens < 200
    assert out.startswith("Here are the fees. The fee is 40 euros")
    assert out.count("Students pay 30 euros") <= 2
