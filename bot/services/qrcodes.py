"""QR codes as PNG images, for a shop shelf or a market stall. Pure: bytes out."""

from __future__ import annotations

import io
import unicodedata

# Pillow and qrcode are imported when a code is drawn: a process that draws none saves
# their memory (benchmarks/memory.py).

BOX_SIZE = 10
BORDER = 4
LABEL_SIZE = 28
MIN_LABEL_SIZE = 12
LABEL_LIMIT = 60


_PUNCTUATION = str.maketrans(
    {"—": "-", "–": "-", "’": "'", "«": '"', "»": '"', "œ": "oe", "Œ": "OE", "æ": "ae"}
)


def _printable(text: str) -> str:
    """Pillow's built-in font only draws ASCII: "Élodie & Cœur" -> "Elodie & Coeur" (other
    characters, emoji, would print as boxes)."""
    folded = unicodedata.normalize("NFKD", text.translate(_PUNCTUATION))
    return " ".join(folded.encode("ascii", "ignore").decode("ascii").split())


def qr_png(data: str, label: str = "") -> bytes:
    """A black-on-white QR code of `data`, with `label` (e.g. the maker's name) below."""
    import qrcode
    from PIL import Image, ImageDraw, ImageFont
    from qrcode.constants import ERROR_CORRECT_M

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=BOX_SIZE, border=BORDER)
    code.add_data(data)
    code.make(fit=True)
    image = code.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    label = _printable(label)[:LABEL_LIMIT]
    if label:
        width, height = image.size
        canvas = Image.new("RGB", (width, height + LABEL_SIZE * 2), "white")
        canvas.paste(image, (0, 0))
        draw = ImageDraw.Draw(canvas)
        size = LABEL_SIZE
        while True:
            font = ImageFont.load_default(size=size)
            left, _, right, _ = draw.textbbox((0, 0), label, font=font)
            if right - left <= width - 2 * BOX_SIZE or size <= MIN_LABEL_SIZE:
                break
            size -= 2
        x = max(0, (width - (right - left)) // 2)
        draw.text((x, height - BORDER * BOX_SIZE // 2), label, fill="black", font=font)
        image = canvas
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
