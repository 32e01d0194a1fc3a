"""Scanned pages made in the test: known text drawn with a real font into an image (no text
layer), saved as a picture or as a PDF of images, with where each line was drawn."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
)


def font_file(name: str) -> Path:
    """A TrueType font of the machine (DejaVu), or matplotlib's copy; skip when there is none."""
    for folder in FONT_DIRS:
        if (folder / name).is_file():
            return folder / name
    try:
        import matplotlib

        bundled = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / name
        if bundled.is_file():
            return bundled
    except ImportError:
        pass
    pytest.skip(f"font {name} is not available on this machine")


SANS = "DejaVuSans.ttf"
SERIF = "DejaVuSerif.ttf"


@dataclass
class Scan:
    image: Any  # PIL.Image
    lines: list[str]
    # Where each line was drawn: (x0, y0, x1, y1) as fractions of the page.
    boxes: list[tuple[float, float, float, float]]
    dpi: int

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def scan_page(lines: list[str], font: str = SERIF, points: float = 11, dpi: int = 150) -> Scan:
    """An A4 page at ``dpi`` with ``lines`` in ``font`` at ``points``, black on white."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = round(8.27 * dpi), round(11.69 * dpi)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    face = ImageFont.truetype(str(font_file(font)), round(points * dpi / 72))
    x, y = round(0.8 * dpi), round(1.0 * dpi)
    step = round(points * 1.6 * dpi / 72)
    boxes = []
    for line in lines:
        draw.text((x, y), line, font=face, fill=0)
        x0, y0, x1, y1 = draw.textbbox((x, y), line, font=face)
        boxes.append((x0 / width, y0 / height, x1 / width, y1 / height))
        y += step
    return Scan(image, lines, boxes, dpi)


def pdf_of_images(images: list[Any], dpi: int = 150) -> bytes:
    """A PDF whose pages are the images alone: no text layer, as a scanner makes them."""
    out = io.BytesIO()
    first, *rest = [im.convert("RGB") if im.mode not in ("L", "RGB") else im for im in images]
    first.save(out, format="PDF", save_all=True, append_images=rest, resolution=dpi)
    return out.getvalue()


def char_error_rate(got: str, want: str) -> float:
    """Levenshtein distance between the texts (whitespace runs as one space) / len(want)."""
    a = " ".join(got.split())
    b = " ".join(want.split())
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
        previous = current
    return previous[len(b)] / max(1, len(b))
