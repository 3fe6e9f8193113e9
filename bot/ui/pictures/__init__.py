"""Pictures drawn with Pillow: a challenge's progress and the team recap (progress),
maps of what is near (maps, from raster tiles: tiles), the cards people post (cards) and
QR posters for a shop window (posters). Each drawing function is pure and CPU-bound:
callers run it in a worker thread."""

from bot.ui.pictures.progress import PictureTexts, progress_picture

__all__ = ["PictureTexts", "progress_picture"]
