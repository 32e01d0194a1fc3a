"""The Tune tab: LoRA adapters for the chat model (CPT, IFT) and a tuned embedding model.

Training runs in a child process (engine.tune.job); this panel only starts it from a worker
thread, shows its progress, the loss curve and the before/after evaluation, and hands a
finished adapter to the chat.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from engine import Library
from engine.errors import FolioError
from engine.generate import default_model_path
from engine.tune.adapter import list_adapters
from engine.tune.train import TuneSettings

from .charts import BeforeAfterChart, Chart, LineChart
from .chat_panel import adapters_dir
from .settings import Settings
from .tasks import Executor, Operation

KINDS = [
    ("ift", "Instruction tuning (IFT): a task, tone or format, from question/answer pairs"),
    ("cpt", "Continued pre-training (CPT): the language of your documents, from raw text"),
    ("embed", "Search model: tell this collection's similar documents apart"),
]

EXPLAIN = (
    "Tuning adapts a model's style, format and vocabulary; facts belong in your documents, "
    "where Folio can cite them. For both kinds, do CPT first and then IFT on top of it: "
    "the other order makes the model forget how to follow instructions. Training runs on "
    "this computer's processor, in the background; small models (up to about 1 billion "
    "parameters) work best."
)


class LossPlot(LineChart):
    """The training loss per step, drawn as it comes in."""

    def __init__(self) -> None:
        super().__init__("Training loss", "Training step", "Loss", "The loss curve appears here")


class TunePanel(QWidget):
    """Choose data and a base, start/stop, watch the loss, read the evaluation, use it."""

    adapter_ready = Signal(str)  # a finished adapter's path
    use_in_chat = Signal(str)
    embedder_ready = Signal(str, str)  # collection, tuned model folder

    def __init__(
        self,
        library: Library,
        current_collection: Callable[[], str | None],
        settings: Callable[[], Settings],
        executor: Executor,
        index_executor: Executor,
    ) -> None:
        super().__init__()
        self.library = library
        self._current = current_collection
        self._settings = settings
        self._executor = executor
        self._index_executor = index_executor
        self._op: Operation | None = None
        self.result: dict[str, Any] | None = None
        self.result_kind = ""
        self.job_settings = TuneSettings()  # defaults; tests may shrink a run

        self.kind = QComboBox()
        for key, label in KINDS:
            self.kind.addItem(label, key)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.source = QComboBox()
        self.data_path = QLineEdit()
        self.data_path.setPlaceholderText("A JSONL or CSV file of question/answer pairs")
        self.browse = QPushButton("Choose file…")
        self.browse.clicked.connect(self._choose_file)
        # The chat's model by default; any other GGUF file can be chosen (an adapter only works
        # on the model it was trained on, so chat must then use that model too).
        self.base_box = QComboBox()
        self.base_box.activated.connect(self._base_chosen)
        self._other_base = ""
        self.on_top_of = QComboBox()
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 50)
        self.epochs.setValue(self.job_settings.epochs)
        self.start_button = QPushButton("Start training")
        self.start_button.clicked.connect(self.start)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.plot = LossPlot()
        self.eval_chart = BeforeAfterChart("Evaluation on held-out examples")
        self.save_plot_button = QPushButton("Save loss curve as PNG…")
        self.save_plot_button.clicked.connect(lambda: self._save_chart(self.plot, "loss"))
        self.save_eval_button = QPushButton("Save evaluation chart as PNG…")
        self.save_eval_button.clicked.connect(
            lambda: self._save_chart(self.eval_chart, "evaluation")
        )
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Measure", "Before", "After"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setMinimumHeight(110)
        self.use_button = QPushButton("Use this adapter in chat")
        self.use_button.setEnabled(False)
        self.use_button.clicked.connect(self._use_result)
        explain = QLabel(EXPLAIN)
        explain.setWordWrap(True)
        explain.setForegroundRole(QPalette.ColorRole.PlaceholderText)

        file_row = QHBoxLayout()
        file_row.addWidget(self.data_path, 1)
        file_row.addWidget(self.browse)
        form = QFormLayout()
        form.addRow("What to tune", self.kind)
        form.addRow("Train on", self.source)
        form.addRow("Data file", file_row)
        form.addRow("Base model", self.base_box)
        form.addRow("Build on", self.on_top_of)
        form.addRow("Epochs", self.epochs)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.progress, 1)
        # The tab's content scrolls when the window is short, so the charts keep their room.
        content = QWidget()
        lay = QVBoxLayout(content)
        lay.addWidget(explain)
        lay.addLayout(form)
        lay.addLayout(buttons)
        lay.addWidget(self.status)
        charts = QHBoxLayout()
        charts.addWidget(self.plot, 1)
        charts.addWidget(self.eval_chart, 1)
        lay.addLayout(charts, 3)
        saves = QHBoxLayout()
        saves.addStretch(1)
        saves.addWidget(self.save_plot_button)
        saves.addWidget(self.save_eval_button)
        lay.addLayout(saves)
        lay.addWidget(QLabel("Evaluation (held-out examples)"))
        lay.addWidget(self.table, 1)
        lay.addWidget(self.use_button)
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidget(content)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll_area.setAccessibleName("Tuning")
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll_area)
        self._kind_changed()

    # -- form -----------------------------------------------------------------------------

    def current_kind(self) -> str:
        return str(self.kind.currentData())

    def _kind_changed(self) -> None:
        kind = self.current_kind()
        self.source.clear()
        if kind in ("cpt", "embed"):
            self.source.addItem("The current collection's documents", "collection")
        self.source.addItem("A file", "file")
        self.data_path.setPlaceholderText(
            "A text file or folder" if kind == "cpt" else "A JSONL or CSV file of pairs"
        )
        self.on_top_of.setEnabled(kind == "ift")
        self.use_button.setText(
            "Re-embed the collection with this model" if kind == "embed" else
            "Use this adapter in chat"
        )  # fmt: skip
        self.refresh()

    def refresh(self) -> None:
        """Base model name and the CPT adapters IFT can build on."""
        chat_model = self._chat_model()
        self.base_box.clear()
        self.base_box.addItem(f"{chat_model.name} (the chat model)", str(chat_model))
        if self._other_base and Path(self._other_base) != chat_model:
            self.base_box.addItem(Path(self._other_base).name, self._other_base)
            self.base_box.setCurrentIndex(1)
        self.base_box.addItem("Another GGUF model file…", "")
        self.on_top_of.clear()
        self.on_top_of.addItem("Nothing (the base model)", "")
        for info in list_adapters(adapters_dir(self.library.home)):
            if info.kind == "cpt":
                self.on_top_of.addItem(f"{info.title} (CPT)", str(info.path))
        if self.on_top_of.count() > 1 and self.current_kind() == "ift":
            self.on_top_of.setCurrentIndex(1)  # CPT first, then IFT: the recommended order

    def _chat_model(self) -> Path:
        s = self._settings()
        return Path(s.model_path) if s.model_path else default_model_path()

    def base_model(self) -> Path:
        return Path(str(self.base_box.currentData() or self._chat_model()))

    def _base_chosen(self, index: int) -> None:
        if self.base_box.itemData(index):
            return
        path, _ = QFileDialog.getOpenFileName(self, "Base model", "", "GGUF models (*.gguf)")
        self._other_base = path or self._other_base
        self.refresh()

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Training data", "", "Pairs or text (*.jsonl *.json *.csv *.txt *.md)"
        )
        if path:
            self.data_path.setText(path)
            self.source.setCurrentIndex(self.source.findData("file"))

    # -- running --------------------------------------------------------------------------

    def start(self) -> Operation | None:
        if self._op is not None:
            return None
        kind = self.current_kind()
        use_collection = self.source.currentData() == "collection"
        collection = self._current()
        data = self.data_path.text().strip()
        if use_collection and not collection:
            self.status.setText("Choose a collection first, or train on a file.")
            return None
        if not use_collection and not data:
            self.status.setText("Choose a data file first.")
            return None
        if kind == "ift" and use_collection:
            self.status.setText("Instruction tuning needs a file of question/answer pairs.")
            return None
        base = self.base_model()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        settings = TuneSettings(**{**self.job_settings.__dict__, "epochs": self.epochs.value()})
        on_top = str(self.on_top_of.currentData() or "") if kind == "ift" else ""
        library = self.library

        def build() -> tuple[str, Any]:
            from engine.tune.embed import EmbedTuneSpec
            from engine.tune.train import TuneSpec

            if kind == "embed":
                coll = library.open(collection) if collection else None
                model = coll.embedder if coll is not None else library.embedder
                slug = (coll.path.name if coll is not None else "model") + f"-{stamp}"
                return kind, EmbedTuneSpec(
                    base=str(getattr(model, "model_dir", "")),
                    out=str(library.home / "embedders" / slug),
                    pairs_file="" if use_collection else data,
                    store=str(coll.path / "store.sqlite3") if coll and use_collection else "",
                    generator=str(base),
                    epochs=self.epochs.value(),
                    title=f"{getattr(model, 'name', 'embedding model')} tuned for {collection}",
                )
            texts: list[str] = []
            if kind == "cpt" and use_collection and collection:
                with library.open(collection) as coll:
                    texts = coll.texts()
            source = Path(data).stem if data and not use_collection else collection
            title = f"{kind.upper()} {source} {stamp}"
            return kind, TuneSpec(
                kind=kind,
                base=str(base),
                out=str(adapters_dir(library.home) / f"{kind}-{stamp}.gguf"),
                data=[] if use_collection else [data],
                texts=texts,
                on_top_of=[on_top] if on_top else [],
                settings=settings,
                title=title,
            )

        def work(op: Operation) -> dict[str, Any]:
            from engine.tune.job import TuneJob

            op.progress.emit({"type": "stage", "text": "Preparing"})
            job_kind, spec = build()
            job = TuneJob(job_kind, spec)
            job.start()
            for event in job.events(cancelled=lambda: op.cancel.cancelled):
                op.progress.emit(event)
            if job.result is None:
                raise FolioError(job.error or "Tuning failed.")
            return job.result

        self.result = None
        self.result_kind = kind
        self.plot.set_values([])
        self.table.setRowCount(0)
        self.use_button.setEnabled(False)
        self.progress.setRange(0, 0)  # busy until the first step
        self.status.setText("Starting…")
        op = Operation(work)
        op.progress.connect(self._on_event)
        op.succeeded.connect(self._on_done)
        op.failed.connect(self._on_failed)
        self._op = op
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        return self._executor.submit(op)

    def stop(self) -> None:
        if self._op is not None:
            self._op.cancel.cancel()
            self.status.setText("Stopping…")

    def is_running(self) -> bool:
        return self._op is not None

    def _on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "stage":
            self.status.setText(f"{event['text']}…")
        elif kind == "data":
            text = f"{event['examples']} training examples, {event['held_out']} held out."
            if event["errors"]:
                text += f" {len(event['errors'])} line(s) skipped: " + "; ".join(
                    event["errors"][:3]
                )
            self.status.setText(text)
        elif kind == "step":
            self.progress.setRange(0, int(event["steps"]))
            self.progress.setValue(int(event["step"]))
            self.plot.append(float(event["loss"]))
            eta = int(event["eta_s"])
            self.status.setText(
                f"Step {event['step']} of {event['steps']} (epoch {event['epoch']}), "
                f"loss {event['loss']:.3f}, about {eta // 60}:{eta % 60:02d} left"
            )

    def _finish(self) -> None:
        self._op = None
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.progress.setRange(0, 1)

    def _on_done(self, result: dict[str, Any]) -> None:
        self._finish()
        self.progress.setValue(1)
        self.result = result
        self.plot.set_values(result["losses"])
        rows = result["evaluation"]
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, key in enumerate(("metric", "before", "after")):
                self.table.setItem(r, c, QTableWidgetItem(str(row[key])))
        self.table.resizeColumnToContents(0)
        numbers = [
            (str(row["metric"]), row["before"], row["after"])
            for row in rows
            if isinstance(row.get("before"), int | float)
            and isinstance(row.get("after"), int | float)
        ]
        self.eval_chart.set_rows(numbers)
        where = result.get("adapter") or result.get("model_dir")
        self.status.setText(
            f"Done in {result['seconds']:.0f} s ({result['steps']} steps, "
            f"{result['seconds_per_step']:.1f} s each). Saved to {where}."
        )
        self.use_button.setEnabled(True)
        self.refresh()
        if self.result_kind in ("cpt", "ift"):
            self.adapter_ready.emit(str(result["adapter"]))

    def _save_chart(self, chart: Chart, name: str) -> None:
        path, _filter = QFileDialog.getSaveFileName(
            self, "Save the chart as a picture", f"{name}.png", "PNG pictures (*.png)"
        )
        if not path:
            return
        if not path.lower().endswith(".png"):
            path += ".png"
        if chart.export_png(path):
            self.status.setText(f"Saved the chart to {path}.")
        else:
            self.status.setText(
                f"The chart could not be saved to {path}. Choose a folder you can write to."
            )

    def _on_failed(self, message: str) -> None:
        self._finish()
        self.status.setText(message)

    def _use_result(self) -> None:
        if self.result is None:
            return
        if self.result_kind == "embed":
            collection = self._current()
            if collection:
                self.embedder_ready.emit(collection, str(self.result["model_dir"]))
            return
        self.use_in_chat.emit(str(self.result["adapter"]))
