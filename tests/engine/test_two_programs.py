"""Two programs, one collection: a real `folio index` in a second process waits for the
writer lock held by this one (the window's part), says so, then indexes; afterwards the
collection is consistent and both programs see the same documents."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

from engine import EngineConfig, Library
from tests.conftest import REPO


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(REPO) + os.pathsep + e.get("PYTHONPATH", "")
    return e


def write(folder: Path, docs: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in docs.items():
        (folder / name).write_text(text, "utf-8")
    return folder


def lines_of(stream) -> tuple[queue.Queue[str], threading.Thread]:  # type: ignore[no-untyped-def]
    q: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for raw in stream:
            q.put(raw.decode("utf-8", "replace"))

    t = threading.Thread(target=pump, daemon=True)
    t.start()
    return q, t


def wait_for_line(q: queue.Queue[str], needle: str, timeout: float) -> str:
    end = time.monotonic() + timeout
    seen = []
    while time.monotonic() < end:
        try:
            line = q.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        if needle in line:
            return line
    raise AssertionError(f"no line with {needle!r} in {seen}")


def test_second_program_waits_for_the_writer_lock_and_says_so(embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    home = tmp_path / "home"
    lib = Library(
        EngineConfig(home=home, parse_workers=1, program="a Folio window"), embedder=embedder
    )
    a = write(tmp_path / "a", {"bees.txt": "Honey bees live in colonies ruled by a queen."})
    b = write(
        tmp_path / "b",
        {
            "canteen.md": "# Canteen\n\nThe staff canteen opens at eight o'clock.",
            "parking.txt": "Visitors park in the north car park, behind the gatehouse.",
        },
    )
    coll = lib.create("Shared")
    coll.index([a])

    with coll._writer_lock():  # the window is writing
        args = ["index", str(b), "--collection", "Shared", "--json", "--workers", "1"]
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "--home", str(home), *args],
            cwd=REPO,
            env=env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            err, pump = lines_of(proc.stderr)
            said = wait_for_line(err, "Waiting for", timeout=180)
            assert f"Waiting for a Folio window (process {os.getpid()})" in said
            assert "collection 'Shared'" in said
            time.sleep(1.0)
            assert proc.poll() is None  # still waiting, not failed
        except BaseException:
            proc.kill()
            raise
    assert proc.stdout is not None and proc.stderr is not None
    out = proc.stdout.read()
    assert proc.wait(timeout=300) == 0
    pump.join(timeout=10)
    proc.stdout.close()
    proc.stderr.close()
    report = json.loads(out)
    assert sorted(Path(o["path"]).name for o in report["indexed"]) == [
        "canteen.md",
        "parking.txt",
    ]

    # This program brings its view in line with what the other wrote, and both agree.
    again = coll.index()
    assert again.chunks_embedded == 0 and again.removed == []
    assert coll.check().ok
    mine = sorted(d.path for d in coll.documents())
    assert mine == sorted([str(a / "bees.txt"), str(b / "canteen.md"), str(b / "parking.txt")])
    assert coll.search("when does the canteen open", k=1)[0].path == str(b / "canteen.md")
    status = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine.cli",
            "--home",
            str(home),
            "status",
            "-c",
            "Shared",
            "--json",
        ],
        cwd=REPO,
        env=env(),
        capture_output=True,
        timeout=300,
        check=True,
    )
    theirs = sorted(d["document"] for d in json.loads(status.stdout)["document_list"])
    assert theirs == mine
    coll.close()
