"""The Tune tab on real widgets: a tiny real IFT job runs to the end in its child process, the
loss is plotted, the evaluation table is filled, and the adapter becomes selectable in chat."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.main_window import MainWindow
from engine import Library
from engine.tune.train import TuneSettings
from tests.tune_data import write_zorbel_pairs

pytestmark = pytest.mark.slow


def test_tune_tab_runs_a_job_and_offers_the_adapter_to_chat(  # type: ignore[no-untyped-def]
    qtbot, library: Library, tmp_path: Path
) -> None:
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    panel = window.tune
    window.tabs.setCurrentWidget(panel)
    assert window.tabs.tabText(window.tabs.indexOf(panel)) == "Tune"
    assert "CPT first and then IFT" in panel.findChildren(type(panel.status))[0].text()

    from engine.generate import default_model_path

    assert panel.base_model() == default_model_path()  # the chat's model, unless changed
    assert panel.base_box.itemText(0).startswith("SmolLM2-135M-Instruct")
    panel.kind.setCurrentIndex(panel.kind.findData("ift"))
    panel.data_path.setText(str(write_zorbel_pairs(tmp_path / "pairs.jsonl", n=8)))
    panel.source.setCurrentIndex(panel.source.findData("file"))
    panel.epochs.setValue(1)
    # A tiny job: short examples, two general-skills probes skipped to keep the test quick.
    panel.job_settings = TuneSettings(max_length=96, eval_max_tokens=12, probes=False)
    assert panel.start() is not None
    assert not panel.start_button.isEnabled() and panel.stop_button.isEnabled()

    qtbot.waitUntil(lambda: not panel.is_running(), timeout=600_000)  # a real training run
    assert panel.result is not None, panel.status.text()
    steps = panel.result["steps"]
    assert steps >= 1 and len(panel.plot.values) == steps
    assert len(panel.plot.points()) == steps
    assert panel.table.rowCount() >= 2
    measures = [panel.table.item(r, 0).text() for r in range(panel.table.rowCount())]
    assert any("similarity" in m for m in measures)
    assert panel.table.item(0, 1).text() and panel.table.item(0, 2).text()
    assert "Done in" in panel.status.text()
    grab = panel.grab()
    grab.save(str(Path(__file__).resolve().parents[1] / "screenshots" / "tune-tab.png"))

    assert panel.result["base"] == str(default_model_path())
    adapter = panel.result["adapter"]
    assert Path(adapter).is_file()
    chat = window.chat
    assert chat.adapter_box.findData(adapter) >= 0  # listed in chat as soon as it exists
    assert panel.use_button.isEnabled()
    panel.use_button.click()
    assert window.tabs.currentWidget() is chat
    assert chat.settings.adapter == adapter
    assert chat.adapter_box.currentData() == adapter
    window.close()
