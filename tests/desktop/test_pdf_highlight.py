"""The source viewer highlights a cited PDF passage whole — every line of it, nothing else —
and scrolls it into view, even when its words also occur elsewhere on the page."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, QSize
from PySide6.QtGui import QColor, QImage

from desktop.main_window import MainWindow
from desktop.pdf_highlight import align_span, merge_lines
from engine import Library
from tests.engine.test_readers import make_pdf

SHOTS = Path(__file__).resolve().parents[1] / "screenshots"

# Every word of the passage also occurs on other lines of its page, and its first six words
# open another line too (the old highlight searched for those and marked that other line).
FILLER = [f"Note {i}: the canteen opening hours are posted by the front door." for i in range(34)]
BEFORE = [
    "Opening hours of the canteen are posted by the front door.",
    "Staff may bring guests to the canteen on Fridays only.",
]
PASSAGE = [
    "Opening hours of the canteen are posted on the intranet as well.",
    "The canteen closes early before public holidays and the door",
    "by the car park is locked after six in the evening.",
]
AFTER = [
    "Guests sign in at the front door of the canteen.",
    "The door by the car park is locked after six.",
]


def test_align_span_follows_the_passage_not_its_words() -> None:
    source = "the red door\nthe red door opens\nat six the red door"
    target = "the red door\r\nthe red  door opens\r\nat six the red door"
    start = source.index("the red door opens")
    got = align_span(source, start, start + len("the red door opens"), target)
    assert got is not None
    assert target[got[0] : got[1]] == "the red  door opens"
    # The same words twice: the occurrence at the passage's own place wins.
    last = source.rindex("the red door")
    got = align_span(source, last, len(source), target)
    assert got is not None and got[0] == target.rindex("the red door")
    # The passage alone, placed near an expected offset of the target.
    got = align_span("the red door", 0, 12, target, near=len(target) - 14)
    assert got is not None and got[0] == target.rindex("the red door")
    got = align_span("the red door", 0, 12, target, near=0)
    assert got == (0, 12)
    # A word read differently (a ligature) still lines up; text from another page does not.
    read_as = "the o\ufb03ce opens"
    assert align_span("the office opens", 4, 16, read_as) == (4, len(read_as))
    assert align_span("the office opens", 0, 16, "completely unrelated words here") is None
    assert align_span("abc", 2, 1, "abc") is None and align_span("", 0, 5, "") is None


def test_word_boxes_join_into_one_rectangle_per_line() -> None:
    words = [QRectF(72, 100, 30, 12), QRectF(110, 101, 40, 11), QRectF(72, 114, 50, 12)]
    lines = merge_lines(words)
    assert lines == [QRectF(72, 100, 78, 12), QRectF(72, 114, 50, 12)]
    assert merge_lines([]) == []


def _ink_lines(image: QImage, scale: float) -> list[tuple[float, float, list[tuple[float, float]]]]:
    """The text lines of a rendered page: (top, bottom, ink points) in page points."""
    rows: dict[int, list[int]] = {}
    for y in range(image.height()):
        xs = [x for x in range(image.width()) if _dark(image.pixelColor(x, y))]
        if xs:
            rows[y] = xs
    lines: list[tuple[float, float, list[tuple[float, float]]]] = []
    band: list[int] = []
    for y in sorted(rows):
        if band and y != band[-1] + 1:
            lines.append(_band(band, rows, scale))
            band = []
        band.append(y)
    if band:
        lines.append(_band(band, rows, scale))
    return lines


def _dark(c: QColor) -> bool:
    """Ink: an opaque dark pixel (the page is rendered on a transparent background)."""
    return c.alpha() > 128 and c.lightness() < 128


def _band(
    band: list[int], rows: dict[int, list[int]], scale: float
) -> tuple[float, float, list[tuple[float, float]]]:
    ink = [((x + 0.5) / scale, (y + 0.5) / scale) for y in band for x in rows[y]]
    return band[0] / scale, (band[-1] + 1) / scale, ink


def _inside(point: tuple[float, float], rects: list[QRectF], slack: float = 1.0) -> bool:
    x, y = point
    return any(
        r.left() - slack <= x <= r.right() + slack and r.top() - slack <= y <= r.bottom() + slack
        for r in rects
    )


def test_pdf_passage_is_highlighted_whole_and_scrolled_into_view(
    qtbot, library: Library, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "pdfs"
    folder.mkdir()
    pdf = folder / "canteen.pdf"
    page_two = FILLER + BEFORE + PASSAGE + AFTER
    pdf.write_bytes(make_pdf(["Canteen rules.\nSee the next page.", "\n".join(page_two)]))
    coll = library.create("Canteen")
    coll.index([folder])
    section = coll.section_text(pdf, 2)
    coll.close()
    start = section.index(PASSAGE[0])
    end = section.index(PASSAGE[-1]) + len(PASSAGE[-1])
    opening = " ".join(PASSAGE[0].split()[:6])
    assert section.count(PASSAGE[0]) == 1 and section.count(opening) == 2

    window = MainWindow(library)
    qtbot.addWidget(window)
    viewer = window.viewer
    viewer.resize(700, 500)
    with qtbot.waitSignal(viewer.shown, timeout=30_000):
        viewer.show_passage("Canteen", str(pdf), 2, start, end, section[start:end])
    view = viewer.pdf_view
    assert viewer.stack.currentWidget() is view
    assert viewer.highlighted_page() == 1
    rects = view.highlight_rects
    assert len(rects) == len(PASSAGE)  # one per line

    # The truth: the rendered page's ink, line by line.
    scale = 2.0
    image = viewer.pdf_doc.render(1, QSize(int(612 * scale), int(792 * scale)))
    lines = _ink_lines(image, scale)
    assert len(lines) == len(page_two)
    first = len(FILLER) + len(BEFORE)
    for number, (top, bottom, ink) in enumerate(lines):
        if first <= number < first + len(PASSAGE):
            # Every inked pixel of the passage's lines lies under the highlight.
            missed = [p for p in ink if not _inside(p, rects)]
            assert not missed, f"line {number}: {len(missed)} of {len(ink)} ink points uncovered"
        else:
            # No highlight reaches into any other line.
            assert not any(r.bottom() > top + 0.5 and r.top() < bottom - 0.5 for r in rects), (
                f"line {number} is highlighted"
            )

    # Scrolled into view: the whole passage is inside the visible part of the view.
    qtbot.waitUntil(lambda: view.verticalScrollBar().value() > 0, timeout=5_000)
    shown = view.view_rects()
    visible = QRectF(view.viewport().rect())
    assert shown and all(visible.contains(r) for r in shown)
    # And it is painted: the highlight colour shows inside the rectangles, not beside them.
    qtbot.wait(1000)  # pages render in the background
    grab = view.viewport().grab().toImage()
    colour = view.palette().color(view.palette().ColorRole.Highlight)

    def tinted(x: float, y: float) -> bool:
        c = grab.pixelColor(int(x), int(y))
        return c.lightness() > 128 and c.blue() != c.red()

    assert colour.blue() != colour.red(), "the test style's selection colour should be a hue"
    pitch = shown[1].top() - shown[0].top()
    for r in shown:
        assert tinted(r.left() + 1, r.top() + 2)
    # Two lines below the passage (the same words, not cited): the page stays white.
    below = shown[-1]
    assert not tinted(below.left() + 1, below.top() + 2 + 2 * pitch)
    assert not tinted(shown[0].left() + 1, shown[0].top() + 2 - 2 * pitch)
    SHOTS.mkdir(exist_ok=True)
    viewer.grab().save(str(SHOTS / "viewer-pdf-passage.png"))

    # Offsets that no longer fit the page (the file changed since indexing): the passage's
    # own words place it, on the same lines.
    view.clear_highlight()
    with qtbot.waitSignal(viewer.shown, timeout=30_000):
        viewer.show_passage("Canteen", str(pdf), 2, start + 9, end + 9, section[start:end])
    assert view.highlight_rects == rects
    # No passage text at hand: the page as indexed and the offsets place it.
    view.clear_highlight()
    with qtbot.waitSignal(viewer.shown, timeout=30_000):
        viewer.show_passage("Canteen", str(pdf), 2, start, end, "")
    assert view.highlight_rects == rects
    window.close()
