"""Keyboard shortcuts and screen-reader names for the main window.

Every control gets an accessible name (what a screen reader says) and, where there is more to
say, a description. Controls named by their own text (buttons, check boxes) or by a form label
are named from that; the rest are named here. The shortcuts are listed once, in ``SHORTCUTS``
(the README shows the same table), and each one's keys appear in its control's tooltip.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractScrollArea,
    QAbstractSpinBox,
    QComboBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTabBar,
    QTextEdit,
    QToolBar,
    QToolButton,
    QWidget,
)

# The kinds of widget a person operates (and a screen reader must be able to name).
INTERACTIVE: tuple[type[QWidget], ...] = (
    QAbstractButton,
    QLineEdit,
    QComboBox,
    QAbstractSpinBox,
    QAbstractItemView,
    QTextEdit,
    QPlainTextEdit,
    QTabBar,
    QAbstractScrollArea,  # the PDF page view scrolls by keyboard
)


@dataclass(frozen=True)
class Shortcut:
    key: str  # portable text, as QKeySequence reads it
    action: str  # the method of WindowKeys it runs
    what: str  # shown in tooltips and the README


SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("Ctrl+N", "new_chat", "Start a new chat"),
    Shortcut("Ctrl+L", "focus_question", "Go to the question box"),
    Shortcut("Ctrl+Return", "ask", "Ask the question"),
    Shortcut("Esc", "stop", "Stop the answer being written"),
    Shortcut("F8", "next_citation", "Go to the next source of the answer"),
    Shortcut("Shift+F8", "previous_citation", "Go to the previous source of the answer"),
    Shortcut("Ctrl+O", "open_source", "Open the chosen source at the cited place"),
    Shortcut("F6", "next_pane", "Move to the next part of the window"),
    Shortcut("Shift+F6", "previous_pane", "Move to the previous part of the window"),
    Shortcut("Ctrl+1", "tab_1", "Show the Ask tab"),
    Shortcut("Ctrl+2", "tab_2", "Show the Documents tab"),
    Shortcut("Ctrl+3", "tab_3", "Show the Check a statement tab"),
    Shortcut("Ctrl+4", "tab_4", "Show the Compare tab"),
    Shortcut("Ctrl+5", "tab_5", "Show the Tune tab"),
)


def key_text(action: str) -> str:
    """The shortcut of ``action`` as this system writes it (``Ctrl+N``, ``⌘N`` on a Mac)."""
    for s in SHORTCUTS:
        if s.action == action:
            return QKeySequence(s.key).toString(QKeySequence.SequenceFormat.NativeText)
    return ""


def interactive_widgets(root: QWidget) -> list[QWidget]:
    """The controls under ``root`` a person can operate, without the parts Qt builds inside
    other controls (a combo box's list, a spin box's text field, a tab bar's scroll arrows,
    table headers)."""
    out: list[QWidget] = []
    for w in [root, *root.findChildren(QWidget)]:
        if not isinstance(w, INTERACTIVE) or isinstance(w, QHeaderView):
            continue
        parent = w.parentWidget()
        inner = False
        while parent is not None and parent is not root:
            if isinstance(parent, QComboBox | QAbstractSpinBox | QTabBar | QAbstractItemView):
                # A combo box's list, a spin box's field, a tab bar's arrows, a table's corner.
                inner = True
                break
            parent = parent.parentWidget()
        if not inner:
            out.append(w)
    return out


def describe(widget: QWidget, name: str, description: str = "") -> None:
    widget.setAccessibleName(name)
    if description:
        widget.setAccessibleDescription(description)


def _plain(text: str) -> str:
    """A control's visible text as a name: no mnemonic ampersands or trailing dots."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip(" .…").strip()


def name_from_text(root: QWidget) -> None:
    """Name the controls not named yet from what a sighted person reads on or beside them:
    a button's text, the label that names a field, or the field's hint text."""
    labels = {
        id(label.buddy()): label.text()
        for label in root.findChildren(QLabel)
        if label.buddy() is not None
    }
    # A form row whose field is a row of controls (a list and its button): the row's label
    # names the first control of the row.
    for form in root.findChildren(QFormLayout):
        for row in range(form.rowCount()):
            label = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
            field = form.itemAt(row, QFormLayout.ItemRole.FieldRole)
            inner = field.layout() if field is not None else None
            owner = label.widget() if label is not None else None
            text = owner.text() if isinstance(owner, QLabel) else ""
            if inner is None or not text:
                continue
            for i in range(inner.count()):
                item = inner.itemAt(i)
                widget = item.widget() if item else None
                if widget is not None and isinstance(widget, INTERACTIVE):
                    labels.setdefault(id(widget), text)
                    break
    for w in interactive_widgets(root):
        tip = w.toolTip()
        if tip and not w.accessibleDescription():
            w.setAccessibleDescription(tip)
        if w.accessibleName():
            continue
        name = ""
        if isinstance(w, QAbstractButton):
            name = _plain(w.text())
        if not name and id(w) in labels:
            name = _plain(labels[id(w)])
        if not name and isinstance(w, QLineEdit | QTextEdit | QPlainTextEdit):
            name = _plain(w.placeholderText())
        if name:
            w.setAccessibleName(name)


def _tip(widget: QWidget, what: str, action: str) -> None:
    """Say the shortcut in the control's tooltip (and so in its accessible description)."""
    keys = key_text(action)
    widget.setToolTip(f"{widget.toolTip() or what} ({keys})")
    widget.setAccessibleDescription(widget.toolTip())


class WindowKeys:
    """The main window's keyboard shortcuts and the focus moves they make."""

    def __init__(self, window: Any) -> None:
        self.window = window
        self.citation = -1  # the answer's source reached by F8 / Shift+F8
        self.shortcuts: dict[str, QShortcut] = {}
        for s in SHORTCUTS:
            sc = QShortcut(QKeySequence(s.key), window)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            run: Callable[[], None] = getattr(self, s.action)
            sc.activated.connect(run)
            self.shortcuts[s.action] = sc
        chat = window.chat
        _tip(window.chats.new_chat_button, "Start a new chat", "new_chat")
        _tip(chat.question, "Type a question about your documents", "focus_question")
        _tip(chat.ask_button, "Ask the question", "ask")
        _tip(chat.stop_button, "Stop the answer being written", "stop")
        chat.answer_finished.connect(lambda *_a: setattr(self, "citation", -1))

    # -- chat ------------------------------------------------------------------------------
    def _show_ask(self) -> None:
        self.window.tabs.setCurrentWidget(self.window.chat)

    def new_chat(self) -> None:
        self._show_ask()
        self.window.chats.new_chat()
        self.focus_question()

    def focus_question(self) -> None:
        self._show_ask()
        question = self.window.chat.question
        question.setFocus(Qt.FocusReason.ShortcutFocusReason)
        question.selectAll()

    def ask(self) -> None:
        tab = self.window.tabs.currentWidget()
        # In the other tabs the same keys run that tab's own question or check.
        if tab is self.window.verify:
            self.window.verify.check()
        elif tab is self.window.compare:
            self.window.compare.run()
        else:
            self._show_ask()
            self.window.chat.ask()

    def stop(self) -> None:
        self.window.chat.stop()

    # -- sources of the answer -----------------------------------------------------------
    def _chips(self) -> list[QToolButton]:
        chips: list[QToolButton] = self.window.chat.chip_buttons()
        return chips

    def _step_citation(self, step: int) -> None:
        chips = self._chips()
        if not chips:
            return
        focused = next((i for i, c in enumerate(chips) if c.hasFocus()), None)
        at = focused if focused is not None else self.citation
        # Nothing reached yet: F8 starts at the first source, Shift+F8 at the last.
        at = (at + step) % len(chips) if at >= 0 else (0 if step > 0 else len(chips) - 1)
        self.citation = at
        self._show_ask()
        chips[at].setFocus(Qt.FocusReason.ShortcutFocusReason)

    def next_citation(self) -> None:
        self._step_citation(1)

    def previous_citation(self) -> None:
        self._step_citation(-1)

    def open_source(self) -> None:
        """Open the source reached with F8 (or the focused one; else the first)."""
        chips = self._chips()
        focused = next((c for c in chips if c.hasFocus()), None)
        if focused is None and chips:
            focused = chips[self.citation] if 0 <= self.citation < len(chips) else chips[0]
        if focused is not None:
            focused.click()
            return
        chat = self.window.chat
        if chat.cards():  # no citation yet: the first source card of the last question
            chat.open_card(-1, 0)

    # -- panes and tabs -------------------------------------------------------------------
    def panes(self) -> list[QWidget]:
        """The parts of the window F6 moves between, in reading order."""
        w = self.window
        tab = w.tabs.currentWidget()
        first = {
            w.chat: w.chat.question,
            w.verify: w.verify.statement,
            w.compare: w.compare.question,
            w.tune: w.tune.kind,
        }.get(tab, w.documents)
        panes = [w.collections, w.chats.history, w.tabs.tabBar(), first]
        if tab is w.chat:
            panes.append(w.chat.answer)
        return [p for p in panes if p.isVisible() and p.isEnabled()]

    def _step_pane(self, step: int) -> None:
        panes = self.panes()
        if not panes:
            return
        focus = self.window.focusWidget()
        at = next(
            (i for i, p in enumerate(panes) if focus is p or (focus and p.isAncestorOf(focus))),
            -1,
        )
        nxt = panes[(at + step) % len(panes)] if at >= 0 else panes[0 if step > 0 else -1]
        nxt.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def next_pane(self) -> None:
        self._step_pane(1)

    def previous_pane(self) -> None:
        self._step_pane(-1)

    def _tab(self, index: int) -> None:
        tabs = self.window.tabs
        if index < tabs.count():
            tabs.setCurrentIndex(index)
            tabs.currentWidget().setFocus(Qt.FocusReason.ShortcutFocusReason)

    def tab_1(self) -> None:
        self._tab(0)

    def tab_2(self) -> None:
        self._tab(1)

    def tab_3(self) -> None:
        self._tab(2)

    def tab_4(self) -> None:
        self._tab(3)

    def tab_5(self) -> None:
        self._tab(4)


def name_main_window(w: Any) -> None:
    """Names and descriptions for the window's controls that show no text of their own."""
    chat, tune, verify, compare = w.chat, w.tune, w.verify, w.compare
    describe(w.collections, "Collections", "Your document collections; pick one to work in.")
    describe(w.documents, "Documents", "The documents of the collection and their status.")
    describe(w.query, "Search your documents", "Type words and press Enter to search.")
    describe(w.results, "Search results", "Passages found by the search; Enter opens one.")
    describe(
        w.indexing_status.failures, "Files that could not be read", "Each file with the reason."
    )
    describe(w.tabs.tabBar(), "Sections", "Ask, Documents, Check a statement, Compare, Tune.")
    describe(chat.question, "Question", "Type a question about your documents.")
    describe(chat.adapter_box, "Adapter", "A tuned adapter for the chat model.")
    describe(
        chat.answer,
        "Conversation",
        "Your questions and the answers, each with its source cards and numbered citations.",
    )
    describe(w.chats.history, "Chats", "Earlier chats of this collection; Enter opens one.")
    describe(verify.statement, "Statement to check", "A sentence to check against your documents.")
    describe(verify.table, "Check results", "Each claim, its result, where and why.")
    describe(compare.question, "Question to compare", "One question, asked two ways.")
    for side, label in enumerate(("left", "right")):
        describe(compare.presets[side], f"Preset, {label}", "How the question is put to the model.")
        describe(compare.models[side], f"Model, {label}", "The model that answers on this side.")
        describe(compare.outputs[side], f"Answer, {label}")
    describe(tune.data_path, "Data file", "A JSONL or CSV file of question and answer pairs.")
    describe(tune.table, "Evaluation", "Each measure before and after tuning.")
    describe(w.viewer.text_view, "Source text", "The cited section, with the passage selected.")
    describe(w.viewer.pdf_view, "Source page", "The cited PDF page, passage highlighted.")
    describe(
        w.viewer.scan_area,
        "Scanned page",
        "The cited page as an image, read by text recognition, passage marked.",
    )
    describe(w.tabs, "Sections")
    for more in w.findChildren(QToolButton, "qt_toolbar_ext_button"):
        describe(more, "More tools", "The tool bar's buttons that do not fit the window.")
    # Tool bar buttons take no keyboard focus by default; these are the only way to some
    # commands (Add folder, Models and settings), so Tab reaches them.
    for bar in w.findChildren(QToolBar):
        for button in bar.findChildren(QToolButton):
            button.setFocusPolicy(Qt.FocusPolicy.TabFocus)


def make_accessible(w: Any) -> WindowKeys:
    """Name every control of the main window and install its keyboard shortcuts."""
    name_main_window(w)
    keys = WindowKeys(w)
    name_from_text(w)
    return keys
