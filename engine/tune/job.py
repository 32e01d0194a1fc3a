"""Run a tuning job in a child process, so a crash or an out-of-memory kill never reaches the app.

The parent reads progress events (plain dicts) from a queue; ``cancel`` asks the child to stop
between steps, and ends it by force if it does not within a few seconds. Events::

    {"type": "stage", "text": ...}                      what the job is doing now
    {"type": "data", "examples": n, "held_out": m, "errors": [...]}
    {"type": "step", "step": i, "steps": n, "epoch": e, "loss": x, "eta_s": s}
    {"type": "done", "result": {...}}                    TuneResult.to_json()
    {"type": "error", "message": ..., "cancelled": bool}
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue
import signal
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict
from typing import Any

from ..errors import Cancelled, FolioError
from .train import TuneError, TuneSettings, TuneSpec


def _child(kind: str, spec: dict[str, Any], events: Any, stop: Any) -> None:
    """Entry point of the child process."""
    try:
        os.nice(5)  # the app's own work (answers, the window) comes first
    except OSError:
        pass
    from ..offline import go_offline

    go_offline()

    def emit(event: dict[str, Any]) -> None:
        events.put(event)

    result: Any
    try:
        if kind == "embed":
            from .embed import EmbedTuneSpec, run_embed_tune

            result = run_embed_tune(EmbedTuneSpec.from_json(spec), emit, stop.is_set)
        else:
            from .train import run_tune

            settings = TuneSettings(**spec.pop("settings", {}))
            result = run_tune(TuneSpec(settings=settings, **spec), emit, stop.is_set)
        emit({"type": "done", "result": result.to_json()})
    except Cancelled as exc:
        emit({"type": "error", "message": str(exc), "cancelled": True})
    except FolioError as exc:
        emit({"type": "error", "message": str(exc), "cancelled": False})
    except MemoryError:
        emit(
            {
                "type": "error",
                "message": "Tuning ran out of memory. Try fewer or shorter examples, or a "
                "smaller model.",
                "cancelled": False,
            }
        )
    except Exception:  # a bug: report it, never crash silently
        emit(
            {
                "type": "error",
                # The technical details stay in "detail" (the log); people get a sentence.
                "message": "Tuning stopped because of an unexpected problem. Nothing else was "
                "changed; try again, and if it keeps happening, send Folio's log to your IT "
                "team.",
                "detail": traceback.format_exc(),
                "cancelled": False,
            }
        )
    finally:
        events.close()
        events.join_thread()


def _exit_reason(code: int | None) -> str:
    if code is not None and code < 0:
        sig = -code
        if sig == getattr(signal, "SIGKILL", 9):
            return (
                "The tuning process was killed, most likely because the computer ran out of "
                "memory. Nothing else was affected. Try fewer or shorter examples, or a "
                "smaller model."
            )
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return f"The tuning process stopped unexpectedly (signal {name}). Nothing else changed."
    return f"The tuning process stopped unexpectedly (exit code {code}). Nothing else changed."


class TuneJob:
    """One tuning run in its own process. Use from one thread (the app's worker)."""

    def __init__(self, kind: str, spec: Any) -> None:
        self.kind = kind  # cpt | ift | embed
        payload = asdict(spec) if isinstance(spec, TuneSpec) else spec.to_json()
        self._payload = payload
        ctx = mp.get_context("spawn")  # never fork a process that runs Qt or llama.cpp threads
        self._events = ctx.Queue()
        self._stop = ctx.Event()
        self._proc = ctx.Process(
            target=_child, args=(kind, payload, self._events, self._stop), daemon=True
        )
        self.result: dict[str, Any] | None = None
        self.error: str | None = None
        self.cancelled = False

    @property
    def pid(self) -> int | None:
        return self._proc.pid

    def start(self) -> None:
        self._proc.start()

    def cancel(self) -> None:
        self._stop.set()

    def events(
        self,
        poll: float = 0.2,
        grace: float = 10.0,
        cancelled: Callable[[], bool] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yield events until the job ends; sets ``result`` or ``error``. ``cancelled`` is
        polled too (a caller's cancel flag), as if ``cancel`` had been called."""
        cancel_at: float | None = None
        while True:
            if cancelled is not None and cancelled():
                self._stop.set()
            try:
                event = self._events.get(timeout=poll)
            except queue.Empty:
                event = None
                if not self._proc.is_alive():
                    try:  # it may have put its last event just before exiting
                        event = self._events.get(timeout=1.0)
                    except queue.Empty:
                        self.error = _exit_reason(self._proc.exitcode)
                        yield {"type": "error", "message": self.error, "cancelled": False}
                        return
            if event is not None:
                final = self._take(event)
                yield event
                if final:
                    self._proc.join(timeout=30)
                    return
                continue
            if self._stop.is_set():
                cancel_at = cancel_at or time.monotonic()
                if time.monotonic() - cancel_at > grace:  # did not stop between steps: end it
                    self._proc.kill()
                    self._proc.join(timeout=10)
                    self.cancelled = True
                    self.error = "Tuning stopped; no adapter was written."
                    yield {"type": "error", "message": self.error, "cancelled": True}
                    return

    def _take(self, event: dict[str, Any]) -> bool:
        """Record a final event's outcome; True when the job is over."""
        if event["type"] == "done":
            self.result = event["result"]
        elif event["type"] == "error":
            self.error = str(event["message"])
            if event.get("detail"):  # what went wrong, for IT: the log, not the window
                logging.getLogger("folio.tune").error("tuning failed:\n%s", event["detail"])
            self.cancelled = bool(event.get("cancelled"))
        return event["type"] in ("done", "error")

    def run(self, on_event: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """Start, wait, and return the result; raises TuneError (or Cancelled)."""
        self.start()
        for event in self.events():
            if on_event is not None:
                on_event(event)
        if self.result is None:
            if self.cancelled:
                raise Cancelled(self.error or "Tuning stopped.")
            raise TuneError(self.error or "Tuning failed.")
        return self.result
