"""The chat shows a model loading as a bar with its percentage and time left, on real widgets
with the real default model; Stop ends a load."""

from __future__ import annotations

import re
import threading
from pathlib import Path

from PySide6.QtCore import Qt

from desktop.loadbar import ModelLoadBar, load_text, time_left
from desktop.tasks import Operation
from engine import Answer, Library
from engine.generate.loading import LOAD_STOPPED, PREPARING, READING
from tests.desktop.test_chat_panel import SHOTS, handbook_window


def test_first_question_shows_the_load_bar_rising_then_hides_it(
    qtbot, library: Library, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    window = handbook_window(qtbot, library, tmp_path)
    chat = window.chat
    bar = chat.load_bar
    assert bar.isHidden() and bar.accessibleName() == "Model loading progress"
    seen: list[tuple[int, bool, str]] = []
    shot = SHOTS / "model-loading.png"

    def record(value: int) -> None:
        seen.append((value, bar.isVisible(), bar.text()))
        if bar.isVisible() and value >= 500 and not shot.exists():  # for people to look at
            SHOTS.mkdir(exist_ok=True)
            window.grab().save(str(shot))

    shot.unlink(missing_ok=True)
    bar.valueChanged.connect(record)
    with qtbot.waitSignal(chat.answer_finished, timeout=120_000) as blocker:
        chat.ask("How many days of annual leave do staff get?")
    assert isinstance(blocker.args[0], Answer)
    shown = [(v, text) for v, visible, text in seen if visible]
    values = [v for v, _t in shown]
    assert len(values) >= 3  # llama.cpp's reports reached the screen as the model loaded
    assert values == sorted(set(values)) and values[-1] == bar.maximum()
    assert all(re.fullmatch(r"Loading the model… \d+ %( · .+ left)?", t) for _v, t in shown)
    assert bar.isHidden()  # gone once the model is loaded
    # The second question uses the loaded model: no bar at all.
    seen.clear()
    with qtbot.waitSignal(chat.answer_finished, timeout=120_000):
        chat.ask("Who issues parking permits?")
    assert not [s for s in seen if s[1]] and bar.isHidden()
    window.close()


def test_stop_while_the_model_loads_then_ask_again(qtbot, library: Library, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    window = handbook_window(qtbot, library, tmp_path)
    chat = window.chat
    # Hold the model worker so the question waits, and Stop can be pressed at the moment the
    # load reports (on the worker itself, as a click would set it from the window).
    gate = threading.Event()
    window.model_executor.submit(Operation(lambda _op: gate.wait(30)))
    op = chat.ask("How many days of annual leave do staff get?")
    assert op is not None
    stages: list[str] = []

    def stop_during_load(event: tuple[str, object]) -> None:
        if event[0] == "load" and isinstance(event[1], tuple):
            stages.append(event[1][1])
            op.cancel.cancel()

    op.progress.connect(stop_during_load, Qt.ConnectionType.DirectConnection)
    with qtbot.waitSignal(op.failed, timeout=60_000) as blocker:
        gate.set()
    assert blocker.args[0] == LOAD_STOPPED
    assert stages and set(stages) <= {READING, PREPARING}
    qtbot.waitUntil(lambda: chat.notice.text() == LOAD_STOPPED, timeout=5_000)
    assert chat.load_bar.isHidden() and not chat.stop_button.isEnabled()
    assert window.loaded_model.generator is None  # nothing half-loaded stays
    # The next question loads the model and answers.
    with qtbot.waitSignal(chat.answer_finished, timeout=120_000) as answered:
        chat.ask("How many days of annual leave do staff get?")
    assert answered.args[0].text.strip()
    assert window.loaded_model.loads == 1
    window.close()


def test_the_bar_says_percent_and_time_left(qtbot) -> None:  # type: ignore[no-untyped-def]
    now = [0.0]
    bar = ModelLoadBar(clock=lambda: now[0])
    qtbot.addWidget(bar)
    bar.show_progress(0.0, READING)
    assert bar.isVisible() and bar.text() == "Loading the model… 0 %"
    now[0] = 2.0
    bar.show_progress(0.1, READING)  # 10 % in 2 s: 18 s to go
    assert bar.text() == "Loading the model… 10 % · about 18 s left"
    assert bar.value() == 100 and READING in bar.toolTip()
    assert bar.text() in bar.accessibleDescription()
    now[0] = 10.0
    bar.show_progress(0.45, PREPARING)
    assert bar.text() == "Loading the model… 45 % · about 12 s left"
    bar.show_progress(1.0, PREPARING)
    assert bar.isHidden()
    # A later load starts its own clock.
    now[0] = 500.0
    bar.show_progress(0.2, READING)
    assert bar.text() == "Loading the model… 20 %" and bar.isVisible()


def test_time_left_words() -> None:
    assert time_left(12.4) == "about 12 s"
    assert load_text(0.999, 0.4) == "Loading the model… 99 %"  # under a second: not said
    assert load_text(0.5, 125.0) == "Loading the model… 50 % · about 2 minutes left"


def test_compare_shows_its_model_loading_on_the_same_bar(
    qtbot, library: Library, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    window = handbook_window(qtbot, library, tmp_path)
    window.settings.max_answer_tokens = 8
    compare = window.compare
    bar = compare.load_bar
    assert isinstance(bar, ModelLoadBar) and bar.isHidden()
    seen: list[tuple[int, bool]] = []
    # Shown on its tab (isHidden: the Compare tab itself is not the one on screen here).
    bar.valueChanged.connect(lambda v: seen.append((v, not bar.isHidden())))
    compare.question.setText("How many days of annual leave do staff get?")
    with qtbot.waitSignal(compare.finished, timeout=180_000):
        compare.run()
    values = [v for v, visible in seen if visible]
    assert len(values) >= 3 and values == sorted(set(values)) and values[-1] == bar.maximum()
    assert bar.isHidden() and window.loaded_model.loads == 1
    window.close()
