"""A question asked while the model is busy waits its turn; Stop withdraws it at once: the
window is idle straight away and the question never runs."""

from __future__ import annotations

import threading

from desktop.chat_panel import ChatPanel
from desktop.tasks import Executor, Operation
from engine import Library


def test_a_waiting_question_is_withdrawn_by_stop(qtbot, library: Library) -> None:  # type: ignore[no-untyped-def]
    executor = Executor("test-model")
    panel = ChatPanel(library, lambda: "Office", executor)
    qtbot.addWidget(panel)
    release = threading.Event()
    running = threading.Event()

    def busy(_op: Operation) -> None:  # e.g. Compare using the model
        running.set()
        release.wait(30)

    executor.submit(Operation(busy))
    assert running.wait(10)
    panel.question.setText("What are the core hours?")
    op = panel.ask()
    assert op is not None and not op.started
    assert "Waiting for the model" in panel.notice.text()
    assert panel.stop_button.isEnabled()

    with qtbot.waitSignal(panel.question_withdrawn, timeout=1000):
        panel.stop_button.click()
    # Idle at once, without waiting for the model.
    assert not panel.stop_button.isEnabled()
    assert panel.notice.text() == "The question was withdrawn before Folio started on it."
    # Its turn in the transcript says so too, instead of waiting for ever.
    assert "Withdrawn before Folio started on it." in panel.answer.toPlainText()
    assert "Looking for passages" not in panel.answer.toPlainText()

    release.set()
    qtbot.waitUntil(lambda: not executor.busy(), timeout=10_000)
    qtbot.wait(200)
    assert not op.started  # it never ran: no model loaded, no collection opened
    assert panel._generator is None
    executor.shutdown()


def test_stop_on_a_running_question_is_not_a_withdrawal(qtbot, library: Library) -> None:  # type: ignore[no-untyped-def]
    executor = Executor("test-model")
    release = threading.Event()

    def running(op: Operation) -> str:
        release.wait(30)
        return "done"

    op = Operation(running)
    executor.submit(op)
    qtbot.waitUntil(lambda: op.started, timeout=10_000)
    assert executor.withdraw(op) is False  # already running: Stop goes through its cancel token
    release.set()
    qtbot.waitUntil(lambda: not executor.busy(), timeout=10_000)
    executor.shutdown()


def test_stop_in_the_window_while_a_long_prompt_is_read(qtbot, library: Library, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The real model reading a prompt of thousands of tokens: Stop brings the window back to
    idle within a second, with the answer marked as stopped."""
    import time

    from desktop.main_window import MainWindow

    folder = tmp_path / "reports"
    folder.mkdir()
    import random

    rng = random.Random(3)
    words = (
        "budget office supplies travel printer paper desks chairs laptops training canteen "
        "parking rent heating cleaning security post phones licences furniture repairs"
    ).split()
    places = ["Leeds", "York", "Bath", "Derby", "Hull", "Ely", "Truro", "Ripon"]
    for i in range(16):
        lines = (
            f"In {rng.choice(places)} the {rng.choice(words)} spend for {rng.choice(words)} "
            f"was {rng.randint(100, 99999)} pounds in month {rng.randint(1, 12)}, "
            f"{rng.choice(words)} and {rng.choice(words)} excluded."
            for _ in range(60)
        )
        (folder / f"report-{i}.md").write_text(f"# Report {i}\n\n" + " ".join(lines), "utf-8")
    with library.create("Reports") as coll:
        coll.index([folder])
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.settings.threads = 1
    window.settings.preset = "answer"  # the model writes: its prompt is read before it starts
    window.settings.k = 16  # a long prompt: sixteen passages
    window.settings.n_ctx = 4096
    qtbot.waitUntil(lambda: window.current_collection() == "Reports", timeout=30_000)
    chat = window.chat
    chat.question.setText("What do the reports say about the budget for office supplies?")
    with qtbot.waitSignal(chat.evidence_shown, timeout=120_000):
        chat.ask_button.click()
    qtbot.wait(1500)  # the model is now reading the prompt
    assert chat.first_token_at is None
    with qtbot.waitSignal(chat.answer_finished, timeout=30_000) as done:
        pressed = time.monotonic()
        chat.stop_button.click()
    idle = time.monotonic() - pressed
    answer = done.args[0]
    print(f"\nwindow Stop->idle {idle:.3f} s, prompt {answer.stats.prompt_tokens} tokens")
    assert answer.stop == "cancelled" and answer.stats.answer_tokens == 0
    assert answer.stats.prompt_tokens > 2000
    assert idle < 1.5 and not chat.stop_button.isEnabled()
    window.close()
