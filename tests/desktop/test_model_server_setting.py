"""Where answers come from: this computer (the default) or a model server in the organisation,
chosen in Models and settings, checked against a real llama-cpp-python server (real widgets,
offscreen), with the key kept out of the settings file."""

from __future__ import annotations

import json
import socket
import stat
from pathlib import Path

import pytest

from desktop.main_window import MainWindow
from desktop.settings import Settings, load_settings, server_config, settings_path
from engine import Library
from engine.generate.server import KEY_FILE, ServerGenerator
from tests.servers.conftest import (  # noqa: F401 (fixtures)
    ALIAS,
    SERVER_KEY,
    ModelServer,
    free_port,
    keyed_server,
    model_server,
)

SHOTS = Path(__file__).resolve().parents[1] / "screenshots"


def _window(qtbot, library: Library) -> MainWindow:  # type: ignore[no-untyped-def]
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    return window


def test_this_computer_is_the_default(qtbot, library: Library) -> None:  # type: ignore[no-untyped-def]
    window = _window(qtbot, library)
    assert window.answers_label.text() == "Answers from SmolLM2-135M-Instruct.Q4_1 on this computer"
    dialog = window.open_settings()
    assert dialog.local_choice.isChecked() and not dialog.server_choice.isChecked()
    assert not dialog.server_fields.isEnabled()
    dialog.accept_and_apply()
    saved = json.loads(settings_path(library.home).read_text())["settings"]
    assert saved["answers_from"] == "local" and saved["server_url"] == ""
    assert server_config(window.settings, library.home) is None
    assert not (library.home / KEY_FILE).exists()
    window.close()


def test_choose_a_server_check_it_and_answer_through_it(
    qtbot,
    library: Library,
    model_server: ModelServer,  # noqa: F811
    tmp_path: Path,
) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "leave.md").write_text(
        "# Annual leave\n\nFull-time staff get 25 days of annual leave per year.", "utf-8"
    )
    with library.create("Office") as coll:
        coll.index([folder])
    window = _window(qtbot, library)
    dialog = window.open_settings()
    dialog.server_choice.setChecked(True)
    assert dialog.server_fields.isEnabled()
    dialog.server_url.setText(model_server.url)
    dialog.check_connection()
    at = f"127.0.0.1:{model_server.port}"
    qtbot.waitUntil(lambda: dialog.server_note.text().startswith("Connected"), timeout=30_000)
    assert dialog.server_note.text() == f"Connected to {at}. It offers 1 model(s)."
    listed = dialog.server_model.itemText(0)
    assert dialog.server_model.count() == 1 and listed.endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    dialog.server_model.setCurrentIndex(0)
    dialog.api_key.setText("office-secret-1234")
    SHOTS.mkdir(exist_ok=True)
    qtbot.waitUntil(lambda: dialog.model.count() >= 1, timeout=20_000)
    dialog.resize(640, dialog.sizeHint().height())
    dialog.grab().save(str(SHOTS / "settings-model-server.png"))
    dialog.accept_and_apply()

    # The key is in its own file, readable by the user alone, and nowhere in the settings.
    raw = settings_path(library.home).read_text()
    assert "office-secret-1234" not in raw
    saved = json.loads(raw)["settings"]
    assert saved["answers_from"] == "server" and saved["server_url"] == model_server.url
    assert saved["server_model"] == listed
    key_file = library.home / KEY_FILE
    assert key_file.read_text().strip() == "office-secret-1234"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert window.answers_label.text() == (
        f"Answers from the model server at {at} (SmolLM2-135M-Instruct.Q4_1.gguf)"
    )

    # The chat answers through the server; the line says how prompts were measured.
    qtbot.waitUntil(lambda: window.current_collection() == "Office", timeout=30_000)
    with qtbot.waitSignal(window.chat.answer_finished, timeout=120_000):
        window.chat.ask("How many days of annual leave do full-time staff get?")
    assert isinstance(window.loaded_model.generator, ServerGenerator)
    assert window.chat.last_answer is not None and window.chat.last_answer.text.strip()
    assert window.answers_label.text() == (
        f"Answers come from the model server at {at} (SmolLM2-135M-Instruct.Q4_1.gguf). "
        "Prompt sizes are counted with the server's own tokenizer."
    )

    # Back to this computer: the server is let go, the local model answers.
    dialog = window.open_settings()
    dialog.local_choice.setChecked(True)
    dialog.accept_and_apply()
    assert window.answers_label.text() == "Answers from SmolLM2-135M-Instruct.Q4_1 on this computer"
    with qtbot.waitSignal(window.chat.answer_finished, timeout=120_000):
        window.chat.ask("How many days of annual leave do full-time staff get?")
    assert not isinstance(window.loaded_model.generator, ServerGenerator)
    assert load_settings(library.home).answers_from == "local"
    window.close()


def test_check_connection_tells_what_went_wrong(
    qtbot,
    library: Library,
    keyed_server: ModelServer,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("desktop.settings_dialog.CHECK_TIMEOUT_S", 1.0)
    window = _window(qtbot, library)
    dialog = window.open_settings()
    dialog.server_choice.setChecked(True)

    def check(url: str, key: str = "") -> str:
        dialog.server_url.setText(url)
        dialog.api_key.setText(key)
        dialog.check_connection()
        qtbot.waitUntil(lambda: dialog.check_button.isEnabled(), timeout=30_000)
        return dialog.server_note.text()

    port = free_port()  # nothing listens there
    assert check(f"127.0.0.1:{port}").startswith(f"Nothing answered at 127.0.0.1:{port}:")
    silent = socket.socket()  # accepts connections, never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    try:
        quiet = silent.getsockname()[1]
        assert check(f"http://127.0.0.1:{quiet}").startswith(
            f"The model server at 127.0.0.1:{quiet} did not answer in time."
        )
    finally:
        silent.close()
    at = f"127.0.0.1:{keyed_server.port}"
    assert check(keyed_server.url).startswith(f"The model server at {at} refused Folio's key.")
    assert check(keyed_server.url, "wrong-key").startswith(f"The model server at {at} refused")
    assert check(keyed_server.url + "/folio", SERVER_KEY).startswith(
        f"The server at {at} answered, but it is not an OpenAI-compatible model server"
    )
    assert check(keyed_server.url, SERVER_KEY) == f"Connected to {at}. It offers 1 model(s)."
    assert dialog.server_model.itemText(0) == ALIAS
    dialog.server_model.setCurrentText("qwen-72b")
    assert check(keyed_server.url, SERVER_KEY) == (
        f"The server at {at} answered, but it has no model “qwen-72b”. "
        "Pick one of its models from the list."
    )
    # An address Folio cannot use is refused on OK, with a sentence; nothing is saved.
    dialog.server_url.setText("ftp://files.example")
    dialog.accept_and_apply()
    assert "is not a server address Folio can use" in dialog.server_note.text()
    assert load_settings(library.home) == Settings()
    dialog.server_url.setText("")
    dialog.accept_and_apply()
    assert dialog.server_note.text() == (
        "Enter the model server's address, or choose “This computer”."
    )
    window.close()
