"""The chat pane on real widgets with the real models: evidence first, streaming, chips, Stop."""

from __future__ import annotations

from pathlib import Path

from desktop.main_window import MainWindow
from engine import Answer, Library

SHOTS = Path(__file__).resolve().parents[1] / "screenshots"


def make_collection(library: Library, tmp_path: Path) -> None:
    folder = tmp_path / "handbook"
    folder.mkdir()
    (folder / "leave.md").write_text(
        "# Annual leave\n\nFull-time staff get 25 days of annual leave per year. Requests go to "
        "the line manager two weeks ahead.",
        "utf-8",
    )
    (folder / "parking.md").write_text(
        "# Parking\n\nParking permits are issued by the facilities office on the ground floor.",
        "utf-8",
    )
    coll = library.create("Handbook")
    coll.index([folder])
    coll.close()


def test_ask_shows_evidence_then_streams_answer_with_chips(
    qtbot, library: Library, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    make_collection(library, tmp_path)
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.current_collection() == "Handbook", timeout=10_000)

    chat = window.chat
    chat.question.setText("How many days of annual leave do staff get?")
    with qtbot.waitSignal(chat.answer_finished, timeout=120_000) as blocker:
        chat.ask_button.click()
    answer: Answer = blocker.args[0]
    assert answer.stop in ("end", "length", "loop")
    # Evidence reached the screen before the first token of the answer did.
    assert chat.evidence_at is not None and chat.first_token_at is not None
    assert chat.evidence_at <= chat.first_token_at
    assert chat.evidence.count() >= 1 and "leave.md" in chat.evidence.item(0).text()
    assert chat.answer.toPlainText().strip()
    # "What the model saw" lists every included source; chips carry their status.
    assert chat.saw.topLevelItemCount() == len(answer.included) + len(answer.cut)
    chips = chat.chip_buttons()
    assert len(chips) == len({c.number for c in answer.citations})
    for chip in chips:
        assert chip.property("status") in ("supported", "unsupported", "inferred")
    SHOTS.mkdir(exist_ok=True)
    window.grab().save(str(SHOTS / "chat.png"))
    window.close()


def test_stop_ends_a_running_answer(qtbot, library: Library, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    make_collection(library, tmp_path)
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.current_collection() == "Handbook", timeout=10_000)
    chat = window.chat
    chat.question.setText("Write a very long essay about every rule in the handbook.")
    chat.answer_started.connect(chat.stop_button.click)
    with qtbot.waitSignal(chat.answer_finished, timeout=120_000) as blocker:
        chat.ask_button.click()
    assert blocker.args[0].stop == "cancelled"
    assert "Stopped." in chat.notice.text()
    assert not chat.stop_button.isEnabled()
    window.close()
