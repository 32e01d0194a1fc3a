"""Tests of engine.ingest: format sniffing and the PDF, DOCX, HTML, Markdown and text readers."""

from __future__ import annotations

import io
import os
import random
import signal
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import FolioError, ReaderError, UnsupportedFile
from engine.ingest import SUPPORTED_KINDS, read_file, sniff
from engine.types import ParsedDocument

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"

# ---------------------------------------------------------------------------------------------
# Builders for small test files


def _pdf_string(text: str) -> str:
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def make_pdf(pages: list[str | None], catalog_extra: str = "") -> bytes:
    """A minimal valid PDF: one page per entry, each line of the text on its own line;
    None makes a page with no text (as a scanned page has none)."""
    objects: list[bytes] = []
    n = len(pages)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(n))
    objects.append(f"<< /Type /Catalog /Pages 2 0 R {catalog_extra}>>".encode())
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for text in pages:
        page_no = len(objects) + 1
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {page_no + 1} 0 R >>".encode()
        )
        ops = ["BT", "/F1 12 Tf", "72 720 Td", "14 TL"]
        for line in (text or "").splitlines() if text is not None else []:
            ops.append(f"{_pdf_string(line)} Tj T*")
        ops.append("ET")
        stream = "\n".join(ops if text is not None else ["0 0 m"]).encode("latin-1")
        objects.append(
            b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream"
        )
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


def encrypt_pdf(data: bytes, user: str, owner: str, algorithm: str = "RC4-128") -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user, owner_password=owner, algorithm=algorithm)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def make_docx(build: Callable[[object], None]) -> bytes:
    """A .docx made with python-docx; ``build`` receives the Document to fill."""
    import docx

    document = docx.Document()
    build(document)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _sample_docx(document: object) -> None:
    d = document  # python-docx has no type hints worth checking here
    d.add_heading("Introduction", level=1)  # type: ignore[attr-defined]
    d.add_paragraph("The first paragraph talks about apples.")  # type: ignore[attr-defined]
    table = d.add_table(rows=2, cols=2)  # type: ignore[attr-defined]
    table.cell(0, 0).text, table.cell(0, 1).text = "Fruit", "Colour"
    table.cell(1, 0).text, table.cell(1, 1).text = "Apple", "Red"
    d.add_paragraph("A paragraph after the table.")  # type: ignore[attr-defined]
    d.add_heading("Method", level=2)  # type: ignore[attr-defined]
    d.add_paragraph("We counted the oranges.")  # type: ignore[attr-defined]
    d.add_heading("Detail", level=3)  # type: ignore[attr-defined]
    d.add_paragraph("A level-3 heading does not start a section.")  # type: ignore[attr-defined]


SAMPLE_HTML = """<!DOCTYPE html>
<html><head><title>The  Page Title</title>
<style>body { color: red; } .hidden-css-text {}</style>
<script>var secret = "script text must not show";</script>
</head><body>
<h1>Main &amp; Heading</h1>
<p>First paragraph with   extra
spaces.<br>After a break.</p>
<noscript>noscript text must not show</noscript>
<table><tr><th>Name</th><th>Age</th></tr><tr><td>Ann</td><td>31</td></tr></table>
<ul><li>one</li><li>two</li></ul>
<template><p>template text must not show</p></template>
<p>Caf&eacute; &lt;tag&gt; &#8364;5</p>
</body></html>
"""


def write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def full_text(doc: ParsedDocument) -> str:
    return "\n".join(section.text for section in doc.sections)


def check_document(doc: ParsedDocument) -> None:
    """What every ParsedDocument must satisfy."""
    assert doc.kind in SUPPORTED_KINDS
    assert doc.sections
    assert any(section.text for section in doc.sections)
    for section in doc.sections:
        assert isinstance(section.text, str)
        section.text.encode("utf-8")  # no lone surrogates
        assert "\x00" not in section.text
        assert section.label
        # Word boxes of a page read by OCR: spans inside the text, corners on the page.
        for start, end, x0, y0, x1, y1 in section.boxes:
            assert 0 <= start < end <= len(section.text)
            assert 0.0 <= x0 <= x1 <= 1.0 and 0.0 <= y0 <= y1 <= 1.0
    assert all(isinstance(w, str) for w in doc.warnings)


# ---------------------------------------------------------------------------------------------
# PDF


def test_pdf_pages_keep_their_numbers(tmp_path: Path) -> None:
    data = make_pdf(["Alpha page text\nsecond line", "Beta page text", "Gamma page text"])
    doc = read_file(write(tmp_path, "three.pdf", data))
    check_document(doc)
    assert doc.kind == "pdf"
    assert [s.page for s in doc.sections] == [1, 2, 3]
    assert [s.label for s in doc.sections] == ["page 1", "page 2", "page 3"]
    assert "Alpha page text" in doc.sections[0].text
    assert "second line" in doc.sections[0].text
    assert "Gamma" in doc.sections[2].text
    assert doc.warnings == ()


def test_pdf_text_is_normalised(tmp_path: Path) -> None:
    doc = read_file(write(tmp_path, "ws.pdf", make_pdf(["a    b\tc\x01d", "next"])))
    text = doc.sections[0].text
    assert "  " not in text
    assert "\x01" not in text


def test_pdf_with_empty_user_password_opens(tmp_path: Path) -> None:
    data = encrypt_pdf(make_pdf(["Secret but open text"]), user="", owner="owner-pw")
    doc = read_file(write(tmp_path, "empty-pw.pdf", data))
    assert "Secret but open text" in doc.sections[0].text


@pytest.mark.parametrize("algorithm", ["AES-128", "AES-256"])
def test_pdf_with_empty_user_password_aes_opens(tmp_path: Path, algorithm: str) -> None:
    """What "secured" office PDFs usually are: AES, opened without a password. Folio depends on
    pypdf's crypto extra, so these are read, never refused for a missing package."""
    pdf = make_pdf(["AES but open", "Page two"])
    data = encrypt_pdf(pdf, user="", owner="o", algorithm=algorithm)
    assert b"/AESV" in data  # really AES (V2 = 128-bit, V3 = 256-bit), not RC4
    doc = read_file(write(tmp_path, f"{algorithm}.pdf", data))
    assert [s.text for s in doc.sections] == ["AES but open", "Page two"]
    assert doc.warnings == ()


@pytest.mark.parametrize("algorithm", ["AES-128", "AES-256"])
def test_pdf_with_aes_user_password_needs_it(tmp_path: Path, algorithm: str) -> None:
    data = encrypt_pdf(make_pdf(["Locked"]), user="user-pw", owner="o", algorithm=algorithm)
    with pytest.raises(ReaderError, match=r"^This PDF is protected by a password"):
        read_file(write(tmp_path, f"locked-{algorithm}.pdf", data))


def test_pdf_with_password_needs_it(tmp_path: Path) -> None:
    data = encrypt_pdf(make_pdf(["Locked text"]), user="user-pw", owner="owner-pw")
    with pytest.raises(ReaderError, match=r"^This PDF is protected by a password"):
        read_file(write(tmp_path, "locked.pdf", data))


def test_pdf_scanned_pages_are_flagged(tmp_path: Path) -> None:
    doc = read_file(write(tmp_path, "half.pdf", make_pdf(["Has text", None, None])))
    assert [s.flags for s in doc.sections] == [(), ("no_text",), ("no_text",)]
    assert [s.page for s in doc.sections] == [1, 2, 3]
    assert doc.warnings == (
        "2 of 3 pages have no text (perhaps scanned images), so they cannot be searched.",
    )


def test_pdf_without_any_text_fails(tmp_path: Path) -> None:
    with pytest.raises(ReaderError, match="no text that Folio can read"):
        read_file(write(tmp_path, "scan.pdf", make_pdf([None, None])))


def test_pdf_bad_page_is_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pypdf import PageObject

    real = PageObject.extract_text

    def flaky(self: PageObject, *args: object, **kwargs: object) -> str:
        text = real(self, *args, **kwargs)  # type: ignore[arg-type]
        if "Broken" in text:
            raise KeyError("/Font")
        return text

    monkeypatch.setattr(PageObject, "extract_text", flaky)
    doc = read_file(write(tmp_path, "bad.pdf", make_pdf(["Good one", "Broken", "Good two"])))
    assert [s.page for s in doc.sections] == [1, 3]
    assert any("1 of 3 pages could not be read" in w for w in doc.warnings)


def test_pdf_with_huge_array_reads(tmp_path: Path) -> None:
    """Real filings hold arrays beyond pypdf's default cap of 100,000 elements."""
    data = make_pdf(["Big array"], catalog_extra="/Filler [" + "0 " * 150_000 + "] ")
    assert "Big array" in read_file(write(tmp_path, "big-array.pdf", data)).sections[0].text


def test_pdf_damaged_is_reader_error(tmp_path: Path) -> None:
    data = make_pdf(["Some text"])
    with pytest.raises(ReaderError):
        read_file(write(tmp_path, "cut.pdf", data[:40]))
    with pytest.raises(ReaderError, match=r"This PDF is damaged|no text"):
        read_file(write(tmp_path, "junk.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 10))


# ---------------------------------------------------------------------------------------------
# DOCX


def test_docx_paragraphs_headings_and_tables_in_order(tmp_path: Path) -> None:
    doc = read_file(write(tmp_path, "sample.docx", make_docx(_sample_docx)))
    check_document(doc)
    assert doc.kind == "docx"
    text = full_text(doc)
    order = ["Introduction", "apples", "Fruit | Colour\nApple | Red", "after the table", "Method"]
    positions = [text.index(piece) for piece in order]
    assert positions == sorted(positions)
    # Heading 1 and Heading 2 start sections; the heading text is its own paragraph.
    assert len(doc.sections) == 2
    assert doc.sections[0].text.startswith("Introduction\n\n")
    assert doc.sections[1].text.startswith("Method\n\nWe counted")
    assert "level-3 heading" in doc.sections[1].text
    assert [s.label for s in doc.sections] == ["section 1", "section 2"]
    assert [s.page for s in doc.sections] == [1, 2]


def test_docx_without_headings(tmp_path: Path) -> None:
    def short(d: object) -> None:
        for i in range(5):
            d.add_paragraph(f"Paragraph number {i}.")  # type: ignore[attr-defined]

    def long(d: object) -> None:
        for i in range(400):
            d.add_paragraph(f"Paragraph number {i} " + "lorem ipsum dolor " * 10)  # type: ignore[attr-defined]

    assert len(read_file(write(tmp_path, "short.docx", make_docx(short))).sections) == 1
    doc = read_file(write(tmp_path, "long.docx", make_docx(long)))
    assert len(doc.sections) > 3
    assert all(len(s.text) < 20_000 for s in doc.sections)
    assert doc.sections[0].text.startswith("Paragraph number 0 ")
    assert doc.sections[-1].text.rstrip().endswith("dolor")


def test_docx_empty_and_broken(tmp_path: Path) -> None:
    with pytest.raises(ReaderError, match=r"^The file is empty"):
        read_file(write(tmp_path, "blank.docx", make_docx(lambda d: None)))
    data = make_docx(_sample_docx)
    with pytest.raises(ReaderError):
        read_file(write(tmp_path, "cut.docx", data[: len(data) // 2]))


def test_other_office_zip_is_unsupported(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    path = write(tmp_path, "book.xlsx", buffer.getvalue())
    assert sniff(path) is None
    with pytest.raises(UnsupportedFile, match="xlsx"):
        read_file(path)


# ---------------------------------------------------------------------------------------------
# Text and Markdown


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-8", b"\xef\xbb\xbf"),
        ("utf-16-le", b"\xff\xfe"),
        ("utf-16-be", b"\xfe\xff"),
        ("utf-32-le", b"\xff\xfe\x00\x00"),
        ("utf-8", b""),
    ],
)
def test_text_encodings_with_bom(tmp_path: Path, encoding: str, bom: bytes) -> None:
    original = "Grüße aus Köln — naïve café ✓\nzweite Zeile\n"
    doc = read_file(write(tmp_path, "note.txt", bom + original.encode(encoding)))
    assert doc.kind == "text"
    assert doc.sections[0].text == original.strip()
    assert "\ufeff" not in doc.sections[0].text


def test_text_utf16_without_bom(tmp_path: Path) -> None:
    original = "Plain words in UTF-16 without a byte order mark.\n" * 20
    doc = read_file(write(tmp_path, "u16.txt", original.encode("utf-16-le")))
    assert doc.sections[0].text == original.strip()


def test_text_cp1252_fallback(tmp_path: Path) -> None:
    original = (
        "Le café était fermé. Voilà pourquoi nous sommes allés à l'hôtel près de la gare. "
        "Ça coûte 5 € — c'est très cher, déjà réservé.\n"
    ) * 5
    doc = read_file(write(tmp_path, "latin.txt", original.encode("cp1252")))
    assert doc.kind == "text"
    assert "café était fermé" in doc.sections[0].text


def test_text_newlines_are_normalised(tmp_path: Path) -> None:
    doc = read_file(write(tmp_path, "crlf.txt", b"one\r\ntwo\rthree\n"))
    assert doc.sections[0].text == "one\ntwo\nthree"


def test_long_text_is_split_at_paragraphs(tmp_path: Path) -> None:
    paragraphs = [f"Paragraph {i}. " + "words and more words " * 20 for i in range(200)]
    doc = read_file(write(tmp_path, "long.txt", "\n\n".join(paragraphs)))
    assert len(doc.sections) > 3
    assert all(s.text.startswith("Paragraph ") for s in doc.sections)
    assert [s.label for s in doc.sections][:2] == ["section 1", "section 2"]
    assert sum(s.text.count("Paragraph ") for s in doc.sections) == 200


def test_markdown_is_kept_as_written(tmp_path: Path) -> None:
    source = "# My Notes\n\nSome **bold** and a [link](http://x).\n\n## Part\n\n- item\n"
    doc = read_file(write(tmp_path, "notes.md", source))
    assert doc.kind == "markdown"
    assert doc.title == "My Notes"
    assert len(doc.sections) == 1
    assert doc.sections[0].text == source.strip()


def test_long_markdown_splits_at_top_headings(tmp_path: Path) -> None:
    body = "Text of the chapter. " * 600  # ~12.6k characters
    source = (
        f"# Book\n\n## One\n\n{body}\n\n```\n# a comment, not a heading\n```\n\n"
        f"## Two\n\n{body}\n\n### Sub (no split)\n\nmore\n\n## Three\n\n{body}\n"
    )
    doc = read_file(write(tmp_path, "book.markdown", source))
    assert [s.text.split("\n")[0] for s in doc.sections] == ["# Book", "## Two", "## Three"]
    assert "# a comment, not a heading" in doc.sections[0].text
    assert "### Sub" in doc.sections[1].text


def test_rst_is_text(tmp_path: Path) -> None:
    assert read_file(write(tmp_path, "doc.rst", "Title\n=====\n\nBody.\n")).kind == "text"


# ---------------------------------------------------------------------------------------------
# HTML


def test_html_visible_text_only(tmp_path: Path) -> None:
    doc = read_file(write(tmp_path, "page.html", SAMPLE_HTML))
    check_document(doc)
    text = full_text(doc)
    assert doc.kind == "html"
    assert doc.title == "The Page Title"
    assert "must not show" not in text
    assert "color" not in text and "secret" not in text
    assert "Main & Heading" in text
    assert "First paragraph with extra spaces.\nAfter a break." in text
    assert "Name | Age\nAnn | 31" in text
    assert "one\ntwo" in text
    assert "Café <tag> €5" in text
    assert "The Page Title" not in text


def test_html_menus_and_raw_text(tmp_path: Path) -> None:
    page = (
        "<html><head><title>T &amp; <b>x</b></title></head><body>"
        "<nav><a href='/'>Home</a><a href='/about'>About us</a></nav>"
        "<p>Body text</p><textarea>typed <text> here</textarea>"
        "<script>if (a < b) { document.write('</p>hidden') }</script><p>after</p>"
        "<![CDATA[ ignored ]]><?php echo 1 ?><p>x &lt; y, a < b</p></body></html>"
    )
    doc = read_file(write(tmp_path, "menus.html", page))
    text = full_text(doc)
    assert doc.title == "T & <b>x</b>"
    assert "About us" not in text and "hidden" not in text and "ignored" not in text
    assert "Body text" in text and "typed <text> here" in text and "after" in text
    assert "x < y, a < b" in text


@pytest.mark.parametrize(
    "page",
    [
        "<p>before</p><!--" + "<!--x" * 50_000,
        "<p>" + "a < b " * 50_000 + "</p>",
        '<p>before</p><a href="' + "x<" * 50_000,
        "<p>before</p>" + "<![" * 50_000,
        "<p>before</p>" + "</" * 50_000,
        "<p>before</p>" + "<b>bold</b>" * 20_000,
    ],
    ids=["comment", "lt", "quote", "marked-section", "end-tags", "many-tags"],
)
def test_html_pathological_markup_is_fast(tmp_path: Path, page: str) -> None:
    """html.parser alone is quadratic on these (minutes); read_file stays linear."""
    started = time.monotonic()
    text = full_text(read_file(write(tmp_path, "bad.html", page)))
    assert time.monotonic() - started < 5
    assert text.startswith(("before", "a < b"))


def test_html_meta_charset(tmp_path: Path) -> None:
    page = '<html><head><meta charset="windows-1252"></head><body><p>Señor café</p></body></html>'
    doc = read_file(write(tmp_path, "old.htm", page.encode("cp1252")))
    assert "Señor café" in full_text(doc)


def test_html_with_only_script_is_empty(tmp_path: Path) -> None:
    with pytest.raises(ReaderError, match=r"^The file is empty"):
        read_file(write(tmp_path, "js.html", "<html><script>alert(1)</script></html>"))


# ---------------------------------------------------------------------------------------------
# Sniffing, mislabelled and unsupported files, file-level errors


def test_sniff_by_content(tmp_path: Path) -> None:
    assert sniff(write(tmp_path, "a.pdf", make_pdf(["x"]))) == "pdf"
    assert sniff(write(tmp_path, "a.docx", make_docx(_sample_docx))) == "docx"
    assert sniff(write(tmp_path, "a.html", SAMPLE_HTML)) == "html"
    assert sniff(write(tmp_path, "a.md", "# hi\n")) == "markdown"
    assert sniff(write(tmp_path, "a.mdx", "# hi\n")) == "markdown"
    assert sniff(write(tmp_path, "a.txt", "hello\n")) == "text"
    assert sniff(write(tmp_path, "noext", "hello\n")) == "text"
    # Pictures are read by OCR (by their content, whatever their name).
    assert sniff(write(tmp_path, "a.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 50)) == "image"
    assert sniff(write(tmp_path, "scan.dat", b"II*\x00" + b"\x00" * 50)) == "image"
    assert sniff(write(tmp_path, "a.gif", b"GIF89a" + b"\x00" * 50)) is None
    assert sniff(write(tmp_path, "a.exe", b"MZ\x90\x00\x03\x00\x00\x00" * 40)) is None
    assert {"pdf", "docx", "html", "markdown", "text", "image"} == SUPPORTED_KINDS


def test_pdf_after_leading_junk_is_pdf(tmp_path: Path) -> None:
    data = b"\x00junk\x00" * 20 + make_pdf(["After junk"])
    assert sniff(write(tmp_path, "junk.bin", data)) == "pdf"


def test_mislabelled_files_go_to_the_right_reader(tmp_path: Path) -> None:
    pdf_as_txt = read_file(write(tmp_path, "really-a-pdf.txt", make_pdf(["PDF in disguise"])))
    assert pdf_as_txt.kind == "pdf"
    assert "PDF in disguise" in pdf_as_txt.sections[0].text
    text_as_pdf = read_file(write(tmp_path, "really-text.pdf", "Just some notes.\n"))
    assert text_as_pdf.kind == "text"
    html_as_txt = read_file(write(tmp_path, "page.txt", SAMPLE_HTML))
    assert html_as_txt.kind == "html"
    docx_as_bin = read_file(write(tmp_path, "doc.bin", make_docx(_sample_docx)))
    assert docx_as_bin.kind == "docx"
    md_mentioning_pdf = "# About PDFs\n\nA PDF file starts with %PDF-1.7 as its header.\n"
    assert read_file(write(tmp_path, "about.md", md_mentioning_pdf)).kind == "markdown"


def test_pdf_syntax_without_header_goes_to_the_pdf_reader(tmp_path: Path) -> None:
    body = make_pdf(["Headless text"])[15:]  # no "%PDF-1.4" line
    doc = read_file(write(tmp_path, "headless.pdf", body))
    assert doc.kind == "pdf"  # pypdf recovers it
    assert "Headless text" in doc.sections[0].text
    # The same bytes named .txt are what they say: text about PDF syntax.
    assert read_file(write(tmp_path, "headless.txt", body)).kind == "text"


def test_binary_is_unsupported(tmp_path: Path) -> None:
    rng = random.Random(7)
    noise = bytes(rng.randrange(256) for _ in range(5000))
    with pytest.raises(ReaderError, match=r"^This picture is damaged"):
        read_file(write(tmp_path, "image.png", b"\x89PNG\r\n\x1a\n" + noise))
    with pytest.raises(UnsupportedFile, match=r"^This file holds no text Folio can read"):
        read_file(write(tmp_path, "noise.bin", noise))
    with pytest.raises(UnsupportedFile, match=r"^Folio does not read \.xlsx files\. Save it"):
        read_file(write(tmp_path, "sheet.xlsx", b"\x00\x01" + noise))
    with pytest.raises(UnsupportedFile, match=r"^The file is named \.pdf but holds no PDF"):
        read_file(write(tmp_path, "fake.pdf", noise))
    with pytest.raises(UnsupportedFile, match=r"^The file is named \.docx but holds no Word"):
        read_file(write(tmp_path, "fake.docx", b"\x00\x01" + noise))


def test_empty_files(tmp_path: Path) -> None:
    for name, data in [("e.txt", b""), ("e.pdf", b""), ("w.md", b" \n\t\n"), ("w.txt", b"\n")]:
        with pytest.raises(ReaderError, match=r"^The file is empty, so there is nothing to read"):
            read_file(write(tmp_path, name, data))


def test_file_too_large(tmp_path: Path) -> None:
    path = write(tmp_path, "big.txt", "x" * 3 * 1024 * 1024)
    with pytest.raises(ReaderError, match=r"^The file is too large to read \(3 MB; Folio reads fi"):
        read_file(path, max_bytes=2 * 1024 * 1024)
    assert read_file(path, max_bytes=4 * 1024 * 1024).kind == "text"


def test_missing_unreadable_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ReaderError, match=r"^The file was moved or deleted while Folio"):
        read_file(tmp_path / "gone.txt")
    with pytest.raises(ReaderError, match=r"^This is a folder, not a file\.$"):
        read_file(tmp_path)
    locked = write(tmp_path, "locked.txt", "secret")
    locked.chmod(0)
    try:
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            pytest.skip("root can read a file without permissions")
        with pytest.raises(ReaderError, match=r"^Folio is not allowed to open this file"):
            read_file(locked)
    finally:
        locked.chmod(0o600)


def test_reader_errors_are_folio_errors() -> None:
    assert issubclass(ReaderError, FolioError)
    assert issubclass(UnsupportedFile, ReaderError)


# ---------------------------------------------------------------------------------------------
# Fuzzing: whatever the bytes, read_file returns a document or raises ReaderError


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def seeds() -> dict[str, bytes]:
    return {
        ".pdf": make_pdf(["Seed page one\nwith two lines", "Seed page two", None]),
        ".docx": make_docx(_sample_docx),
        ".html": SAMPLE_HTML.encode("utf-8"),
        ".md": ("# Title\n\n" + "Some text. " * 50 + "\n\n## Two\n\nMore.\n").encode("utf-8"),
    }


def read_or_reader_error(path: Path) -> ParsedDocument | None:
    """read_file's contract: a valid document, or ReaderError and nothing else."""
    try:
        doc = read_file(path)
    except ReaderError as exc:
        assert str(exc)
        return None
    check_document(doc)
    return doc


FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SUFFIXES = st.sampled_from([".pdf", ".docx", ".html", ".md", ".txt", ".bin", ""])


@FUZZ
@given(data=st.binary(max_size=4096), suffix=SUFFIXES)
def test_fuzz_random_bytes(fuzz_dir: Path, data: bytes, suffix: str) -> None:
    read_or_reader_error(write(fuzz_dir, "random" + suffix, data))


@st.composite
def mutations(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` with a few bytes flipped, spans deleted or duplicated, or truncated."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "delete", "duplicate", "truncate", "insert"]))
        if action == "flip":
            data[at] = draw(st.integers(0, 255))
        elif action == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif action == "duplicate":
            data[at:at] = data[at : at + draw(st.integers(1, 256))]
        elif action == "truncate":
            del data[at:]
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
    return bytes(data)


@pytest.mark.parametrize("suffix", [".pdf", ".docx", ".html", ".md"])
def test_fuzz_mutated_documents(fuzz_dir: Path, seeds: dict[str, bytes], suffix: str) -> None:
    @FUZZ
    @given(data=mutations(seeds[suffix]))
    def run(data: bytes) -> None:
        read_or_reader_error(write(fuzz_dir, "mutated" + suffix, data))

    run()


@FUZZ
@given(
    xml=st.text(
        alphabet=st.sampled_from(list("<>/=\"' &;#wpbodyrt:x1\n")) | st.characters(),
        max_size=300,
    )
)
def test_fuzz_docx_with_broken_xml(fuzz_dir: Path, seeds: dict[str, bytes], xml: str) -> None:
    """A valid zip whose document.xml is damaged (python-docx and lxml errors)."""
    source = zipfile.ZipFile(io.BytesIO(seeds[".docx"]))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            payload = source.read(info)
            if info.filename == "word/document.xml":
                cut = len(payload) // 2
                payload = payload[:cut] + xml.encode("utf-8", "surrogatepass") + payload[cut:]
            target.writestr(info.filename, payload)
    read_or_reader_error(write(fuzz_dir, "xml.docx", buffer.getvalue()))


TAGS = [
    "<p>", "</p>", "<script>", "</script>", "<style>", "</style>", "<td>", "<tr>", "<table>",
    "</table>", "<br/>", "<head>", "</head>", "<title>", "</title>", "<pre>", "</pre>", "<!--",
    "-->", "<![CDATA[", "]]>", "&amp;", "&#0;", "&#xD800;", "&#99999999;", "<!DOCTYPE html>",
    "<html>", "<body>", "<", ">", "</", "<svg><title>x</title></svg>", "<noscript>",
]  # fmt: skip


@FUZZ
@given(pieces=st.lists(st.sampled_from(TAGS) | st.text(max_size=20), max_size=60))
def test_fuzz_html_soup(fuzz_dir: Path, pieces: list[str]) -> None:
    markup = "".join(pieces).encode("utf-8", "surrogatepass")
    read_or_reader_error(write(fuzz_dir, "soup.html", markup))


# ---------------------------------------------------------------------------------------------
# Real documents from ../shared/corpus (skipped where it is absent)


class _TooSlow(BaseException):
    """Raised by the alarm in a file that reads for too long (not caught by read_file)."""


@pytest.fixture
def alarm() -> Iterator[Callable[[float], None]]:
    """Arm a per-file time guard (SIGALRM, main thread only); a no-op where unsupported."""
    usable = hasattr(signal, "SIGALRM") and hasattr(signal, "setitimer")

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise _TooSlow

    previous = signal.signal(signal.SIGALRM, on_alarm) if usable else None

    def arm(seconds: float) -> None:
        if usable:
            signal.setitimer(signal.ITIMER_REAL, seconds)

    yield arm
    if usable:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _corpus(*parts: str) -> Path:
    folder = CORPUS.joinpath(*parts)
    if not folder.is_dir():
        pytest.skip(f"corpus folder {folder} is absent")
    return folder


PER_FILE_LIMIT = 60.0  # seconds before a file counts as hanging
SLOW = 10.0  # seconds; reported, not failed (the indexer's worker has its own time limit)


def _read_all(
    paths: list[Path], arm: Callable[[float], None]
) -> tuple[dict[Path, ParsedDocument], dict[Path, str], dict[Path, float]]:
    """Read every path under the time guard: documents, per-file errors, slow files."""
    docs: dict[Path, ParsedDocument] = {}
    errors: dict[Path, str] = {}
    slow: dict[Path, float] = {}
    started = time.monotonic()
    for path in paths:
        t0 = time.monotonic()
        arm(PER_FILE_LIMIT)
        try:
            doc = read_file(path)
        except ReaderError as exc:
            errors[path] = str(exc)
        except _TooSlow:
            errors[path] = f"(test) still reading after {PER_FILE_LIMIT:.0f} s"
        else:
            check_document(doc)
            docs[path] = doc
        finally:
            arm(0)
        took = time.monotonic() - t0
        if took > SLOW:
            slow[path] = took
    elapsed = time.monotonic() - started
    root = CORPUS if CORPUS.exists() else Path("/")
    print(
        f"\n{len(paths)} files in {elapsed:.1f} s: {len(docs)} read, {len(errors)} ReaderError",
        file=sys.stderr,
    )
    for path, took in sorted(slow.items(), key=lambda item: -item[1]):
        print(f"  slow: {path.relative_to(root)} {took:.1f} s", file=sys.stderr)
    return docs, errors, slow


@pytest.mark.corpus
@pytest.mark.parametrize(
    "folder",
    # GeoTopo-komprimiert.pdf (117 pages) alone takes 10-20 s in pypdf.
    ["pypdf-resources", pytest.param("py-pdf-sample-files", marks=pytest.mark.slow)],
)
def test_corpus_pdfs(folder: str, alarm: Callable[[float], None]) -> None:
    root = _corpus("pdfs", folder)
    paths = sorted(p for p in root.rglob("*.pdf") if p.is_file())
    docs, errors, _ = _read_all(paths, alarm)
    assert docs, "no PDF of the corpus could be read"
    hanging = [p for p, why in errors.items() if why.startswith("(test)")]
    assert not hanging, f"still reading after {PER_FILE_LIMIT} s: {hanging}"
    by_name = {p.name: p for p in paths}
    if "crazyones.pdf" in by_name:
        assert "crazy ones" in full_text(docs[by_name["crazyones.pdf"]]).lower()


@pytest.mark.corpus
def test_corpus_pdf_encryption(alarm: Callable[[float], None]) -> None:
    root = _corpus("pdfs", "pypdf-resources", "encryption")
    paths = sorted(root.glob("*.pdf"))
    docs, errors, _ = _read_all(paths, alarm)
    assert root / "unencrypted.pdf" in docs
    from engine.ingest.pdf import PASSWORD

    for path in paths:
        # AES (revisions 4 to 6) is read through pypdf's crypto extra, a dependency of Folio.
        if path.name.startswith(("r5-", "r6-")) and "user-password" in path.name:
            # These revision 5/6 samples have an empty owner password, which opens them.
            assert path in docs or errors.get(path) == PASSWORD, path.name
        elif "user-password" in path.name or path.name == "r6-both-passwords.pdf":
            assert errors.get(path) == PASSWORD, path.name
        elif "empty-password" in path.name or "owner-password" in path.name:
            assert path in docs, (path.name, errors.get(path))


@pytest.mark.corpus
def test_corpus_qpdf_malformed(alarm: Callable[[float], None]) -> None:
    root = _corpus("pdfs", "qpdf-qtest")
    paths = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in {".pdf", ".fuzz"})
    docs, errors, _ = _read_all(paths, alarm)
    assert len(docs) + len(errors) == len(paths)
    hanging = [p for p, why in errors.items() if why.startswith("(test)")]
    assert not hanging, f"still reading after {PER_FILE_LIMIT} s: {hanging}"
    # pypdf's own messages (object numbers, memory addresses) stay in the log: every reason is
    # a sentence for people.
    from engine.messages import problems

    assert not {why: problems(why) for why in set(errors.values()) if problems(why)}


@pytest.mark.corpus
def test_corpus_python_docx_files(alarm: Callable[[float], None]) -> None:
    root = _corpus("mixed", "python-docx-test-files")
    paths = sorted(root.glob("*.docx"))
    docs, _, _ = _read_all(paths, alarm)
    assert len(docs) > len(paths) // 2
    assert all(doc.kind == "docx" for doc in docs.values())
    table = docs.get(root / "tbl-2x2-table.docx")
    if table is not None:
        assert " | " in full_text(table)


MARKITDOWN_PHRASES = {
    "test.docx": "314b0a30-5b04-470b-b9f7-eed2c2bec74a",
    "test_blog.html": "Large language models (LLMs) are powerful tools",
    "test_wikipedia.html": "Microsoft entered the operating system (OS) business in 1980",
    "test.pdf": "Large language models (LLMs) are becoming a crucial building block",
    "RECEIPT-2024-TXN-98765_retail_purchase.pdf": "TECHMART ELECTRONICS",
    "REPAIR-2022-INV-001_multipage.pdf": "ZAVA AUTO REPAIR",
}


@pytest.mark.corpus
def test_corpus_markitdown_inputs(alarm: Callable[[float], None]) -> None:
    root = _corpus("mixed", "markitdown-test-files")
    paths = sorted(p for p in root.iterdir() if p.is_file() and p.name != "LICENSE")
    docs, errors, _ = _read_all(paths, alarm)
    for name, phrase in MARKITDOWN_PHRASES.items():
        doc = docs.get(root / name)
        assert doc is not None, (name, errors.get(root / name))
        flat = " ".join(full_text(doc).split())
        assert phrase in flat, name
    # Formats Folio does not read are refused as such, not misread as text.
    for name in ["test.jpg", "test.xlsx", "test.pptx", "test.xls", "random.bin", "test.epub"]:
        if (root / name).exists():
            assert root / name in errors, name
    wiki = docs.get(root / "test_wikipedia.html")
    if wiki is not None:
        assert "function(" not in full_text(wiki)


@pytest.mark.corpus
def test_corpus_rust_book_markdown(alarm: Callable[[float], None]) -> None:
    root = _corpus("mixed", "rust-book-markdown", "src")
    paths = sorted(root.glob("*.md"))
    docs, errors, _ = _read_all(paths, alarm)
    assert not errors, errors
    assert all(doc.kind == "markdown" for doc in docs.values())
