"""Folio's faster hex-string reading gives exactly what pypdf's own reader gives."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf.generic import _utils

from engine.ingest import _pypdf_speed, read_file
from tests.conftest import corpus_path

_ALPHABET = b"0123456789abcdefABCDEF \n\r\t\x00\x0c>g<(/"


def _outcome(reader, data: bytes):  # type: ignore[no-untyped-def]
    stream = io.BytesIO(data)
    try:
        value = reader(stream, None)
    except Exception as exc:  # the same error class, and no partial success
        return ("error", type(exc).__name__, None)
    return (type(value).__name__, bytes(value.original_bytes), stream.tell())


@settings(max_examples=400, deadline=None)
@given(
    body=st.lists(st.sampled_from(list(_ALPHABET)), max_size=3000).map(bytes),
    tail=st.binary(max_size=20),
)
def test_same_result_as_pypdf(body: bytes, tail: bytes) -> None:
    _pypdf_speed.install()
    data = b"<" + body + tail
    assert _outcome(_pypdf_speed.read_hex_string, data) == _outcome(
        _utils.read_hex_string_from_stream, data
    )


@pytest.mark.corpus
def test_same_text_from_a_real_report(monkeypatch: pytest.MonkeyPatch) -> None:
    pdf = corpus_path("qa", "docugami_kg_rag", "sec-10-q", "data", "v1", "docs") / (
        "2022 Q3 AAPL.pdf"
    )
    fast = read_file(pdf)
    from pypdf.generic import _data_structures

    assert _data_structures.read_hex_string_from_stream is _pypdf_speed.read_hex_string
    calls = []

    def pypdf_own(stream, forced_encoding=None):  # type: ignore[no-untyped-def]
        calls.append(1)
        return _utils.read_hex_string_from_stream(stream, forced_encoding)

    monkeypatch.setattr(_data_structures, "read_hex_string_from_stream", pypdf_own)
    slow = read_file(pdf)
    assert len(calls) > 10_000  # the report's text really is in hex strings
    assert len(fast.sections) == len(slow.sections) > 10
    assert [s.text for s in fast.sections] == [s.text for s in slow.sections]
