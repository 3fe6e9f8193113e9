"""QR posters for a shop window or a market stall (PRODUCT.md §2.3): an A4 page at print
resolution (300 dpi) with a call to action, what the code opens, a QR code about 15 cm
wide and the bot's name, as a PDF (the page size is A4 whatever prints it; scaled to A5
it stays readable) and the same page as a PNG.

Pure: translated texts in, bytes out. Drawn directly at 300 dpi (no reduction needed:
the QR code's modules are whole pixels)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.ui.pictures.cards import qr_image
from bot.ui.pictures.common import BACKGROUND, GREEN, INK, MUTED, font_px, leaf, width_of, wrap

# Pillow is imported when a picture is drawn: a process that draws none saves its memory
# (benchmarks/memory.py).
if TYPE_CHECKING:
    from PIL import Image

DPI = 300
# A4: 210 x 297 mm.
WIDTH = round(210 / 25.4 * DPI)
HEIGHT = round(297 / 25.4 * DPI)
MARGIN = 180
QR_SIDE = 1800  # 15 cm


@dataclass(frozen=True, slots=True)
class PosterTexts:
    call_to_action: str  # "Scan me: …"
    name: str  # what the code opens (a maker's name, an offer's title)
    detail: str  # one line under the name (a category, an address)
    bot: str  # "@greenhood_bot on Telegram"
    brand: str


@dataclass(frozen=True, slots=True)
class Poster:
    pdf: bytes
    png: bytes


def _page(texts: PosterTexts, link: str) -> Image.Image:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 420), fill=BACKGROUND)
    leaf(draw, WIDTH - MARGIN - 260, 80, 260)
    draw.text((MARGIN, 150), texts.brand.upper(), font=font_px("Bold", 90), fill=GREEN)
    inner = WIDTH - 2 * MARGIN
    y = 520
    cta_face = font_px("Black", 170)
    for line in wrap(texts.call_to_action, cta_face, inner, 2):
        draw.text((WIDTH / 2, y), line, font=cta_face, fill=INK, anchor="ma")
        y += 200
    y += 40
    qr = qr_image(link, QR_SIDE)
    image.paste(qr, ((WIDTH - qr.width) // 2, y))
    y += qr.height + 40
    name_face = font_px("Bold", 130)
    for line in wrap(texts.name, name_face, inner, 2):
        draw.text((WIDTH / 2, y), line, font=name_face, fill=GREEN, anchor="ma")
        y += 150
    if texts.detail:
        detail_face = font_px("Regular", 80)
        line = wrap(texts.detail, detail_face, inner, 1)[0]
        draw.text((WIDTH / 2, y + 10), line, font=detail_face, fill=MUTED, anchor="ma")
    band = 300
    draw.rectangle((0, HEIGHT - band, WIDTH, HEIGHT), fill=GREEN)
    bot_face = font_px("Bold", 110)
    bot_line = texts.bot
    if width_of(bot_line, bot_face) > inner:
        bot_line = wrap(bot_line, bot_face, inner, 1)[0]
    draw.text((WIDTH / 2, HEIGHT - band / 2), bot_line, font=bot_face, fill="white", anchor="mm")
    return image


def qr_poster(texts: PosterTexts, link: str) -> Poster:
    from PIL import Image

    page = _page(texts, link)
    pdf = io.BytesIO()
    # Pillow embeds an RGB page as one JPEG: at this quality the code's edges stay sharp
    # for a scanner, and the file stays under a megabyte.
    page.save(pdf, format="PDF", resolution=DPI, quality=92, title=texts.name)
    picture = io.BytesIO()
    page.convert("P", palette=Image.Palette.ADAPTIVE, colors=32).save(
        picture, format="PNG", dpi=(DPI, DPI), optimize=True
    )
    return Poster(pdf.getvalue(), picture.getvalue())
