"""Loop guard on token streams (pure logic; the real model is in test_generate)."""

from __future__ import annotations

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
