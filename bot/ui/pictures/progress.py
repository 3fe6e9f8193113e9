"""The progress picture of a challenge (PRODUCT.md §2.4): a PNG drawn with Pillow.

Pure: it gets the texts already translated (the caller picks the reader's language) and
a fraction, and returns PNG bytes. The font is Source Sans Pro, shipped by the
`font-source-sans-pro` package, so French accents render on every machine. Shapes are
drawn at twice the size and scaled down (smooth edges), then the picture is reduced to
a small palette: about 20 KB, drawn in under 100 ms (callers run it in a thread).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.ui.pictures.common import (
    BACKGROUND,
    BAR_BACK,
    BAR_DONE,
    BAR_FILL,
    CARD,
    GREEN,
    INK,
    LEAF_SIZE,
    MARGIN,
    MUTED,
    PLEDGE_EDGE,
    SCALE,
    WIDTH,
    font,
    leaf,
    png,
    width_of,
    wrap,
)


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


def progress_picture(texts: PictureTexts, fraction: float) -> bytes:
    """The PNG of one challenge's week."""
    # Pillow is imported when a picture is drawn: a process that draws none saves its memory
    # (benchmarks/memory.py).
    from PIL import Image, ImageDraw

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
    leaf(draw, (WIDTH - MARGIN - LEAF_SIZE) * s, 40 * s, LEAF_SIZE * s)

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
    count_width = width_of(texts.count, count_font)
    draw.text((MARGIN * s + count_width + 16 * s, y + 48 * s), texts.unit, font=unit_font, fill=INK)
    y += 130 * s

    done = fraction >= 1
    bar_height = 44 * s
    radius = bar_height // 2
    left, right = MARGIN * s, (WIDTH - MARGIN) * s
    percent_width = width_of(texts.percent, percent_font)
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
    return png(picture)
