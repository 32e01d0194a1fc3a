"""Inside the installed app (a PyInstaller bundle) Folio finds its models and assets in the
bundle's own folder, not in Python packages."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from engine.embed.factory import DEFAULT_EMBED_DIR, default_embed_model_path
from engine.generate.discovery import DEFAULT_MODEL_FILE, default_model_path
from engine.paths import assets_dir, bundle_dir


def test_frozen_app_uses_the_bundled_models_and_assets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_gguf, real_embed = default_model_path(), default_embed_model_path()
    assert bundle_dir() is None
    assert (assets_dir() / "sample" / "Working hours.md").is_file()

    bundle = tmp_path / "_internal"
    (bundle / "models").mkdir(parents=True)
    (bundle / "models" / DEFAULT_MODEL_FILE).symlink_to(real_gguf)
    (bundle / "models" / DEFAULT_EMBED_DIR).symlink_to(real_embed, target_is_directory=True)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)

    assert bundle_dir() == bundle
    assert assets_dir() == bundle / "assets"
    assert default_model_path() == bundle / "models" / DEFAULT_MODEL_FILE
    assert default_embed_model_path() == bundle / "models" / DEFAULT_EMBED_DIR
    # A bundle without its models (a damaged install) falls back to the packages, if any.
    (bundle / "models" / DEFAULT_MODEL_FILE).unlink()
    assert default_model_path() == real_gguf
