"""``folio bench soak --minutes N``: the window left running with a busy watched folder.

The app (offscreen) indexes a folder of notes; a writer *process* changes files in it every few
seconds (create, edit, rename, delete, now and then a large PDF), each change carrying a unique
word; a question is asked every 30 s. Every few seconds the run samples memory (RSS), thread
and open-file counts and how late a 10 ms timer fires (event-loop latency). A checker thread
searches for each change's word until the window's search lists the file among its 5 results
(or, for a deletion, no longer lists it): the time from the write to that moment is the
change's *time to searchable*.
Errors: log records at ERROR or above, failed questions, changes never seen within
``change_limit`` seconds, and writer failures.

    python -m desktop.soak --minutes 60 [--out soak.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
COLLECTION = "Soak"
# A change is searchable when its file is among the results the window's Search box lists.
SHOWN = 5
SETTLE_S = 5.0  # after the last change is searchable, wait this long before the end figures


# -- the writer (a separate process) -------------------------------------------------------


def _pdf(pages: list[str]) -> bytes:
    """A plain PDF with one text line per page (enough to be read and searched)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for text in pages:
        n = len(objects) + 1
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font "
            f"<< /F1 3 0 R >> >> /Contents {n + 1} 0 R >>".encode()
        )
        stream = f"BT /F1 11 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    size = len(objects) + 1
    out += f"trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


_TOPICS = ["parking", "expenses", "holidays", "laptops", "training", "canteen", "security"]


def _note(token: str, topic: str) -> str:
    return (
        f"# {topic.title()} note\n\nThis note is about {topic} in the office. "
        f"Reference word {token}.\n"
    )


def writer_main(folder: Path, log_path: Path, interval: float, seconds: float, seed: int) -> None:
    """Change files in ``folder`` every ``interval`` seconds; one JSON line per change."""
    rng = random.Random(seed)
    files: dict[Path, list[str]] = {p: [] for p in folder.glob("*.md")}
    n = 0
    end = time.monotonic() + seconds
    with log_path.open("a", encoding="utf-8") as log:
        while time.monotonic() < end:
            time.sleep(interval)
            n += 1
            token = f"soakword{n:05d}"
            ops = ["create", "edit", "rename", "delete"] if len(files) > 3 else ["create"]
            op = "pdf" if n % 10 == 0 else rng.choice(ops)
            record: dict[str, Any] = {"n": n, "op": op}
            try:
                if op in ("create", "pdf"):
                    if op == "pdf":
                        path = folder / f"report-{n}.pdf"
                        pages = [f"Page {i} of the quarterly report." for i in range(1, 120)]
                        pages.append(f"Closing page with reference word {token}.")
                        path.write_bytes(_pdf(pages))
                    else:
                        path = folder / f"note-{n}.md"
                        path.write_text(_note(token, rng.choice(_TOPICS)), "utf-8")
                    files[path] = [token]
                    record.update(path=str(path), token=token)
                elif op == "edit":
                    notes = sorted(p for p in files if p.suffix == ".md")
                    if not notes:
                        continue
                    path = rng.choice(notes)
                    with path.open("a", encoding="utf-8") as f:
                        f.write(f"\nAdded later: reference word {token}.\n")
                    files[path].append(token)
                    record.update(path=str(path), token=token)
                elif op == "rename":
                    named = sorted(p for p in files if files[p])
                    if not named:
                        continue
                    path = rng.choice(named)
                    new = path.with_name(f"renamed-{n}{path.suffix}")
                    path.rename(new)
                    files[new] = files.pop(path)
                    record.update(path=str(new), old=str(path), token=files[new][-1])
                else:  # delete
                    path = rng.choice(sorted(files))
                    path.unlink()
                    record.update(path=str(path), gone=files.pop(path))
            except OSError as exc:
                record.update(error=str(exc))
            record["t"] = time.time()
            log.write(json.dumps(record) + "\n")
            log.flush()


# -- the checker (a thread in the app's process) ---------------------------------------------


@dataclass
class Checks:
    latencies: list[float] = field(default_factory=list)
    by_op: dict[str, list[float]] = field(default_factory=dict)  # the same, per kind of change
    missed: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    pending: int = 0


def _checker(
    library: Any, log_path: Path, stop: threading.Event, limit: float, out: Checks
) -> None:
    """Follow the writer's log; search for each change until it shows (or stops showing).

    It searches one collection kept open, as the chat does (not a fresh one per look, whose
    opening and loading of the vector file twice a second would be the harness's own memory
    and CPU, on the same two cores the app is measured on)."""
    offset = 0
    waiting: list[dict[str, Any]] = []
    coll: Any = None
    while not stop.is_set() or waiting:
        try:
            with log_path.open(encoding="utf-8") as f:
                f.seek(offset)
                for line in f:
                    if line.endswith("\n"):
                        offset += len(line.encode("utf-8"))
                        rec = json.loads(line)
                        # A later change to the same file supersedes what is still awaited.
                        if rec["op"] == "delete":
                            waiting = [w for w in waiting if w.get("path") != rec["path"]]
                        elif rec["op"] == "rename":
                            for w in waiting:
                                if w.get("path") == rec["old"] and w["op"] != "delete":
                                    w["path"] = rec["path"]
                        waiting.append(rec)
        except FileNotFoundError:
            pass
        if waiting and (coll is not None or COLLECTION in library.names()):
            try:
                if coll is None:
                    coll = library.open(COLLECTION)
                for rec in list(waiting):
                    if _reflected(coll, rec):
                        took = time.time() - rec["t"]
                        out.latencies.append(took)
                        out.by_op.setdefault(rec["op"], []).append(took)
                        waiting.remove(rec)
                    elif time.time() - rec["t"] > limit:
                        out.missed.append(rec)
                        waiting.remove(rec)
            except Exception as exc:  # a search failing is an error of the run
                out.errors.append(f"search failed: {type(exc).__name__}: {exc}")
        out.pending = len(waiting)
        if stop.is_set() and waiting and all(time.time() - r["t"] > limit for r in waiting):
            out.missed.extend(waiting)
            break
        time.sleep(0.5)
    if coll is not None:
        coll.close()


def _reflected(coll: Any, rec: dict[str, Any]) -> bool:
    if "error" in rec:
        return True
    if rec["op"] == "delete":
        for token in rec.get("gone", []):
            if any(h.path == rec["path"] for h in coll.search(token, k=SHOWN)):
                return False
        return True
    return any(h.path == rec["path"] for h in coll.search(rec["token"], k=SHOWN))


# -- the run ---------------------------------------------------------------------------------


class _ErrorCount(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.name}: {record.getMessage()}"[:300])


def soak(
    minutes: float,
    write_every: float = 4.0,
    ask_every: float = 30.0,
    sample_every: float = 10.0,
    change_limit: float = 60.0,
    threads: int = 0,
    home: Path | None = None,
) -> dict[str, Any]:
    import psutil
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from engine import EngineConfig, Library

    from .main_window import MainWindow
    from .memory import tune_allocator
    from .settings import Settings

    tune_allocator()  # as the app does at start (desktop/app.py)
    _app = QApplication.instance() or QApplication([sys.argv[0]])  # kept alive for the run
    base = Path(tempfile.mkdtemp(prefix="folio-soak-"))
    home = home or base / "home"
    folder = base / "watched"
    folder.mkdir()
    for i, topic in enumerate(_TOPICS * 3):
        (folder / f"start-{i}.md").write_text(_note(f"startword{i:03d}", topic), "utf-8")
    errors = _ErrorCount()
    logging.getLogger().addHandler(errors)
    proc = psutil.Process()
    library = Library(EngineConfig(home=home))
    window = MainWindow(library)
    window.apply_settings(Settings(max_answer_tokens=48, threads=threads, n_ctx=2048))
    window.show()
    window.indexing.queue_index(COLLECTION, [folder])

    # Event-loop latency: how late a 10 ms timer fires.
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]
    late: list[float] = []

    def tick() -> None:
        now = clock.elapsed()
        late.append(max(0.0, now - last[0] - 10))
        last[0] = now

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()

    questions = [f"What does the office say about {t}?" for t in _TOPICS]
    asked, answered, failed = [0], [0], []

    def ask() -> None:
        if window.current_collection() != COLLECTION or window.chat._op is not None:
            return  # the previous answer is still coming: ask at the next turn
        window.chat.ask(questions[asked[0] % len(questions)])
        asked[0] += 1

    def on_answer(_a: object) -> None:
        answered[0] += 1

    window.chat.answer_finished.connect(on_answer)
    notice = window.chat.notice
    ask_timer = QTimer()
    ask_timer.setInterval(int(ask_every * 1000))
    ask_timer.timeout.connect(ask)
    ask_timer.start()

    def wait_until(condition: Any, seconds: float) -> bool:
        """Run the event loop until ``condition()`` or ``seconds`` pass. A nested QEventLoop,
        not a loop over processEvents(): PySide6 6.12's processEvents() drops one reference to
        None at every call, and a long run of them ends in a crash."""
        if condition():
            return True
        loop = QEventLoop()
        met = [False]

        def check() -> None:
            if condition():
                met[0] = True
                loop.quit()

        poll, deadline = QTimer(), QTimer()
        poll.setInterval(20)
        poll.timeout.connect(check)
        deadline.setSingleShot(True)
        deadline.setInterval(int(seconds * 1000))
        deadline.timeout.connect(loop.quit)
        poll.start()
        deadline.start()
        loop.exec()
        poll.stop()
        deadline.stop()
        return met[0]

    indexed = wait_until(
        lambda: window.current_collection() == COLLECTION and not window.indexing.running, 300
    )
    log_path = base / "changes.jsonl"
    seconds = minutes * 60
    writer = subprocess.Popen(
        [sys.executable, "-m", "desktop.soak", "--writer", str(folder), str(log_path),
         str(write_every), str(seconds), "7"],
        cwd=REPO,
    )  # fmt: skip
    checks = Checks()
    stop = threading.Event()
    checker = threading.Thread(
        target=_checker, args=(library, log_path, stop, change_limit, checks), daemon=True
    )
    checker.start()

    samples: list[dict[str, Any]] = []
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        late.clear()
        wait_until(lambda: False, sample_every)
        if "could not" in notice.text() or "went wrong" in notice.text():
            failed.append(notice.text())
        lat = sorted(late)
        samples.append(
            {
                "minute": round((time.monotonic() - started) / 60, 2),
                "rss_mb": round(proc.memory_info().rss / 2**20, 1),
                "threads": proc.num_threads(),
                "open_files": proc.num_fds() if hasattr(proc, "num_fds") else None,
                "loop_p99_ms": round(lat[int(0.99 * (len(lat) - 1))], 1) if lat else None,
                "loop_max_ms": round(lat[-1], 1) if lat else None,
            }
        )
    writer.wait(timeout=120)
    stop.set()
    wait_until(lambda: not checker.is_alive(), change_limit + 30)
    ask_timer.stop()
    # The end figures are read once the last change is indexed and a moment has passed: a
    # sample taken while an indexing run is on counts its parse workers' pipes and threads,
    # which go when the run ends (not a leak; a leak stays).
    wait_until(lambda: False, SETTLE_S)
    settled = {
        "rss_mb": round(proc.memory_info().rss / 2**20, 1),
        "threads": proc.num_threads(),
        "open_files": proc.num_fds() if hasattr(proc, "num_fds") else None,
    }
    timer.stop()
    window.close()
    wait_until(lambda: False, 0.2)
    logging.getLogger().removeHandler(errors)
    shutil.rmtree(base, ignore_errors=True)  # the notes, the home folder, the change log

    if not samples:
        raise ValueError("a soak run needs at least one sample: run it for longer")
    first, final = samples[0], settled
    warm = samples[min(len(samples) - 1, max(1, len(samples) // 6))]  # after warm-up
    lat_all = [x["loop_p99_ms"] for x in samples if x["loop_p99_ms"] is not None]
    changes = sorted(checks.latencies)
    all_errors = errors.records + checks.errors + [f"question: {m}" for m in failed]
    if writer.returncode:
        all_errors.append(f"writer exited with {writer.returncode}")
    if not indexed:
        all_errors.append("the first indexing did not finish within 300 s")
    return {
        "minutes": minutes,
        "summary": {
            "rss_start_mb": first["rss_mb"],
            "rss_after_warmup_mb": warm["rss_mb"],
            "rss_end_mb": final["rss_mb"],
            "rss_growth_after_warmup_mb": round(final["rss_mb"] - warm["rss_mb"], 1),
            "threads_start_end": [first["threads"], final["threads"]],
            "open_files_start_end": [first["open_files"], final["open_files"]],
            # Flat means flat once warmed up (model loaded, collection open).
            "threads_after_warmup_end": [warm["threads"], final["threads"]],
            "open_files_after_warmup_end": [warm["open_files"], final["open_files"]],
            "loop_p99_ms_worst_sample": max(lat_all) if lat_all else None,
            "loop_p99_ms_median_sample": statistics.median(lat_all) if lat_all else None,
            "questions_asked": asked[0],
            "questions_answered": answered[0],
            "changes_checked": len(changes) + len(checks.missed),
            "changes_missed": len(checks.missed),
            "change_to_searchable_s_median": round(statistics.median(changes), 2)
            if changes
            else None,
            "change_to_searchable_s_max": round(changes[-1], 2) if changes else None,
            # Median / max / count per kind of change: a 120-page PDF is not a note.
            "change_to_searchable_s_by_kind": {
                op: [round(statistics.median(v), 2), round(max(v), 2), len(v)]
                for op, v in sorted(checks.by_op.items())
            },
            "errors": len(all_errors),
        },
        "errors": all_errors[:50],
        "missed": checks.missed[:20],
        "samples": samples,
    }


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == "--writer":
        folder, log, interval, seconds, seed = args[1:6]
        writer_main(Path(folder), Path(log), float(interval), float(seconds), int(seed))
        return 0
    ap = argparse.ArgumentParser(description="Folio's soak run")
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--write-every", type=float, default=4.0)
    ap.add_argument("--ask-every", type=float, default=30.0)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--out")
    a = ap.parse_args(args)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    result = soak(a.minutes, a.write_every, a.ask_every, threads=a.threads)
    text = json.dumps(result, indent=1)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n", "utf-8")
    return 1 if result["summary"]["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
