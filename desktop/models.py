"""One copy of a model: the chat and Compare share the loaded model when it is the same file.

``LoadedModel`` holds at most one llama.cpp model for the whole window and is used only on the
model executor's thread. Asking for the model already loaded (same file, same context size,
threads and GPU layers) returns it; asking for another one first checks that it fits in the
memory that is free once the current one is unloaded, tells the user what is unloaded for what,
then unloads and loads. Holders of the old model (the chat's sessions) are told to let go of it
so its memory is really freed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import ModelError
from engine.generate import (
    GenSettings,
    LoadCallback,
    connect_server,
    default_model_path,
    load_generator,
)
from engine.generate.base import Generator

from . import speeds

if TYPE_CHECKING:
    from engine.generate.server import ServerConfig
    from engine.progress import CancelToken

log = logging.getLogger("folio.desktop")

# Besides the file's weights: the context (KV cache), buffers and the runtime.
OVERHEAD = 1.25
RESERVE = 512 * 1024 * 1024  # left to the rest of the computer


def _key(path: Path, settings: GenSettings) -> tuple[str, int, int, int]:
    return (str(path), settings.n_ctx, settings.threads or 0, settings.gpu_layers)


def _server_key(config: ServerConfig, settings: GenSettings) -> tuple[str, int, int, int]:
    # The key is part of what makes the connection: a new key connects again.
    return (f"{config.url}#{config.model}#{hash(config.api_key)}", settings.n_ctx, -1, -1)


def loading_message(home: Path | None, file: Path) -> str:
    """What the window says while a model loads: how long it took here the last times."""
    took = speeds.measured(home, file).load_s if home is not None else None
    if took is None or took < 1.5:
        return "Loading the model…"
    return f"Loading the model (about {took:.0f} s on this computer the last time)…"


def available_memory() -> int:
    import psutil

    return int(psutil.virtual_memory().available)


def _gib(n: float) -> str:
    return f"{n / 1024**3:.1f} GB"


class LoadedModel:
    """The one loaded model of the window (use on the model executor's thread only)."""

    def __init__(self, home: Path | None = None) -> None:
        # Folio's home: this computer's measured load times are kept there, and its added
        # models may lend a model server a tokenizer (None: neither).
        self.home = home
        self.generator: Generator | None = None
        self._key: tuple[str, int, int, int] | None = None
        self.loads = 0  # how many times a model file was loaded (for tests and the log)
        self._on_unload: list[Callable[[], None]] = []

    def on_unload(self, callback: Callable[[], None]) -> None:
        """``callback`` drops every reference to the current model (called before unloading)."""
        self._on_unload.append(callback)

    def get(
        self,
        path: str | None,
        settings: GenSettings,
        tell: Callable[[str], None] = lambda _m: None,
        adapters: Sequence[tuple[Path, float]] = (),
        server: ServerConfig | None = None,
        progress: LoadCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> Generator:
        """The model at ``path`` (None or "": the bundled default), loaded once and shared; with
        ``server``, a connection to that model server instead (no model on this computer).
        While a file loads, ``progress`` hears (fraction done, stage) on this thread, and
        setting ``cancel`` stops the load (Cancelled; nothing stays loaded)."""
        if server is not None:
            return self._connect(server, settings, tell)
        file = Path(path).expanduser().resolve() if path else default_model_path()
        key = _key(file, settings)
        if self.generator is not None and self._key == key:
            self.generator.settings = settings  # temperature, answer length: per question
            return self.generator
        self._check_memory(file, settings)
        if self.generator is not None:
            tell(
                f"Unloading {self.generator.name} to load {file.name}: Folio keeps one model "
                "in memory at a time."
            )
            self.unload()
        else:
            tell(loading_message(self.home, file))
        started = time.monotonic()
        self.generator = load_generator(file, settings, adapters, progress, cancel)
        if self.home is not None:
            speeds.record(self.home, file, load_s=time.monotonic() - started)
        self._key = key
        self.loads += 1
        log.info("model loaded: %s (load %d)", file.name, self.loads)
        return self.generator

    def _connect(
        self, config: ServerConfig, settings: GenSettings, tell: Callable[[str], None]
    ) -> Generator:
        from engine.generate.server import where

        key = _server_key(config, settings)
        if self.generator is not None and self._key == key:
            self.generator.settings = settings
            return self.generator
        if self.generator is not None:
            self.unload()  # a local model's memory is not needed while a server answers
        tell(f"Connecting to the model server at {where(config)}…")
        generator = connect_server(config, settings, self.home)  # ServerError: a sentence
        self.generator, self._key = generator, key
        tell(server_notice(generator))
        log.info("model server connected: %s", _describe(generator))
        return generator

    def _check_memory(self, file: Path, settings: GenSettings) -> None:
        """Refuse a model that cannot fit once the current one is unloaded."""
        try:
            size = file.stat().st_size
        except OSError:
            raise ModelError(f"The model file {file.name} cannot be found any more.") from None
        current = 0
        if self.generator is not None:
            try:
                current = Path(self.generator.path).stat().st_size
            except OSError:
                current = 0
        need = size * OVERHEAD + settings.n_ctx * 64 * 1024  # weights + a rough KV cache
        free = available_memory() + current * OVERHEAD - RESERVE
        if need > free:
            keep = f" {self.generator.name} stays loaded." if self.generator is not None else ""
            raise ModelError(
                f"There is not enough free memory to load {file.name}: it needs about "
                f"{_gib(need)} and about {_gib(max(0.0, free))} is free.{keep} Close other "
                "programs, or choose a smaller model or a smaller context size in Models and "
                "settings."
            )

    def unload(self) -> None:
        """Free the loaded model (its holders are told to let go first)."""
        if self.generator is None:
            return
        for callback in self._on_unload:
            callback()
        old, self.generator, self._key = self.generator, None, None
        close = getattr(old, "close", None)
        if close is not None:
            close()


def server_notice(generator: Generator) -> str:
    """Where a model server's answers come from and how prompts are measured, in one or two
    sentences; "" for a model on this computer."""
    info = _describe(generator)
    if not info.get("server"):
        return ""  # a model on this computer
    return (
        f"Answers come from the model server at {info.get('server')} ({generator.name}). "
        f"{info.get('counting', '')}"
    ).strip()


def _describe(generator: Generator) -> dict[str, object]:
    describe = getattr(generator, "describe", None)
    return dict(describe()) if callable(describe) else {}
