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
