"""The chat pane: a transcript of questions and answers. Each turn shows its sources as cards
first, then the answer streaming in as Markdown with clickable citation markers, then each
sentence's check and "What the model saw".

Layout and wiring only (the rendering is in ``transcript.py``). The model lives on its own
single-worker executor; tokens reach the GUI thread through a buffer flushed every 50 ms, and
only the current turn is rendered again, at most every ``RENDER_MS``, so a fast model cannot
flood the event loop however long the conversation is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QPalette,
    QTextBlockFormat,
    QTextCursor,
    QTextFormat,
    QTextLength,
)
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine import Answer, AskOptions, ChatSession, ChatStore, Evidence, Library
from engine.citations import Citation, worst
from engine.errors import EmbeddingModelMismatch, FolioError
from engine.generate.base import Generator
from engine.messages import storage_cause, what_to_do
from engine.reembed import ReembedNeeded
from engine.reembed import explain as explain_mismatch
from engine.tune.adapter import list_adapters
from engine.tune.adapter import resolve_stack as adapter_stack_of

from .chat_export import ChatExport
from .item_models import SourcesModel
from .loadbar import ModelLoadBar
from .memory import release_free_memory
from .models import LoadedModel
from .settings import Settings, save_settings, server_config
from .speeds import record as record_speed
from .tasks import Executor, Operation
from .transcript import (
    STATUS_MARK,
    Card,
    TranscriptView,
    Turn,
    cards_from_answer,
    cards_from_evidence,
    cards_from_stored,
    mark_statuses,
    status_colour,
    turn_html,
)

FLUSH_MS = 50
MEASURED_TOKENS = 16  # an answer this long or longer tells the model's writing speed
RENDER_MS = 100  # while an answer streams, its turn is drawn again at most this often
EMPTY_CHAT = (
    "<h3>Ask your documents</h3>"
    "<p>Type a question in the box above, in your own words, and press Enter. For example: "
    "<i>How many days of leave do part-time staff get?</i> or <i>Who do I call about a "
    "broken laptop?</i></p>"
    "<p>Folio first shows the passages it found, as cards. The answer follows, with numbers "
    "such as [1]: click one to see the page it comes from. A ✓ after a sentence means its "
    "source backs it; a ✗ means it does not, so check that sentence yourself.</p>"
    "<p><b>Folio can</b> answer from the documents in this collection: rules, dates, "
    "figures, who to ask, where something is written. Ask a follow-up question to go on "
    "from an answer.</p>"
    "<p><b>Folio cannot</b> answer from the internet or from documents you have not added. "
    "It does not know today's date or anything that happened after your documents were "
    "written, and it does not read pictures of charts.</p>"
    "<p>No documents yet? Drop a folder on this window, or try the sample documents.</p>"
)


class ChatPanel(QWidget):
    """Ask a question of the current collection; shows evidence, answer and citations."""

    evidence_shown = Signal(object)  # Evidence (its source cards are on screen)
    answer_started = Signal()  # first token on screen
    answer_finished = Signal(object)  # Answer
    # (collection, path, page, start, end, passage text): a citation or evidence item was clicked
    open_source = Signal(object)
    chat_opened = Signal(int)  # a past chat is shown, and the next question continues it
    question_withdrawn = Signal()  # Stop on a question that was still waiting
    reembed_needed = Signal(object)  # ReembedNeeded: the collection must be re-embedded first

    def __init__(
        self,
        library: Library,
        collection: Callable[[], str | None],
        model_executor: Executor,
        settings: Settings | None = None,
        read_executor: Executor | None = None,
        models: LoadedModel | None = None,
    ) -> None:
        super().__init__()
        self.loaded = models or LoadedModel()
        self.loaded.on_unload(self._let_go_of_the_model)
        self._reader = read_executor or model_executor
        self.library = library
        self._collection = collection
        self._executor = model_executor
        self.settings = settings or Settings()
        self._generator: Generator | None = None  # created and used on the model worker only
        self._sessions: dict[str, ChatSession] = {}
        self._store: ChatStore | None = None
        self._op: Operation | None = None
        self._buffer: list[str] = []
        self._buffer_lock = threading.Lock()
        self.last_answer: Answer | None = None
        self.turns: list[Turn] = []
        self._turn_start = 0  # where the current turn begins in the transcript
        self._dirty = False  # streamed text not drawn yet
        self._last_render = 0.0
        self.renders = 0  # how often the current turn was drawn (streaming stays throttled)
        self.evidence_at: float | None = None
        self.first_token_at: float | None = None

        self.question = QLineEdit()
        self.question.setPlaceholderText("Ask a question about your documents…")
        self.question.returnPressed.connect(self.ask)
        self.ask_button = QPushButton("Ask")
        self.ask_button.clicked.connect(self.ask)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        # LoRA adapters from the Tune tab; switching takes effect at the next question,
        # without reloading the model.
        self.adapter_box = QComboBox()
        self.adapter_box.setToolTip("A tuned adapter for the chat model (from the Tune tab)")
        self.adapter_box.activated.connect(self._adapter_chosen)
        # The conversation: one turn per question (see transcript.py).
        self.answer = TranscriptView()
        self.answer.setHtml(EMPTY_CHAT)  # until the first question
        self.answer.anchorClicked.connect(self._link)
        # The view follows the answer as it grows, unless the reader scrolls up to read.
        self._following = True
        bar = self.answer.verticalScrollBar()
        bar.rangeChanged.connect(self._keep_following)
        bar.actionTriggered.connect(lambda _a: QTimer.singleShot(0, self._reader_scrolled))
        # The sources of the last question (its cards): document, page, snippet, check.
        self.sources = SourcesModel()
        self.chips = QHBoxLayout()
        self.chips_label = QLabel("Sources of the last answer:")
        self.chips_label.setVisible(False)
        self.chips.addWidget(self.chips_label)
        self.chips.addStretch(1)
        self.notice = QLabel("")
        self.notice.setWordWrap(True)
        self.load_bar = ModelLoadBar()  # while the model loads for a question
        # An ordinary question gets an answer; the full list of documents is one click away.
        self.show_all_button = QPushButton("Show every document about this")
        self.show_all_button.setVisible(False)
        self.show_all_button.clicked.connect(self.show_every_document)
        self._last_question = ""
        self.export = ChatExport()  # Copy as Markdown, Export…
        self.export.message.connect(self.notice.setText)
        self._resume: dict[str, int] = {}  # collection -> chat to continue
        self._shown_results: list[dict[str, object]] = []
        self._shown_title = ""

        top = QHBoxLayout()
        top.addWidget(self.question, 1)
        top.addWidget(self.ask_button)
        top.addWidget(self.stop_button)
        top.addWidget(self.adapter_box)
        actions = QHBoxLayout()
        actions.addWidget(self.show_all_button)
        actions.addStretch(1)
        actions.addWidget(self.export)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.load_bar)
        lay.addWidget(self.answer, 1)
        lay.addLayout(self.chips)
        lay.addWidget(self.notice)
        lay.addLayout(actions)

        self.refresh_adapters()
        self._flush_timer = QTimer(self)
        self._flush_timer.setInterval(FLUSH_MS)
        self._flush_timer.timeout.connect(self._flush)

    # -- asking --------------------------------------------------------------------------

    def show_every_document(self) -> Operation | None:
        """The follow-up to an answer: every document about the last question, not only the
        passages the answer used."""
        if not self._last_question:
            return None
        return self.ask(self._last_question, exhaustive=True)

    def ask(self, text: str | None = None, exhaustive: bool | None = None) -> Operation | None:
        question = (text if isinstance(text, str) else self.question.text()).strip()
        name = self._collection()
        if not question:
            return None
        if not name:
            self.notice.setText("Add documents to a collection first: drop a folder here.")
            return None
        self.stop()  # a new question cancels the one in flight (or withdraws a waiting one)
        self.load_bar.done()  # the bar is the new question's once it loads a model
        self._reset_view()
        self._start_turn(Turn(question))
        if self._executor.busy():
            self.notice.setText(
                "Waiting for the model to finish what it is doing; Stop withdraws the question."
            )
        else:
            self.notice.setText("Looking for passages…")
        self.evidence_at = self.first_token_at = None

        settings = self.settings
        home = self.library.home

        def work(op: Operation) -> Answer:
            op.progress.emit(("status", "Looking for passages…"))
            # The window's one loaded model, shared with Compare when it is the same file.
            generator = self.loaded.get(
                settings.model_path or None,
                settings.gen_settings(),
                tell=lambda message: op.progress.emit(("status", message)),
                server=server_config(settings, self.library.home),
                progress=lambda fraction, stage: op.progress.emit(("load", (fraction, stage))),
                cancel=op.cancel,  # Stop ends a load too
            )
            if generator is not self._generator:
                self._sessions.clear()  # sessions hold the previous model
                self._generator = generator
            wanted = adapter_stack(settings)
            if self._generator.adapters != wanted:
                op.progress.emit(("status", "Switching the adapter…"))
                self._generator.set_adapters(wanted)
            session = self._sessions.get(name)
            if session is None:
                if self._store is None:
                    self._store = self.library.chat_store()
                coll = self.library.open(name)
                session = self._sessions[name] = ChatSession(
                    [coll], self._generator, self._store, self._resume.get(name)
                )
            try:
                answer = session.ask(
                    question,
                    AskOptions(
                        k=settings.k,
                        preset=settings.preset,
                        edge_ordering=settings.edge_ordering,
                        exhaustive=exhaustive,
                        quote_pick="model" if settings.quote_model_picks else "scores",
                    ),
                    cancel=op.cancel,
                    on_evidence=lambda ev: op.progress.emit(("evidence", ev)),
                    on_token=self._push,
                )
                if answer.stats.answer_tokens >= MEASURED_TOKENS:  # for the model picker
                    record_speed(home, generator.path, tokens_per_s=answer.stats.tokens_per_s)
                return answer
            except EmbeddingModelMismatch:
                with self.library.open(name) as coll:
                    raise explain_mismatch(coll) from None
            finally:
                release_free_memory()  # what the answer freed, back to the system

        op = Operation(work)
        op.progress.connect(lambda event, op=op: self._on_event(event, op))
        op.succeeded.connect(lambda a, op=op: self._on_answer(op, a))
        op.failed.connect(lambda m, op=op: self._on_failed(op, m))
        self._op = op
        self.stop_button.setEnabled(True)
        self._flush_timer.start()
        return self._executor.submit(op)

    def apply_settings(self, settings: Settings) -> None:
        """Use new settings; the model is reloaded (on its worker) at the next question."""
        self.settings = settings

        def drop(_op: Operation) -> None:
            self._generator = None
            self._sessions.clear()

        self._executor.submit(Operation(drop))

    # -- adapters ----------------------------------------------------------------------

    def refresh_adapters(self) -> None:
        """List the adapters in Folio's adapters folder; keep the chosen one selected."""
        self.adapter_box.clear()
        self.adapter_box.addItem("No adapter", "")
        for info in list_adapters(adapters_dir(self.library.home)):
            kind = {"cpt": "CPT", "ift": "IFT"}.get(info.kind, "LoRA")
            self.adapter_box.addItem(f"Adapter: {info.title} ({kind})", str(info.path))
        index = self.adapter_box.findData(self.settings.adapter)
        self.adapter_box.setCurrentIndex(max(0, index))

    def _adapter_chosen(self, index: int) -> None:
        self.use_adapter(str(self.adapter_box.itemData(index) or ""))

    def use_adapter(self, path: str) -> None:
        """Chat with this adapter from the next question on ("" = the plain model)."""
        if path:
            try:
                adapter_stack_of(Path(path))
            except FolioError as exc:
                self.notice.setText(str(exc))
                self.adapter_box.setCurrentIndex(max(0, self.adapter_box.findData("")))
                return
        self.settings.adapter = path
        try:
            save_settings(self.library.home, self.settings)
        except OSError as exc:
            cause = storage_cause(exc)
            self.notice.setText(
                f"The choice could not be saved because {cause}; {what_to_do(cause)}."
            )
        self.refresh_adapters()
        name = Path(path).stem if path else "no adapter"
        self.notice.setText(f"Next answers use {name}.")

    def stop(self) -> None:
        """Stop the answer in progress; a question still waiting for the model is withdrawn
        at once and never runs."""
        op = self._op
        if op is None:
            return
        op.cancel.cancel()
        if self._executor.withdraw(op):
            self._op = None
            self._flush_timer.stop()
            self.stop_button.setEnabled(False)
            self.notice.setText("The question was withdrawn before Folio started on it.")
            if self.turns and self.turns[-1].answer is None:
                self.turns[-1].error = "Withdrawn before Folio started on it."
                self._render_current()
            self.question_withdrawn.emit()

    def _push(self, piece: str) -> None:  # model worker thread
        with self._buffer_lock:
            self._buffer.append(piece)

    def _flush(self) -> None:
        with self._buffer_lock:
            text = "".join(self._buffer)
            self._buffer.clear()
        if text:
            if self.first_token_at is None:
                self.first_token_at = time.monotonic()
                self.notice.setText("")
                self.answer_started.emit()
            if self.turns:
                self.turns[-1].streamed += text
                self._dirty = True
        if self._dirty and time.monotonic() - self._last_render >= RENDER_MS / 1000:
            self._render_current()

    def _on_event(self, event: tuple[str, object], op: Operation | None = None) -> None:
        kind, payload = event
        if kind == "load" and isinstance(payload, tuple):
            if op is self._op:  # not a stopped question's load
                self.load_bar.show_progress(*payload)
        elif kind == "status":
            self.notice.setText(str(payload))
        elif kind == "evidence" and isinstance(payload, Evidence):
            if self.turns and self.turns[-1].answer is None:
                self.turns[-1].cards = cards_from_evidence(payload)
                self.sources.set_cards(self.turns[-1].cards)
                self._render_current("Reading the passages…")
            self.evidence_at = time.monotonic()
            self.notice.setText("Reading the passages…")
            self.evidence_shown.emit(payload)

    def _on_answer(self, op: Operation, answer: Answer) -> None:
        if op is not self._op:
            return  # a newer question replaced this one
        self.load_bar.done()
        self._flush()
        self._flush_timer.stop()
        self._op = None
        self.stop_button.setEnabled(False)
        self.show_answer(answer)
        self._shown_results.append(answer.to_json())
        self._shown_title = self._shown_title or answer.question
        self.export.set_chat(self._shown_title, self._shown_results)
        name = self._collection()
        if name and answer.session_id is not None:
            self._resume[name] = answer.session_id
        self.answer_finished.emit(answer)

    def _on_failed(self, op: Operation, message: str) -> None:
        if op is not self._op:
            return
        self.load_bar.done()  # a load that failed or was stopped
        self._flush_timer.stop()
        self._op = None
        self.stop_button.setEnabled(False)
        self.notice.setText(message)
        if self.turns and self.turns[-1].answer is None:
            self.turns[-1].error = message
            self._render_current()
        if isinstance(op.error, ReembedNeeded):
            self.reembed_needed.emit(op.error)

    def _let_go_of_the_model(self) -> None:  # model worker: another model is about to load
        self._generator = None
        self._sessions.clear()

    def forget(self, name: str) -> None:
        """Open collection ``name`` afresh at the next question (it was re-embedded)."""

        def drop(_op: Operation) -> None:
            self._sessions.pop(name, None)

        self._executor.submit(Operation(drop))

    # -- the finished answer ---------------------------------------------------------------

    def _reset_view(self) -> None:
        """Clear what belongs to the last answer only; the transcript stays."""
        with self._buffer_lock:
            self._buffer.clear()
        self.show_all_button.setVisible(False)
        self._clear_chips()
        self.sources.set_cards([])

    def _clear_transcript(self) -> None:
        self._reset_view()
        self.turns = []
        self._turn_start = 0
        self.answer.setHtml(EMPTY_CHAT)
        self._shown_results, self._shown_title = [], ""
        self.export.set_chat(self._shown_title, self._shown_results)

    def _clear_chips(self) -> None:
        for chip in self.chip_buttons():
            self.chips.removeWidget(chip)
            chip.deleteLater()
        self.chips_label.setVisible(False)

    def chip_buttons(self) -> list[QToolButton]:
        out = []
        for i in range(self.chips.count()):
            item = self.chips.itemAt(i)
            w = item.widget() if item else None
            if isinstance(w, QToolButton):
                out.append(w)
        return out

    def show_answer(self, answer: Answer) -> None:
        """Show a finished answer in its turn: marks per sentence, source cards with their
        checks, chips, summary, notices. An answer that was not asked here gets a turn."""
        self.last_answer = answer
        turn = self.turns[-1] if self.turns else None
        if turn is None or turn.answer is not None or turn.stored is not None:
            turn = self._start_turn(Turn(answer.question))
        turn.answer = answer
        if answer.included or answer.citations or not turn.cards:
            turn.cards = cards_from_answer(answer)
        mark_statuses(turn.cards, answer)
        self.sources.set_cards(turn.cards)
        self._render_current()
        self._render(answer)

    # -- the transcript ----------------------------------------------------------------------

    def _start_turn(self, turn: Turn) -> Turn:
        """Add a turn at the end; the turns before it are never drawn again while it streams."""
        self._make_room()
        self.turns.append(turn)
        self._dirty = False
        self.renders = 0
        self._render_current("Looking for passages…", to_end=True)  # the new question in view
        return turn

    def _make_room(self) -> None:
        """Where the next turn goes: the end of the transcript, under a rule."""
        if not self.turns:
            self.answer.clear()  # the first question replaces the guidance
        else:  # a rule under the turn before, then an empty block this turn starts in
            cursor = QTextCursor(self.answer.document())
            cursor.movePosition(QTextCursor.MoveOperation.End)
            rule = QTextBlockFormat()
            rule.setProperty(
                QTextFormat.Property.BlockTrailingHorizontalRulerWidth,
                QTextLength(QTextLength.Type.PercentageLength, 100),
            )
            cursor.insertBlock(rule)
            cursor.insertBlock(QTextBlockFormat())
        self._turn_start = self.answer.document().characterCount() - 1

    def _render_current(self, waiting: str = "", to_end: bool = False) -> None:
        """Draw the last turn again, in place; the rest of the transcript is left as it is."""
        if not self.turns:
            return
        turn = self.turns[-1]
        turn.html = turn_html(turn, len(self.turns) - 1, waiting)
        if to_end:
            self._following = True
        doc = self.answer.document()
        cursor = QTextCursor(doc)
        cursor.setPosition(min(self._turn_start, doc.characterCount() - 1))
        cursor.movePosition(QTextCursor.MoveOperation.End, QTextCursor.MoveMode.KeepAnchor)
        cursor.insertHtml(turn.html)  # replaces the selection: the old drawing of this turn
        self._dirty = False
        self._last_render = time.monotonic()
        self.renders += 1
        if self._following:
            bar = self.answer.verticalScrollBar()
            bar.setValue(bar.maximum())

    def changeEvent(self, event: QEvent) -> None:
        """A new palette (dark mode turned on, say): the transcript's colours follow it."""
        kinds = (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange)
        if event.type() in kinds and self.turns:
            self._render_all(keep_place=True)
        super().changeEvent(event)

    def _keep_following(self, _low: int, high: int) -> None:
        if self._following:
            self.answer.verticalScrollBar().setValue(high)

    def _reader_scrolled(self) -> None:
        bar = self.answer.verticalScrollBar()
        self._following = bar.value() >= bar.maximum() - 4

    def _render_all(self, keep_place: bool = False) -> None:
        """Draw every turn: a chat reopened (shown from its end), or a fold opened in an
        earlier turn (the view stays where the reader is)."""
        bar = self.answer.verticalScrollBar()
        at = bar.value()
        self._following = not keep_place
        turns, self.turns = self.turns, []
        for turn in turns:
            self._make_room()
            self.turns.append(turn)
            self._render_current()
        if not turns:
            self.answer.setHtml(EMPTY_CHAT)
        if keep_place:
            bar.setValue(at)

    def _link(self, url: QUrl) -> None:
        """A click in the transcript: a citation marker, a source card or a fold."""
        kind = url.scheme()
        try:
            index, _, rest = url.path().partition(":")
            turn = self.turns[int(index)]
        except (ValueError, IndexError):
            return  # never a link of ours: ignored, and nothing is ever opened from it
        if kind == "folio-saw":
            turn.saw_open = not turn.saw_open
            if turn is self.turns[-1]:
                self._render_current()
            else:
                self._render_all(keep_place=True)
        elif kind == "folio-cite" and rest.isdigit():
            card = next((c for c in turn.cards if c.number == int(rest)), None)
            if card is not None:
                self._open_card(card)
        elif kind == "folio-source" and rest.isdigit() and int(rest) < len(turn.cards):
            self._open_card(turn.cards[int(rest)])

    def cards(self, turn: int = -1) -> list[Card]:
        """The source cards of a turn (the last one by default)."""
        return list(self.turns[turn].cards) if self.turns else []

    def open_card(self, turn: int, row: int) -> None:
        """Open a turn's source card in the viewer, as a click on it does."""
        self._link(QUrl(f"folio-source:{turn % max(1, len(self.turns))}:{row}"))

    def _open_card(self, card: Card) -> None:
        self.open_source.emit(
            (card.collection, card.path, card.page, card.start, card.end, card.text)
        )

    def _render(self, answer: Answer) -> None:
        """The chips and lines under the transcript, for the last answer."""
        self._clear_chips()
        # A chip stands for every sentence that cites its source and shows the worst of them:
        # one wrong sentence is enough to doubt what is said about that source.
        by_number: dict[int, list[Citation]] = {}
        for c in answer.citations:
            by_number.setdefault(c.number, []).append(c)
        away = {s.number: s.hit.unavailable for s in answer.included if s.hit.unavailable}
        for number in sorted(by_number):
            group = by_number[number]
            status = worst([c.status for c in group])
            c = group[0]
            lines = [f"{Path(c.path).name}, {c.location}"]
            for g in group:
                line = f"{STATUS_MARK[g.status]} “{g.sentence}”"
                lines.append(line + (f" — {g.reason}" if g.reason else ""))
            if number in away:  # cited from the index; the file itself is not there now
                lines.append(f"The file cannot be opened now: {away[number]}")
            chip = QToolButton()
            chip.setText(f"[{number}] {STATUS_MARK[status]}")
            chip.setToolTip("\n".join(lines))
            _colour_chip(chip, status)
            chip.setProperty("status", status)
            chip.setAccessibleName(f"Source {number}, {status}")
            chip.setAccessibleDescription(chip.toolTip())
            chip.clicked.connect(lambda _=False, c=c: self._open_citation(c))
            self.chips.insertWidget(self.chips.count() - 1, chip)
        self.chips_label.setVisible(bool(by_number))
        self._last_question = answer.question
        self.show_all_button.setVisible(answer.mode == "answer")
        self.notice.setText(" ".join(answer.notices))

    # -- chats (read and deleted by the sidebar) and export ----------------------------------

    def new_chat(self) -> None:
        """The next question starts a new chat."""
        name = self._collection()
        if name:
            self._resume.pop(name, None)
            self._sessions.pop(name, None)
        self._clear_transcript()
        self.notice.setText("New chat.")

    def show_chat(self, session_id: int, title: str, results: list[dict[str, object]]) -> None:
        """Show a past chat (read by the sidebar) and continue it with the next question."""
        name = self._collection()
        if name:
            self._resume[name] = session_id
            self._sessions.pop(name, None)  # the next question continues this chat
        self._clear_transcript()
        self._shown_results, self._shown_title = list(results), title
        self.export.set_chat(self._shown_title, self._shown_results)
        self.turns = [
            Turn(str(r.get("question", "")), cards_from_stored(r), stored=r) for r in results
        ]
        self._render_all()
        self.notice.setText(f"Chat reopened: {len(results)} question(s). Ask to continue it.")
        self.chat_opened.emit(session_id)

    def chat_deleted(self, session_id: int) -> None:
        """A chat was deleted: if it was being continued, the next question starts anew."""
        name = self._collection()
        if name and self._resume.get(name) == session_id:
            self._resume.pop(name, None)
        for key, session in list(self._sessions.items()):
            if session.session_id == session_id:
                self._sessions.pop(key, None)

    def _open_citation(self, c: Citation) -> None:
        answer = self.last_answer
        passage = ""
        if answer is not None:
            passage = next((s.text for s in answer.included if s.number == c.number), "")
        self.open_source.emit((c.collection, c.path, c.page, c.start, c.end, passage))

    def shutdown(self) -> None:
        self.stop()
        self._flush_timer.stop()


def _colour_chip(chip: QToolButton, status: str) -> None:
    """Bold, in the status's colour (see ``status_colour``), through the palette so a theme
    change is followed."""
    font = chip.font()
    font.setBold(True)
    chip.setFont(font)
    palette = chip.palette()
    colour = status_colour(status, palette.color(QPalette.ColorRole.Button))
    if colour is not None:
        palette.setColor(QPalette.ColorRole.ButtonText, colour)
        chip.setPalette(palette)


def adapters_dir(home: Path) -> Path:
    """Where the Tune tab writes adapters (the chat's adapter list reads it)."""
    return home / "adapters"


def adapter_stack(settings: Settings) -> list[tuple[Path, float]]:
    """The adapters to load for the chosen one (the ones it was trained on top of first)."""
    if not settings.adapter:
        return []
    return [(p, settings.adapter_scale) for p in adapter_stack_of(Path(settings.adapter))]
