"""Screen readers can name every control, the window works by keyboard, and nothing paints
fixed colours or pixel font sizes over the system's palette and text size."""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from desktop.accessibility import SHORTCUTS, interactive_widgets, key_text
from desktop.main_window import MainWindow
from engine import Answer, Citation, Library
from engine.generate.base import GenerationStats

SHOTS = Path(__file__).resolve().parents[1] / "screenshots"
README = Path(__file__).resolve().parents[2] / "README.md"


def _describe(w: QWidget) -> str:
    parents = []
    p = w.parentWidget()
    while p is not None:
        parents.append(type(p).__name__)
        p = p.parentWidget()
    return f"{type(w).__name__} {w.objectName()!r} in {'/'.join(parents[:4])}"


def _unnamed(root: QWidget) -> list[str]:
    return [_describe(w) for w in interactive_widgets(root) if not w.accessibleName().strip()]


def test_every_control_of_every_tab_has_an_accessible_name(qtbot, library: Library) -> None:  # type: ignore[no-untyped-def]
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    controls = interactive_widgets(window)
    # The walk reaches all tabs and the source viewer, not only what is on screen.
    names = {type(w).__name__ for w in controls}
    assert {"QPushButton", "QLineEdit", "QComboBox", "QSpinBox", "QListWidget"} <= names
    assert {"QTreeWidget", "QTableWidget", "QTextBrowser", "QTabBar", "QToolButton"} <= names
    assert window.tune.epochs in controls and window.viewer.pdf_view in controls
    assert window.compare.models[1] in controls
    for i in range(window.tabs.count()):
        window.tabs.setCurrentIndex(i)
        assert _unnamed(window) == []
    # A sample of names: what a screen reader says for the controls without text.
    assert window.chat.question.accessibleName() == "Question"
    assert window.tune.epochs.accessibleName() == "Epochs"  # from its form label
    assert window.chat.ask_button.accessibleName() == "Ask"
    assert "(" + key_text("ask") + ")" in window.chat.ask_button.accessibleDescription()
    # A new, unnamed control is caught (the check can fail).
    from PySide6.QtWidgets import QSpinBox

    stray = QSpinBox(window.tune)
    assert _unnamed(window) and "QSpinBox" in _unnamed(window)[0]
    stray.deleteLater()
    window.close()


def test_settings_dialog_controls_have_names(qtbot, library: Library) -> None:  # type: ignore[no-untyped-def]
    window = MainWindow(library)
    qtbot.addWidget(window)
    dialog = window.open_settings()
    assert interactive_widgets(dialog) and _unnamed(dialog) == []
    dialog.close()
    window.close()


def _answer_with_sources(n: int) -> Answer:
    citations = [
        Citation(
            number=i, chunk_id=i, doc_id=i, path=f"/docs/file{i}.md", page=1, start=0, end=10,
            location="section 1", collection="Notes", sentence=f"Sentence {i}.",
            sentence_start=0, sentence_end=11, status="supported", score=0.9,
        )
        for i in range(1, n + 1)
    ]  # fmt: skip
    return Answer(
        question="q", mode="answer", text="Sentence 1. [1]", citations=citations, included=[],
        cut=[], documents=[], stop="end", notices=[], retrieval_ms=1.0, stats=GenerationStats(),
        model="test", plan=None,
    )  # fmt: skip


def test_shortcuts_do_what_the_readme_says(qtbot, library: Library) -> None:  # type: ignore[no-untyped-def]
    library.create("Notes").close()
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.current_collection() == "Notes", timeout=10_000)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)
    chat = window.chat

    # Every shortcut is documented in the README with its keys and what it does.
    readme = README.read_text("utf-8")
    for s in SHORTCUTS:
        assert re.search(rf"\|\s*`{re.escape(s.key)}`\s*\|\s*{re.escape(s.what)}", readme), s

    # Ctrl+2 shows Documents; Ctrl+L comes back to the question box, from anywhere.
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentIndex() == 1
    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is chat
    assert QApplication.focusWidget() is chat.question

    # Ctrl+Return asks (the model is not needed to see that).
    asked: list[bool] = []
    chat.ask = lambda *_a, **_k: asked.append(True)  # type: ignore[method-assign]
    qtbot.keyClick(chat.question, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert asked == [True]

    # Ctrl+N starts a new chat and puts the cursor in the question box.
    chat.notice.setText("")
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert chat.notice.text() == "New chat."
    assert QApplication.focusWidget() is chat.question

    # F8 / Shift+F8 walk the answer's sources; Ctrl+O opens the one reached.
    chat.show_answer(_answer_with_sources(3))
    chips = chat.chip_buttons()
    qtbot.waitUntil(lambda: all(c.isVisible() for c in chips), timeout=5_000)
    assert [c.accessibleName() for c in chips] == [f"Source {i}, supported" for i in (1, 2, 3)]
    qtbot.keyClick(window, Qt.Key.Key_F8)
    assert QApplication.focusWidget() is chips[0]
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_F8)
    assert QApplication.focusWidget() is chips[1]
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_F8, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_F8, Qt.KeyboardModifier.ShiftModifier)
    assert QApplication.focusWidget() is chips[2]  # wraps round
    opened: list[tuple[object, ...]] = []
    chat.open_source.connect(opened.append)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    assert [o[1] for o in opened] == ["/docs/file3.md"]

    # F6 moves between the window's parts and comes round again; Shift+F6 goes back.
    seen = []
    for _ in range(len(window.keys.panes()) + 1):
        qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_F6)
        seen.append(QApplication.focusWidget())
    panes = window.keys.panes()
    assert window.collections in panes and window.chats.history in panes and chat.question in panes
    assert seen[-1] is seen[0] and len(set(map(id, seen[:-1]))) == len(panes)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_F6, Qt.KeyboardModifier.ShiftModifier)
    assert QApplication.focusWidget() is seen[-2]

    # Esc stops an answer in flight.
    stopped: list[bool] = []
    chat.stop = lambda: stopped.append(True)  # type: ignore[method-assign]
    qtbot.keyClick(chat.question, Qt.Key.Key_Escape)
    assert stopped == [True]
    window.close()


def test_tab_walks_the_window_in_reading_order(qtbot, library: Library) -> None:  # type: ignore[no-untyped-def]
    library.create("Notes").close()
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.current_collection() == "Notes", timeout=10_000)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)
    window.collections.setFocus()
    order: list[str] = []
    for _ in range(40):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        focus = QApplication.focusWidget()
        assert focus is not None
        if focus is window.collections:
            break
        order.append(focus.accessibleName())
    # Tab goes round in a circle: the tool bar, then the sidebar, then the tabs and the Ask
    # tab from top to bottom, and back to the tool bar.
    circle = ["Collections", *order]
    first = circle.index("Add folder")
    circle = circle[first:] + circle[:first]
    expected = ["Add folder", "Models and settings", "Collections", "New chat", "Chats"]
    expected += ["Sections", "Question", "Ask", "Conversation"]
    assert [n for n in circle if n in expected] == expected, repr(circle)
    assert "" not in order  # everything Tab reaches can be named
    window.close()


def test_no_fixed_colours_or_pixel_fonts(qtbot, library: Library) -> None:  # type: ignore[no-untyped-def]
    """Colours and text sizes come from the system (dark, high contrast, large text)."""
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.chat.show_answer(_answer_with_sources(2))
    fixed = re.compile(r"color\s*:|background|font-size\s*:\s*\d+px", re.IGNORECASE)
    offenders = [
        f"{_describe(w)}: {w.styleSheet()}"
        for w in [window, *window.findChildren(QWidget)]
        if fixed.search(w.styleSheet())
    ]
    assert offenders == []
    # The welcome line is larger than body text, relative to the system's text size.
    body = QApplication.font().pointSizeF()
    assert window.welcome.font().pointSizeF() > body
    SHOTS.mkdir(exist_ok=True)
    window.resize(1100, 700)
    window.show()
    qtbot.wait(200)
    window.grab().save(str(SHOTS / "main-window-keyboard.png"))

    # A dark system palette: the source chips' colours are lightened to stay readable.
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    light = app.palette()
    try:
        app.setPalette(QPalette(QColor("#3a3a3a"), QColor("#232323")))
        window.chat.show_answer(_answer_with_sources(2))
        chip = window.chat.chip_buttons()[0]
        text = chip.palette().color(QPalette.ColorRole.ButtonText)
        assert text.lightness() > 128 and text.green() > text.red()
        qtbot.wait(200)
        window.grab().save(str(SHOTS / "main-window-dark.png"))
    finally:
        app.setPalette(light)
    window.close()
