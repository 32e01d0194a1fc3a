"""Write faults at the remaining write sites: adapter export, prompt presets, window state."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pytest

from engine.errors import FolioError
from engine.prompts import Preset, load_presets, save_preset
from engine.tune.adapter import AdapterError, BaseShape, adapter_info, write_adapter

FAULTS = [(errno.ENOSPC, "No space left on device"), (errno.EACCES, "Permission denied")]


def _tensors() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((8, 576), dtype=np.float32)
    b = rng.standard_normal((576, 8), dtype=np.float32)
    return {"blk.0.attn_q": (a, b)}


@pytest.mark.parametrize(("code", "text"), FAULTS)
def test_adapter_export_fault_keeps_the_previous_adapter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, text: str
) -> None:
    import gguf

    target = tmp_path / "tone.gguf"
    shape = BaseShape("llama", 9, 3)
    write_adapter(target, _tensors(), 16.0, shape, {"kind": "ift", "title": "first"})
    before = target.read_bytes()

    def fail(self: object, *args: object, **kwargs: object) -> None:
        raise OSError(code, text)

    monkeypatch.setattr(gguf.GGUFWriter, "write_tensors_to_file", fail)
    with pytest.raises(AdapterError, match=f"could not be written.*{text}"):
        write_adapter(target, _tensors(), 16.0, shape, {"kind": "ift", "title": "second"})
    assert target.read_bytes() == before and adapter_info(target).title == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tone.gguf"]  # no temp file left


@pytest.mark.parametrize(("code", "text"), FAULTS)
def test_preset_save_fault_keeps_the_previous_presets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, text: str
) -> None:
    save_preset(tmp_path, Preset("brief", "Brief", "Answer in one sentence."))
    saved = (tmp_path / "presets.json").read_bytes()

    def fail(self: Path, *args: object, **kwargs: object) -> int:
        raise OSError(code, text)

    monkeypatch.setattr(Path, "write_text", fail)
    with pytest.raises(FolioError, match=f"could not be saved: {text}"):
        save_preset(tmp_path, Preset("long", "Long", "Answer at length."))
    monkeypatch.undo()
    assert (tmp_path / "presets.json").read_bytes() == saved
    assert "brief" in {p.name for p in load_presets(tmp_path)}
    assert not (tmp_path / "presets.tmp").exists()


@pytest.mark.parametrize(("code", "text"), FAULTS)
def test_window_state_fault_is_logged_and_the_window_closes(  # type: ignore[no-untyped-def]
    qtbot, library, monkeypatch: pytest.MonkeyPatch, code: int, text: str
) -> None:
    import desktop.settings as settings_mod
    from desktop.main_window import MainWindow

    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    window.close()  # first close writes the state
    state_file = settings_mod.window_state_path(library.home)
    saved = state_file.read_bytes()

    def fail(path: Path, data: dict[str, object]) -> None:
        raise OSError(code, text)

    monkeypatch.setattr(settings_mod, "_write", fail)
    again = MainWindow(library)
    qtbot.addWidget(again)
    again.show()
    again.close()  # must not raise; the old state stays
    assert state_file.read_bytes() == saved
