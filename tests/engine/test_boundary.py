"""The engine never imports Qt or the desktop package (DESIGN.md, layers)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "engine"


def test_no_qt_or_desktop_import_in_engine_source() -> None:
    offenders = []
    for path in ENGINE.rglob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for n in names:
                if n.split(".")[0] in {"PySide6", "PyQt5", "PyQt6", "desktop", "shiboken6"}:
                    offenders.append(f"{path.name}: {n}")
    assert offenders == []


def test_engine_runs_without_loading_qt() -> None:
    code = (
        "import sys, engine, engine.cli, engine.library, engine.retrieve, engine.ingest;"
        "bad=[m for m in sys.modules if m.split('.')[0] in ('PySide6','desktop','shiboken6')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_engine_switches_hub_libraries_offline() -> None:
    env = {k: v for k, v in os.environ.items() if "OFFLINE" not in k}
    code = (
        "import os, engine; print(os.environ['HF_HUB_OFFLINE'], os.environ['TRANSFORMERS_OFFLINE'])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.split() == ["1", "1"], out.stderr
