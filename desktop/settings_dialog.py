"""Models and settings: a model picker (bundled, discovered, added files) and the knobs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine import OCR_LANGUAGES, FolioError, Library, ModelInfo
from engine.generate import add_model, discover_models
from engine.messages import storage_cause, what_to_do
from engine.prompts import load_presets

from .settings import Settings, save_settings
from .speeds import Speed, measured, speed_words
from .tasks import Executor, Operation


def describe(m: ModelInfo) -> str:
    size = m.size_bytes / 1024**2
    size_text = f"{size / 1024:.1f} GB" if size >= 1024 else f"{size:.0f} MB"
    return f"{m.name} — {m.quantization}, {size_text}, context {m.context_length} ({m.source})"


# Speed against quality, in plain words, under the model picker.
SPEED_HELP = (
    "Which model? A bigger model (a larger file) writes better, more careful answers, but "
    "more slowly, and it needs more memory. A small model answers fast but makes more "
    "mistakes, so Folio answers it with quotes from your documents. Each model's speed is "
    "measured on this computer the first time it answers."
)


def discover_with_speeds(home: Path) -> tuple[list[ModelInfo], list[str], list[Speed]]:
    """The models found, the files skipped, and what this computer measured for each model."""
    models, problems = discover_models(home)
    return models, problems, [measured(home, m.path) for m in models]


class SettingsDialog(QDialog):
    applied = Signal(object)  # Settings

    def __init__(
        self,
        library: Library,
        settings: Settings,
        executor: Executor,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models and settings")
        self.library = library
        self.settings = settings
        self._executor = executor
        self.models: list[ModelInfo] = []

        self.model = QComboBox()
        self.add_button = QPushButton("Add model file…")
        self.add_button.clicked.connect(self._choose_file)
        self.model_note = QLabel("Looking for models…")
        self.model_note.setWordWrap(True)
        self.n_ctx = QSpinBox()
        self.n_ctx.setRange(256, 131072)
        self.n_ctx.setSingleStep(1024)
        self.gpu_layers = QSpinBox()
        self.gpu_layers.setRange(-1, 999)
        self.gpu_layers.setSpecialValueText("auto")
        self.threads = QSpinBox()
        self.threads.setRange(0, 256)
        self.threads.setSpecialValueText("all cores")
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.1)
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(16, 8192)
        self.k = QSpinBox()
        self.k.setRange(1, 50)
        self.preset = QComboBox()
        self.preset.addItem("Automatic: quotes for small models, else a written answer", "auto")
        for p in load_presets(library.home):
            self.preset.addItem(p.title, p.name)
        self.ttft = QDoubleSpinBox()
        self.ttft.setRange(0.0, 600.0)
        self.ttft.setSpecialValueText("no cap")
        self.ttft.setSuffix(" s")
        self.edge = QCheckBox("Put the strongest sources first and last (lost-in-the-middle)")
        self.quote_picks = QCheckBox(
            "With quotes, let the model choose the sentences (it answers with their numbers)"
        )
        self.ocr = QCheckBox("Read scanned pages and pictures (text recognition, OCR)")
        self.ocr_note = QLabel(
            f"Text recognition reads {OCR_LANGUAGES}. It takes a few seconds per scanned "
            "page and works offline; pages with their own text are never read this way."
        )
        self.ocr_note.setWordWrap(True)

        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(self.add_button)
        form = QFormLayout()
        form.addRow("Model", model_row)
        form.addRow("", self.model_note)
        self.speed_help = QLabel(SPEED_HELP)
        self.speed_help.setWordWrap(True)
        form.addRow("", self.speed_help)
        form.addRow("Context size (tokens)", self.n_ctx)
        form.addRow("GPU layers", self.gpu_layers)
        form.addRow("CPU threads", self.threads)
        form.addRow("Temperature", self.temperature)
        form.addRow("Longest answer (tokens)", self.max_tokens)
        form.addRow("Passages per question (k)", self.k)
        form.addRow("Prompt preset", self.preset)
        form.addRow("", self.quote_picks)
        form.addRow("Time to first token cap", self.ttft)
        form.addRow("", self.edge)
        form.addRow("", self.ocr)
        form.addRow("", self.ocr_note)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept_and_apply)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(buttons)
        self._load(settings)
        self.refresh_models()

    def _load(self, s: Settings) -> None:
        self.n_ctx.setValue(s.n_ctx)
        self.gpu_layers.setValue(s.gpu_layers)
        self.threads.setValue(s.threads)
        self.temperature.setValue(s.temperature)
        self.max_tokens.setValue(s.max_answer_tokens)
        self.k.setValue(s.k)
        i = self.preset.findData(s.preset)
        self.preset.setCurrentIndex(max(0, i))
        self.ttft.setValue(s.ttft_cap_s)
        self.edge.setChecked(s.edge_ordering)
        self.quote_picks.setChecked(s.quote_model_picks)
        self.ocr.setChecked(s.ocr)

    def refresh_models(self) -> Operation:
        home = self.library.home
        op = Operation(lambda _op: discover_with_speeds(home))
        op.succeeded.connect(self._show_models)
        return self._executor.submit(op)

    def _show_models(self, result: tuple[list[ModelInfo], list[str], list[Speed]]) -> None:
        self.models, problems, speeds = result
        self.model.clear()
        for i, (m, speed) in enumerate(zip(self.models, speeds, strict=True)):
            # The bundled model is stored as "" so a Folio update can replace it.
            data = "" if i == 0 and m.source == "Built in" else m.path
            self.model.addItem(f"{describe(m)} — {speed_words(speed)}", data)
        current = self.model.findData(self.settings.model_path)
        self.model.setCurrentIndex(max(0, current))
        note = f"{len(self.models)} model(s) found on this computer."
        if problems:
            note += f" {len(problems)} file(s) skipped (not usable GGUF models)."
        self.model_note.setText(note)

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Add a GGUF model file", str(Path.home()), "GGUF models (*.gguf)"
        )
        if path:
            self.add_model_file(Path(path))

    def add_model_file(self, path: Path) -> None:
        home = self.library.home

        def work(_op: Operation) -> ModelInfo:
            return add_model(home, path)

        op = Operation(work)
        op.succeeded.connect(lambda info: self._added(info))
        op.failed.connect(self.model_note.setText)
        self._executor.submit(op)

    def _added(self, info: ModelInfo) -> None:
        self.settings = replace(self.settings, model_path=info.path)
        self.refresh_models()

    def current(self) -> Settings:
        return Settings(
            model_path=str(self.model.currentData() or ""),
            n_ctx=self.n_ctx.value(),
            gpu_layers=self.gpu_layers.value(),
            threads=self.threads.value(),
            temperature=round(self.temperature.value(), 3),
            max_answer_tokens=self.max_tokens.value(),
            k=self.k.value(),
            preset=str(self.preset.currentData() or "auto"),
            ttft_cap_s=round(self.ttft.value(), 3),
            edge_ordering=self.edge.isChecked(),
            quote_model_picks=self.quote_picks.isChecked(),
            ocr=self.ocr.isChecked(),
        )

    def accept_and_apply(self) -> None:
        s = self.current()
        try:
            save_settings(self.library.home, s)
        except OSError as exc:
            cause = storage_cause(exc)
            self.model_note.setText(
                f"The settings could not be saved because {cause}. The earlier settings are "
                f"kept; {what_to_do(cause)}."
            )
            return
        self.settings = s
        self.applied.emit(s)
        self.accept()


__all__ = ["FolioError", "SettingsDialog", "describe"]
