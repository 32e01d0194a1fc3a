"""No input can crash or hang Folio: property tests on each reader and on sniffing, hostile
files through the real parse pool, and every PDF of ../shared/corpus/pdfs under per-file limits.

tests/engine/test_readers.py fuzzes ``read_file`` (which converts anything unexpected into a
ReaderError); here each reader is called directly, so a reader that leaks a library exception
or a wrong type is caught rather than masked, and every example runs under a hang alarm.
"""

from __future__ import annotations

import io
import os
import signal
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import reasons
from engine.errors import ReaderError
from engine.ingest import SUPPORTED_KINDS
from engine.ingest.docx import read_docx
from engine.ingest.html import read_html
from engine.ingest.image import read_image
from engine.ingest.ocr import OcrOptions
from engine.ingest.pdf import read_pdf
from engine.ingest.sniff import sniff_stream
from engine.ingest.text import read_text
from engine.messages import problems
from engine.types import ParsedDocument
from tests.engine.test_readers import SAMPLE_HTML, _sample_docx, check_document, make_docx, make_pdf
from tests.trust import robustness

HANG_SECONDS = 10.0  # one example of a few KB taking this long counts as a hang


class Hang(BaseException):
    """Raised by the alarm; a BaseException so no reader's ``except Exception`` can eat it."""


@pytest.fixture(scope="module")
def alarm() -> Iterator[Callable[[float], None]]:
    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise Hang

    previous = signal.signal(signal.SIGALRM, on_alarm)

    def arm(seconds: float) -> None:
        signal.setitimer(signal.ITIMER_REAL, seconds)

    yield arm
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


Reader = Callable[[bytes], ParsedDocument]
READERS: dict[str, Reader] = {
    "pdf": read_pdf,
    "docx": read_docx,
    "html": read_html,
    "markdown": lambda data: read_text(data, markdown=True),
    "text": read_text,
    # Pictures are decoded and read by OCR (single-threaded, as in a reader process).
    "image": lambda data: read_image(data, OcrOptions(threads=1)),
}


def _seed_picture() -> bytes:
    """A small PNG with one word on it: damaged copies of it must fail with a reason."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (160, 40), 255)
    ImageDraw.Draw(image).text((8, 12), "Invoice 42", fill=0)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def contract(reader: Reader, data: bytes, arm: Callable[[float], None]) -> None:
    """A reader returns a valid document or raises ReaderError with a one-line reason."""
    arm(HANG_SECONDS)
    try:
        doc = reader(data)
    except ReaderError as exc:
        reason = str(exc)
        assert reason and "\n" not in reason and "Traceback" not in reason, repr(reason)
        assert problems(reason) == [], reason
        return
    except Hang:
        pytest.fail(f"reader still busy after {HANG_SECONDS} s on {len(data)} bytes")
    finally:
        arm(0)
    check_document(doc)


PROPS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def seeds() -> dict[str, bytes]:
    md = ("# Title\n\n" + "Some text. " * 40 + "\n\n## Two\n\nMore.\n").encode()
    return {
        "pdf": make_pdf(["Seed page one\nwith two lines", "Seed page two", None]),
        "docx": make_docx(_sample_docx),
        "html": SAMPLE_HTML.encode(),
        "markdown": md,
        "image": _seed_picture(),
        "text": md,
    }


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 8))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["flip", "cut", "dup", "insert", "truncate"]))
        if op == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "cut":
            del data[at : at + draw(st.integers(1, 128))]
        elif op == "dup":
            data[at:at] = data[at : at + draw(st.integers(1, 512))]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=32))
        else:
            del data[at:]
    return bytes(data)


@pytest.mark.parametrize("kind", sorted(READERS))
def test_reader_on_arbitrary_bytes(kind: str, alarm: Callable[[float], None]) -> None:
    @PROPS
    @given(data=st.binary(max_size=3000))
    def run(data: bytes) -> None:
        contract(READERS[kind], data, alarm)

    run()


@pytest.mark.parametrize("kind", sorted(READERS))
def test_reader_on_mutated_documents(
    kind: str, seeds: dict[str, bytes], alarm: Callable[[float], None]
) -> None:
    @PROPS
    @given(data=mutated(seeds[kind]))
    def run(data: bytes) -> None:
        contract(READERS[kind], data, alarm)

    run()


@PROPS
@given(text=st.text(max_size=800), encoding=st.sampled_from(["utf-8", "utf-16", "cp1252"]))
def test_text_readers_on_any_text_in_any_encoding(
    text: str, encoding: str, alarm: Callable[[float], None]
) -> None:
    data = text.encode(encoding, errors="ignore")
    for kind in ("text", "markdown", "html"):
        contract(READERS[kind], data, alarm)


NAMES = st.sampled_from(
    ["a.pdf", "a.docx", "a.html", "a.md", "a.txt", "a", "a.PDF", "a.csv", "a.xlsx", ".x", "a.htm"]
)


@settings(max_examples=150, deadline=None)
@given(
    data=st.one_of(
        st.binary(max_size=2000),
        st.builds(
            lambda h, t: h + t,
            st.sampled_from(
                [b"%PDF-1.7", b"PK\x03\x04", b"<html>", b"\xef\xbb\xbf", b"\xff\xfe", b"{\\rtf"]
            ),
            st.binary(max_size=500),
        ),
    ),
    name=NAMES,
)
def test_sniffing_never_raises_and_names_a_reader(data: bytes, name: str) -> None:
    kind = sniff_stream(io.BytesIO(data), name)
    assert kind is None or kind in SUPPORTED_KINDS
    assert sniff_stream(io.BytesIO(data), name) == kind  # deterministic


# -- hostile files through the real parse pool -----------------------------------------------


def _docx_with(xml: bytes, seed: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(seed))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(
                info.filename, xml if info.filename == "word/document.xml" else src.read(info)
            )
    return out.getvalue()


def test_hostile_files_through_the_parse_pool(tmp_path: Path, seeds: dict[str, bytes]) -> None:
    """Bombs, deep nesting, endless lines, devices and FIFOs: each gets an outcome, quickly."""
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(
            f'<!ENTITY {c} "{("&" + p + ";") * 10}">'.encode()
            for p, c in zip("abcdefg", "bcdefgh", strict=True)
        )
        + b']><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body><w:p><w:r><w:t>&h;</w:t></w:r></w:p></w:body></w:document>"
    )
    zip_bomb = io.BytesIO()
    with zipfile.ZipFile(zip_bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", b"<Types/>")
        z.writestr("word/document.xml", b"<" + b"a" * (64 * 1024 * 1024))
    files: dict[str, bytes] = {
        "laughs.docx": _docx_with(laughs, seeds["docx"]),
        "zipbomb.docx": zip_bomb.getvalue(),
        "deep.html": b"<div>" * 200_000 + b"deep" + b"</div>" * 200_000,
        "line.txt": b"x" * 3_000_000,
        "nul.md": b"# t\n\n" + b"\x00" * 50_000,
        "pdf-in-text.txt": b"see %PDF-1.4 1 0 obj << >> endobj trailer << >> %%EOF",
        "many-pages.pdf": make_pdf(["p"] * 400),
        "empty.pdf": b"",
    }
    folder = tmp_path / "hostile"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    os.mkfifo(folder / "fifo.txt")
    (folder / "device.txt").symlink_to("/dev/zero")
    paths = sorted(folder.iterdir())
    table = robustness.run(paths, workers=2, time_limit=20, mem_limit=1024**3, overall_limit=90)
    print("\n" + table.render(), file=sys.stderr)
    assert table.tried == len(paths)
    assert not table.crashes and not table.hangs, table.render()
    errors = {Path(o.path).name: o.error for o in table.outcomes}
    assert errors["fifo.txt"] == reasons.NOT_A_FILE
    assert errors["device.txt"] == reasons.NOT_A_FILE
    assert errors["empty.pdf"] == reasons.EMPTY
    assert errors["line.txt"] == "" and errors["many-pages.pdf"] == ""
    assert {e: problems(e) for e in errors.values() if e and problems(e)} == {}


# -- the corpus robustness run ----------------------------------------------------------------


@pytest.mark.corpus
def test_every_corpus_pdf_under_time_and_memory_limits() -> None:
    """Every PDF (and qpdf fuzz case) through the real parse path: crashes 0, hangs 0.

    All ~790 files take about 30 s on 2 cores, so the suite runs them all; set
    FOLIO_ROBUSTNESS_EVERY=N to run every fuzz case plus every Nth other file instead.
    """
    if not robustness.PDF_ROOT.is_dir():
        pytest.skip(f"corpus folder {robustness.PDF_ROOT} is not available")
    paths = robustness.all_pdfs()
    every = int(os.environ.get("FOLIO_ROBUSTNESS_EVERY", "1"))
    if every > 1:
        paths = robustness.subset(paths, every)
    table = robustness.run(paths, workers=2, overall_limit=600)
    print("\n" + table.render(), file=sys.stderr)
    assert table.tried == len(paths) > 0
    assert sorted(o.path for o in table.outcomes) == sorted(map(str, paths))  # each once
    assert not table.crashes, [o.path for o in table.crashes]
    assert not table.hangs, [o.path for o in table.hangs]
    assert not table.memory_kills, [o.path for o in table.memory_kills]
    assert all(o.error.strip() or o.chunks for o in table.outcomes)  # indexed, or a reason
    # Every reason is a sentence for people (engine/messages.py), whatever pypdf said.
    unfit = {o.error: problems(o.error) for o in table.outcomes if o.error and problems(o.error)}
    assert unfit == {}
    assert len(table.indexed) > len(paths) // 2
