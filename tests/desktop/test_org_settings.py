"""An organisation's settings file: defaults the user can change, and locked keys the settings
dialog shows read-only as set by the organisation (real widgets, offscreen)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.main_window import MainWindow
from desktop.settings import Settings, load_settings, save_settings, settings_path
from engine import Library
from engine.system_settings import SystemSettings, load_system_settings

SHOTS = Path(__file__).resolve().parents[1] / "screenshots"
ORG_URL = "http://llm.example.internal:8080"


def _org_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: object) -> Path:
    path = tmp_path / "org" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")
    monkeypatch.setenv("FOLIO_SYSTEM_SETTINGS", str(path))
    return path


def test_locked_keys_are_read_only_and_the_user_file_cannot_override_them(
    qtbot, library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    _org_file(
        tmp_path,
        monkeypatch,
        {
            "_comment": "Deployed by IT",
            "answers_from": "server",
            "server_url": ORG_URL,
            "server_model": "qwen2.5-7b-instruct",
            "k": 4,
            "locked": ["answers_from", "server_url"],
        },
    )
    # The user's own file tries to change every one of them.
    home = library.home
    settings_path(home).parent.mkdir(parents=True, exist_ok=True)
    settings_path(home).write_text(
        json.dumps(
            {
                "version": 1,
                "settings": {
                    "answers_from": "local",
                    "server_url": "http://elsewhere:9",
                    "server_model": "llama3.1:8b",
                    "k": 9,
                },
            }
        )
    )
    s = load_settings(home)
    assert (s.answers_from, s.server_url) == ("server", ORG_URL)  # locked: the file's
    assert (s.server_model, s.k) == ("llama3.1:8b", 9)  # defaults: the user's choice wins

    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    assert window.answers_label.text() == (
        "Answers from the model server at llm.example.internal:8080 (llama3.1:8b)"
    )
    dialog = window.open_settings()
    assert dialog.server_choice.isChecked()
    for w in (dialog.server_choice, dialog.local_choice, dialog.server_url, dialog.check_button):
        assert not w.isEnabled() and w.toolTip() == "This setting is set by your organisation."
    assert dialog.server_url.text() == ORG_URL
    assert dialog.source_locked.isVisibleTo(dialog)
    assert dialog.source_locked.text() == "Where answers come from is set by your organisation."
    labels = [
        dialog.server_form.itemAt(r, dialog.server_form.ItemRole.LabelRole)
        for r in range(dialog.server_form.rowCount())
    ]
    texts = [item.widget().text() for item in labels if item is not None and item.widget()]
    assert "Server address (set by your organisation)" in texts
    assert "Model on the server" in texts  # not locked: no note, and editable
    assert dialog.server_model.isEnabled() and dialog.k.isEnabled()
    assert not dialog.server_note.isVisibleTo(dialog)  # nothing to say yet
    qtbot.waitUntil(lambda: dialog.model.count() >= 1, timeout=20_000)
    SHOTS.mkdir(exist_ok=True)
    dialog.resize(640, dialog.sizeHint().height())
    dialog.grab().save(str(SHOTS / "settings-locked-by-organisation.png"))

    dialog.k.setValue(5)
    dialog.accept_and_apply()
    saved = json.loads(settings_path(home).read_text())["settings"]
    # Locked keys are not written to the user's file; what the user chose is.
    assert "answers_from" not in saved and "server_url" not in saved
    assert saved["k"] == 5 and saved["server_model"] == "llama3.1:8b"
    assert window.settings.server_url == ORG_URL
    window.close()


def test_organisation_defaults_are_followed_until_the_user_changes_them(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = _org_file(tmp_path, monkeypatch, {"k": 4, "server_model": "a"})
    home = library.home
    save_settings(home, Settings(k=4, server_model="b"))  # k unchanged, the model changed
    saved = json.loads(settings_path(home).read_text())["settings"]
    assert "k" not in saved and saved["server_model"] == "b"
    org.write_text(json.dumps({"k": 7, "server_model": "c"}))  # IT changes its defaults
    s = load_settings(home)
    assert s.k == 7 and s.server_model == "b"


@pytest.mark.parametrize(
    "content",
    [None, "{not json", '["a list"]', '{"k": "lots", "locked": "k"}', "\udcff"],
    ids=["absent", "damaged", "not-an-object", "wrong-types", "not-utf8"],
)
def test_an_absent_or_unusable_file_changes_nothing(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str | None
) -> None:
    path = tmp_path / "org" / "settings.json"
    monkeypatch.setenv("FOLIO_SYSTEM_SETTINGS", str(path))
    if content is not None:
        path.parent.mkdir(parents=True)
        path.write_bytes(content.encode("utf-8", "surrogateescape"))
    system = load_system_settings()
    assert system.locked == frozenset()
    assert system.values == ({} if content != '{"k": "lots", "locked": "k"}' else {"k": "lots"})
    save_settings(library.home, Settings(k=8))
    assert load_settings(library.home) == Settings(k=8)
    assert load_settings(library.home, SystemSettings()) == Settings(k=8)
