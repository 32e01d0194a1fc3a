"""The "Check a statement" tab on real widgets, real MiniLM and a real indexed collection."""

from __future__ import annotations

from pathlib import Path

from engine import Library
from tests.desktop.test_chat_panel import handbook_window


def test_a_statement_is_checked_claim_by_claim_in_the_window(
    qtbot, library: Library, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    window = handbook_window(qtbot, library, tmp_path)
    panel = window.verify
    window.tabs.setCurrentWidget(panel)
    panel.statement.setText(
        "Full-time staff get 25 days of annual leave per year. "
        "Full-time staff get 30 days of annual leave per year."
    )
    with qtbot.waitSignal(panel.checked, timeout=60_000):
        panel.check_button.click()
    rows = [
        [panel.table.topLevelItem(i).text(c) for c in range(4)]
        for i in range(panel.table.topLevelItemCount())
    ]
    assert [r[1] for r in rows] == ["✓ Supported", "✗ Contradicted"]
    assert rows[0][2] == rows[1][2] == "leave.md, section 1"
    assert rows[1][3] == "30 days is not in leave.md, section 1, which says 25 days."
    assert panel.summary.text() == "1 of 2 claims is supported by the documents."
    # Nothing typed: a sentence, not an error.
    panel.statement.setText("  ")
    assert panel.check() is None
    assert panel.summary.text() == "Type or paste a statement to check first."
    SHOTS = Path(__file__).resolve().parents[1] / "screenshots"
    SHOTS.mkdir(exist_ok=True)
    window.grab().save(str(SHOTS / "check-statement.png"))
    window.close()
