"""What every picture shares: the font (Source Sans Pro, shipped by the
`font-source-sans-pro` package, so French accents render on every machine), the
colours, text wrapping, the leaf, and PNG encoding.

Shapes are drawn at SCALE times the size and reduced (smooth edges)."""

from __future__ import annotations

import io
import math
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING

# Pillow is imported when a picture is drawn: a process that draws none saves its memory
# (benchmarks/memory.py).
if TYPE_CHECKING:
    from PIL import Image, ImageDraw, ImageFont

WIDTH = 1080
SCALE = 2
MARGIN = 64
BACKGROUND = (243, 248, 241)
CARD = (255, 255, 255)
INK = (27, 58, 31)
MUTED = (90, 107, 93)
GREEN = (46, 125, 50)
BAR_BACK = (220, 232, 216)
BAR_FILL = (67, 160, 71)
BAR_DONE = (249, 168, 37)
PLEDGE_EDGE = (200, 230, 201)
LEAF = (129, 199, 132)
LEAF_SIZE = 84


@cache
def font_px(weight: str, pixels: int) -> ImageFont.FreeTypeFont:
    """Source Sans Pro (Regular, Bold, Semibold...) `pixels` high."""
    from PIL import ImageFont

    path = files("font_source_sans_pro") / "files" / f"SourceSansPro-{weight}.ttf"
    with path.open("rb") as handle:
        return ImageFont.truetype(io.BytesIO(handle.read()), pixels)


def font(weight: str, size: int) -> ImageFont.FreeTypeFont:
    """The font for a `size` of the final picture, drawn on the SCALE-times canvas."""
    return font_px(weight, size * SCALE)


def width_of(text: str, face: ImageFont.FreeTypeFont) -> float:
    return face.getlength(text)


def wrap(text: str, face: ImageFont.FreeTypeFont, width: float, max_lines: int) -> list[str]:
    """Words on at most `max_lines` lines `width` wide; an ellipsis marks a cut."""
    words = text.split()
    lines: list[str] = []
    taken = 0
    while taken < len(words) and len(lines) < max_lines:
        line = words[taken]
        taken += 1
        while taken < len(words) and width_of(f"{line} {words[taken]}", face) <= width:
            line = f"{line} {words[taken]}"
            taken += 1
        lines.append(line)
    if taken < len(words):
        lines[-1] = _fit(lines[-1] + "…", face, width)
    return [_fit(line, face, width) for line in lines]


def _fit(line: str, face: ImageFont.FreeTypeFont, width: float) -> str:
    """The line, cut with an ellipsis if wider than `width` (one very long word)."""
    if width_of(line, face) <= width:
        return line
    line = line.removesuffix("…")
    while line and width_of(line.rstrip() + "…", face) > width:
        line = line[:-1]
    return line.rstrip() + "…"


def leaf(draw: ImageDraw.ImageDraw, x: float, y: float, size: float) -> None:
    """A leaf pointing up and right: a lens between two corners of the box, a vein, a stem."""
    steps = 48
    base = (x + size * 0.12, y + size * 0.88)
    tip = (x + size * 0.95, y + size * 0.05)
    dx, dy = tip[0] - base[0], tip[1] - base[1]
    length = math.hypot(dx, dy)
    nx, ny = -dy / length, dx / length
    half_width = size * 0.3
    outline: list[tuple[float, float]] = []
    for side in (1, -1):
        indices = range(steps + 1) if side == 1 else range(steps, -1, -1)
        for i in indices:
            t = i / steps
            bulge = half_width * math.sin(math.pi * t) ** 0.9 * side
            outline.append((base[0] + dx * t + nx * bulge, base[1] + dy * t + ny * bulge))
    draw.polygon(outline, fill=LEAF)
    width = max(1, int(size / 22))
    draw.line((base[0], base[1], base[0] + dx * 0.85, base[1] + dy * 0.85), fill=GREEN, width=width)
    draw.line((base[0], base[1], x, y + size), fill=GREEN, width=width)


def png(image: Image.Image, colors: int | None = 96) -> bytes:
    """PNG bytes; with `colors`, reduced to a small palette first (flat colours and their
    smoothed edges fit in it: a few times smaller)."""
    from PIL import Image

    if colors is not None:
        image = image.quantize(colors=colors, method=Image.Quantize.FASTOCTREE)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()
