"""Models and settings: the picker lists real models, settings persist, bad models are explained."""

from __future__ import annotations

import json
from pathlib import Path

from desktop.main_window import MainWindow
from desktop.settings import Settings, load_settings, settings_path, window_state_path
from engine import Library


def test_settings_persist_and_window_state_is_separate(qtbot, library: Library) -> None:  # type: ignore[no-untyped-def]
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    dialog = window.open_settings()
    qtbot.waitUntil(lambda: dialog.model.count() >= 1, timeout=20_000)
    assert "SmolLM2" in dialog.model.itemText(0) or "Smollm2" in dialog.model.itemText(0)
    assert "Q4_1" in dialog.model.itemText(0) and "context 8192" in dialog.model.itemText(0)
    dialog.k.setValue(9)
    dialog.n_ctx.setValue(2048)
    dialog.preset.setCurrentIndex(dialog.preset.findData("summarise"))
    dialog.accept_and_apply()
    assert window.chat.settings.k == 9
    saved = json.loads(settings_path(library.home).read_text())
    assert saved["version"] == 1 and saved["settings"]["k"] == 9
    window.resize(900, 600)
    window.close()
    assert window_state_path(library.home).exists()

    again = MainWindow(library)
    qtbot.addWidget(again)
    assert again.settings.k == 9 and again.settings.n_ctx == 2048
    assert again.settings.preset == "summarise"
    assert again.window_state_restored
    again.close()


def test_damaged_settings_fall_back_to_defaults(library: Library) -> None:
    settings_path(library.home).parent.mkdir(parents=True, exist_ok=True)
    settings_path(library.home).write_text('{"version": 1, "settings": {"k": "lots", "n_ctx": 1024')
    assert load_settings(library.home) == Settings()
    settings_path(library.home).write_text(
        '{"version": 1, "settings": {"k": "lots", "n_ctx": 1024}}'
    )
    assert load_settings(library.home).n_ctx == 1024 and load_settings(library.home).k == 6


def test_bad_model_file_gives_a_readable_error(qtbot, library: Library, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# A\n\nThe canteen opens at eight.", "utf-8")
    coll = library.create("Office")
    coll.index([folder])
    coll.close()
    junk = tmp_path / "model.gguf"
    junk.write_text("not a model at all")

    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    dialog = window.open_settings()
    dialog.add_model_file(junk)  # the picker refuses it with a sentence
    qtbot.waitUntil(lambda: "not a GGUF model file" in dialog.model_note.text(), timeout=10_000)
    dialog.close()

    window.apply_settings(Settings(model_path=str(junk)))
    qtbot.waitUntil(lambda: window.current_collection() == "Office", timeout=10_000)
    window.chat.ask("When does the canteen open?")
    qtbot.waitUntil(lambda: "not a GGUF model file" in window.chat.notice.text(), timeout=30_000)
    assert "Traceback" not in window.chat.notice.text()
    window.close()


def test_collections_can_be_created_renamed_and_deleted(qtbot, library: Library) -> None:  # type: ignore[no-untyped-def]
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()

    def names() -> list[str]:
        return window.pane.model.names()

    window.collection_actions.create_collection("Contracts")
    qtbot.waitUntil(lambda: names() == ["Contracts"], timeout=10_000)
    window.collection_actions.rename_collection("Contracts", "Legal")
    qtbot.waitUntil(
        lambda: names() == ["Legal"] and window.current_collection() == "Legal", timeout=10_000
    )
    window.collection_actions.delete_collection("Legal")
    qtbot.waitUntil(lambda: names() == [], timeout=10_000)
    assert window.welcome.isVisible()
    window.close()


def test_ocr_can_be_turned_off_and_progress_names_the_scanned_page(qtbot, library: Library) -> None:  # type: ignore[no-untyped-def]
    """The setting states the languages text recognition reads, turns OCR off for indexing
    and is kept; the status line says which page of which scan is being read."""
    from engine import OCR_LANGUAGES, Progress

    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    assert library.config.ocr is True
    dialog = window.open_settings()
    qtbot.waitUntil(lambda: dialog.model.count() >= 1, timeout=20_000)
    assert dialog.ocr.isChecked()
    assert OCR_LANGUAGES in dialog.ocr_note.text() and "English" in OCR_LANGUAGES
    dialog.ocr.setChecked(False)
    dialog.accept_and_apply()
    assert library.config.ocr is False
    assert load_settings(library.home).ocr is False

    window.indexing._on_progress(
        Progress(
            "indexing", 3, 10, 120, "/docs/contract.pdf", 42.0, "page 12 of 40 (reading the scan)"
        )
    )
    assert window.status_label.text() == (
        "Indexing: 3 of 10 files, 120 passages, about 42 s left — contract.pdf, "
        "page 12 of 40 (reading the scan)"
    )
    # A longer time left is said in minutes.
    window.indexing._on_progress(Progress("indexing", 3, 10, 120, "/docs/a.md", 200.0))
    assert window.status_label.text().endswith("about 3 minutes left")
    window.close()
