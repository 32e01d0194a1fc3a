"""Tuning data loaders, the rope permutation and the resource check (no model needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.generate import default_model_path
from engine.tune.adapter import rope_permute, rope_unpermute
from engine.tune.data import DataError, load_pairs, parse_csv, parse_jsonl, split_held_out
from engine.tune.train import TuneError, check_resources, similarity


def test_jsonl_shapes_and_per_line_errors(tmp_path: Path) -> None:
    lines = [
        {"instruction": "Summarise", "input": "The memo.", "output": "A memo."},
        {"prompt": "Hi?", "response": "Hello."},
        {"messages": [{"role": "system", "content": "Be brief."},
                      {"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}]},
        {"question": "Where?", "answer": "Here."},
        {"prompt": "No answer"},
        {"prompt": "", "response": "x"},
        {"messages": [{"role": "user", "content": "Q?"}]},
        {"messages": [{"role": "robot", "content": "Q?"}, {"role": "assistant", "content": "A"}]},
        [1, 2],
    ]  # fmt: skip
    text = "\n".join(json.dumps(x) for x in lines) + "\n{not json\n\n"
    path = tmp_path / "pairs.jsonl"
    path.write_text(text, encoding="utf-8")
    result = load_pairs(path)
    assert [e.prompt for e in result.examples] == ["Summarise\n\nThe memo.", "Hi?", "Q?", "Where?"]
    assert result.examples[2].messages[0] == ("system", "Be brief.")
    assert [e.line for e in result.examples] == [1, 2, 3, 4]
    errors = "\n".join(result.errors)
    assert "line 5: no answer field" in errors
    assert "line 6: 'prompt' is empty" in errors
    assert "line 7: the last message must be the assistant's" in errors
    assert "line 8: message 1 has role 'robot'" in errors
    assert "line 9: not a JSON object" in errors
    assert "line 10: not valid JSON" in errors
    assert len(result.errors) == 6


def test_csv_with_header_and_bad_rows() -> None:
    text = 'question,answer\n"What, exactly?","This."\nonly one\n,empty prompt\nQ2,A2\n'
    result = parse_csv(text)
    assert [(e.prompt, e.response) for e in result.examples] == [
        ("What, exactly?", "This."),
        ("Q2", "A2"),
    ]
    assert result.errors == [
        "line 3: expected 2 columns (prompt, answer), found 1",
        "line 4: the prompt is empty",
    ]


def test_unusable_files_are_refused_clearly(tmp_path: Path) -> None:
    empty = tmp_path / "e.jsonl"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="is empty"):
        load_pairs(empty)
    bad = tmp_path / "b.jsonl"
    bad.write_text('{"a": 1}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"No usable pairs.*line 1: no prompt field"):
        load_pairs(bad)
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"\xff\xfe\x00\xd8" + bytes(range(256)))
    with pytest.raises(DataError):
        load_pairs(binary)
    with pytest.raises(DataError, match="Cannot open"):
        load_pairs(tmp_path / "missing.csv")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_jsonl_parser_never_crashes(text: str) -> None:
    result = parse_jsonl(text)
    for ex in result.examples:
        assert ex.messages[-1][0] == "assistant" and ex.response.strip()


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_csv_parser_never_crashes(text: str) -> None:
    try:
        result = parse_csv(text)
    except DataError:
        return
    for ex in result.examples:
        assert ex.prompt and ex.response


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(
        st.sampled_from(["prompt", "response", "messages", "role", "content", "instruction",
                         "input", "output", "system"]),
        inner,
        max_size=4,
    ),
    max_leaves=12,
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(json_values, max_size=6))
def test_jsonl_objects_of_any_shape_give_examples_or_line_errors(values: list[object]) -> None:
    text = "\n".join(json.dumps(v) for v in values)
    result = parse_jsonl(text)
    non_blank = [v for v in text.splitlines() if v.strip()]
    assert len(result.examples) + len(result.errors) == len(non_blank)


def test_held_out_split_is_fixed_and_disjoint(tmp_path: Path) -> None:
    from tests.tune_data import write_zorbel_pairs

    examples = load_pairs(write_zorbel_pairs(tmp_path / "p.jsonl")).examples
    train, held = split_held_out(examples, 0.15, seed=0)
    again, held2 = split_held_out(examples, 0.15, seed=0)
    assert held == held2 and train == again
    assert len(held) == 4 and len(train) == 20
    assert not {e.line for e in held} & {e.line for e in train}
    assert split_held_out(examples[:3])[1] == []


def test_rope_permutation_matches_llama_cpp_layout_and_inverts() -> None:
    # One head of 4 rows: Hugging Face keeps rotary halves [0, 1 | 2, 3]; llama.cpp interleaves
    # them as [0, 2, 1, 3].
    rows = np.arange(4, dtype=np.float32).reshape(4, 1)
    assert rope_permute(rows, 1).ravel().tolist() == [0, 2, 1, 3]
    rng = np.random.default_rng(0)
    b = rng.standard_normal((576, 8)).astype(np.float32)
    for heads in (9, 3):
        p = rope_permute(b, heads)
        assert not np.array_equal(p, b)
        np.testing.assert_array_equal(rope_unpermute(p, heads), b)


def test_refuses_a_model_too_big_for_free_memory() -> None:
    params = check_resources(default_model_path(), available=64 * 1024**3)
    assert 100e6 < params < 250e6
    with pytest.raises(TuneError, match=r"needs about \d+ GB of free memory"):
        check_resources(default_model_path(), available=512 * 1024**2)


def test_answer_similarity_is_token_f1() -> None:
    assert similarity("Ada Quillfeather founded it", "It was founded by Ada Quillfeather") > 0.6
    assert similarity("", "x") == 0.0
    assert similarity("The cat", "The cat") == 1.0
