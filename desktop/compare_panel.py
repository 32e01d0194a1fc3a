"""Prompt compare: one question, two prompt presets or two models, answers side by side."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from engine import Answer, AskOptions, ChatSession, Library
from engine.generate import discover_models
from engine.prompts import load_presets

from .loadbar import ModelLoadBar
from .models import LoadedModel
from .settings import Settings
from .tasks import Executor, Operation


@dataclass(frozen=True)
class Side:
    preset: str
    model_path: str  # "" = the model chosen in settings


class ComparePanel(QWidget):
    finished = Signal(object)  # (Answer, Answer)

    def __init__(
        self,
        library: Library,
        collection: Callable[[], str | None],
        model_executor: Executor,
        read_executor: Executor,
        settings: Callable[[], Settings],
        models: LoadedModel | None = None,
    ) -> None:
        super().__init__()
        self.loaded = models or LoadedModel()
        self.library = library
        self._collection = collection
        self._executor = model_executor
        self._reader = read_executor
        self._settings = settings
        self._op: Operation | None = None

        self.question = QLineEdit()
        self.question.setPlaceholderText("One question, asked two ways…")
        self.run_button = QPushButton("Compare")
        self.run_button.clicked.connect(self.run)
        self.presets = [QComboBox(), QComboBox()]
        self.models = [QComboBox(), QComboBox()]
        self.outputs = [QTextBrowser(), QTextBrowser()]
        self.stats = [QLabel(""), QLabel("")]
        self.notice = QLabel("")
        self.load_bar = ModelLoadBar()  # while a side's model loads
        grid = QGridLayout()
        for col in range(2):
            grid.addWidget(QLabel("Preset"), 0, col * 2)
            grid.addWidget(self.presets[col], 0, col * 2 + 1)
            grid.addWidget(QLabel("Model"), 1, col * 2)
            grid.addWidget(self.models[col], 1, col * 2 + 1)
            grid.addWidget(self.outputs[col], 2, col * 2, 1, 2)
            grid.addWidget(self.stats[col], 3, col * 2, 1, 2)
        lay = QVBoxLayout(self)
        lay.addWidget(self.question)
        lay.addLayout(grid, 1)
        lay.addWidget(self.run_button)
        lay.addWidget(self.load_bar)
        lay.addWidget(self.notice)
        self.refresh_choices()

    def refresh_choices(self) -> None:
        presets = load_presets(self.library.home)
        for i, box in enumerate(self.presets):
            box.clear()
            for p in presets:
                box.addItem(p.title, p.name)
            box.setCurrentIndex(min(i, box.count() - 1))
        home = self.library.home
        op = Operation(lambda _op: discover_models(home)[0])
        op.succeeded.connect(self._show_models)
        self._reader.submit(op)

    def _show_models(self, models: list[object]) -> None:
        for box in self.models:
            box.clear()
            box.addItem("Model from settings", "")
            for m in models:
                box.addItem(f"{m.name} ({m.quantization})", m.path)  # type: ignore[attr-defined]

    def sides(self) -> tuple[Side, Side]:
        a, b = (
            Side(str(self.presets[i].currentData()), str(self.models[i].currentData() or ""))
            for i in range(2)
        )
        return a, b

    def run(self) -> Operation | None:
        question = self.question.text().strip()
        name = self._collection()
        if not question or not name:
            self.notice.setText("Choose a collection and type a question.")
            return None
        settings = self._settings()
        sides = self.sides()
        library = self.library
        loaded = self.loaded
        for out, st in zip(self.outputs, self.stats, strict=True):
            out.clear()
            st.setText("Waiting…")

        def work(op: Operation) -> tuple[Answer, Answer]:
            answers = []
            with library.open(name) as coll:
                for i, side in enumerate(sides):
                    path = side.model_path or settings.model_path
                    # The chat's model when it is the same file: never a second copy.
                    generator = loaded.get(
                        path or None,
                        settings.gen_settings(),
                        tell=lambda message: op.progress.emit(("status", message)),
                        progress=lambda f, stage: op.progress.emit(("load", (f, stage))),
                        cancel=op.cancel,
                    )
                    if generator.adapters:  # compare the models themselves
                        generator.set_adapters([])
                    session = ChatSession([coll], generator)
                    answer = session.ask(
                        question,
                        AskOptions(k=settings.k, preset=side.preset, exhaustive=False),
                        cancel=op.cancel,
                    )
                    op.progress.emit((i, answer))
                    answers.append(answer)
            return answers[0], answers[1]

        op = Operation(work)
        op.progress.connect(self._show_side)
        op.succeeded.connect(lambda _r: self.load_bar.done())
        op.failed.connect(lambda _m: self.load_bar.done())
        op.succeeded.connect(self.finished.emit)
        op.failed.connect(self.notice.setText)
        self._op = op
        return self._executor.submit(op)

    def _show_side(self, event: tuple[int | str, object]) -> None:
        i, answer = event
        if i == "load" and isinstance(answer, tuple):
            self.load_bar.show_progress(*answer)
            return
        if not isinstance(i, int) or not isinstance(answer, Answer):
            self.notice.setText(str(answer))  # what is loaded or unloaded
            return
        self.outputs[i].setPlainText(answer.text)
        st = answer.stats
        self.stats[i].setText(
            f"{answer.model}: {st.prompt_tokens} prompt tokens, first token {st.ttft_s:.1f} s, "
            f"{st.tokens_per_s:.0f} tokens/s, {len(answer.citations)} citation(s)"
        )

    def shutdown(self) -> None:
        if self._op is not None:
            self._op.cancel.cancel()
