"""Freed memory handed back to the system: done on Linux with glibc, at most once per period."""

from __future__ import annotations

import sys

import pytest

from desktop import memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_release_is_done_then_held_back_within_the_period(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(memory, "_last", [0.0])
    assert memory.release_free_memory(every=0.0) is True
    assert memory.release_free_memory(every=60.0) is False  # too soon after the last one
    assert memory.release_free_memory(every=0.0) is True


def test_nothing_happens_without_malloc_trim(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(memory, "_libc", [None])  # macOS, Windows, musl
    monkeypatch.setattr(memory, "_last", [0.0])
    assert memory.release_free_memory(every=0.0) is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_allocator_is_tuned_at_start() -> None:
    assert memory.tune_allocator() is True


def test_allocator_left_alone_without_glibc(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(memory, "_libc", [None])
    assert memory.tune_allocator() is False
