"""Private by default: Folio's home folder and what it writes there only its user can read.

On Linux and macOS the home is 0700 and its databases, settings, adapters and logs 0600; a home
left readable by an older Folio is tightened at start with one line in the log. Run as real
programs (the `folio` command and the desktop app) in fresh processes with the usual umask 022.
"""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from engine.private import make_home_private
from tests.trust.conftest import python_env

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _older_home(home: Path, collection: bool = True) -> dict[str, Path]:
    """A home folder as an older Folio left it: folders 0755, files 0644."""
    files = {
        "chats": home / "chats.sqlite3",
        "settings": home / "settings.json",
        "adapter": home / "adapters" / "tone.gguf",
        "log": home / "logs" / "folio.log",
    }
    if collection:
        files["store"] = home / "collections" / "hr" / "store.sqlite3"
    for path in files.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        path.chmod(0o644)
    for folder in [home, *{p.parent for p in files.values()}]:
        folder.chmod(0o755)
    if collection:
        (home / "collections").chmod(0o755)
    (home / "settings.json").write_text("{}", "utf-8")
    return files


def _all_private(home: Path) -> list[str]:
    """Entries under ``home`` (itself included) that group or others can reach."""
    loose = []
    for path in [home, *home.rglob("*")]:
        if path.is_symlink():
            continue
        want = 0o700 if path.is_dir() else 0o600
        if _mode(path) != want:
            loose.append(f"{path.relative_to(home)}: {oct(_mode(path))}")
    return loose


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=lambda: os.umask(0o022),  # the usual default: new files world-readable
    )


def test_existing_home_is_tightened_once_with_one_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = tmp_path / "home"
    files = _older_home(home)
    outside = tmp_path / "my-report.pdf"  # the user's own file, linked from the home
    outside.write_bytes(b"%PDF")
    outside.chmod(0o644)
    (home / "models").mkdir(mode=0o700)
    (home / "models" / "report-link").symlink_to(outside)
    with caplog.at_level(logging.INFO, logger="folio.private"):
        changed = make_home_private(home)
    # home, collections, collections/hr, adapters, logs + the five files
    assert changed == 10
    assert _all_private(home) == []
    assert all(_mode(p) == 0o600 for p in files.values())
    assert _mode(outside) == 0o644  # links are not followed
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and str(home) in lines[0] and "10 files and folders" in lines[0]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="folio.private"):
        assert make_home_private(home) == 0
    assert caplog.records == []
    assert make_home_private(tmp_path / "not-there") == 0


def test_folio_command_keeps_everything_it_writes_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _older_home(home, collection=False)  # chats, settings, an adapter, a log
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "leave.md").write_text("# Leave\n\nStaff get 25 days of annual leave.", "utf-8")
    env = python_env()
    first = _run(["-m", "engine.cli", "--home", str(home), "collections", "create", "HR"], env)
    assert first.returncode == 0, first.stderr[-2000:]
    notes = [ln for ln in first.stderr.splitlines() if "private" in ln]
    # home, adapters, logs + four files
    assert len(notes) == 1 and "7 files and folders" in notes[0], first.stderr
    second = _run(
        ["-m", "engine.cli", "--home", str(home), "index", str(docs), "--collection", "HR"], env
    )
    assert second.returncode == 0, second.stderr[-2000:]
    assert "private" not in second.stderr  # nothing left to tighten
    # New databases (with their -wal/-shm files), vectors and the collection folder: private.
    made = {p.name for p in home.rglob("*")}
    assert {"store.sqlite3", "vectors.hnsw"} <= made, made
    assert _all_private(home) == []


def test_desktop_app_tightens_the_home_and_says_so_in_its_log(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _older_home(home)
    env = python_env()
    env.update(FOLIO_HOME=str(home), FOLIO_EXIT_WHEN_SHOWN="1", QT_QPA_PLATFORM="offscreen")
    out = _run(["-m", "desktop.app"], env)
    assert out.returncode == 0, out.stderr[-2000:]
    log_lines = (home / "logs" / "folio.log").read_text("utf-8").splitlines()
    notes = [ln for ln in log_lines if "private" in ln]
    assert len(notes) == 1 and str(home) in notes[0], log_lines
    assert _all_private(home) == []
