"""Folio's faster hex-string reading gives exactly what pypdf's own reader gives."""

from __future__ import annotations

import io
import re

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
    """Both faster readings on, then both off (pypdf as it ships): the same page texts."""
    pdf = corpus_path("qa", "docugami_kg_rag", "sec-10-q", "data", "v1", "docs") / (
        "2022 Q3 AAPL.pdf"
    )
    from pypdf.generic import ContentStream, _data_structures

    _pypdf_speed.install()
    handed_over = []
    pypdf_parse = _pypdf_speed._original_parse

    def counting(stream, data):  # type: ignore[no-untyped-def]
        handed_over.append(1)
        return pypdf_parse(stream, data)

    monkeypatch.setattr(_pypdf_speed, "_original_parse", counting)
    fast = read_file(pdf)
    assert handed_over == []  # every page of the report went the fast way

    hex_calls = []

    def pypdf_hex(stream, forced_encoding=None):  # type: ignore[no-untyped-def]
        hex_calls.append(1)
        return _utils.read_hex_string_from_stream(stream, forced_encoding)

    monkeypatch.setattr(_data_structures, "read_hex_string_from_stream", pypdf_hex)
    monkeypatch.setattr(ContentStream, "_parse_content_stream", pypdf_parse)
    slow = read_file(pdf)
    assert len(hex_calls) > 10_000  # the report's text really is in hex strings
    assert len(fast.sections) == len(slow.sections) > 10
    assert [s.text for s in fast.sections] == [s.text for s in slow.sections]


# --- content streams --------------------------------------------------------------------------


def _operations(parse, data: bytes, encoding=None):  # type: ignore[no-untyped-def]
    from pypdf.generic import ContentStream

    stream = ContentStream(None, None)
    stream.set_data(data)
    stream.forced_encoding = encoding
    parse(stream, io.BytesIO(data))
    return _pypdf_speed._shape(stream._operations)


def _pypdf_outcome(data: bytes, encoding=None):  # type: ignore[no-untyped-def]
    try:
        return _operations(_pypdf_speed._original_parse, data, encoding)
    except Exception as exc:
        return ("error", type(exc).__name__)


def _fast_outcome(data: bytes, encoding=None):  # type: ignore[no-untyped-def]
    """Folio's reading, or None where it hands the stream to pypdf."""
    try:
        ops = _pypdf_speed._Parser(data, encoding).operations()
    except Exception:
        return None
    return _pypdf_speed._shape(ops)


# What real content streams are made of: Folio reads these itself, every time.
# fmt: off
_USUAL_TOKENS = [
    b"BT", b"ET", b"Tf", b"Tj", b"TJ", b"Td", b"'", b'"', b"q", b"Q", b"cm", b"re", b"f*",
    b"true", b"null", b"ID", b"EI", b"0", b"12", b"-3", b"+4", b".5", b"-.25", b"1.", b"1.2.3",
    b"--", b"+", b".", b"1,5", b"12345678901234567", b"/F1", b"/T1_0", b"/A#42", b"/#zz",
    b"/\xc3\xa9", b"/\xe9", b"/", b"/a" * 30, b"(Hello)", b"()", b"(a(b)c)", b"(a\\)b)",
    b"(\\101\\n)", b"(\\\n)", b"(\xfe\xff\x00A)", b"(\x00A)",
    b"<48656c6c6f>", b"<4 8 6>", b"<>", b"<feff0041>", b"<</MCID 0>>", b"[(a) -120 (b)]",
    b"[1 [2] 3]", b"[/N null]", b"[(x) % note\n 2]", b"[]", b"% a comment\n", b" ", b"\n",
    b"\r\n", b"\t", b"\x00", b"\x0c",
]
# ...and what it hands to pypdf: inline images, references, stray delimiters, long tokens.
_ODD_TOKENS = [
    b"BI", b"R", b"x" * 120, b"123456789012345678901", b"0 0 R ", b"1 0 R", b"(open", b"<zz>",
    b"<<", b">>", b"[", b"]", b"%no end", b"{", b"}", b")", b">", b"\x0b",
]
# fmt: on
_TOKENS = _USUAL_TOKENS + _ODD_TOKENS


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(st.sampled_from(_USUAL_TOKENS), max_size=60),
    glue=st.lists(st.sampled_from([b" ", b"", b"\n", b"\x00"]), min_size=60, max_size=60),
    encoding=st.sampled_from([None, "bytes", "charmap", ["a", "b"], {65: "Z"}]),
)
def test_usual_content_streams_are_read_by_folio_as_pypdf_reads_them(
    parts: list[bytes], glue: list[bytes], encoding: object
) -> None:
    _pypdf_speed.install()
    data = b"".join(p + g for p, g in zip(parts, glue, strict=False)) + b" Q"
    fast = _fast_outcome(data, encoding)
    if fast is None:  # only where numbers glued together pass pypdf's 20-byte look-ahead
        assert re.search(rb"[+,\-.0-9]{20}", data)
    else:
        assert fast == _pypdf_outcome(data, encoding)


# ...and anything at all, odd tokens included: the result is always pypdf's.
@settings(max_examples=600, deadline=None)
@given(
    parts=st.lists(st.sampled_from(_TOKENS), max_size=40),
    glue=st.lists(st.sampled_from([b" ", b"", b"\n", b"\x00", b"\x0c"]), min_size=40, max_size=40),
    encoding=st.sampled_from([None, "bytes", "charmap", ["a", "b"], {65: "Z"}]),
)
def test_content_streams_read_as_pypdf_reads_them(
    parts: list[bytes], glue: list[bytes], encoding: object
) -> None:
    _pypdf_speed.install()
    data = b"".join(p + g for p, g in zip(parts, glue, strict=False))
    fast = _fast_outcome(data, encoding)
    if fast is not None:  # where Folio reads the stream itself, it must read what pypdf reads
        assert fast == _pypdf_outcome(data, encoding)
    # and through the switched-in method, every stream (fast or handed over) is pypdf's result
    from pypdf.generic import ContentStream

    assert ContentStream._parse_content_stream is _pypdf_speed.parse_content_stream
    try:
        through = _operations(ContentStream._parse_content_stream, data, encoding)
    except Exception as exc:
        through = ("error", type(exc).__name__)
    assert through == _pypdf_outcome(data, encoding)


def test_ordinary_text_streams_take_the_fast_path() -> None:
    _pypdf_speed.install()
    data = (
        b"BT /F1 12 Tf 72 712 Td (Quarterly report) Tj 0 -14 TD [(Reve) 20 (nue)] TJ\n"
        b"<00480065> Tj /Span <</MCID 3>> BDC (A \\(note\\)) Tj EMC 0.5 0 0 1 re f* ET % end\n"
    )
    fast = _fast_outcome(data)
    assert fast is not None and len(fast[1]) == 13
    assert fast == _pypdf_outcome(data)


def test_handed_over_to_pypdf_where_it_must_be() -> None:
    _pypdf_speed.install()
    for data in (
        b"BI /W 1 /H 1 /BPC 8 /CS /G ID \x00 EI Q",  # inline image
        b"/Fm0 1 0 R Do",  # looks like an object reference
        b"BT (x) Tj ] ET",  # a stray delimiter: pypdf's own error
        b"12 Tz 3",  # a number at the very end
    ):
        assert _fast_outcome(data) is None
        try:
            through = _operations(_pypdf_speed.parse_content_stream, data)
        except Exception as exc:
            through = ("error", type(exc).__name__)
        assert through == _pypdf_outcome(data)


def test_budget_limit_is_pypdf_s(monkeypatch: pytest.MonkeyPatch) -> None:
    from pypdf import apply_configuration

    _pypdf_speed.install()
    data = b"1 2 3 re f " * 50
    with apply_configuration(stream_parsing_work_maximum_count=120):
        assert _fast_outcome(data) is None  # over budget: pypdf raises it, in its words
        assert _pypdf_outcome(data) == ("error", "LimitReachedError")
    with apply_configuration(stream_parsing_work_maximum_count=300):
        assert _fast_outcome(data) == _pypdf_outcome(data)


@pytest.mark.corpus
def test_every_content_stream_of_real_pdfs_reads_the_same() -> None:
    """The corpus's small odd PDFs (pypdf's and qpdf's test files, samples): every page's content
    stream parsed both ways. ``folio bench pdf`` runs the same check on any set of files."""
    from pypdf import PdfReader

    from engine.ingest.pdf import _quiet_pypdf

    _quiet_pypdf()
    folders = [
        corpus_path("pdfs", "pypdf-resources"),
        corpus_path("pdfs", "py-pdf-sample-files"),
        corpus_path("pdfs", "qpdf-qtest"),
    ]
    total = fast_streams = 0
    differing = []
    for path in sorted(p for folder in folders for p in folder.rglob("*.pdf")):
        try:
            pages = PdfReader(path, strict=False).pages
            if len(pages) > 20:  # keep the test quick; `folio bench pdf` takes them all
                continue
            contents = [page.get_contents() for page in pages]
        except Exception:  # broken on purpose: nothing to compare
            continue
        for c in contents:
            if c is None:
                continue
            fast, same = _pypdf_speed.compare_content_stream(c.get_data(), c.forced_encoding)
            total += 1
            fast_streams += fast
            if not same:
                differing.append(path.name)
    assert differing == []
    assert total > 500
    assert fast_streams > 0.8 * total  # the fast path is the usual one
