"""The window waits for a real second process (a `folio` command's part) that holds the
collection's writer lock, says so in its status line, then indexes (real widgets, offscreen)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from desktop.main_window import MainWindow
from engine import Library
from tests.conftest import REPO
from tests.engine.test_two_programs import env, write

HOLDER = """
import sys
from pathlib import Path
from engine import EngineConfig, Library
lib = Library(EngineConfig(home=Path(sys.argv[1]), program="the 'folio' command"))
with lib.open("Shared") as coll, coll._writer_lock():
    print("holding", flush=True)
    sys.stdin.readline()
"""


def test_window_waits_for_a_terminal_command_and_says_so(
    qtbot, library: Library, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    folder = write(tmp_path / "docs", {"policy.md": "# Policy\n\nVisitors sign in at reception."})
    library.create("Shared").close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(library.home)],
        cwd=REPO,
        env=env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    window = MainWindow(library)
    qtbot.addWidget(window)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"holding"
        window.show()
        window.indexing.queue_index("Shared", [folder])
        qtbot.waitUntil(
            lambda: (
                f"Waiting for the 'folio' command (process {holder.pid})"
                in window.status_label.text()
            ),
            timeout=60_000,
        )
        time.sleep(0.5)
        assert window.indexing.running  # still waiting
        with library.open("Shared") as coll:
            assert coll.documents() == []
    finally:
        assert holder.stdin is not None
        holder.stdin.write(b"\n")
        holder.stdin.close()
        holder.wait(timeout=60)
        holder.stdout.close()
    qtbot.waitUntil(lambda: not window.indexing.running, timeout=120_000)
    with library.open("Shared") as coll:
        assert [Path(d.path).name for d in coll.documents()] == ["policy.md"]
        assert coll.check().ok
    window.close()
