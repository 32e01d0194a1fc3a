"""Loading a model reports progress (reading the file, then llama.cpp's own loading) and can be
stopped, with the real default model."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from engine.errors import Cancelled, ModelError
from engine.generate import GenSettings, default_model_path, load_generator, loading
from engine.generate.llama import LlamaGenerator
from engine.progress import CancelToken, TimeLeft
from engine.prompts import ChatMessage, Segment

SETTINGS = GenSettings(n_ctx=512, temperature=0.0, seed=1)


def cold_copy(tmp_path: Path) -> Path:
    """The default model copied and pushed out of the page cache, as after a restart."""
    if not hasattr(os, "posix_fadvise"):
        pytest.skip("this system cannot drop a file from memory")
    copy = tmp_path / "cold-model.gguf"
    shutil.copyfile(default_model_path(), copy)
    fd = os.open(copy, os.O_RDONLY)
    try:
        os.fsync(fd)  # written pages can only be dropped once they are on disk
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    resident = loading.resident_fraction(copy)
    if resident is None or resident >= loading.CACHED:
        pytest.skip("the copy stayed in memory on this system")
    return copy


def answer_one_word(gen: LlamaGenerator) -> str:
    tokens = gen.prompt_tokens([ChatMessage("user", (Segment("Say hello."),))])
    stream = gen.generate(tokens, max_tokens=3)
    return "".join(stream)


def test_load_reports_increasing_fractions_ending_at_one() -> None:
    seen: list[tuple[float, str]] = []
    gen = load_generator(None, SETTINGS, progress=lambda f, s: seen.append((f, s)))
    try:
        fractions = [f for f, _s in seen]
        assert len(fractions) >= 5  # llama.cpp reports as it goes, not only at the end
        assert fractions == sorted(set(fractions))  # strictly increasing
        assert fractions[0] < 0.5 and fractions[-1] == 1.0
        # The bundled model is small and already in memory: it is not read twice.
        assert {s for _f, s in seen} == {loading.PREPARING}
        assert answer_one_word(gen).strip()
    finally:
        gen.close()


def test_a_cold_large_file_is_read_first_with_its_own_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = cold_copy(tmp_path)
    monkeypatch.setattr(loading, "PREREAD_MIN_BYTES", 0)  # treat the 98 MB model as large
    seen: list[tuple[float, str]] = []
    gen = LlamaGenerator(copy, SETTINGS, progress=lambda f, s: seen.append((f, s)))
    try:
        fractions = [f for f, _s in seen]
        assert fractions == sorted(set(fractions)) and fractions[-1] == 1.0
        stages = [s for _f, s in seen]
        # Reading comes first, then llama.cpp's part; never back.
        assert stages[0] == loading.READING and stages[-1] == loading.PREPARING
        first_preparing = stages.index(loading.PREPARING)
        assert set(stages[:first_preparing]) == {loading.READING}
        assert set(stages[first_preparing:]) == {loading.PREPARING}
        # One report per chunk read (98 MB: three), the last ending the reading share.
        reading = [f for f, s in seen if s == loading.READING]
        chunks = -(-copy.stat().st_size // loading.CHUNK)
        assert len(reading) == chunks and reading[-1] == pytest.approx(loading.READ_SHARE)
        resident = loading.resident_fraction(copy)
        assert resident is not None and resident >= loading.CACHED
        assert answer_one_word(gen).strip()
    finally:
        gen.close()


def test_a_file_in_memory_or_small_is_not_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = default_model_path()
    size = path.stat().st_size
    assert not loading.worth_reading_first(path, size)  # 98 MB: under the size worth it
    monkeypatch.setattr(loading, "PREREAD_MIN_BYTES", 0)
    path.read_bytes()  # now surely in memory
    assert not loading.worth_reading_first(path, size)
    copy = cold_copy(tmp_path)
    assert loading.worth_reading_first(copy, size)


def test_resident_fraction_of_files_that_say_little() -> None:
    assert loading.resident_fraction(Path("/no/such/model.gguf")) is None


def test_stop_while_llama_cpp_loads_then_the_next_load_works() -> None:
    cancel = CancelToken()
    seen: list[float] = []

    def stop_halfway(fraction: float, _stage: str) -> None:
        seen.append(fraction)
        if fraction >= 0.5:
            cancel.cancel()

    with pytest.raises(Cancelled) as stopped:
        load_generator(None, SETTINGS, progress=stop_halfway, cancel=cancel)
    assert str(stopped.value) == loading.LOAD_STOPPED
    assert seen[-1] < 1.0  # llama.cpp stopped before the end
    again: list[float] = []
    gen = load_generator(None, SETTINGS, progress=lambda f, _s: again.append(f))
    try:
        assert again[-1] == 1.0
        assert answer_one_word(gen).strip()
    finally:
        gen.close()


def test_stop_while_the_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = cold_copy(tmp_path)
    monkeypatch.setattr(loading, "PREREAD_MIN_BYTES", 0)
    cancel = CancelToken()
    stages: list[str] = []

    def stop_at_once(_fraction: float, stage: str) -> None:
        stages.append(stage)
        cancel.cancel()

    with pytest.raises(Cancelled):
        LlamaGenerator(copy, SETTINGS, progress=stop_at_once, cancel=cancel)
    assert stages == [loading.READING]  # stopped after the first chunk, llama.cpp never ran


def test_stopped_before_it_starts() -> None:
    cancel = CancelToken()
    cancel.cancel()
    seen: list[float] = []
    with pytest.raises(Cancelled):
        load_generator(None, SETTINGS, progress=lambda f, _s: seen.append(f), cancel=cancel)
    assert seen == []


def test_a_failing_listener_does_not_stop_the_load() -> None:
    calls: list[float] = []

    def broken(fraction: float, _stage: str) -> None:
        calls.append(fraction)
        raise RuntimeError("listener bug")

    gen = load_generator(None, SETTINGS, progress=broken)
    try:
        assert calls[-1] == 1.0 and len(calls) >= 5
    finally:
        gen.close()


def test_time_left_from_the_rate_so_far() -> None:
    now = [100.0]
    left = TimeLeft(settle=0.5, least=0.02, clock=lambda: now[0])
    assert left.update(0.0) is None  # the first report only starts the clock
    now[0] = 100.2
    assert left.update(0.3) is None  # too early to tell
    now[0] = 102.0
    assert left.update(0.4) == pytest.approx(3.0)  # 0.4 in 2 s: 0.6 more takes 3 s
    now[0] = 104.0
    assert left.update(0.5) == pytest.approx(4.0)
    assert left.update(1.0) == 0.0
    # A report that starts part-way counts from there, not from zero.
    late = TimeLeft(settle=0.0, least=0.0, clock=lambda: now[0])
    late.update(0.9)
    now[0] = 105.0
    assert late.update(0.95) == pytest.approx(1.0)


def test_load_progress_never_goes_back_and_ignores_nonsense() -> None:
    seen: list[tuple[float, str]] = []
    tracker = loading.LoadProgress(lambda f, s: seen.append((f, s)), None)
    tracker.stage(0.0, 0.5, loading.READING)
    assert tracker.report(0.5)
    tracker.stage(0.5, 1.0, loading.PREPARING)
    for bad in (0.0, float("nan"), -3.0):  # llama.cpp starts its part at 0
        assert tracker.report(bad)
    assert tracker.report(2.0)
    # Half of the reading share, the start of llama.cpp's share, the end; nothing else.
    assert [f for f, _s in seen] == [0.25, 0.5, 1.0]
    tracker.finish()  # already at the end: not said twice
    assert len(seen) == 3


def test_a_damaged_file_fails_with_a_sentence_and_never_reports_done(tmp_path: Path) -> None:
    data = default_model_path().read_bytes()
    cut = tmp_path / "cut-short.gguf"
    cut.write_bytes(data[: len(data) // 2])  # as after a download that stopped half-way
    seen: list[float] = []
    with pytest.raises(ModelError) as failed:
        LlamaGenerator(cut, SETTINGS, progress=lambda f, _s: seen.append(f), cancel=CancelToken())
    assert str(failed.value).startswith("Folio could not load the model cut-short.gguf.")
    assert 1.0 not in seen


def test_ctrl_c_during_the_load_stays_ctrl_c() -> None:
    """On a terminal, Ctrl+C arrives in the progress listener, inside llama.cpp's callback: the
    load stops and the interruption reaches the caller, not a 'could not load' message."""

    def interrupt_halfway(fraction: float, _stage: str) -> None:
        if fraction >= 0.5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        load_generator(None, SETTINGS, progress=interrupt_halfway)
    gen = load_generator(None, SETTINGS)
    try:
        assert answer_one_word(gen).strip()
    finally:
        gen.close()


def test_folio_ask_shows_the_load_on_a_terminal(tmp_path: Path) -> None:
    import subprocess
    import sys

    # A child whose stderr is a file stands in for the terminal (isatty is forced on).
    script = (
        "from engine.cli import _LoadLine\n"
        "from engine.generate import GenSettings, load_generator\n"
        "with _LoadLine(enabled=True) as line:\n"
        "    load_generator(None, GenSettings(n_ctx=512), progress=line).close()\n"
        "with _LoadLine(enabled=False) as quiet:\n"
        "    quiet(0.5, 'Reading the model file')\n"
    )
    err = tmp_path / "stderr.txt"
    with err.open("w") as f:
        subprocess.run([sys.executable, "-c", script], stderr=f, check=True, timeout=120)
    text = err.read_bytes().decode("utf-8")  # "\r" kept as written
    # Written while llama-cpp-python had pointed stderr at /dev/null, then cleared.
    assert f"\r{loading.PREPARING}: " in text and " %" in text
    assert text.endswith("\r" + " " * 60 + "\r")
    assert "Reading the model file" not in text  # not a terminal: nothing
