"""Text recognition (OCR) of page images: scanned PDF pages and pictures.

The page-text extension point: a page's text comes from its text layer or, where that is empty
or garbage, from :func:`read_image_text`, which returns the text plus one box per word, so
that a passage found in it can be highlighted on the page image like any other.

The recognition models are the ones inside the ``rapidocr`` package (PP-OCRv6 detection and
recognition, PP-OCR text-direction classifier; Apache-2.0). Folio names each file itself
(:data:`MODEL_FILES`) and hands rapidocr their paths, so no code path can ask rapidocr to
fetch a model: a missing file means "OCR not available", never a download.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..types import Box

log = logging.getLogger("folio.ocr")

# The bundled models, by rapidocr task. Pinned here, checked to exist before use.
MODEL_FILES: dict[str, str] = {
    "Det": "PP-OCRv6_det_small.onnx",
    "Rec": "PP-OCRv6_rec_small.onnx",
    "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
}
# What the bundled recognition model reads (stated in the README and the settings).
LANGUAGES = (
    "English, German, French, Spanish, Italian, Portuguese, Dutch, the Nordic languages, "
    "Polish, Czech and the other Latin-script languages, plus Chinese and Japanese"
)
DEFAULT_DPI = 200
# The longest side of a page image given to OCR, in pixels: a poster-sized page is scaled
# down so memory stays bounded.
MAX_SIDE = 4000
# The text detector sees the page at most this many pixels on its longer side (145 dpi for a
# Letter or A4 page drawn at 200 dpi). At 2,000 (rapidocr's own limit) finding the text on one
# page took 550 MB above the reader's usual size, which made indexing a folder with a scan in
# it pass 2 GB; at 1,600 it takes about 190 MB less and 20 % less time, and the words, read
# from the full-size image either way, came out the same.
DETECT_MAX = 1600
# Words recognised with less confidence are dropped (stray marks, stamps, noise).
MIN_SCORE = 0.5


class OcrUnavailable(Exception):
    """The OCR models or their runtime are missing from this installation."""


@dataclass(frozen=True)
class OcrOptions:
    """How readers use OCR: ``enabled`` off keeps Folio to text layers only."""

    enabled: bool = True
    dpi: int = DEFAULT_DPI
    threads: int = 0  # 0: as many as the computer has, at most 4
    # Called with (page number, pages in the document) before each page read by OCR.
    on_page: Callable[[int, int], None] | None = None


@dataclass(frozen=True)
class PageText:
    text: str
    boxes: tuple[Box, ...]
    # Degrees the image was turned (clockwise) before it could be read; 0 for upright pages.
    turned: int = 0


def models_dir() -> Path:
    """The folder of rapidocr's bundled models (inside the installed package)."""
    import importlib.util

    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        raise OcrUnavailable("rapidocr is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def model_paths() -> dict[str, Path]:
    """The pinned model files; raises OcrUnavailable when one is missing."""
    folder = models_dir()
    paths = {task: folder / name for task, name in MODEL_FILES.items()}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        raise OcrUnavailable("missing OCR model files: " + ", ".join(missing))
    return paths


def rapidocr_params(threads: int) -> dict[str, Any]:
    """rapidocr's configuration: every model by explicit path, quiet, CPU only."""
    params: dict[str, Any] = {
        f"{task}.model_path": str(path) for task, path in model_paths().items()
    }
    params.update(
        {
            "Global.log_level": "error",
            # Boxes per word, for exact highlights.
            "Global.return_word_box": True,
            # Folio turns pages itself (read_image_text); see there why not per line.
            "Global.use_cls": False,
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            # Text is found on the page scaled to at most DETECT_MAX pixels (the words are
            # then read from the full image): see there.
            "Det.limit_type": "max",
            "Det.limit_side_len": DETECT_MAX,
        }
    )
    return params


_engine: Any = None
_engine_threads = -1
_lock = threading.Lock()


def _threads(wanted: int) -> int:
    return wanted if wanted > 0 else max(1, min(4, os.cpu_count() or 1))


def engine(threads: int = 0) -> Any:
    """The process's rapidocr engine, created once (loading takes well under a second)."""
    global _engine, _engine_threads
    n = _threads(threads)
    with _lock:
        if _engine is None or _engine_threads != n:
            # onnxruntime's native code sends usage events unless told not to (engine.offline
            # sets this for every process; set here too for a caller that bypassed it).
            os.environ["ORT_DISABLE_TELEMETRY"] = "1"
            try:
                import onnxruntime
                from rapidocr import RapidOCR
            except ImportError as exc:  # onnxruntime or opencv missing
                raise OcrUnavailable(f"OCR runtime missing: {exc}") from None
            try:
                onnxruntime.disable_telemetry_events()
            except Exception:  # an onnxruntime without the switch has nothing to switch off
                pass
            params = rapidocr_params(n)
            # rapidocr logs each model path at INFO through its own logger.
            logging.getLogger("RapidOCR").setLevel(logging.ERROR)
            _engine = RapidOCR(params=params)
            _engine_threads = n
        return _engine


def _blank(image: Any) -> bool:
    """An empty page (all one shade, bar a little scanner noise): nothing to read."""
    from PIL import ImageStat

    return max(ImageStat.Stat(image.convert("L")).stddev) < 1.5


# The text detector works on images at least this many pixels on their shorter side; rapidocr
# scales smaller ones up to it (a 40-pixel strip 18 times, which took seconds per pass).
DETECT_SIDE = 736


def _fit(image: Any) -> tuple[Any, tuple[int, int]]:
    """The image as 8-bit RGB, scaled down to at most MAX_SIDE pixels on its longer side; a
    small picture is scaled up at most twice and set on a white margin up to DETECT_SIDE.
    Returns the image and the size of the picture on it (top left), for the boxes."""
    from PIL import Image

    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    longest = max(image.size)
    if longest > MAX_SIDE:
        scale = MAX_SIDE / longest
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size)
    shortest = min(image.size)
    if shortest < DETECT_SIDE:
        scale = min(2.0, DETECT_SIDE / max(1, shortest))
        if scale > 1.0:
            size = (round(image.width * scale), round(image.height * scale))
            image = image.resize(size)
        if min(image.size) < DETECT_SIDE:
            canvas = Image.new(
                image.mode, (max(image.width, DETECT_SIDE), max(image.height, DETECT_SIDE)), "white"
            )
            canvas.paste(image, (0, 0))
            return canvas.convert("RGB"), image.size
    return image.convert("RGB") if image.mode == "L" else image, image.size


@dataclass
class _Line:
    words: list[tuple[str, float, float, float, float]]  # text, x0, y0, x1, y1 (pixels)
    score: float

    @property
    def top(self) -> float:
        return min(w[2] for w in self.words)

    @property
    def bottom(self) -> float:
        return max(w[4] for w in self.words)

    @property
    def left(self) -> float:
        return min(w[1] for w in self.words)


def _lines(result: Any) -> list[_Line]:
    """rapidocr's result as lines of words with pixel boxes (axis-aligned)."""
    out: list[_Line] = []
    txts = getattr(result, "txts", None) or ()
    scores = getattr(result, "scores", None) or ()
    boxes = getattr(result, "boxes", None)
    word_results = getattr(result, "word_results", None) or ()
    for i, text in enumerate(txts):
        score = float(scores[i]) if i < len(scores) else 0.0
        if score < MIN_SCORE or not str(text).strip():
            continue
        words: list[tuple[str, float, float, float, float]] = []
        parts = word_results[i] if i < len(word_results) else ()
        for part in parts or ():
            try:
                word, _s, quad = part
                xs = [float(p[0]) for p in quad]
                ys = [float(p[1]) for p in quad]
            except (TypeError, ValueError, IndexError):
                words = []
                break
            if str(word).strip():
                words.append((str(word).strip(), min(xs), min(ys), max(xs), max(ys)))
        if not words and boxes is not None and i < len(boxes):
            quad = boxes[i]
            xs = [float(p[0]) for p in quad]
            ys = [float(p[1]) for p in quad]
            words = [(str(text).strip(), min(xs), min(ys), max(xs), max(ys))]
        if words:
            out.append(_Line(words, score))
    return out


def _reading_order(lines: list[_Line]) -> list[_Line]:
    """Lines top to bottom; lines whose middles share a row, left to right."""
    rows: list[list[_Line]] = []
    for line in sorted(lines, key=lambda x: (x.top + x.bottom) / 2):
        mid = (line.top + line.bottom) / 2
        if rows:
            last = rows[-1]
            top = min(x.top for x in last)
            bottom = max(x.bottom for x in last)
            height = bottom - top
            if top + 0.25 * height <= mid <= bottom - 0.25 * height:
                last.append(line)
                continue
        rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda x: x.left)]


def _page_text(lines: list[_Line], width: int, height: int) -> tuple[str, tuple[Box, ...]]:
    """Join the lines into page text, keeping each word's span and box."""
    parts: list[str] = []
    boxes: list[Box] = []
    pos = 0
    for n, line in enumerate(_reading_order(lines)):
        if n:
            parts.append("\n")
            pos += 1
        for k, (word, x0, y0, x1, y1) in enumerate(line.words):
            if k:
                parts.append(" ")
                pos += 1
            word = unicodedata.normalize("NFC", word)
            parts.append(word)
            boxes.append(
                (
                    pos,
                    pos + len(word),
                    round(max(0.0, x0 / width), 5),
                    round(max(0.0, y0 / height), 5),
                    round(min(1.0, x1 / width), 5),
                    round(min(1.0, y1 / height), 5),
                )
            )
            pos += len(word)
    return "".join(parts), tuple(boxes)


def _quality(lines: list[_Line]) -> float:
    """How much confident, horizontal text a reading holds (to pick a page's orientation)."""
    total = 0.0
    for line in lines:
        chars = sum(len(w[0]) for w in line.words)
        total += chars * line.score
    return total


def _mean_score(lines: list[_Line]) -> float:
    """The recognition confidence of the lines, weighted by their characters."""
    chars = [sum(len(w[0]) for w in line.words) for line in lines]
    return sum(n * line.score for n, line in zip(chars, lines, strict=True)) / max(1, sum(chars))


def _upright_share(lines: list[_Line]) -> float:
    """Share of the recognised characters in lines wider than tall."""
    wide = tall = 0
    for line in lines:
        w = max(x[3] for x in line.words) - line.left
        h = line.bottom - line.top
        n = sum(len(x[0]) for x in line.words)
        if w >= h:
            wide += n
        else:
            tall += n
    return wide / (wide + tall) if wide + tall else 1.0


def _unturn(box: Box, turned: int) -> Box:
    """A box measured on the image turned ``turned`` degrees clockwise, on the original."""
    s, e, x0, y0, x1, y1 = box
    if turned == 90:  # original (u, v) -> turned (1 - v, u)
        return (s, e, y0, 1 - x1, y1, 1 - x0)
    if turned == 270:  # original (u, v) -> turned (v, 1 - u)
        return (s, e, 1 - y1, x0, 1 - y0, x1)
    if turned == 180:
        return (s, e, 1 - x1, 1 - y1, 1 - x0, 1 - y0)
    return box


def read_image_text(image: Any, threads: int = 0) -> PageText:
    """The text of a page image (a PIL image) and each word's box on it.

    Pages scanned sideways are read too: when most of what is found runs vertically, or
    little is found, the image is also read turned a quarter each way and the best reading
    (most confident characters) is kept; its boxes are given on the page as it is.
    """
    ocr = engine(threads)
    if _blank(image):
        return PageText("", ())
    import numpy as np

    fitted, picture = _fit(image)
    lines = _lines(ocr(np.asarray(fitted)))
    best, best_q, turned, size = lines, _quality(lines), 0, picture
    # Read turned a quarter each way when most of what was found runs up or down the page,
    # or when a page-sized picture gave almost nothing; turned upside down when what was
    # found was read with little confidence (rapidocr's own line-direction classifier is
    # off: it turned correct lines of long text upside down and garbled them).
    angles: tuple[int, ...] = ()
    if _upright_share(lines) < 0.5 or (best_q < 20 and min(picture) >= DETECT_SIDE):
        angles = (90, 270)
    elif lines and _mean_score(lines) < 0.8:
        angles = (180,)
    if angles:
        for angle in angles:
            # PIL rotates counter-clockwise; -angle turns the page clockwise by ``angle``.
            turned_fit, turned_picture = _fit(image.rotate(-angle, expand=True))
            other = _lines(ocr(np.asarray(turned_fit)))
            q = _quality(other) * _upright_share(other)
            if q > best_q * 1.2:
                best, best_q, turned, size = other, q, angle, turned_picture
    text, boxes = _page_text(best, size[0], size[1])
    return PageText(text, tuple(_unturn(b, turned) for b in boxes), turned)


# -- deciding which PDF pages need OCR --------------------------------------------------------

_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
# (cid:NN) markers, private-use letters, controls: glyphs without a Unicode meaning.
_CID = re.compile(r"\(cid:\d+\)")
_NOT_TEXT = frozenset({"Cc", "Co", "Cn", "Cs"})
# A page with fewer letters than this in its text layer, mostly covered by images, is a scan
# (with a stamp, a page number or an invisible line of text on it).
MIN_LETTERS = 40
IMAGE_SHARE = 0.5


def garbage_share(text: str) -> float:
    """Share of the visible characters that are no real text (unmapped glyphs, controls)."""
    visible = [c for c in text if not c.isspace()]
    if not visible:
        return 0.0
    bad = sum(len(m.group(0)) for m in _CID.finditer(text))
    bad += sum(1 for c in visible if c == "\ufffd" or unicodedata.category(c) in _NOT_TEXT)
    return min(1.0, bad / len(visible))


def needs_ocr(text: str, image_share: Callable[[], float]) -> bool:
    """Whether a PDF page's text layer is no usable text: empty, glyph garbage, or a few
    letters on a page that is mostly picture. ``image_share`` is asked only when needed."""
    letters = len(_LETTER.findall(text))
    if letters == 0:
        return True
    if garbage_share(text) > 0.3:
        return True
    return letters < MIN_LETTERS and image_share() >= IMAGE_SHARE


# -- highlights ---------------------------------------------------------------------------

Rect = tuple[float, float, float, float]


def span_rects(boxes: list[Box] | tuple[Box, ...], start: int, end: int) -> list[Rect]:
    """The rectangles (page fractions, one per line) that cover the words of page text
    ``[start, end)``: what the viewer highlights on a page read by OCR."""
    rects: list[list[float]] = []
    for s, e, x0, y0, x1, y1 in sorted(boxes, key=lambda b: b[0]):
        if e <= start or s >= end:
            continue
        if rects:
            last = rects[-1]
            # Same line: the word's middle lies within the last rectangle's height.
            mid = (y0 + y1) / 2
            if last[1] <= mid <= last[3] and x0 >= last[0]:
                last[0], last[1] = min(last[0], x0), min(last[1], y0)
                last[2], last[3] = max(last[2], x1), max(last[3], y1)
                continue
        rects.append([x0, y0, x1, y1])
    return [(r[0], r[1], r[2], r[3]) for r in rects]
