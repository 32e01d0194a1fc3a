"""An organisation's settings file whose shared-collections address Folio cannot use: the
window opens, the user's own collections are listed as usual, and a sentence under the list
says what is wrong (real widgets, offscreen; no server is contacted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.main_window import MainWindow
from engine import Library


def test_unusable_shared_store_is_a_sentence(
    qtbot, library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    org = tmp_path / "org.json"
    org.write_text(json.dumps({"shared_store": "http://db.example.internal/folio"}), "utf-8")
    monkeypatch.setenv("FOLIO_SYSTEM_SETTINGS", str(org))
    library.create("Mine").close()

    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.current_collection() == "Mine", timeout=10_000)
    assert window.pane.model.rowCount() == 1  # no heading, no shared entry
    assert window.shared.panel.isVisible()
    assert window.shared.message.text() == (
        "The organisation's settings name a server for shared collections that Folio cannot "
        "use (its address must start with postgresql://); ask IT to check it. Your own "
        "collections work as usual."
    )
    assert not window.shared.retry_button.isVisible()  # asking again would not help
    assert library.shared_source is None
    window.close()
