"""Scanned PDFs and pictures read by OCR: pages made in the test from known text (no text
layer), indexed with the real models, searched, highlighted; accuracy measured."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import pytest

from engine import EngineConfig, Library
from engine.errors import ReaderError
from engine.ingest import OcrOptions, read_file
from engine.ingest.ocr import garbage_share, needs_ocr, read_image_text, span_rects
from engine.ingest.pdf import NO_TEXT_OCR_OFF
from engine.progress import CancelToken
from engine.types import Progress
from tests.engine.test_readers import make_pdf
from tests.scans import SANS, SERIF, char_error_rate, pdf_of_images, scan_page

ARCHIVE = [
    "After the flood of March 2019 the archive boxes were dried in the",
    "east wing and every record was scanned again by the registry team.",
    "Invoices above 4,750 EUR need a second signature from finance.",
    "Questions about the archive go to Maren Tolliver, room B-214.",
]
LEAVE = [
    "Part-time staff receive annual leave in proportion to their hours.",
    "Requests for more than ten consecutive days are made in writing.",
]


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over union of two rectangles."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / area


def test_scanned_pdf_is_searchable_with_page_citation_and_highlight(
    library: Library, tmp_path: Path
) -> None:
    """A PDF made by rasterising a page of known text (no text layer) is indexed; a search
    for one of its sentences finds that document and page, marked as read by OCR, and the
    highlight rectangle lies on the sentence as it was drawn."""
    folder = tmp_path / "docs"
    folder.mkdir()
    cover = scan_page(["Registry handbook", "Version 3"], points=16)
    page = scan_page(ARCHIVE, font=SERIF, points=11, dpi=150)
    (folder / "archive-scan.pdf").write_bytes(pdf_of_images([cover.image, page.image]))
    (folder / "leave.md").write_text("# Leave\n\n" + " ".join(LEAVE), encoding="utf-8")
    with library.create("Scans") as coll:
        report = coll.index([folder])
        assert {Path(o.path).name for o in report.indexed} == {"archive-scan.pdf", "leave.md"}
        assert report.failed == []
        hits = coll.search("Invoices above 4,750 EUR need a second signature from finance", k=3)
        top = hits[0]
        assert Path(top.path).name == "archive-scan.pdf" and top.page == 2
        assert top.ocr is True
        assert top.location == "page 2, read by OCR"
        sentence = ARCHIVE[2]
        at = top.text.find(sentence)
        assert at >= 0, top.text
        boxes = coll.page_boxes(top.path, top.page)
        rects = span_rects(boxes, top.start + at, top.start + at + len(sentence))
        assert len(rects) == 1  # one line, one rectangle
        assert _overlap(rects[0], page.boxes[2]) > 0.6, (rects, page.boxes[2])
        # The other lines are not highlighted.
        assert _overlap(rects[0], page.boxes[1]) == 0.0
        # A text document keeps its plain location.
        leave = coll.search("annual leave in proportion to hours", k=1)[0]
        assert leave.ocr is False and leave.location == "section 1"


def test_mixed_pdf_keeps_text_pages_and_reads_only_scanned_pages(tmp_path: Path) -> None:
    """Text pages keep pypdf's text; only the scanned pages are read by OCR."""
    from pypdf import PdfReader, PdfWriter

    text_pdf = PdfReader(
        io.BytesIO(
            make_pdf(["Chapter one: the travel policy.", "Chapter two: booking trains and hotels."])
        )
    )
    scans = PdfReader(
        io.BytesIO(pdf_of_images([scan_page(ARCHIVE).image, scan_page(LEAVE, font=SANS).image]))
    )
    writer = PdfWriter()
    for p in (text_pdf.pages[0], scans.pages[0], text_pdf.pages[1], scans.pages[1]):
        writer.add_page(p)
    out = io.BytesIO()
    writer.write(out)
    path = tmp_path / "mixed.pdf"
    path.write_bytes(out.getvalue())

    asked: list[tuple[int, int]] = []
    doc = read_file(path, ocr=OcrOptions(on_page=lambda n, total: asked.append((n, total))))
    assert asked == [(2, 4), (4, 4)]  # OCR ran on the scanned pages only
    by_page = {s.page: s for s in doc.sections}
    assert by_page[1].text == "Chapter one: the travel policy." and by_page[1].flags == ()
    assert by_page[3].text == "Chapter two: booking trains and hotels."
    assert by_page[1].boxes == () and by_page[3].boxes == ()
    assert by_page[2].flags == ("ocr",) and by_page[4].flags == ("ocr",)
    assert char_error_rate(by_page[2].text, "\n".join(ARCHIVE)) < 0.03
    assert char_error_rate(by_page[4].text, "\n".join(LEAVE)) < 0.03
    assert doc.warnings == ()

    # With OCR off the scanned pages stay unread, and say so.
    plain = read_file(path, ocr=OcrOptions(enabled=False))
    assert [s.page for s in plain.sections if s.text] == [1, 3]
    assert plain.warnings == (
        "2 of 4 pages have no text (perhaps scanned images), so they cannot be searched.",
    )


PROSE = [
    [
        "The committee met on 14 May 2024 to review the budget for the coming year.",
        "Travel costs fell by 12% while software licences rose to 38,200 EUR.",
        "Members agreed to move the archive to the basement before October.",
        "The minutes were approved without changes and signed by the chair.",
    ],
    [
        "Staff who work from home must lock their screen when they leave the desk.",
        "Laptops are encrypted; lost devices are reported to IT within one hour.",
        "Passwords have at least 14 characters and are never shared by e-mail.",
        "Visitors sign in at reception and wear their badge at all times.",
    ],
]


@pytest.mark.parametrize(
    ("font", "points", "dpi", "turn", "skew"),
    [
        (SERIF, 10, 150, 0, 0.0),
        (SANS, 12, 150, 0, 0.0),
        (SANS, 10, 300, 0, 0.0),
        (SERIF, 12, 300, 0, 0.0),
        (SANS, 11, 150, 90, 0.0),  # scanned sideways
        (SERIF, 11, 150, 0, 2.0),  # fed in crooked
        (SANS, 10, 150, 180, 0.0),  # upside down
    ],
    ids=[
        "serif10-150",
        "sans12-150",
        "sans10-300",
        "serif12-300",
        "turned90",
        "skewed2",
        "upside-down",
    ],
)
def test_character_error_rate_below_three_percent(
    font: str, points: int, dpi: int, turn: int, skew: float
) -> None:
    """CER of the OCR text against the known text, per font, size, resolution, orientation;
    the pages go through a PDF without text layer, as a scanner writes them."""
    lines = PROSE[(points + dpi) % 2]
    page = scan_page(lines, font=font, points=points, dpi=dpi)
    image = page.image
    if turn:
        image = image.rotate(turn, expand=True, fillcolor=255)
    if skew:
        image = image.rotate(skew, expand=False, fillcolor=255, resample=3)
    doc = read_file_from_bytes(pdf_of_images([image], dpi=dpi))
    (section,) = doc.sections
    assert section.flags == ("ocr",)
    cer = char_error_rate(section.text, page.text)
    assert cer < 0.03, (cer, section.text)


def test_a_full_dense_page_is_read_line_for_line() -> None:
    """A whole page of 10.5 pt text (44 lines): every line comes back in order, and the CER
    stays below 3% (rapidocr's per-line direction classifier once garbled whole lines)."""
    words = (
        "the committee agreed that travel costs for the year would be reviewed in May and "
        "that every invoice above 4,750 EUR needs a second signature from finance before "
        "payment"
    ).split()
    lines = []
    for i in range(44):
        k = (i * 7) % len(words)
        lines.append(" ".join((words[k:] + words[:k])[:12]).capitalize() + f" {i + 1}.")
    page = scan_page(lines, font=SANS, points=10.5, dpi=150)
    doc = read_file_from_bytes(pdf_of_images([page.image]))
    (section,) = doc.sections
    got = section.text.splitlines()
    assert [line.rsplit(" ", 1)[-1] for line in got] == [f"{i + 1}." for i in range(44)]
    assert char_error_rate(section.text, page.text) < 0.03


def read_file_from_bytes(data: bytes) -> Any:
    from engine.ingest.pdf import read_pdf

    return read_pdf(data, OcrOptions())


def test_sideways_page_boxes_are_given_on_the_page_as_it_is() -> None:
    """A page scanned a quarter turn is read turned back; its boxes are where the words are
    on the page as stored (so highlights land on them)."""
    page = scan_page(ARCHIVE[:2], points=12)
    turned = page.image.rotate(90, expand=True, fillcolor=255)  # counter-clockwise
    found = read_image_text(turned)
    assert found.turned == 90  # turned back clockwise
    assert char_error_rate(found.text, page.text) < 0.03
    first_line = [b for b in found.boxes if b[1] <= len(ARCHIVE[0])]
    x0 = min(b[2] for b in first_line)
    y1 = max(b[5] for b in first_line)
    # The first line of the upright page (near its top) is near the left of the turned one,
    # and runs upwards from the bottom.
    assert x0 < 0.25 and y1 > 0.75


def test_pictures_are_documents_and_tiff_pages_are_pages(library: Library, tmp_path: Path) -> None:
    """PNG, JPEG and a two-page TIFF are indexed by OCR; the TIFF's second page is page 2."""
    folder = tmp_path / "pictures"
    folder.mkdir()
    scan_page(ARCHIVE[:2]).image.save(folder / "receipt.png")
    scan_page(LEAVE, font=SANS).image.convert("RGB").save(folder / "form.jpg", quality=90)
    first = scan_page(["Delivery note 5531 for the registry."])
    second = scan_page(["Parcel collected by the night porter at 21:40."])
    first.image.save(folder / "fax.tiff", save_all=True, append_images=[second.image])
    with library.create("Pictures") as coll:
        report = coll.index([folder])
        assert report.failed == []
        assert len(report.indexed) == 3
        hit = coll.search("parcel collected by the night porter", k=1)[0]
        assert Path(hit.path).name == "fax.tiff" and hit.page == 2
        assert hit.location == "page 2, read by OCR"
        jpg = coll.search("part-time staff annual leave in proportion", k=1)[0]
        assert Path(jpg.path).name == "form.jpg" and jpg.ocr


def test_ocr_off_leaves_scans_unread_and_turning_it_on_reads_them(
    embedder: object, tmp_path: Path
) -> None:
    """The setting: off, a scanned PDF and a picture fail with a reason that says how to read
    them; on again, the next index run reads exactly those files."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "scan.pdf").write_bytes(pdf_of_images([scan_page(ARCHIVE).image]))
    scan_page(LEAVE).image.save(folder / "photo.png")
    (folder / "note.txt").write_text("The canteen opens at eight.", encoding="utf-8")
    off = Library(
        EngineConfig(home=tmp_path / "home", parse_workers=1, ocr=False), embedder=embedder
    )  # type: ignore[arg-type]
    with off.create("Office") as coll:
        report = coll.index([folder])
        failed = {Path(o.path).name: o.reason for o in report.failed}
        assert failed["scan.pdf"] == NO_TEXT_OCR_OFF
        assert "turned off" in failed["photo.png"]
        assert [Path(o.path).name for o in report.indexed] == ["note.txt"]
    on = Library(EngineConfig(home=tmp_path / "home", parse_workers=1), embedder=embedder)  # type: ignore[arg-type]
    with on.open("Office") as coll:
        report = coll.index()
        assert sorted(Path(o.path).name for o in report.indexed) == ["photo.png", "scan.pdf"]
        assert report.failed == [] and len(report.unchanged) == 1


def test_progress_names_the_scanned_page_and_cancel_stops_mid_document(
    library: Library, tmp_path: Path
) -> None:
    """While a scan is read, progress says which page; cancelling then stops the run within
    seconds, in the middle of the document, and nothing of it is kept."""
    folder = tmp_path / "docs"
    folder.mkdir()
    pages = [
        scan_page([f"Page {n} of the long scanned contract.", *ARCHIVE]).image for n in range(1, 7)
    ]
    (folder / "contract.pdf").write_bytes(pdf_of_images(pages))
    cancel = CancelToken()
    seen: list[str] = []
    asked_at: list[float] = []

    def progress(p: Progress) -> None:
        if p.detail:
            seen.append(p.detail)
            if "page 2 of 6" in p.detail and not cancel.cancelled:
                asked_at.append(time.monotonic())
                cancel.cancel()

    with library.create("Long") as coll:
        report = coll.index([folder], progress, cancel)
        stopped = time.monotonic()
        assert report.cancelled
        assert seen[0] == "page 1 of 6 (reading the scan)"
        assert "page 2 of 6 (reading the scan)" in seen
        assert not any("page 6 of 6" in s for s in seen)
        assert stopped - asked_at[0] < 5.0
        assert [d for d in coll.documents() if d.status == "indexed"] == []


def test_which_pages_need_ocr() -> None:
    """Pure rules: empty, glyph garbage, or a few letters on a page that is mostly picture."""
    no_images = lambda: 0.0  # noqa: E731
    mostly_image = lambda: 0.9  # noqa: E731
    assert needs_ocr("", no_images)
    assert needs_ocr("   \n 12 ", no_images)  # no letters at all
    assert needs_ocr("(cid:12)(cid:7)(cid:44)(cid:3) (cid:9)(cid:12)", no_images)
    assert needs_ocr("\ue001\ue002\ue003\ue004 ab", no_images)
    assert needs_ocr("Scan 3 of 7", mostly_image)  # a stamp on a scanned page
    assert not needs_ocr("Scan 3 of 7", no_images)  # a short text page is just short
    assert not needs_ocr("A real page of text. " * 10, mostly_image)  # text over a picture
    assert garbage_share("plain words") == 0.0
    assert garbage_share("(cid:1)(cid:2)") == 1.0


def test_highlight_rectangles_merge_words_per_line() -> None:
    boxes = [
        (0, 5, 0.10, 0.10, 0.20, 0.12),
        (6, 11, 0.22, 0.10, 0.30, 0.12),
        (12, 16, 0.10, 0.13, 0.18, 0.15),
        (17, 20, 0.20, 0.13, 0.25, 0.15),
    ]
    assert span_rects(boxes, 0, 11) == [(0.10, 0.10, 0.30, 0.12)]
    assert span_rects(boxes, 7, 14) == [(0.22, 0.10, 0.30, 0.12), (0.10, 0.13, 0.18, 0.15)]
    assert span_rects(boxes, 21, 30) == []


def test_damaged_pictures_fail_with_a_reason(tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    with pytest.raises(ReaderError, match="picture is damaged"):
        read_file(bad, ocr=OcrOptions())
    blank = tmp_path / "blank.png"
    scan_page([]).image.save(blank)
    with pytest.raises(ReaderError, match="no text that Folio could recognise"):
        read_file(blank, ocr=OcrOptions())


def test_cli_no_ocr_then_ocr_and_search_json_marks_the_page(tmp_path: Path) -> None:
    """`folio index --no-ocr` leaves a scan unread with a reason; `folio index` reads it;
    `folio search --json` gives "ocr": true and the location with "read by OCR"."""
    from tests.engine.test_cli import folio

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "minutes.pdf").write_bytes(pdf_of_images([scan_page(PROSE[0]).image]))
    home = tmp_path / "home"
    off = folio(home, "index", str(docs), "-c", "Minutes", "--no-ocr", "--json")
    report = json.loads(off.stdout)
    assert [f["reason"] for f in report["failed"]] == [NO_TEXT_OCR_OFF]
    on = json.loads(folio(home, "index", "-c", "Minutes", "--json").stdout)
    assert [Path(f["path"]).name for f in on["indexed"]] == ["minutes.pdf"]
    found = folio(home, "search", "software licences rose", "-c", "Minutes", "--json")
    top = json.loads(found.stdout)["hits"][0]
    assert top["ocr"] is True and top["page"] == 1
    assert top["location"] == "page 1, read by OCR"


def test_a_picture_with_too_many_pixels_is_refused_unread(tmp_path: Path) -> None:
    """A decompression bomb (a tiny file that claims a huge picture) is refused by its size."""
    from PIL import Image

    big = tmp_path / "huge.png"
    Image.new("1", (20_000, 10_000), 1).save(big)
    assert big.stat().st_size < 1_000_000
    started = time.monotonic()
    with pytest.raises(ReaderError, match="too large to read safely"):
        read_file(big, ocr=OcrOptions())
    assert time.monotonic() - started < 5


def test_text_is_found_on_a_smaller_copy_and_read_from_the_full_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Finding the text on a whole page at full size took 550 MB more memory than the reader
    otherwise needs; the detector gets the page at most DETECT_MAX pixels long, and the words,
    read from the full-size page, come out as well as before."""
    from rapidocr.inference_engine.onnxruntime.main import OrtInferSession

    from engine.ingest import ocr

    shapes: list[tuple[int, ...]] = []
    real = OrtInferSession.__call__

    def spy(self, input_content):  # type: ignore[no-untyped-def]
        shapes.append(tuple(input_content.shape))
        return real(self, input_content)

    monkeypatch.setattr(OrtInferSession, "__call__", spy)
    lines = [f"Invoice {n} of the travel budget was approved on {n} May." for n in range(20)]
    page = scan_page(lines, font=SERIF, points=11, dpi=200)
    assert max(page.image.size) > ocr.DETECT_MAX
    found = read_image_text(page.image)
    detector = [s for s in shapes if len(s) == 4 and s[1] == 3 and min(s[2:]) > 100]
    assert detector and max(max(s[2:]) for s in detector) <= ocr.DETECT_MAX
    assert char_error_rate(found.text, page.text) < 0.03
