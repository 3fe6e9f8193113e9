"""The cards people post (PRODUCT.md §2.4): "my week" for `/me` (story format 1080 x 1920
and square 1080 x 1080) and a challenge's card (square, with a QR code of its join link).

Pure: translated texts in, PNG bytes out; drawn at twice the size and reduced (smooth
edges), then reduced to a small palette."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.ui.pictures.common import (
    BACKGROUND,
    BAR_BACK,
    BAR_DONE,
    BAR_FILL,
    CARD,
    GREEN,
    INK,
    MUTED,
    PLEDGE_EDGE,
    SCALE,
    font,
    leaf,
    png,
    width_of,
    wrap,
)

# Pillow and qrcode are imported when a picture is drawn: a process that draws none saves
# their memory (benchmarks/memory.py).
if TYPE_CHECKING:
    from PIL import Image, ImageDraw

SIDE = 1080
STORY_HEIGHT = 1920
MARGIN = 80


class CardFormat(StrEnum):
    SQUARE = "square"
    STORY = "story"

    @property
    def size(self) -> tuple[int, int]:
        return (SIDE, SIDE) if self is CardFormat.SQUARE else (SIDE, STORY_HEIGHT)


@dataclass(frozen=True, slots=True)
class Stat:
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class MeCardTexts:
    """Every word on a "my week" card, in the reader's language."""

    brand: str
    title: str
    hero: str  # this week's count, big
    hero_label: str
    stats: tuple[Stat, ...]
    footer: str  # the bot's name and a call to action


@dataclass(frozen=True, slots=True)
class ChallengeCardTexts:
    brand: str
    title: str
    progress: str  # "42 / 300"
    percent: str
    days_left: str
    mine: str  # my contribution
    pledge_label: str | None
    pledge: str | None
    scan: str  # under the QR code
    footer: str


def _canvas(width: int, height: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width * SCALE, height * SCALE), BACKGROUND)
    return image, ImageDraw.Draw(image)


def _finish(image: Image.Image) -> bytes:
    return png(image.reduce(SCALE))


def _footer(draw: ImageDraw.ImageDraw, width: int, height: int, text: str) -> None:
    s = SCALE
    band = 110 * s
    draw.rectangle((0, height * s - band, width * s, height * s), fill=GREEN)
    draw.text(
        (width * s / 2, height * s - band / 2),
        text,
        font=font("Bold", 40),
        fill=(255, 255, 255),
        anchor="mm",
    )


def me_card(texts: MeCardTexts, shape: CardFormat) -> bytes:
    """This week's count big, then the streak, the total avoided, the team and the rank."""
    width, height = shape.size
    s = SCALE
    story = shape is CardFormat.STORY
    image, draw = _canvas(width, height)
    leaf(draw, (width - MARGIN - 130) * s, 70 * s, 130 * s)
    inner = (width - 2 * MARGIN) * s
    y = (150 if story else 70) * s
    draw.text((MARGIN * s, y), texts.brand.upper(), font=font("Bold", 34), fill=GREEN)
    y += 70 * s
    title_face = font("Bold", 76 if story else 64)
    for line in wrap(texts.title, title_face, inner - 150 * s, 2):
        draw.text((MARGIN * s, y), line, font=title_face, fill=INK)
        y += (92 if story else 78) * s
    y += (260 if story else 30) * s
    hero_face = font("Black", 260 if story else 200)
    draw.text((MARGIN * s, y), texts.hero, font=hero_face, fill=GREEN, anchor="la")
    hero_width = width_of(texts.hero, hero_face)
    label_face = font("Semibold", 44 if story else 40)
    label_lines = wrap(texts.hero_label, label_face, inner - hero_width - 40 * s, 3)
    label_y = y + (110 if story else 80) * s
    for line in label_lines:
        draw.text((MARGIN * s + hero_width + 36 * s, label_y), line, font=label_face, fill=INK)
        label_y += 52 * s
    y += (400 if story else 250) * s
    row = (190 if story else 96) * s
    label_font = font("Regular", 36 if story else 30)
    value_font = font("Bold", 56 if story else 44)
    for stat in texts.stats:
        draw.rounded_rectangle(
            (MARGIN * s, y, (width - MARGIN) * s, y + row - 16 * s),
            radius=24 * s,
            fill=CARD,
            outline=PLEDGE_EDGE,
            width=3 * s,
        )
        middle = y + (row - 16 * s) / 2
        draw.text(
            (MARGIN * s + 36 * s, middle), stat.label, font=label_font, fill=MUTED, anchor="lm"
        )
        value = stat.value
        room = inner - 72 * s - width_of(stat.label, label_font) - 30 * s
        value = wrap(value, value_font, room, 1)[0]
        draw.text(
            ((width - MARGIN) * s - 36 * s, middle), value, font=value_font, fill=INK, anchor="rm"
        )
        y += row
    _footer(draw, width, height, texts.footer)
    return _finish(image)


def qr_image(data: str, size: int) -> Image.Image:
    """A black-on-white QR code `size` pixels wide (quiet zone included), crisp: whole
    pixels per module, scaled with the nearest neighbour."""
    import qrcode
    from PIL import Image
    from qrcode.constants import ERROR_CORRECT_M

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=1, border=4)
    code.add_data(data)
    code.make(fit=True)
    small = code.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    modules = small.width
    scale = max(1, size // modules)
    big: Image.Image = small.resize((modules * scale, modules * scale), Image.Resampling.NEAREST)
    return big


def challenge_card(texts: ChallengeCardTexts, fraction: float, join_link: str) -> bytes:
    width, height = SIDE, SIDE
    s = SCALE
    image, draw = _canvas(width, height)
    inner = (width - 2 * MARGIN) * s
    y = 64 * s
    draw.text((MARGIN * s, y), texts.brand.upper(), font=font("Bold", 30), fill=GREEN)
    y += 56 * s
    title_face = font("Bold", 58)
    for line in wrap(texts.title, title_face, inner, 2):
        draw.text((MARGIN * s, y), line, font=title_face, fill=INK)
        y += 70 * s
    y += 20 * s
    draw.text((MARGIN * s, y), texts.progress, font=font("Black", 84), fill=GREEN)
    draw.text(
        ((width - MARGIN) * s, y + 50 * s),
        texts.percent,
        font=font("Bold", 40),
        fill=INK,
        anchor="rm",
    )
    y += 116 * s
    bar = 36 * s
    left, right = MARGIN * s, (width - MARGIN) * s
    draw.rounded_rectangle((left, y, right, y + bar), radius=bar // 2, fill=BAR_BACK)
    filled = min(max(fraction, 0.0), 1.0)
    if filled > 0:
        end = left + max(bar, int((right - left) * filled))
        colour = BAR_DONE if filled >= 1 else BAR_FILL
        draw.rounded_rectangle((left, y, end, y + bar), radius=bar // 2, fill=colour)
    y += bar + 36 * s
    # Left column: days left, my part, the pledge; right: the QR code.
    qr_side = 330
    qr = qr_image(join_link, qr_side * s)
    qr_left = (width - MARGIN) * s - qr.width
    column = qr_left - MARGIN * s - 40 * s
    text_face = font("Semibold", 38)
    for line in (texts.days_left, texts.mine):
        for part in wrap(line, text_face, column, 2):
            draw.text((MARGIN * s, y), part, font=text_face, fill=INK)
            y_step = 50 * s
            y += y_step
        y += 14 * s
    qr_top = (height - 110 - 60) * s - qr.height
    image.paste(qr, (qr_left, qr_top))
    draw.text(
        (qr_left + qr.width / 2, qr_top - 14 * s),
        texts.scan,
        font=font("Bold", 30),
        fill=GREEN,
        anchor="md",
    )
    if texts.pledge and texts.pledge_label:
        y += 10 * s
        label_face, pledge_face = font("Bold", 26), font("Regular", 32)
        lines = wrap(texts.pledge, pledge_face, column - 48 * s, 4)
        box = (26 + 36 + 40 * len(lines) + 24) * s
        draw.rounded_rectangle(
            (MARGIN * s, y, MARGIN * s + column, y + box),
            radius=20 * s,
            fill=CARD,
            outline=PLEDGE_EDGE,
            width=3 * s,
        )
        ty = y + 24 * s
        draw.text(
            (MARGIN * s + 24 * s, ty), texts.pledge_label.upper(), font=label_face, fill=GREEN
        )
        ty += 40 * s
        for line in lines:
            draw.text((MARGIN * s + 24 * s, ty), line, font=pledge_face, fill=INK)
            ty += 40 * s
    _footer(draw, width, height, texts.footer)
    return _finish(image)
