"""One copy of a model: the chat and Compare share the loaded model when it is the same file;
before another model loads, the memory check runs and the user is told what is unloaded."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from desktop.models import LoadedModel, server_notice
from engine.errors import ModelError
from engine.generate import GenSettings, default_model_path, load_generator
from engine.messages import problems


def _settings() -> GenSettings:
    return GenSettings(n_ctx=1024, threads=1, temperature=0.0)


def test_the_same_file_is_loaded_once_another_replaces_it(tmp_path: Path) -> None:
    loaded = LoadedModel()
    let_go: list[str] = []
    loaded.on_unload(lambda: let_go.append("chat"))
    told: list[str] = []
    first = loaded.get(None, _settings(), told.append)
    again = loaded.get(str(default_model_path()), _settings(), told.append)
    assert again is first and loaded.loads == 1  # "" and the default's path: one model
    assert told == ["Loading the model…"]
    # Another file (a copy of the model under another name) replaces it, and says so.
    other = tmp_path / "other-model.gguf"
    shutil.copyfile(default_model_path(), other)
    second = loaded.get(str(other), _settings(), told.append)
    assert second is not first and loaded.loads == 2
    assert let_go == ["chat"]  # holders let go of the old model before it was unloaded
    assert told[-1].startswith(f"Unloading {first.name} to load other-model.gguf")
    assert problems(told[-1]) == []
    # A new context size is a new load of the same file.
    loaded.get(str(other), GenSettings(n_ctx=2048, threads=1))
    assert loaded.loads == 3
    loaded.unload()
    assert loaded.generator is None


def test_a_model_that_does_not_fit_is_refused_and_the_current_one_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import desktop.models as models

    loaded = LoadedModel()
    current = loaded.get(None, _settings())
    big = tmp_path / "big-model.gguf"
    shutil.copyfile(default_model_path(), big)
    with big.open("r+b") as f:  # a 6 GB file (sparse), as a 7B model would be
        f.truncate(6 * 1024**3)
    monkeypatch.setattr(models, "available_memory", lambda: 2 * 1024**3)
    told: list[str] = []
    with pytest.raises(ModelError) as err:
        loaded.get(str(big), _settings(), told.append)
    message = str(err.value)
    assert message.startswith("There is not enough free memory to load big-model.gguf")
    assert f"{current.name} stays loaded" in message and problems(message) == []
    assert loaded.generator is current and loaded.loads == 1 and told == []


def test_compare_uses_the_chats_model(qtbot, library, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from desktop.main_window import MainWindow

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "hours.md").write_text("# Hours\n\nCore hours are ten to four.", "utf-8")
    with library.create("Office") as coll:
        coll.index([folder])
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.settings.threads = 1
    window.settings.n_ctx = 1024
    window.settings.max_answer_tokens = 8
    qtbot.waitUntil(lambda: window.current_collection() == "Office", timeout=30_000)
    window.chat.question.setText("What are the core hours?")
    with qtbot.waitSignal(window.chat.answer_finished, timeout=180_000):
        window.chat.ask_button.click()
    chat_model = window.chat._generator
    assert chat_model is not None and window.loaded_model.loads == 1

    window.compare.question.setText("What are the core hours?")
    with qtbot.waitSignal(window.compare.finished, timeout=180_000) as done:
        window.compare.run()
    a, b = done.args[0]
    assert a.text and b.text
    assert window.loaded_model.loads == 1  # no second copy
    assert window.loaded_model.generator is chat_model
    window.close()


def test_server_notice_is_empty_for_a_model_on_this_computer() -> None:
    gen = load_generator()
    try:
        assert server_notice(gen) == ""
    finally:
        gen.close()
