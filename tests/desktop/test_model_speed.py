"""The model picker says how fast each model writes on this computer, once it has answered."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.speeds import WORDS_PER_TOKEN, measured
from engine import Answer, Library
from engine.generate import default_model_path
from tests.desktop.test_chat_panel import handbook_window


def test_picker_shows_the_speed_measured_by_an_answer(
    qtbot, library: Library, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    window = handbook_window(qtbot, library, tmp_path)
    dialog = window.open_settings()
    qtbot.waitUntil(lambda: dialog.model.count() >= 1, timeout=20_000)
    assert dialog.model.itemText(0).endswith("speed on this computer not measured yet")
    assert "A bigger model" in dialog.speed_help.text()
    dialog.close()

    window.settings.preset = "answer"  # written by the model, so its speed shows
    window.settings.max_answer_tokens = 64
    with qtbot.waitSignal(window.chat.answer_finished, timeout=120_000) as blocker:
        window.chat.ask("Write everything the handbook says about annual leave, in detail.")
    answer: Answer = blocker.args[0]
    assert answer.stats.answer_tokens >= 16
    speed = measured(library.home, default_model_path())
    assert speed.tokens_per_s == pytest.approx(answer.stats.tokens_per_s, abs=0.001)
    assert speed.load_s is not None and speed.load_s < 120

    dialog = window.open_settings()
    qtbot.waitUntil(lambda: "words a second" in dialog.model.itemText(0), timeout=20_000)
    words = f"{speed.tokens_per_s * WORDS_PER_TOKEN:.0f}"
    assert dialog.model.itemText(0).endswith(
        f"writes about {words} words a second on this computer"
    )
    dialog.close()
    window.close()
