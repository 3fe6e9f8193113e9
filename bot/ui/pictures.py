"""The progress picture of a challenge (PRODUCT.md §2.4): a PNG drawn with Pillow.

Pure: it gets the texts already translated (the caller picks the reader's language) and
a fraction, and returns PNG bytes. The font is Source Sans Pro, shipped by the
`font-source-sans-pro` package, so French accents render on every machine. Shapes are
drawn at twice the size and scaled down (smooth edges), then the picture is reduced to
a small palette: about 20 KB, drawn in under 100 ms (callers run it in a thread).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

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


@dataclass(frozen=True, slots=True)
class PictureTexts:
    """Every word on the picture, in the reader's language."""

    brand: str
    title: str
    week: str
    count: str
    unit: str
    percent: str
    pledge_label: str | None = None
    pledge: str | None = None
    status: str | None = None


@cache
def font(weight: str, size: int) -> ImageFont.FreeTypeFont:
    path = files("font_source_sans_pro") / "files" / f"SourceSansPro-{weight}.ttf"
    with path.open("rb") as handle:
        return ImageFont.truetype(io.BytesIO(handle.read()), size * SCALE)


def _width(text: str, face: ImageFont.FreeTypeFont) -> float:
    return face.getlength(text)


def wrap(text: str, face: ImageFont.FreeTypeFont, width: float, max_lines: int) -> list[str]:
    """Words on at most `max_lines` lines `width` wide; an ellipsis marks a cut."""
    words = text.split()
    lines: list[str] = []
    taken = 0
    while taken < len(words) and len(lines) < max_lines:
        line = words[taken]
        taken += 1
        while taken < len(words) and _width(f"{line} {words[taken]}", face) <= width:
            line = f"{line} {words[taken]}"
            taken += 1
        lines.append(line)
    if taken < len(words):
        lines[-1] = _fit(lines[-1] + "…", face, width)
    return [_fit(line, face, width) for line in lines]


def _fit(line: str, face: ImageFont.FreeTypeFont, width: float) -> str:
    """The line, cut with an ellipsis if wider than `width` (one very long word)."""
    if _width(line, face) <= width:
        return line
    line = line.removesuffix("…")
    while line and _width(line.rstrip() + "…", face) > width:
        line = line[:-1]
    return line.rstrip() + "…"


def _leaf(draw: ImageDraw.ImageDraw, x: float, y: float, size: float) -> None:
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


def progress_picture(texts: PictureTexts, fraction: float) -> bytes:
    """The PNG of one challenge's week."""
    s = SCALE
    inner = (WIDTH - 2 * MARGIN) * s
    brand_font = font("Bold", 26)
    title_font = font("Bold", 58)
    week_font = font("Regular", 30)
    count_font = font("Bold", 96)
    unit_font = font("Regular", 38)
    percent_font = font("Bold", 34)
    label_font = font("Bold", 28)
    pledge_font = font("Regular", 30)

    # The title keeps clear of the leaf in the top right corner.
    title_lines = wrap(texts.title, title_font, inner - LEAF_SIZE * s, 2)
    pledge_lines = wrap(texts.pledge, pledge_font, inner - 2 * 36 * s, 3) if texts.pledge else []

    # Drawn on a canvas tall enough for everything, then cropped below the last item.
    image = Image.new("RGB", (WIDTH * s, 1000 * s), BACKGROUND)
    draw = ImageDraw.Draw(image)
    _leaf(draw, (WIDTH - MARGIN - LEAF_SIZE) * s, 40 * s, LEAF_SIZE * s)

    y = 60 * s
    draw.text((MARGIN * s, y), texts.brand.upper(), font=brand_font, fill=GREEN)
    y += 64 * s
    for line in title_lines:
        draw.text((MARGIN * s, y), line, font=title_font, fill=INK)
        y += 70 * s
    y += 14 * s
    draw.text((MARGIN * s, y), texts.week, font=week_font, fill=MUTED)
    y += 60 * s

    draw.text((MARGIN * s, y), texts.count, font=count_font, fill=GREEN)
    count_width = _width(texts.count, count_font)
    draw.text((MARGIN * s + count_width + 16 * s, y + 48 * s), texts.unit, font=unit_font, fill=INK)
    y += 130 * s

    done = fraction >= 1
    bar_height = 44 * s
    radius = bar_height // 2
    left, right = MARGIN * s, (WIDTH - MARGIN) * s
    percent_width = _width(texts.percent, percent_font)
    bar_right = right - int(percent_width) - 24 * s
    draw.rounded_rectangle((left, y, bar_right, y + bar_height), radius=radius, fill=BAR_BACK)
    filled = min(max(fraction, 0.0), 1.0)
    if filled > 0:
        end = left + max(bar_height, int((bar_right - left) * filled))
        draw.rounded_rectangle(
            (left, y, end, y + bar_height), radius=radius, fill=BAR_DONE if done else BAR_FILL
        )
    draw.text(
        (right - percent_width, y + bar_height / 2),
        texts.percent,
        font=percent_font,
        fill=INK,
        anchor="lm",
    )
    y += bar_height + 40 * s

    if texts.status:
        draw.text((MARGIN * s, y), texts.status, font=label_font, fill=GREEN)
        y += 50 * s

    if pledge_lines and texts.pledge_label:
        box_height = (36 + 40 + 42 * len(pledge_lines) + 26) * s
        draw.rounded_rectangle(
            (left, y, right, y + box_height),
            radius=24 * s,
            fill=CARD,
            outline=PLEDGE_EDGE,
            width=3 * s,
        )
        text_x = left + 36 * s
        ty = y + 30 * s
        draw.text((text_x, ty), texts.pledge_label.upper(), font=label_font, fill=GREEN)
        ty += 44 * s
        for line in pledge_lines:
            draw.text((text_x, ty), line, font=pledge_font, fill=INK)
            ty += 42 * s
        y += box_height

    height = y // s + 56
    # Crop and halve in one step (a box filter is all a 2x supersample needs), then a
    # small palette: flat colours and their smoothed edges fit in it.
    picture = image.reduce(s, box=(0, 0, WIDTH * s, height * s))
    palette = picture.quantize(colors=96, method=Image.Quantize.FASTOCTREE)
    buffer = io.BytesIO()
    palette.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()
