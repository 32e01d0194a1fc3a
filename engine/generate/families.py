"""Which local GGUF model shares a tokenizer with a model server's model.

A model server that offers no tokenizer still says its model's name ("SmolLM2-135M-Instruct",
"meta-llama/Llama-3.1-8B-Instruct", "qwen2.5:7b"). Models of one family share a tokenizer, so a
local GGUF file of the same family — the default model, or one the user added — can count the
prompt's tokens: only its vocabulary is loaded (``vocab_only``, a fraction of a second), and
``LOCAL_MARGIN`` is added because the server's tokenizer version and chat template may differ.
"""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ModelError
from .gguf import read_metadata

log = logging.getLogger("folio.generate.families")

LOCAL_MARGIN = 0.10  # +10 % over the local tokenizer's count, plus one token per piece

# Checked in order; the first match names the family. Each family shares one tokenizer
# (Qwen2 and Qwen2.5 do; Mistral-Nemo's "tekken" differs from Mistral 7B's).
FAMILIES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("smollm3", r"smol-?lm-?3"),
        ("smollm2", r"smol-?lm-?2"),
        ("smollm", r"smol-?lm(?!-?[23])"),
        ("llama-3", r"llama-?3"),
        ("llama-2", r"llama-?2"),
        ("qwen3", r"qwen-?3"),
        ("qwen2", r"qwen-?2"),
        ("mistral-nemo", r"mistral-?nemo"),
        ("mistral", r"mistral|mixtral"),
        ("phi-4", r"phi-?4"),
        ("phi-3", r"phi-?3"),
        ("gemma-3", r"gemma-?3"),
        ("gemma-2", r"gemma-?2"),
    )
)
# GGUF architectures that name one family on their own ("llama" does not: SmolLM2 is one).
_ARCH_FAMILY = {"qwen2": "qwen2", "qwen3": "qwen3", "gemma2": "gemma-2", "gemma3": "gemma-3"}


def family_of(name: str) -> str:
    """The tokenizer family a model name belongs to; "" when Folio does not know it."""
    text = re.sub(r"[\s_]+", "-", name.lower())
    for family, pattern in FAMILIES:
        if pattern.search(text):
            return family
    return ""


def gguf_family(path: Path) -> str:
    """A GGUF file's family from its header (name, architecture) and file name; no weights
    are read. "" when unknown or unreadable."""
    try:
        meta = read_metadata(path)
    except ModelError:
        return ""
    family = family_of(f"{meta.get('general.name') or ''} {path.name}")
    return family or _ARCH_FAMILY.get(str(meta.get("general.architecture") or ""), "")


def known_local_models(home: Path | None) -> list[Path]:
    """The GGUF models Folio knows without searching: the default one and the user's added
    ones (not other apps' folders: a server connection must not wait on a disk walk)."""
    from .discovery import added_models, default_model_path

    paths: list[Path] = []
    try:
        paths.append(default_model_path())
    except ModelError:
        pass
    if home is not None:
        paths += added_models(home)
    return [p for p in paths if p.is_file()]


def matching_local_model(model_name: str, candidates: Sequence[Path]) -> Path | None:
    """The first candidate of the same family as the server's ``model_name``, or None."""
    family = family_of(model_name)
    if not family:
        return None
    for path in candidates:
        if gguf_family(path) == family:
            return path
    return None


class LocalCounter:
    """Counts tokens with a local GGUF's vocabulary, plus ``LOCAL_MARGIN`` (an upper bound
    for a server running a model of the same family)."""

    _lock = threading.Lock()

    def __init__(self, path: Path) -> None:
        import llama_cpp
        from llama_cpp import _internals

        self.path = path
        self.family = gguf_family(path)
        # The model's vocabulary alone, without a context (the high-level ``Llama`` would
        # create one and warn about its size): what ``Llama(vocab_only=True)`` loads.
        params = llama_cpp.llama_model_default_params()
        params.vocab_only = True
        try:
            with self._lock:
                self._model: Any = _internals.LlamaModel(
                    path_model=str(path), params=params, verbose=False
                )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"The tokenizer of {path.name} could not be loaded.") from exc

    def exact(self, text: str) -> int:
        return len(self._model.tokenize(text.encode("utf-8"), False, False))

    def close(self) -> None:
        self._model.close()

    def count(self, text: str) -> int:
        return math.ceil(self.exact(text) * (1 + LOCAL_MARGIN)) + 1


__all__ = [
    "FAMILIES",
    "LOCAL_MARGIN",
    "LocalCounter",
    "family_of",
    "gguf_family",
    "known_local_models",
    "matching_local_model",
]
