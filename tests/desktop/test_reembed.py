"""A collection built with another embedding model: the window says so in words and offers
"Re-embed now" with a time estimate, shows progress, and the collection is searchable after."""

from __future__ import annotations

from pathlib import Path

from desktop.main_window import MainWindow
from engine import Library
from engine.messages import problems
from engine.reembed import ReembedNeeded, duration


def test_duration_in_words() -> None:
    assert duration(5) == "less than a minute"
    assert duration(61) == "about 1 minute"
    assert duration(14 * 60) == "about 14 minutes"
    assert duration(3 * 3600 + 20 * 60) == "about 3 hours 20 minutes"


def test_mismatch_offers_reembed_now_with_estimate_and_progress(
    qtbot, library: Library, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(12):
        (folder / f"note{i}.md").write_text(
            f"# Note {i}\n\nThe meeting room {i} is booked through the front desk. " * 3, "utf-8"
        )
    (folder / "parking.md").write_text("Parking permits come from the facilities office.", "utf-8")
    with library.create("Office") as coll:
        coll.index([folder])
        chunks = coll.store.chunk_count()
        # As if built with an older model: another name and fingerprint.
        coll.store.set_meta("embed_model", "old-search-model")
        coll.store.set_meta("embed_fingerprint", "0123456789abcdef0123")
    window = MainWindow(library)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.current_collection() == "Office", timeout=30_000)

    window.chat.question.setText("Where do parking permits come from?")
    with qtbot.waitSignal(window.chat.reembed_needed, timeout=60_000) as blocker:
        window.chat.ask_button.click()
    need: ReembedNeeded = blocker.args[0]
    assert need.collection == "Office" and need.chunks == chunks and need.seconds > 0
    text = window.indexing_status.reembed_label.text()
    assert (
        window.indexing_status.reembed_button.isVisible()
        and window.indexing_status.reembed_label.isVisible()
    )
    assert "old-search-model" in text and "Re-embed now takes less than a minute" in text
    assert f"for {chunks} passages" in text
    assert problems(text) == [] and problems(window.chat.notice.text()) == []
    assert "0123456789abcdef" not in text + window.chat.notice.text()  # no fingerprints
    shots = Path(__file__).resolve().parents[1] / "screenshots"
    shots.mkdir(exist_ok=True)
    window.grab().save(str(shots / "reembed-offer.png"))

    # Pressed while a re-scan of the folder runs: it waits its turn instead of asking again.
    qtbot.waitUntil(lambda: window.indexing.idle(), timeout=60_000)
    window.indexing.queue_index("Office")
    window.indexing_status.reembed_button.click()
    assert "starts as soon as the current indexing has finished" in window.status_label.text()
    assert not window.indexing_status.reembed_button.isEnabled()
    qtbot.waitUntil(lambda: "can be searched again" in window.status_label.text(), timeout=120_000)
    assert window.status_label.text().startswith(
        f"'Office' can be searched again: {chunks} passages re-embedded."
    )  # "Watching 1 folder — up to date" may follow it
    assert (
        window.indexing_status.progress.maximum() == chunks
        and window.indexing_status.progress.value() == chunks
    )
    assert not window.indexing_status.reembed_button.isVisible()

    # The same question now finds its passage.
    with qtbot.waitSignal(window.chat.evidence_shown, timeout=60_000) as found:
        window.chat.ask_button.click()
    assert any(h.path.endswith("parking.md") for h in found.args[0].hits)
    window.chat.stop()
    window.close()
