"""``folio bench gui``: how responsive the window stays, and how fast it appears.

- Event-loop latency: a 10 ms QTimer records how late each tick fires while the window indexes
  the docugami PDFs and answers questions at the same time; the same timer on the idle window,
  in the same run, is the baseline.
- Launch time: from starting ``python -m desktop.app`` to its window being shown (models load
  in the background), against starting a bare Python process that imports Qt and shows an
  empty window.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO.parent / "shared" / "corpus" / "qa" / "docugami_kg_rag" / "sec-10-q" / "data" / "v1"


def _percentiles(lat_ms: list[float]) -> dict[str, float]:
    lat = sorted(lat_ms)
    if not lat:
        return {"ticks": 0}

    def pct(p: float) -> float:
        return round(lat[min(len(lat) - 1, int(p / 100 * len(lat)))], 1)

    return {"ticks": len(lat), "p50_ms": pct(50), "p99_ms": pct(99), "max_ms": round(lat[-1], 1)}


def event_loop_latency(seconds: float = 90.0) -> dict[str, Any]:
    from PySide6.QtCore import QElapsedTimer, QTimer
    from PySide6.QtWidgets import QApplication

    from engine import EngineConfig, Library

    from .main_window import MainWindow
    from .settings import Settings

    app = QApplication.instance() or QApplication([sys.argv[0]])
    home = Path(tempfile.mkdtemp(prefix="folio-bench-gui-"))
    window = MainWindow(Library(EngineConfig(home=home)))
    window.apply_settings(Settings(max_answer_tokens=128))
    window.show()

    def measure(duration: float) -> list[float]:
        late: list[float] = []
        clock = QElapsedTimer()
        clock.start()
        last = [clock.elapsed()]
        timer = QTimer()
        timer.setInterval(10)

        def tick() -> None:
            now = clock.elapsed()
            late.append(max(0.0, now - last[0] - 10))
            last[0] = now

        timer.timeout.connect(tick)
        timer.start()
        end = time.monotonic() + duration
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.001)
        timer.stop()
        return late

    idle = measure(5.0)
    folders = [p for p in (DOCS / "docs",) if p.exists()]
    window.index_paths(folders)  # indexing the 20 10-Q PDFs ...
    questions = iter(
        ["What are the main risks?", "How did revenue change?", "Who are the directors?"] * 20
    )
    asked = [0]

    def ask_next(*_a: object) -> None:  # ... while answering one question after another
        question = next(questions, None)
        if question is None:  # a fast machine asked them all before the time was up
            return
        window.chat.ask(question)
        asked[0] += 1

    window.chat.answer_finished.connect(ask_next)
    window.chat.question.setText("")
    # The first question needs a collection: wait for it to exist.
    deadline = time.monotonic() + 60
    while window.current_collection() is None and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    ask_next()
    busy = measure(seconds)
    indexing_still_running = window.indexing.running
    window.close()
    return {
        "idle": _percentiles(idle),
        "indexing_and_answering": _percentiles(busy),
        "questions_started": asked[0],
        "indexing_still_running_at_end": indexing_still_running,
        "seconds": seconds,
    }


def launch_time(runs: int = 3) -> dict[str, Any]:
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    bare = (
        "import sys\nfrom PySide6.QtWidgets import QApplication, QMainWindow\n"
        "app = QApplication(sys.argv)\nw = QMainWindow()\nw.show()\napp.processEvents()\n"
        "print('shown', flush=True)\n"
    )
    folio_times, bare_times = [], []
    for _ in range(runs):
        home = tempfile.mkdtemp(prefix="folio-bench-launch-")
        e = dict(env, FOLIO_HOME=home, FOLIO_EXIT_WHEN_SHOWN="1")
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "desktop.app"], env=e, capture_output=True, text=True,
            timeout=120, cwd=REPO,
        )  # fmt: skip
        shown = [ln for ln in out.stdout.splitlines() if ln.startswith("shown ")]
        if shown:
            folio_times.append(float(shown[0].split()[1]) - t0_wall(t0))
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", bare], env=env, capture_output=True, timeout=60)
        bare_times.append(time.perf_counter() - t0)
    return {
        "runs": runs,
        "folio_launch_to_window_s_median": round(statistics.median(folio_times), 3)
        if folio_times
        else None,
        "bare_qt_window_process_s_median": round(statistics.median(bare_times), 3),
    }


_WALL_OFFSET = time.time() - time.perf_counter()


def t0_wall(t0: float) -> float:
    """A perf_counter reading as wall-clock time (the app reports time.time())."""
    return t0 + _WALL_OFFSET


def main() -> int:
    seconds = float(os.environ.get("FOLIO_BENCH_SECONDS", "90"))
    result = {"launch": launch_time(), "event_loop": event_loop_latency(seconds)}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
