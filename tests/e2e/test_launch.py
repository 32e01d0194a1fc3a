"""The GUI launcher as a real subprocess: it shows its window and exits cleanly when told to."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def test_desktop_app_starts_and_quits_cleanly(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = dict(os.environ, FOLIO_HOME=str(home), QT_QPA_PLATFORM="offscreen")
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "desktop.app"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    log = home / "logs" / "folio.log"
    try:
        while time.monotonic() - started < 60:
            if log.exists() and "main window shown" in log.read_text("utf-8"):
                break
            assert proc.poll() is None, proc.communicate()[1].decode()
            time.sleep(0.1)
        else:
            raise AssertionError("the window did not appear within 60 s")
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert "Traceback" not in err.decode()
    assert "exited with code 0" in log.read_text("utf-8")
