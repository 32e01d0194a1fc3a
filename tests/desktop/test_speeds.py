"""This computer's measured model speeds: kept per model file, shown in plain words, and never
a reason for anything to fail."""

from __future__ import annotations

from pathlib import Path

from desktop.models import loading_message
from desktop.speeds import FILE, KEEP, Speed, measured, record, speed_words


def test_median_of_the_last_measurements_per_model(tmp_path: Path) -> None:
    model = tmp_path / "models" / "small.gguf"
    other = tmp_path / "models" / "big.gguf"
    assert measured(tmp_path, model) == Speed()  # nothing measured yet
    for tps in (10.0, 50.0, 40.0):
        record(tmp_path, model, tokens_per_s=tps)
    record(tmp_path, other, tokens_per_s=4.0, load_s=12.0)
    assert measured(tmp_path, model) == Speed(tokens_per_s=40.0, load_s=None)
    # The same file by another name is the same model.
    assert (
        measured(tmp_path, tmp_path / "models" / ".." / "models" / "small.gguf").tokens_per_s
        == 40.0
    )
    assert measured(tmp_path, other) == Speed(4.0, 12.0)
    for _ in range(KEEP):  # only the last few count: an old slow run is forgotten
        record(tmp_path, model, tokens_per_s=60.0)
    assert measured(tmp_path, model).tokens_per_s == 60.0


def test_speed_in_words() -> None:
    assert speed_words(Speed()) == "speed on this computer not measured yet"
    assert (
        speed_words(Speed(tokens_per_s=40.0)) == "writes about 30 words a second on this computer"
    )
    assert (
        speed_words(Speed(tokens_per_s=2.0)) == "writes about 1.5 words a second on this computer"
    )


def test_loading_message_says_how_long_it_took_last_time(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    assert loading_message(tmp_path, model) == "Loading the model…"
    assert loading_message(None, model) == "Loading the model…"
    record(tmp_path, model, load_s=0.4)  # too quick to be worth saying
    assert loading_message(tmp_path, model) == "Loading the model…"
    record(tmp_path, model, load_s=20.0)
    record(tmp_path, model, load_s=22.0)
    assert loading_message(tmp_path, model) == (
        "Loading the model (about 20 s on this computer the last time)…"
    )


def test_damaged_or_unwritable_file_is_not_measured_yet(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    damaged = '{"' + str(model) + '": {"tokens_per_s": ["x", -3, null], "load_s": "slow"}}'
    for junk in ("", "{not json", "[1, 2]", damaged):
        (tmp_path / FILE).write_text(junk, "utf-8")
        assert measured(tmp_path, model) == Speed()
        record(tmp_path, model, tokens_per_s=20.0)  # and a new measurement mends it
        assert measured(tmp_path, model).tokens_per_s == 20.0
    home = tmp_path / "a file, not a folder"
    home.write_text("x", "utf-8")
    record(home, model, tokens_per_s=20.0)  # cannot be kept: no error, nothing kept
    assert measured(home, model) == Speed()
