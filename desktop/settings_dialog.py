"""Models and settings: a model picker (bundled, discovered, added files) and the knobs."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine import OCR_LANGUAGES, FolioError, Library, ModelInfo
from engine.generate import add_model, discover_models
from engine.messages import storage_cause, what_to_do
from engine.prompts import load_presets
from engine.system_settings import SystemSettings, load_system_settings

from .settings import Settings, save_settings
from .speeds import Speed, measured, speed_words
from .tasks import Executor, Operation

if TYPE_CHECKING:
    from engine.generate.server import ServerConfig


LOCKED_NOTE = "set by your organisation"
CHECK_TIMEOUT_S = 8.0  # "Check connection" waits this long for the server


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
        self.system: SystemSettings = load_system_settings()
        self._check_op: Operation | None = None

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

        server_box = self._build_server_section()

        model_row = QHBoxLayout()
        model_row.addWidget(self.model, 1)
        model_row.addWidget(self.add_button)
        form = QFormLayout()
        self._form = form
        form.addRow("Model on this computer", model_row)
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
        lay.addWidget(server_box)
        lay.addLayout(form)
        lay.addStretch(1)
        lay.addWidget(buttons)
        self._load(settings)
        self._lock_fields()
        self.refresh_models()

    # -- where answers come from -------------------------------------------------------

    def _build_server_section(self) -> QGroupBox:
        box = QGroupBox("Where answers come from")
        self.local_choice = QRadioButton("This computer (the model chosen below)")
        self.server_choice = QRadioButton("A server in my organisation")
        self._source = QButtonGroup(self)
        self._source.addButton(self.local_choice)
        self._source.addButton(self.server_choice)
        self.server_choice.toggled.connect(self._source_changed)
        self.server_url = QLineEdit()
        self.server_url.setPlaceholderText("http://server-name:8080")
        self.server_url.setAccessibleName("Model server address")
        self.check_button = QPushButton("Check connection")
        self.check_button.clicked.connect(self.check_connection)
        self.server_model = QComboBox()
        self.server_model.setEditable(True)
        self.server_model.setAccessibleName("Model on the server")
        line = self.server_model.lineEdit()
        if line is not None:
            line.setPlaceholderText("the first model the server lists")
        self.api_key = QLineEdit()
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setPlaceholderText("only if your IT department gave you one")
        self.api_key.setAccessibleName("Key for the model server")
        # What "Check connection" found, or why the settings cannot be used yet.
        self.server_note = QLabel("")
        self.server_note.setWordWrap(True)
        self.server_note.hide()
        self.source_locked = QLabel(f"Where answers come from is {LOCKED_NOTE}.")
        self.source_locked.hide()
        self.privacy_note = QLabel(
            "Your questions and the passages chosen as sources are sent to this server, "
            "and nowhere else. The key is kept in a file only you can read."
        )
        self.privacy_note.setWordWrap(True)
        url_row = QHBoxLayout()
        url_row.addWidget(self.server_url, 1)
        url_row.addWidget(self.check_button)
        self.server_form = QFormLayout()
        self.server_form.addRow("Server address", url_row)
        self.server_form.addRow("Model on the server", self.server_model)
        self.server_form.addRow("Key (optional)", self.api_key)
        notes = QVBoxLayout()
        notes.addWidget(self.server_note)
        notes.addWidget(self.privacy_note)
        self.server_form.addRow("", notes)
        self.server_fields = QWidget()
        self.server_fields.setLayout(self.server_form)
        lay = QVBoxLayout(box)
        lay.addWidget(self.local_choice)
        lay.addWidget(self.server_choice)
        lay.addWidget(self.source_locked)
        lay.addWidget(self.server_fields)
        return box

    def _note(self, text: str) -> None:
        """What "Check connection" found, or why the server settings cannot be used yet."""
        # Qt sizes a wrapping label for two lines or more: wrap only what needs it.
        self.server_note.setWordWrap(len(text) > 70)
        self.server_note.setText(text)
        self.server_note.setVisible(bool(text))

    def _source_changed(self) -> None:
        self.server_fields.setEnabled(self.server_choice.isChecked())

    def _typed_server(self) -> ServerConfig:
        from engine.generate.server import ServerConfig

        return ServerConfig(
            self.server_url.text().strip(),
            self.server_model.currentText().strip(),
            self.api_key.text().strip(),
            connect_timeout_s=CHECK_TIMEOUT_S,
        )

    def check_connection(self) -> Operation | None:
        """List the server's models (on a worker); the result or a sentence goes in the note."""
        if not self.server_url.text().strip():
            self._note("Enter the model server's address first.")
            return None
        config = self._typed_server()

        def work(_op: Operation) -> tuple[str, list[str]]:
            from engine.generate.server import list_models, where

            return where(config), list_models(config)

        self._note("Checking the connection…")
        self.check_button.setEnabled(False)
        op = Operation(work)
        op.succeeded.connect(self._show_server_models)
        op.failed.connect(self._check_failed)
        self._check_op = op
        return self._executor.submit(op)

    def _show_server_models(self, result: tuple[str, list[str]]) -> None:
        at, names = result
        self.check_button.setEnabled(True)
        typed = self.server_model.currentText().strip()
        self.server_model.clear()
        self.server_model.addItems(names)
        if typed:
            self.server_model.setCurrentText(typed)
        if not names:
            self._note(f"The server at {at} answered but offers no model.")
        elif typed and typed not in names:
            self._note(
                f"The server at {at} answered, but it has no model “{typed}”. "
                "Pick one of its models from the list."
            )
        else:
            self._note(f"Connected to {at}. It offers {len(names)} model(s).")

    def _check_failed(self, message: str) -> None:
        self.check_button.setEnabled(True)
        self._note(message)

    # -- settings set by the organisation ----------------------------------------------

    def _lock_fields(self) -> None:
        """Settings the organisation locked are shown read-only, with a note saying so."""
        widgets: dict[str, tuple[list[QWidget], QFormLayout | None, str]] = {
            "answers_from": ([self.local_choice, self.server_choice], None, ""),
            "server_url": (
                [self.server_url, self.check_button],
                self.server_form,
                "Server address",
            ),
            "server_model": ([self.server_model], self.server_form, "Model on the server"),
            "model_path": ([self.model, self.add_button], self._form, "Model on this computer"),
            "n_ctx": ([self.n_ctx], self._form, "Context size (tokens)"),
            "gpu_layers": ([self.gpu_layers], self._form, "GPU layers"),
            "threads": ([self.threads], self._form, "CPU threads"),
            "temperature": ([self.temperature], self._form, "Temperature"),
            "max_answer_tokens": ([self.max_tokens], self._form, "Longest answer (tokens)"),
            "k": ([self.k], self._form, "Passages per question (k)"),
            "preset": ([self.preset], self._form, "Prompt preset"),
            "quote_model_picks": ([self.quote_picks], None, ""),
            "ttft_cap_s": ([self.ttft], self._form, "Time to first token cap"),
            "edge_ordering": ([self.edge], None, ""),
            "ocr": ([self.ocr], None, ""),
        }
        self.locked_widgets: list[QWidget] = []
        for key in sorted(self.system.locked & widgets.keys()):
            parts, form, title = widgets[key]
            for w in parts:
                w.setEnabled(False)
                w.setToolTip(f"This setting is {LOCKED_NOTE}.")
                self.locked_widgets.append(w)
                if isinstance(w, QCheckBox) and LOCKED_NOTE not in w.text():
                    w.setText(f"{w.text()} ({LOCKED_NOTE})")
            if key == "answers_from":
                self.source_locked.show()
            label = _row_label(form, title) if form is not None else None
            if label is not None:
                label.setText(f"{title} ({LOCKED_NOTE})")

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
        (self.server_choice if s.answers_from == "server" else self.local_choice).setChecked(True)
        self._source_changed()
        self.server_url.setText(s.server_url)
        self.server_model.setCurrentText(s.server_model)
        from engine.generate.server import load_api_key

        self.api_key.setText(load_api_key(self.library.home))

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
            answers_from="server" if self.server_choice.isChecked() else "local",
            server_url=self.server_url.text().strip(),
            server_model=self.server_model.currentText().strip(),
            adapter=self.settings.adapter,
            adapter_scale=self.settings.adapter_scale,
        )

    def accept_and_apply(self) -> None:
        s = self.current()
        if s.answers_from == "server":
            from engine.generate.server import ServerError, parse_url

            if not s.server_url:
                self._note("Enter the model server's address, or choose “This computer”.")
                return
            try:
                parse_url(s.server_url)
            except ServerError as exc:
                self._note(str(exc))
                return
        try:
            save_settings(self.library.home, s, self.system)
            from engine.generate.server import save_api_key

            save_api_key(self.library.home, self.api_key.text())  # 0600; "" removes it
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


def _row_label(form: QFormLayout, title: str) -> QLabel | None:
    """The label of the form row titled ``title``."""
    for row in range(form.rowCount()):
        item = form.itemAt(row, QFormLayout.ItemRole.LabelRole)
        label = item.widget() if item is not None else None
        if isinstance(label, QLabel) and label.text() == title:
            return label
    return None


__all__ = ["FolioError", "SettingsDialog", "describe"]
